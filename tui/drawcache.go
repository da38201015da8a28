package tui

import (
	"sync"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
)

// Shared is what the consoles of one process share, so that a thousand
// consoles cost one of each: the key map (never changed once made), the
// styles of each theme and colour profile (themes.Cache) and the drawn
// parts of the audit log (drawCache).
// Whoever runs consoles (the SSH server) makes one with NewShared and
// passes it to each in Options; a console given none makes its own.
type Shared struct {
	keys   *KeyMap
	styles *themes.Cache
	drawn  *drawCache
}

// NewShared is an empty Shared.
func NewShared() *Shared {
	keys := DefaultKeyMap()
	return &Shared{keys: &keys, styles: themes.NewCache(), drawn: newDrawCache(drawnMax)}
}

// drawnMax is how many parts one generation holds: a few thousand rows at
// a few hundred bytes each, well under 2 MB in all.
const drawnMax = 4096

// drawPart says which part of an event's drawing a cache entry is.
type drawPart uint8

const (
	partRow drawPart = iota
	partSelected
	partDetail
	partHeader // the table header (no event)
)

type drawKey struct {
	styles *themes.Styles
	width  int
	part   drawPart
	seq    uint64
	hash   core.Hash
}

// drawCache holds the parts of the audit viewer that are the same on
// every console: a row, selected or not, and the detail pane of an event,
// drawn for one set of styles (shared per colour profile and theme, see
// themes.Cache) and one width. When an event arrives, the hundreds of
// consoles that follow the log draw it once between them.
//
// It is safe for concurrent use, and bounded (two generations of at most
// drawnMax parts; the older one goes when the newer fills). An event is
// known by its hash, which no other event has in any log, so consoles of
// different cores (tests) never mix. A nil cache draws every time.
type drawCache struct {
	mu       sync.Mutex
	max      int
	cur, old map[drawKey]string
}

func newDrawCache(n int) *drawCache {
	return &drawCache{max: n, cur: map[drawKey]string{}, old: map[drawKey]string{}}
}

// get returns the part drawn for k, drawing it (outside the lock) when no
// console has yet.
func (c *drawCache) get(k drawKey, draw func() string) string {
	if c == nil {
		return draw()
	}
	c.mu.Lock()
	s, ok := c.cur[k]
	if !ok {
		if s, ok = c.old[k]; ok {
			c.putLocked(k, s)
		}
	}
	c.mu.Unlock()
	if ok {
		return s
	}
	s = draw()
	c.mu.Lock()
	c.putLocked(k, s)
	c.mu.Unlock()
	return s
}

func (c *drawCache) putLocked(k drawKey, s string) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[drawKey]string, c.max)
	}
	c.cur[k] = s
}

// len is how many parts the cache holds.
func (c *drawCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
