package tui

import (
	"slices"

	tea "github.com/charmbracelet/bubbletea"
)

// pager is the console's one window over a long list that core hands out
// a read at a time: the Users table, the Audit tab and a session's audit
// viewer. It holds the rows around the screen, never the whole list: it
// reads on while the screen is still a margin away from the window's edge,
// lets go of the rows far from the screen so that memory stays bounded,
// goes to either end with one read, knows the list's total when core says
// it, drops answers meant for an older window (a changed query, a jump),
// and takes rows that arrive live at the head of a log. Its cursor is the
// console's one list cursor (listCursor), in row numbers.
//
// The page supplies the read (fetch) and keeps what is its own: columns,
// keys, what the read asks core, and drawing.
//
// # The read contract
//
// A read is keyset-style: "the rows after the window's last row", "the
// rows before its first", "the list's first rows", "its last rows". An
// offset ("rows 5000…5050") would not do for the audit log, which is read
// newest first by seq while events are appended at its head: positions
// shift under the reader, seqs do not. So each answer hands back a key for
// each of its edges (the audit log's next seq that way), and the next read
// past that edge starts from it. A read that finds nothing within core's
// scan budget still hands back a key, so the pager reads on from there.
//
// The Users table's rows are addressed by position instead, and where core
// says positions are row numbers (the plain list) any row can be read at
// once, which is how G reaches the last of a million users in one read. A
// pager made for numbered rows therefore passes row numbers too: where a
// read starts (or, reading upwards, ends), and for a jump, the row to read
// from (fromRow). Its window's edges are then row numbers, and it needs no
// keys. Passing both in one request is simpler than two pagers: every rule
// about windows, margins, trimming and answers is written once.
type pager[T any] struct {
	listCursor // cursor and offset, as row numbers

	// The window: rows[i] is row first+i. A list whose rows have no
	// numbers (a log) counts them from the window's top: first stays 0,
	// and the cursor moves with its row when rows come in above.
	rows  []T
	first int
	// total is the number of rows in the list when known, else -1. For
	// numbered rows it is what core last said, or where the last read ran
	// off the end; for a log, which only grows, the largest count seen,
	// one more for each live row.
	total int
	// top and bottom: the window holds the list's first / last row.
	top, bottom bool
	// above and below are the keys to read on past the window's edges
	// (lists without row numbers).
	above, below uint64
	// reached is one past the furthest row read since the list changed
	// (numbered rows): "N of M+" while the total is unknown.
	reached int

	gen    int             // bumped by a new query or a jump: older answers are dropped
	busy   [fromCount]bool // one read of each kind at a time
	again  bool            // live rows arrived above while a read above ran
	loaded bool            // an answer has arrived
	jumpTo pageRequest     // the last jump's read
	err    error           // the last read failed with this
	owner  Page            // where answers are delivered
	height func() int      // rows on screen
	most   int             // the most rows one read may bring
	fetch  func(pageRequest) pageRead[T]
	// keys are the keys past a row, for the window's new edge after
	// rows were let go (lists without row numbers).
	keys     func(*T) (above, below uint64)
	numbered bool
}

// pageFrom says where a read starts.
type pageFrom uint8

const (
	fromTop    pageFrom = iota // the list's first rows
	fromBottom                 // the list's last rows
	fromBelow                  // the rows after the window's last
	fromAbove                  // the rows before the window's first (live rows, for a log)
	fromRow                    // the rows from row number row on (numbered rows)
	fromCount
)

// pageRequest is what the pager asks its page to read.
type pageRequest struct {
	from pageFrom
	// row is, for numbered rows, the row the read starts at (fromBelow,
	// fromRow) or ends before (fromAbove).
	row int
	// key is the key past the window's edge (fromBelow, fromAbove).
	key   uint64
	limit int // at most this many rows, where the page can keep to it
}

