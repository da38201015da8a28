package core

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Directory is the in-memory view of every user, ordered by name, with a
// substring index over names and emails. It serves the Users table and
// search-as-you-type over a million users without touching the store.
//
// The index is one byte slice holding "name\x00email\n" (lower case) for
// every user in table order; a search is bytes.Index over it (SIMD-fast),
// mapped back to users by binary search over the entries' start offsets.
// It is rebuilt lazily, on the next search after a name or email changed.
type Directory struct {
	mu      sync.RWMutex
	byID    map[string]*dirEntry
	byEmail map[string]*dirEntry
	sorted  []*dirEntry // by key
	hay     []byte
	starts  []int // starts[i] = offset of sorted[i] in hay
	stale   bool  // hay no longer matches sorted
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{byID: map[string]*dirEntry{}, byEmail: map[string]*dirEntry{}}
}

// dirEntry is a user with its table-order key, computed once.
type dirEntry struct {
	key string // lower-case name, NUL, email
	User
}

func newEntry(u User) *dirEntry {
	return &dirEntry{key: strings.ToLower(u.Name) + "\x00" + u.Email, User: u}
}

func keyLess(a, b *dirEntry) int { return strings.Compare(a.key, b.key) }

// load adds a user during bulk loading; finishLoad sorts once at the end.
func (d *Directory) load(u User) {
	e := newEntry(u)
	d.byID[u.ID] = e
	d.byEmail[u.Email] = e
	d.sorted = append(d.sorted, e)
}

func (d *Directory) finishLoad() {
	d.mu.Lock()
	defer d.mu.Unlock()
	slices.SortFunc(d.sorted, keyLess)
	d.rebuild() // now, so the first keystroke does not pay for it
}

// put inserts or replaces users, keeping the order. Few changes are
// inserted in place; many (an import) are appended and sorted once.
func (d *Directory) put(users ...User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	bulk := len(users) > 64
	var added []*dirEntry
	for _, u := range users {
		e := newEntry(u)
		if old, ok := d.byID[u.ID]; ok {
			i := d.indexOf(old)
			delete(d.byEmail, old.Email)
			d.byID[u.ID], d.byEmail[u.Email] = e, e
			if old.key == e.key && i >= 0 {
				d.sorted[i] = e
				continue
			}
			if i >= 0 {
				d.sorted = slices.Delete(d.sorted, i, i+1)
			}
		}
		d.byID[u.ID], d.byEmail[u.Email] = e, e
		d.stale = true
		if bulk {
			added = append(added, e)
			continue
		}
		i, _ := slices.BinarySearchFunc(d.sorted, e, keyLess)
		d.sorted = slices.Insert(d.sorted, i, e)
	}
	if len(added) > 0 {
		slices.SortFunc(added, keyLess)
		d.sorted = mergeSorted(d.sorted, added)
	}
}

// mergeSorted merges two sorted runs in linear time.
func mergeSorted(a, b []*dirEntry) []*dirEntry {
	out := make([]*dirEntry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if keyLess(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func (d *Directory) indexOf(e *dirEntry) int {
	i, found := slices.BinarySearchFunc(d.sorted, e, keyLess)
	for ; found && i < len(d.sorted) && d.sorted[i].key == e.key; i++ {
		if d.sorted[i].ID == e.ID {
			return i
		}
	}
	return -1
}

// get returns a user by ID.
func (d *Directory) get(id string) (User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e, ok := d.byID[id]; ok {
		return e.User, true
	}
	return User{}, false
}

// getEmail returns a user by (lower-case) email.
func (d *Directory) getEmail(email string) (User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e, ok := d.byEmail[email]; ok {
		return e.User, true
	}
	return User{}, false
}

// Len is the number of users.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.sorted)
}

func (d *Directory) rebuild() {
	n := 0
	for _, u := range d.sorted {
		n += len(u.Name) + len(u.Email) + 2
	}
	hay := make([]byte, 0, n)
	starts := make([]int, len(d.sorted))
	for i, u := range d.sorted {
		starts[i] = len(hay)
		hay = appendLower(hay, u.Name)
		hay = append(hay, 0)
		hay = appendLower(hay, u.Email)
		hay = append(hay, '\n')
	}
	d.hay, d.starts, d.stale = hay, starts, false
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 { // non-ASCII: let strings.ToLower handle the rest
			return append(b, strings.ToLower(s[i:])...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// UserPage is one screenful of users.
type UserPage struct {
	Users []User
	// Next is the position to continue from, or -1 when nothing is left.
	Next int
}

// find returns up to limit users visible to the viewer, in table order,
// starting at position from. With a query, only users whose name or email
// contains it (case-insensitively) count. A cancelled ctx stops the scan.
func (d *Directory) find(ctx context.Context, query string, from, limit int, visible func(*User) bool) (UserPage, error) {
	query = strings.ToLower(strings.Map(func(r rune) rune {
		if r == 0 || r == '\n' {
			return -1
		}
		return r
	}, query))
	d.mu.RLock()
	if query != "" && d.stale {
		d.mu.RUnlock()
		d.mu.Lock()
		if d.stale {
			d.rebuild()
		}
		d.mu.Unlock()
		d.mu.RLock()
	}
	defer d.mu.RUnlock()
	page := UserPage{Next: -1}
	if from < 0 || from >= len(d.sorted) {
		return page, nil
	}
	take := func(i int) bool {
		if e := d.sorted[i]; visible == nil || visible(&e.User) {
			page.Users = append(page.Users, e.User)
		}
		return len(page.Users) >= limit
	}
	if query == "" {
		for i := from; i < len(d.sorted); i++ {
			if i&4095 == 0 && ctx.Err() != nil {
				return page, ctx.Err()
			}
			if take(i) {
				if i+1 < len(d.sorted) {
					page.Next = i + 1
				}
				return page, nil
			}
		}
		return page, nil
	}
	q := []byte(query)
	pos := d.starts[from]
	for n := 0; pos < len(d.hay); n++ {
		if n&255 == 0 && ctx.Err() != nil {
			return page, ctx.Err()
		}
		j := bytes.Index(d.hay[pos:], q)
		if j < 0 {
			break
		}
		i := sort.SearchInts(d.starts, pos+j+1) - 1 // entry holding the match
		if take(i) {
			if i+1 < len(d.sorted) {
				page.Next = i + 1
			}
			return page, nil
		}
		if i+1 >= len(d.starts) {
			break
		}
		pos = d.starts[i+1]
	}
	return page, nil
}
