package tui

import (
	"slices"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// fakeList is a list of n rows for a pager, read the two ways core reads
// its lists: by row number (as the Users table's positions), or as a log
// read newest first by seq (as the audit log), whose row i from the top is
// seq n-i. reads counts the reads that ran.
type fakeList struct {
	n     int
	reads int
}

// numbered reads rows by row number; row i holds i.
func (l *fakeList) numbered(req pageRequest) pageRead[int] {
	start, end, ok := req.span()
	if !ok {
		return nil
	}
	return func() (pageAnswer[int], error) {
		l.reads++
		end := min(end, l.n)
		var rows []int
		for i := start; i < end; i++ {
			rows = append(rows, i)
		}
		return pageAnswer[int]{rows: rows, first: start, total: l.n, atBottom: end >= l.n}, nil
	}
}

// logKeys are the seqs past a row of the log.
func logKeys(seq *int) (above, below uint64) { return uint64(*seq + 1), uint64(*seq - 1) }

// log reads the log by seq keys, newest first.
func (l *fakeList) log(req pageRequest) pageRead[int] {
	return func() (pageAnswer[int], error) {
		l.reads++
		a := pageAnswer[int]{total: -1}
		down := func(from int) {
			for s := from; s >= 1 && len(a.rows) < req.limit; s-- {
				a.rows = append(a.rows, s)
			}
			last := from + 1
			if len(a.rows) > 0 {
				last = a.rows[len(a.rows)-1]
			}
			a.atBottom, a.below = last <= 1, uint64(max(last-1, 0))
		}
		up := func(from int) {
			for s := from; s <= l.n && len(a.rows) < req.limit; s++ {
				a.rows = append(a.rows, s)
			}
			slices.Reverse(a.rows)
			a.atTop, a.above = true, uint64(l.n+1)
			if len(a.rows) > 0 && a.rows[0] < l.n {
				a.atTop, a.above = false, uint64(a.rows[0]+1)
			}
		}
		switch req.from {
		case fromTop:
			a.atTop, a.above = true, uint64(l.n+1)
			down(l.n)
		case fromBelow:
			down(int(req.key))
		case fromAbove:
			up(int(req.key))
		case fromBottom:
			up(1)
			a.atBottom = true
		}
		return a, nil
	}
}

// settlePager runs cmd and hands the pager every answer, as the program
// would, until no read is left.
func settlePager[T any](p *pager[T], cmd tea.Cmd) {
	queue := run(cmd)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		if m, ok := msg.(pagerMsg[T]); ok {
			queue = append(queue, run(p.receive(m))...)
		}
	}
}

const pagerTestHeight = 20

func numberedPager(l *fakeList) *pager[int] {
	p := newPager(nil, func() int { return pagerTestHeight }, 100, l.numbered, nil)
	return &p
}

func logPager(l *fakeList) *pager[int] {
	p := newPager(nil, func() int { return pagerTestHeight }, 50, l.log, logKeys)
	return &p
}

// want is the row a pager over l should select with the cursor on row i
// from the top.
func (l *fakeList) want(p *pager[int], i int) int {
	if p.numbered {
		return i
	}
	return l.n - i
}

// sel is the selected row, or -1.
func sel(p *pager[int]) int {
	if r := p.selected(); r != nil {
		return *r
	}
	return -1
}

// Scrolling through 10,000 rows one at a time and back, the window never
// holds more than windowMax rows, each row is read about once, and the
// window is always one run of rows in list order.
func TestPagerWindowStaysBounded(t *testing.T) {
	for name, open := range map[string]func(*fakeList) *pager[int]{"numbered": numberedPager, "log": logPager} {
		t.Run(name, func(t *testing.T) {
			const rows = 10_000
			l := &fakeList{n: rows}
			p := open(l)
			settlePager(p, p.open())
			check := func(i int) {
				t.Helper()
				if len(p.rows) > p.windowMax() {
					t.Fatalf("row %d: the window holds %d rows, more than %d", i, len(p.rows), p.windowMax())
				}
				if got := sel(p); got != l.want(p, i) {
					t.Fatalf("row %d: selected %d, want %d", i, got, l.want(p, i))
				}
				for j := 1; j < len(p.rows); j++ {
					if d := p.rows[j] - p.rows[j-1]; d != 1 && d != -1 {
						t.Fatalf("row %d: window not one run at %d: %d after %d", i, j, p.rows[j], p.rows[j-1])
					}
				}
			}
			l.reads = 0
			for i := 1; i < rows; i++ {
				settlePager(p, p.move(1))
				check(i)
			}
			if want := rows/p.readSize() + 2; l.reads > want {
				t.Fatalf("%d reads scrolling down %d rows, want at most %d", l.reads, rows, want)
			}
			if !p.bottom {
				t.Fatal("at the last row, the window does not hold the bottom")
			}
			l.reads = 0
			for i := rows - 2; i >= 0; i-- {
				settlePager(p, p.move(-1))
				check(i)
			}
			if want := rows/p.readSize() + 2; l.reads > want {
				t.Fatalf("%d reads scrolling up %d rows, want at most %d", l.reads, rows, want)
			}
		})
	}
}