// span is the rows [start, end) a read of numbered rows asks for: the
// list's first limit rows, the limit rows before row (fromAbove), or the
// limit rows from row on (fromBelow, fromRow). A read of the list's last
// rows has none (ok false): with numbered rows the pager reads the end as
// a row once the total is known.
func (r pageRequest) span() (start, end int, ok bool) {
	switch r.from {
	case fromTop:
		return 0, r.limit, true
	case fromAbove:
		return max(r.row-r.limit, 0), r.row, true
	case fromBottom:
		return 0, 0, false
	}
	return r.row, r.row + r.limit, true
}

// pageAnswer is what a read found.
type pageAnswer[T any] struct {
	rows []T // in list order
	// first is the row number of rows[0] (numbered rows): a page whose
	// core reads only forwards may start a little before what was asked.
	first int
	// total is the list's length when core knows it, else -1.
	total int
	// atTop and atBottom: nothing is left above the first row / below the
	// last (for numbered rows the pager knows the top itself).
	atTop, atBottom bool
	// above and below are the keys to read on past the first / last row.
	above, below uint64
}

// pageRead is one read, made by the page's fetch in Update from what it
// knows then; it runs in a tea.Cmd (it calls core) and touches nothing of
// the page.
type pageRead[T any] func() (pageAnswer[T], error)

// pagerMsg brings a read's answer back to the pager that asked.
type pagerMsg[T any] struct {
	to  Page
	pg  *pager[T]
	gen int
	req pageRequest
	ans pageAnswer[T]
	err error
}

func (m pagerMsg[T]) addressee() Page { return m.to }

// newPager is a pager for owner's list, whose screen is height() rows,
// reading at most most rows at a time with fetch. A list without row
// numbers gives keys, the keys past one of its rows.
func newPager[T any](owner Page, height func() int, most int, fetch func(pageRequest) pageRead[T], keys func(*T) (uint64, uint64)) pager[T] {
	return pager[T]{owner: owner, height: height, most: most, fetch: fetch, keys: keys, numbered: keys == nil, total: -1}
}

// screen is the number of rows on screen.
func (p *pager[T]) screen() int { return max(p.height(), 1) }

// margin is how many rows the window keeps beyond the screen towards
// each edge: a screen, at least 10.
func (p *pager[T]) margin() int { return max(p.screen(), 10) }

// readSize is how many rows a read brings: the screen and the margin
// beyond it, at most most, so that opening or jumping is one read.
func (p *pager[T]) readSize() int { return min(p.most, p.screen()+p.margin()) }

// windowMax is how many rows the window keeps while scrolling: two reads,
// or more on a tall screen, so that the margins either side of the screen
// and a read always fit, and letting go of rows at one end never makes the
// other end read them again.
func (p *pager[T]) windowMax() int {
	return max(2*p.readSize(), p.readSize()+2*p.margin()+p.screen())
}

// row returns row i, or nil when it is not in the window.
func (p *pager[T]) row(i int) *T {
	if i < p.first || i >= p.first+len(p.rows) {
		return nil
	}
	return &p.rows[i-p.first]
}

// selected is the row under the cursor, or nil.
func (p *pager[T]) selected() *T { return p.row(p.cursor) }

// count is the number of rows the cursor may be kept within: the total
// when known, else the rows known to exist.
func (p *pager[T]) count() int {
	switch {
	case !p.numbered:
		return len(p.rows)
	case p.total >= 0:
		return p.total
	}
	return max(p.reached, p.first+len(p.rows))
}

// known is how many rows are known to exist: the total once known, else
// the furthest read ("N+").
func (p *pager[T]) known() int {
	if p.total >= 0 {
		return p.total
	}
	return p.count()
}

// jumping reports whether the window is being replaced (opened, or a jump
// to an end or a row).
func (p *pager[T]) jumping() bool {
	return p.busy[fromTop] || p.busy[fromBottom] || p.busy[fromRow]
}

// scroll keeps the cursor on screen.
func (p *pager[T]) scroll() { p.scrollCursor(p.count(), p.screen()) }

