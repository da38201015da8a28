package core

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Directory is the search index of the Users table: every user's name and
// email (lower case) in table order, with their ID and org, in a compact
// form of about 70 bytes a user, so a million users take ~70 MB instead of
// the ~1.4 GB of User values held before. It is built from the store's
// name index in the background (Warm); until it is ready the table's plain
// pages come straight from that index (see Core.SearchUsers), so the first
// frame never waits for it. The rows shown are read from the store by ID.
//
// A search is bytes.Index over hay (SIMD-fast), mapped back to entries by
// binary search over their start offsets.
type Directory struct {
	st Store

	mu      sync.RWMutex
	state   dirState
	ready   chan struct{} // closed once the first build has ended
	err     error         // why the first build failed
	again   bool          // a rebuild was asked for while one ran
	pending []User        // changes that came in while a build ran
	version uint64        // bumped by every change of the data below
	data    dirData

	visMu    sync.Mutex
	visCache map[string]visible // rows of one set of visible orgs, at version
}

type dirState int

const (
	dirIdle     dirState = iota // never built
	dirBuilding                 // the first build runs
	dirReady                    // data is current
	dirRebuild                  // data serves, a rebuild runs
)

// dirData is the index proper. Offsets are 32-bit: up to 2 GB of names and
// emails, some 40 million users.
type dirData struct {
	hay    []byte   // "name\x00email\n", lower case, per entry in order
	starts []int32  // offset of entry i in hay
	ids    []byte   // the entries' IDs, one after the other
	idEnds []int32  // end of entry i's ID in ids
	orgs   []uint16 // entry i's org, as a number of orgIDs
	orgIDs []string
	orgNum map[string]uint16
	// blockEnds[k] is the entry after block k; pairs[k] the byte pairs of
	// its text (dirpairs.go).
	blockEnds []int32
	pairs     []pairSet
}

// visible is the positions of the entries one viewer may see.
type visible struct {
	version uint64
	rows    []int32
}

func newDirectory(st Store) *Directory {
	return &Directory{st: st, ready: make(chan struct{}), visCache: map[string]visible{}}
}

func (b *dirData) len() int { return len(b.starts) }

// add appends an entry; key is lower-case name, NUL, email.
func (b *dirData) add(key, id, org []byte) {
	b.starts = append(b.starts, int32(len(b.hay)))
	b.hay = appendLower(b.hay, string(key))
	b.hay = append(b.hay, '\n')
	b.ids = append(b.ids, id...)
	b.idEnds = append(b.idEnds, int32(len(b.ids)))
	b.orgs = append(b.orgs, b.org(string(org)))
}

// org numbers an org ID.
func (b *dirData) org(id string) uint16 {
	if b.orgNum == nil {
		b.orgNum = map[string]uint16{}
	}
	n, ok := b.orgNum[id]
	if !ok {
		n = uint16(len(b.orgIDs))
		b.orgNum[id] = n
		b.orgIDs = append(b.orgIDs, id)
	}
	return n
}

// end is where entry i ends in hay (after its '\n').
func (b *dirData) end(i int) int32 {
	if i+1 < len(b.starts) {
		return b.starts[i+1]
	}
	return int32(len(b.hay))
}

func (b *dirData) key(i int) []byte { return b.hay[b.starts[i] : b.end(i)-1] }

func (b *dirData) id(i int) string {
	lo := int32(0)
	if i > 0 {
		lo = b.idEnds[i-1]
	}
	return string(b.ids[lo:b.idEnds[i]])
}

// indexOf finds the entry of user id, whose key is probably key.
func (b *dirData) indexOf(key []byte, id string) int {
	lo := sort.Search(b.len(), func(i int) bool { return bytes.Compare(b.key(i), key) >= 0 })
	for j := lo; j < b.len() && bytes.Equal(b.key(j), key); j++ {
		if b.id(j) == id {
			return j
		}
	}
	for j := range b.len() { // renamed: look for the ID itself
		if b.id(j) == id {
			return j
		}
	}
	return -1
}

// remove deletes entry i, shifting the ones after it.
func (b *dirData) remove(i int) {
	s, e := b.starts[i], b.end(i)
	b.hay = slices.Delete(b.hay, int(s), int(e))
	b.starts = slices.Delete(b.starts, i, i+1)
	for j := i; j < len(b.starts); j++ {
		b.starts[j] -= e - s
	}
	lo := int32(0)
	if i > 0 {
		lo = b.idEnds[i-1]
	}
	hi := b.idEnds[i]
	b.ids = slices.Delete(b.ids, int(lo), int(hi))
	b.idEnds = slices.Delete(b.idEnds, i, i+1)
	for j := i; j < len(b.idEnds); j++ {
		b.idEnds[j] -= hi - lo
	}
	b.orgs = slices.Delete(b.orgs, i, i+1)
	b.blockRemoved(i)
}

