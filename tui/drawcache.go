package tui

import (
	"sync"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
)

// drawn is the process-wide cache of the parts of the audit viewer that
// are the same on every console: a row, selected or not, and the detail
// pane of an event, drawn for one set of styles (shared per colour profile
// and theme, see themes.For) and one width. When an event arrives, the
// hundreds of consoles that follow the log draw it once between them.
//
// It is the one mutable value of the package: safe for concurrent use, and
// bounded (two generations of at most drawnMax parts; the older one goes
// when the newer fills). An event is known by its hash, which no other
// event has in any log, so consoles of different cores (tests) never mix.
var drawn = newDrawCache(drawnMax)

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