// fresh reports whether msg answers a read of the window as it is now.
func (p *pager[T]) fresh(msg pagerMsg[T]) bool { return msg.pg == p && msg.gen == p.gen }

// clear forgets the list: a new query. The next read starts afresh.
func (p *pager[T]) clear() {
	p.newGen()
	p.rows, p.first, p.total, p.reached = nil, 0, -1, 0
	p.top, p.bottom, p.above, p.below = false, false, 0, 0
	p.listCursor = listCursor{}
	p.loaded, p.err = false, nil
}

// release lets go of the rows, keeping the cursor and what is known of
// the list, for reload to read the rows on screen again.
func (p *pager[T]) release() {
	p.newGen()
	p.rows, p.first = nil, p.offset
	p.top, p.bottom = false, false
}

// newGen drops the answers of every read under way.
func (p *pager[T]) newGen() {
	p.gen++
	p.busy = [fromCount]bool{}
	p.again = false
}

// open reads the list's first rows, keeping the window on screen until
// they arrive.
func (p *pager[T]) open() tea.Cmd { return p.jump(fromTop) }

// reload reads the rows on screen again, the cursor where it is (numbered
// rows; a log opens at its head).
func (p *pager[T]) reload() tea.Cmd {
	if !p.numbered || !p.loaded {
		return p.open()
	}
	p.release()
	return p.ensure()
}

// home selects the list's first row: in the window, or with one read.
func (p *pager[T]) home() tea.Cmd {
	if p.top {
		p.cursor, p.offset = p.first, p.first
		return p.ensure()
	}
	if p.numbered {
		p.cursor, p.offset = 0, 0
		return p.ensure()
	}
	return p.jump(fromTop)
}

// end selects the list's last row: in the window, or with one read. A
// list that can read neither its end nor a row number there (a search
// whose total is not known yet) goes as far as the window reaches, which
// reads on.
func (p *pager[T]) end() tea.Cmd {
	switch {
	case p.bottom && len(p.rows) > 0:
		p.cursor = p.first + len(p.rows) - 1
		p.scroll()
		return p.ensure()
	case p.numbered && p.total >= 0:
		p.cursor = max(p.total-1, 0)
		p.scroll()
		return p.ensure()
	}
	if cmd := p.jump(fromBottom); cmd != nil {
		return cmd
	}
	return p.move(10 * p.screen())
}

// move moves the cursor d rows, within the rows known to exist: for
// numbered rows, anywhere up to the total (rows not in the window are
// read), or while it is not known, to the window's last row; for a log,
// within the window. The window reads on as the screen nears its edge.
func (p *pager[T]) move(d int) tea.Cmd {
	lo, hi := p.first, p.first+len(p.rows)-1
	switch {
	case p.numbered && p.total >= 0:
		lo, hi = 0, p.total-1
	case p.numbered:
		lo = 0 // the rows above the window exist, and are read again
	}
	if hi < lo {
		return nil
	}
	p.cursor = min(max(p.cursor+d, lo), hi)
	p.scroll()
	return p.ensure()
}

// ensure reads what the screen and its margins need: for numbered rows
// whose screen has left the window (a jump, or a reload), the rows there
// at once; else the rows past an edge the screen is within a margin of.
func (p *pager[T]) ensure() tea.Cmd {
	if !p.loaded {
		return nil
	}
	h, m := p.screen(), p.margin()
	// The rows on screen that exist, none of them in the window: read there.
	if lo, hi := p.offset, min(p.offset+h, p.count()); p.numbered && lo < hi && (p.first+len(p.rows) <= lo || p.first >= hi) {
		if j := p.jumpTo; p.busy[fromRow] && j.row <= lo && hi <= j.row+j.limit {
			return nil // the read under way brings them
		}
		return p.jump(fromRow)
	}
	if p.jumping() {
		return nil
	}
	var cmds []tea.Cmd
	if !p.bottom && p.first+len(p.rows) < p.offset+h+m {
		cmds = append(cmds, p.read(fromBelow))
	}
	if !p.top && p.first > p.offset-m {
		cmds = append(cmds, p.read(fromAbove))
	}
	return tea.Batch(cmds...)
}