// insert puts a user at its place in table order.
func (b *dirData) insert(u User) {
	line := appendLower(nil, u.Name)
	line = append(line, 0)
	line = appendLower(line, u.Email)
	key := line
	line = append(line, '\n')
	i := sort.Search(b.len(), func(i int) bool { return bytes.Compare(b.key(i), key) >= 0 })
	at := int32(len(b.hay))
	idAt := int32(len(b.ids))
	if i < b.len() {
		at = b.starts[i]
		if i > 0 {
			idAt = b.idEnds[i-1]
		} else {
			idAt = 0
		}
	}
	b.hay = slices.Insert(b.hay, int(at), line...)
	b.starts = slices.Insert(b.starts, i, at)
	for j := i + 1; j < len(b.starts); j++ {
		b.starts[j] += int32(len(line))
	}
	b.ids = slices.Insert(b.ids, int(idAt), []byte(u.ID)...)
	b.idEnds = slices.Insert(b.idEnds, i, idAt+int32(len(u.ID)))
	for j := i + 1; j < len(b.idEnds); j++ {
		b.idEnds[j] += int32(len(u.ID))
	}
	b.orgs = slices.Insert(b.orgs, i, b.org(u.Org))
	b.blockInserted(i, line)
}

// Warm starts building the index in the background, if it is not built
// or building yet. Searches wait for it; plain pages do not.
func (d *Directory) Warm() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == dirIdle {
		d.state = dirBuilding
		go d.build()
	}
}

// Ready reports whether the index has been built.
func (d *Directory) Ready() bool {
	select {
	case <-d.ready:
		return true
	default:
		return false
	}
}

// wait waits for the first build (starting it if need be).
func (d *Directory) wait(ctx context.Context) error {
	d.Warm()
	select {
	case <-d.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.err
}

// build reads the whole index from the store, then applies the changes
// that came in meanwhile; it runs again if asked to while it ran.
func (d *Directory) build() {
	for {
		var b dirData
		err := d.st.View(func(tx ReadTx) error {
			if n, err := tx.UserCount(); err == nil {
				b.starts = make([]int32, 0, n)
				b.idEnds = make([]int32, 0, n)
				b.orgs = make([]uint16, 0, n)
				b.ids = make([]byte, 0, n*12)
				b.hay = make([]byte, 0, n*48)
			}
			return tx.ScanUserIndex(false, func(e UserIndexEntry) bool {
				b.add(e.Key, e.ID, e.Org)
				return true
			})
		})
		if err == nil {
			b.hay = settle(b.hay)
			b.buildBlocks()
		}
		d.mu.Lock()
		if err != nil && d.state == dirBuilding {
			d.err = err
		}
		if err == nil {
			d.data = b
			d.err = nil
			for _, u := range d.pending {
				d.putOne(u)
			}
			d.version++
		}
		d.pending = nil
		first := d.state == dirBuilding
		d.state = dirReady
		if d.again {
			d.again = false
			d.state = dirRebuild
		}
		rerun := d.state == dirRebuild
		d.mu.Unlock()
		if first {
			close(d.ready)
		}
		if !rerun {
			return
		}
	}
}

// settle returns hay copied, in one pass, into memory of its own and of
// its exact length. A build grows hay a few bytes at a time alongside the
// other slices, so its pages come from the system interleaved with theirs
// and end up scattered in physical memory (at 1M users: 12 % of its pages
// follow the one before, over ~1,000 2 MB frames; copied: 98 %, ~150).
// Every search scans hay, and over the scattered pages it ran 5–7 % slower
// than over a copy of the same bytes (measured in one process, alternating:
// README "Search speed and the hay's memory"). The copy costs one memmove
// of ~43 MB per build, and drops the slack of the size estimate (~10 %).
func settle(hay []byte) []byte {
	return append(make([]byte, 0, len(hay)), hay...)
}

// put brings the index up to date with changed users: a few in place, many
// (an import) by a rebuild in the background, the index serving as it was
// meanwhile. Before the first build nothing is held, and nothing is done.
func (d *Directory) put(users ...User) {
	if len(users) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.state == dirIdle:
	case d.state == dirBuilding || d.state == dirRebuild:
		if len(d.pending)+len(users) > 64 {
			d.again, d.pending = true, nil
		} else {
			d.pending = append(d.pending, users...)
		}
	case len(users) > 64:
		d.state = dirRebuild
		go d.build()
	default:
		for _, u := range users {
			d.putOne(u)
		}
		d.version++
	}
}