// G and g reach the ends of a long list with one read each, the screen
// full.
func TestPagerEndsInOneRead(t *testing.T) {
	for name, open := range map[string]func(*fakeList) *pager[int]{"numbered": numberedPager, "log": logPager} {
		t.Run(name, func(t *testing.T) {
			l := &fakeList{n: 1_000_000}
			p := open(l)
			settlePager(p, p.open())
			full := func(end string) {
				t.Helper()
				for i := p.offset; i < p.offset+pagerTestHeight; i++ {
					if p.row(i) == nil {
						t.Fatalf("%s: row %d on screen is not read", end, i)
					}
				}
			}
			l.reads = 0
			settlePager(p, p.end())
			if got := sel(p); l.reads != 1 || got != l.want(p, l.n-1) {
				t.Fatalf("G: %d reads, selected %d, want 1 read and %d", l.reads, got, l.want(p, l.n-1))
			}
			full("G")
			l.reads = 0
			settlePager(p, p.home())
			if got := sel(p); l.reads != 1 || got != l.want(p, 0) {
				t.Fatalf("g: %d reads, selected %d, want 1 read and %d", l.reads, got, l.want(p, 0))
			}
			full("g")
		})
	}
}

// Answers to reads of an older window are dropped: after a new query, after
// a jump, and past an edge the window has let go of.
func TestPagerDropsStaleAnswers(t *testing.T) {
	l := &fakeList{n: 1000}
	p := numberedPager(l)
	settlePager(p, p.open())

	// A new query (clear) while the first list's read runs.
	p.clear()
	stale := p.open()
	l.n = 5
	fresh := p.jump(fromTop) // the query changed again
	settlePager(p, stale)
	if p.loaded || len(p.rows) != 0 {
		t.Fatalf("the stale answer was taken: %d rows", len(p.rows))
	}
	settlePager(p, fresh)
	if len(p.rows) != 5 || p.total != 5 {
		t.Fatalf("%d rows of %d, want the new list's 5", len(p.rows), p.total)
	}

	// A read below under way when G jumps away: its rows would land in the
	// wrong place.
	l.n = 1000
	settlePager(p, p.jump(fromTop))
	below := p.move(35) // the screen nears the window's end
	if below == nil {
		t.Fatal("no read below")
	}
	settlePager(p, p.end())
	at := p.first
	settlePager(p, below)
	if p.first != at || p.cursor != l.n-1 || p.rows[len(p.rows)-1] != l.n-1 {
		t.Fatalf("window from %d (was %d), cursor %d, last row %d", p.first, at, p.cursor, p.rows[len(p.rows)-1])
	}

	// A log's read below under way while the window lets go of its bottom
	// (as live events at the head do): the answer no longer fits.
	ll := &fakeList{n: 1000}
	lp := logPager(ll)
	settlePager(lp, lp.open())
	below = lp.move(25)
	if below == nil {
		t.Fatal("no read below in the log")
	}
	lp.cut(len(lp.rows) - 5)
	n := len(lp.rows)
	settlePager(lp, below)
	for j := 1; j < len(lp.rows); j++ {
		if lp.rows[j] != lp.rows[j-1]-1 {
			t.Fatalf("log window not one run at %d (%d rows, were %d): %d after %d", j, len(lp.rows), n, lp.rows[j], lp.rows[j-1])
		}
	}
}

// Rows that arrive live at the head of a log leave the cursor on its row;
// on the head row, it follows the new head.
func TestPagerLiveInsertKeepsTheCursorOnItsRow(t *testing.T) {
	l := &fakeList{n: 300}
	p := logPager(l)
	settlePager(p, p.open())
	settlePager(p, p.move(3))
	held := sel(p)
	for range 30 {
		l.n++
		if !p.canInsertTop() {
			t.Fatal("a log at its head does not take live rows")
		}
		p.insertTop(l.n, uint64(l.n+1))
		if sel(p) != held || p.rows[0] != l.n {
			t.Fatalf("after live row %d: selected %d, want %d; head %d", l.n, sel(p), held, p.rows[0])
		}
	}
	// Read from the store instead (a filtered log): the same.
	l.n += 3
	settlePager(p, p.readHead())
	if sel(p) != held || p.rows[0] != l.n {
		t.Fatalf("after a read above: selected %d, want %d; head %d", sel(p), held, p.rows[0])
	}
	// On the head, the selection follows the newest row.
	settlePager(p, p.home())
	for range 3 {
		l.n++
		p.insertTop(l.n, uint64(l.n+1))
		if sel(p) != l.n {
			t.Fatalf("on the head: selected %d, want the new row %d", sel(p), l.n)
		}
	}
	if len(p.rows) > p.screen()+p.margin() {
		t.Fatalf("followed live, the window grew to %d rows", len(p.rows))
	}
	// Further down, a long run keeps the window bounded: once the rows
	// above the screen pass windowMax, the head goes (scrolling up reads
	// it), and the selection stays.
	settlePager(p, p.move(30))
	held = sel(p)
	for range 500 {
		l.n++
		if p.canInsertTop() {
			p.insertTop(l.n, uint64(l.n+1))
		}
		if len(p.rows) > p.windowMax() || sel(p) != held {
			t.Fatalf("after live row %d: %d rows (at most %d), selected %d, want %d", l.n, len(p.rows), p.windowMax(), sel(p), held)
		}
	}
	if p.canInsertTop() || p.top {
		t.Fatal("the head was kept past windowMax")
	}
	for range 1000 {
		settlePager(p, p.move(-1))
	}
	if sel(p) != l.n || !p.top {
		t.Fatalf("scrolled up: selected %d, want the newest %d", sel(p), l.n)
	}
}