// request says what a read of kind from asks for now.
func (p *pager[T]) request(from pageFrom) pageRequest {
	r := pageRequest{from: from, limit: p.readSize()}
	switch from {
	case fromBelow:
		r.row, r.key = p.first+len(p.rows), p.below
	case fromAbove:
		r.row, r.key = p.first, p.above
	case fromRow:
		// The screen with the rest of the read split either side, kept
		// within the list: at its end, the margin above the screen.
		r.row = max(p.offset-(r.limit-p.screen())/2, 0)
		if p.total >= 0 {
			r.row = max(min(r.row, p.total-r.limit), 0)
		}
	}
	return r
}

// read starts a read of kind from unless one runs; nil when the page
// cannot read that.
func (p *pager[T]) read(from pageFrom) tea.Cmd {
	if p.busy[from] {
		return nil
	}
	req := p.request(from)
	work := p.fetch(req)
	if work == nil {
		return nil
	}
	p.busy[from] = true
	return p.cmd(req, work)
}

// jump replaces the window with a read of kind from; answers to the reads
// under way are dropped. nil when the page cannot read that.
func (p *pager[T]) jump(from pageFrom) tea.Cmd {
	req := p.request(from)
	work := p.fetch(req)
	if work == nil {
		return nil
	}
	p.newGen()
	p.busy[from] = true
	p.jumpTo = req
	return p.cmd(req, work)
}

func (p *pager[T]) cmd(req pageRequest, work pageRead[T]) tea.Cmd {
	to, pg, gen := p.owner, p, p.gen
	return func() tea.Msg {
		ans, err := work()
		return pagerMsg[T]{to: to, pg: pg, gen: gen, req: req, ans: ans, err: err}
	}
}

// readHead reads the rows that arrived above a window that shows the head
// of the list (live events): once more after a read above under way.
func (p *pager[T]) readHead() tea.Cmd {
	if !p.loaded || !p.top {
		return nil
	}
	if p.busy[fromAbove] {
		p.again = true
		return nil
	}
	return p.read(fromAbove)
}

// canInsertTop reports whether a live row may go straight in at the head:
// the window shows the head of a list without row numbers and no read
// above runs.
func (p *pager[T]) canInsertTop() bool {
	return !p.numbered && p.loaded && p.top && !p.busy[fromAbove]
}

// insertTop puts a live row at the head (see canInsertTop), above being
// the key past it. A selection further down stays on its row; one on the
// head follows the new row. The window keeps a margin below the screen,
// so a log followed live keeps its size and its array; once the rows
// above the screen pass windowMax, the head goes, and with it the live
// rows: scrolling up reads them.
func (p *pager[T]) insertTop(row T, above uint64) {
	p.fit()
	p.rows = slices.Insert(p.rows, 0, row)
	if p.cursor > p.first {
		p.cursor++
		p.offset++
	}
	p.above = above
	if p.total >= 0 {
		p.total++
	}
	p.cut(p.offset - p.first + p.screen() + p.margin())
	p.trimAbove()
	p.scroll()
}