// putOne replaces or adds one user. Callers hold d.mu.
func (d *Directory) putOne(u User) {
	b := &d.data
	key := appendLower(nil, u.Name)
	key = append(key, 0)
	key = appendLower(key, u.Email)
	if i := b.indexOf(key, u.ID); i >= 0 {
		if bytes.Equal(b.key(i), key) && b.orgIDs[b.orgs[i]] == u.Org {
			return
		}
		b.remove(i)
	}
	b.insert(u)
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
	// Total, when 0 or more, is how many rows the viewer sees, and
	// positions are row numbers: row k is at position k, so a table can
	// jump anywhere (the end, at once). It is -1 for a search, whose
	// positions are the directory's, known row by row as pages are read.
	Total int
}

// normalQuery is a search as the index holds names: lower case, without
// the bytes that separate its entries.
func normalQuery(query string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == 0 || r == '\n' {
			return -1
		}
		return r
	}, query))
}

// dirPage is find's answer: the IDs of a page of users, and where to go on.
type dirPage struct {
	ids   []string
	next  int
	total int
}

// find returns up to limit users that the viewer may see (allowed, by org
// ID; nil = all), in table order, starting at position from. Without a
// query, positions are row numbers among the visible users and the total
// is given. With a query, only users whose name or email contains it
// (case-insensitively) count, and positions are the directory's. A
// cancelled ctx stops the scan.
func (d *Directory) find(ctx context.Context, query string, from, limit int, allowed map[string]bool) (dirPage, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	b := &d.data
	page := dirPage{next: -1, total: -1}
	var ok []bool // by org number; nil = all
	if allowed != nil {
		ok = make([]bool, len(b.orgIDs))
		for i, id := range b.orgIDs {
			ok[i] = allowed[id]
		}
	}
	if query == "" {
		rows := d.visibleRows(ok)
		n := b.len()
		if rows != nil {
			n = len(rows)
		}
		page.total = n
		for r := max(from, 0); r < n && len(page.ids) < limit; r++ {
			i := r
			if rows != nil {
				i = int(rows[r])
			}
			page.ids = append(page.ids, b.id(i))
			if len(page.ids) == limit && r+1 < n {
				page.next = r + 1
			}
		}
		return page, nil
	}
	if from < 0 || from >= b.len() {
		return page, nil
	}
	q := []byte(query)
	pairs := queryPairs(q)
	// Block by block from the one holding from: a block whose pairs lack
	// one of the query's is passed over (dirpairs.go); in the others,
	// bytes.Index finds the matches.
	i := from
	for k, n, c := b.blockOf(from), 0, 0; k < len(b.blockEnds) && i < b.len(); k, c = k+1, c+1 {
		if c&63 == 0 && ctx.Err() != nil {
			return page, ctx.Err()
		}
		end := int(b.blockEnds[k])
		if i >= end {
			continue
		}
		if !b.pairs[k].hasAll(pairs) {
			i = end
			continue
		}
		pos, stop := int(b.starts[i]), int(b.end(end-1))
		for ; pos < stop; n++ {
			if n&255 == 0 && ctx.Err() != nil {
				return page, ctx.Err()
			}
			j := bytes.Index(b.hay[pos:stop], q)
			if j < 0 {
				break
			}
			at := int32(pos + j)
			i = sort.Search(len(b.starts), func(i int) bool { return b.starts[i] > at }) - 1 // entry holding the match
			if ok == nil || ok[b.orgs[i]] {
				page.ids = append(page.ids, b.id(i))
			}
			if len(page.ids) >= limit {
				if i+1 < b.len() {
					page.next = i + 1
				}
				return page, nil
			}
			pos = int(b.end(i))
		}
		i = end
	}
	return page, nil
}

// visibleRows returns the positions of the entries whose org is ok, nil
// when all are. They are kept for the next page until the index changes.
// Callers hold d.mu for reading.
func (d *Directory) visibleRows(ok []bool) []int32 {
	if ok == nil {
		return nil
	}
	sig := make([]byte, len(ok))
	for i, v := range ok {
		if v {
			sig[i] = 1
		}
	}
	d.visMu.Lock()
	defer d.visMu.Unlock()
	if v, hit := d.visCache[string(sig)]; hit && v.version == d.version {
		return v.rows
	}
	var rows []int32
	for i, o := range d.data.orgs {
		if ok[o] {
			rows = append(rows, int32(i))
		}
	}
	if len(d.visCache) >= 16 {
		clear(d.visCache)
	}
	d.visCache[string(sig)] = visible{version: d.version, rows: rows}
	return rows
}

// Len is the number of users in the index.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.data.len()
}