// receive takes an answer: older ones, and those past an edge the window
// no longer has, are dropped. It returns the reads that follow.
func (p *pager[T]) receive(msg pagerMsg[T]) tea.Cmd {
	if !p.fresh(msg) {
		return nil
	}
	from, a := msg.req.from, msg.ans
	p.busy[from] = false
	if msg.err != nil {
		p.err = msg.err
		return nil
	}
	switch from {
	case fromBelow:
		if p.edgeMoved(msg.req.row, msg.req.key, p.first+len(p.rows), p.below) {
			return p.ensure()
		}
	case fromAbove:
		if p.edgeMoved(msg.req.row, msg.req.key, p.first, p.above) {
			return p.ensure()
		}
	}
	p.err = nil
	if a.total >= 0 {
		if p.numbered {
			p.total = a.total
		} else {
			p.total = max(p.total, a.total)
		}
	}
	switch from {
	case fromTop, fromBottom, fromRow:
		p.rows = a.rows
		p.first = 0
		if p.numbered {
			p.first = a.first
		}
		p.top, p.bottom = a.atTop, a.atBottom
		p.above, p.below = a.above, a.below
		switch from {
		case fromTop:
			p.cursor, p.offset = p.first, p.first
		case fromBottom:
			p.cursor, p.offset = max(p.first+len(p.rows)-1, p.first), p.first
		}
	case fromBelow:
		p.rows = append(p.rows, a.rows...)
		p.bottom, p.below = a.atBottom, a.below
		p.trimAbove()
	case fromAbove:
		follow := p.top && p.cursor == p.first
		n := len(a.rows)
		p.rows = append(a.rows, p.rows...)
		switch {
		case p.numbered:
			p.first = a.first
		case !follow:
			p.cursor += n
			p.offset += n
		}
		if follow {
			p.cursor, p.offset = p.first, p.first
		}
		p.top, p.above = a.atTop, a.above
		p.trimBelow()
	}
	if p.numbered {
		p.top = p.first == 0
		if a.atBottom && from != fromAbove {
			p.total = p.first + len(p.rows)
		}
		p.bottom = p.total >= 0 && p.first+len(p.rows) >= p.total
		p.reached = max(p.reached, p.first+len(p.rows))
	}
	p.loaded = true
	p.clamp()
	p.scroll()
	p.fit()
	cmd := p.ensure()
	if from == fromAbove && p.again && p.top {
		p.again = false
		cmd = tea.Batch(cmd, p.read(fromAbove))
	}
	return cmd
}

// edgeMoved reports whether the edge a read started from is no longer the
// window's (rows were let go, or the window was replaced meanwhile).
func (p *pager[T]) edgeMoved(reqRow int, reqKey uint64, row int, key uint64) bool {
	if p.numbered {
		return reqRow != row
	}
	return reqKey != key
}

// clamp keeps the cursor on a row that exists.
func (p *pager[T]) clamp() {
	switch {
	case p.numbered && p.total >= 0:
		p.cursor = min(p.cursor, max(p.total-1, 0))
	case !p.numbered:
		p.cursor = min(p.cursor, max(len(p.rows)-1, 0))
	}
}

// trimAbove lets go of rows at the top once the window holds more than
// windowMax, never those on screen.
func (p *pager[T]) trimAbove() {
	drop := min(len(p.rows)-p.windowMax(), p.offset-p.first)
	if drop <= 0 {
		return
	}
	p.rows = slices.Delete(p.rows, 0, drop)
	if p.numbered {
		p.first += drop
	} else {
		p.cursor -= drop
		p.offset -= drop
		p.above, _ = p.keys(&p.rows[0])
	}
	p.top = false
}

// trimBelow lets go of rows at the bottom once the window holds more than
// windowMax, never those on screen.
func (p *pager[T]) trimBelow() {
	if len(p.rows) > p.windowMax() {
		p.cut(max(p.windowMax(), p.offset-p.first+p.screen()))
	}
}

// cut keeps the window's first keep rows.
func (p *pager[T]) cut(keep int) {
	if len(p.rows) > keep && keep >= 1 {
		clear(p.rows[keep:])
		p.rows = p.rows[:keep]
		if !p.numbered {
			_, p.below = p.keys(&p.rows[keep-1])
		}
		p.bottom = false
	}
	p.fit()
}

// pagerSlack is the room the window keeps for rows coming in at the top,
// so that a live row moves rows along instead of allocating.
const pagerSlack = 8

// fit gives the window an array of its rows and pagerSlack more, letting
// go of a larger one (after a cut, or a read) or growing a full one.
func (p *pager[T]) fit() {
	if spare := cap(p.rows) - len(p.rows); spare > pagerSlack || spare == 0 {
		p.rows = append(make([]T, 0, len(p.rows)+pagerSlack), p.rows...)
	}
}
