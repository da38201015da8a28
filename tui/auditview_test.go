package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// withActions records n more audit events (action.performed by the owner).
func withActions(t testing.TB, f *fixture, n int) {
	t.Helper()
	owner := f.principal(t, core.DemoOwner)
	for i := range n {
		if _, err := f.c.RecordAction(owner, fmt.Sprintf("step %d", i+1), map[string]any{"i": i + 1}); err != nil {
			t.Fatal(err)
		}
	}
}

func openViewer(t testing.TB, f *fixture, email string, q core.AuditQuery) *AuditViewer {
	t.Helper()
	v := NewAuditViewer(f.pageCommon(t, email, 100, 30), "Audit", q).(*AuditViewer)
	noErrors(t, drivePage(t, v, v.Init()))
	return v
}

func (v *AuditViewer) selectedSeq() uint64 {
	if v.pg.cursor >= len(v.pg.rows) {
		return 0
	}
	return v.pg.rows[v.pg.cursor].Seq
}

func TestAuditViewerPaging(t *testing.T) {
	f := newFixture(t, 30)
	withActions(t, f, 300)
	head := f.c.AuditCount()
	if head < 2*auditPageSize-50 {
		t.Fatalf("only %d events", head)
	}
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	// One page, not the log; the newest selected.
	if len(v.pg.rows) > auditPageSize {
		t.Fatalf("opened with %d rows in memory, want at most a page (%d)", len(v.pg.rows), auditPageSize)
	}
	if got := v.selectedSeq(); got != head {
		t.Fatalf("selected #%d, want the newest #%d", got, head)
	}
	mustContain(t, v.View(), fmt.Sprintf("#%d ·", head), "step 300")

	pageKeys(t, v, "j", "j", "down")
	if got := v.selectedSeq(); got != head-3 {
		t.Fatalf("after 3 down: #%d, want #%d", got, head-3)
	}
	pageKeys(t, v, "k")
	if got := v.selectedSeq(); got != head-2 {
		t.Fatalf("after up: #%d, want #%d", got, head-2)
	}
	// Scrolling on reads the next page before the window runs out.
	for range 250 {
		pageKeys(t, v, "j")
	}
	if got := v.selectedSeq(); got != head-252 {
		t.Fatalf("after 250 more down: #%d, want #%d", got, head-252)
	}
	for i := 1; i < len(v.pg.rows); i++ {
		if v.pg.rows[i].Seq != v.pg.rows[i-1].Seq-1 {
			t.Fatalf("window not contiguous at %d: #%d after #%d", i, v.pg.rows[i].Seq, v.pg.rows[i-1].Seq)
		}
	}
	// G: the oldest event, from a forward page.
	pageKeys(t, v, "G")
	if got := v.selectedSeq(); got != 1 {
		t.Fatalf("G selected #%d, want #1", got)
	}
	mustContain(t, v.View(), "#1 ·")
	pageKeys(t, v, "k")
	if got := v.selectedSeq(); got != 2 {
		t.Fatalf("k after G selected #%d, want #2", got)
	}
	// pgdn/pgup move by a screen.
	pageKeys(t, v, "g")
	if got := v.selectedSeq(); got != head {
		t.Fatalf("g selected #%d, want #%d", got, head)
	}
	pageKeys(t, v, "pgdown")
	step := uint64(v.listHeight() - 1)
	if got := v.selectedSeq(); got != head-step {
		t.Fatalf("pgdn selected #%d, want #%d", got, head-step)
	}
	drivePage(t, v, tea.KeyMsg{Type: tea.KeyPgUp})
	if got := v.selectedSeq(); got != head {
		t.Fatalf("pgup selected #%d, want #%d", got, head)
	}
	// From the oldest all the way up, one key at a time: every event once.
	pageKeys(t, v, "G")
	seen := uint64(1)
	for v.selectedSeq() != head {
		pageKeys(t, v, "k")
		if v.selectedSeq() != seen+1 {
			t.Fatalf("k from #%d selected #%d", seen, v.selectedSeq())
		}
		seen++
	}
	if !v.pg.top {
		t.Fatal("at the top but not marked newest")
	}
}

func TestAuditViewerWindowStaysBounded(t *testing.T) {
	f := newFixture(t, 30)
	withActions(t, f, 1100)
	head := f.c.AuditCount()
	// 20 lines is the page of an 80×24 terminal, which reads smaller pages.
	for _, h := range []int{30, 20} {
		t.Run(fmt.Sprint("height=", h), func(t *testing.T) { scrollWindow(t, f, h, head) })
	}
}

func scrollWindow(t *testing.T, f *fixture, height int, head uint64) {
	v := NewAuditViewer(f.pageCommon(t, core.DemoOwner, 100, height), "Audit", core.AuditQuery{}).(*AuditViewer)
	noErrors(t, drivePage(t, v, v.Init()))
	// reads counts the pages read for msgs: scrolling reads each page
	// once, not back and forth.
	reads := 0
	count := func(msgs []tea.Msg) {
		for _, m := range msgs {
			if _, ok := m.(pagerMsg[core.Event]); ok {
				reads++
			}
		}
	}
	for range 1120 {
		count(pageKeys(t, v, "j"))
		if len(v.pg.rows) > v.pg.windowMax() {
			t.Fatalf("window holds %d rows, more than %d", len(v.pg.rows), v.pg.windowMax())
		}
	}
	if got := v.selectedSeq(); got != head-1120 {
		t.Fatalf("selected #%d, want #%d", got, head-1120)
	}
	if want := 1120/v.pg.readSize() + 2; reads > want {
		t.Fatalf("%d pages read scrolling down 1120 rows, want at most %d", reads, want)
	}
	// Back up past the dropped rows: they are read again.
	reads = 0
	for range 1120 {
		count(pageKeys(t, v, "k"))
	}
	if got := v.selectedSeq(); got != head {
		t.Fatalf("back at the top: #%d, want #%d", got, head)
	}
	if want := 1120/v.pg.readSize() + 2; reads > want {
		t.Fatalf("%d pages read scrolling up 1120 rows, want at most %d", reads, want)
	}
}

func TestAuditViewerSanitizesDetails(t *testing.T) {
	f := newFixture(t, 30)
	owner := f.principal(t, core.DemoOwner)
	if _, err := f.c.RecordAction(owner, "paste", map[string]any{"note": "evil\x1b[2J\x1b]0;pwned\x07 text"}); err != nil {
		t.Fatal(err)
	}
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	view := v.View()
	mustNotContain(t, view, "\x1b", "\x07")
	mustContain(t, view, `evil\x1b[2J`)
}

func TestAuditViewerLive(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	owner := f.principal(t, core.DemoOwner)
	record := func(action string) uint64 {
		ev, err := f.c.RecordAction(owner, action, nil)
		if err != nil {
			t.Fatal(err)
		}
		noErrors(t, drivePage(t, v, ChangeMsg{nextChange(t, sub, core.ChangeAudit)}))
		return ev.Seq
	}
	// At the top, new events come in at the top and stay selected.
	seq := record("first live")
	if v.pg.rows[0].Seq != seq || v.pg.cursor != 0 {
		t.Fatalf("top #%d cursor %d, want #%d at 0", v.pg.rows[0].Seq, v.pg.cursor, seq)
	}
	mustContain(t, v.View(), "first live")
	// Further down, the selection stays on its event.
	pageKeys(t, v, "j", "j")
	held := v.selectedSeq()
	seq = record("second live")
	if v.pg.rows[0].Seq != seq || v.selectedSeq() != held {
		t.Fatalf("top #%d selected #%d, want #%d and #%d", v.pg.rows[0].Seq, v.selectedSeq(), seq, held)
	}
}

func TestAuditViewerFilter(t *testing.T) {
	f := newFixture(t, 30)
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	pageKeys(t, v, "/")
	if !v.Capturing() {
		t.Fatal("/ did not focus the filter")
	}
	drivePage(t, v, typing("invoices")...)
	noErrors(t, pageKeys(t, v, "enter"))
	if v.Capturing() || len(v.pg.rows) != 2 {
		t.Fatalf("capturing %v, %d rows; want the 2 events mentioning invoices", v.Capturing(), len(v.pg.rows))
	}
	for _, ev := range v.pg.rows {
		if !strings.Contains(strings.ToLower(auditDetails(&ev)), "invoices") {
			t.Fatalf("row %+v does not match", ev)
		}
	}
	mustContain(t, v.View(), "filter: invoices")
	// esc clears it, and esc again closes the overlay.
	pageKeys(t, v, "esc")
	if v.text != "" || len(v.pg.rows) < 40 {
		t.Fatalf("esc left filter %q with %d rows", v.text, len(v.pg.rows))
	}
	out := pageKeys(t, v, "esc")
	if len(out) != 1 || out[0] != (CloseOverlayMsg{}) {
		t.Fatalf("esc sent %v, want CloseOverlayMsg", out)
	}
	// A filter that matches nothing says so.
	pageKeys(t, v, "/")
	drivePage(t, v, typing("no such thing")...)
	pageKeys(t, v, "enter")
	mustContain(t, v.View(), "No events match.")
}

func TestAuditViewerSession(t *testing.T) {
	f := newFixture(t, 30)
	// Jane (no audit capability) may read the sessions on her.
	v := openViewer(t, f, core.DemoJane, core.AuditQuery{Session: "imp_00000001"})
	if len(v.pg.rows) != 3 {
		t.Fatalf("%d events, want started, action, ended", len(v.pg.rows))
	}
	mustContain(t, v.View(), "session.ended", "action.performed", "session.started", "action=view")
	// Bob may not read the sessions on Jane.
	bob := NewAuditViewer(f.pageCommon(t, core.DemoBob, 100, 30), "Audit", core.AuditQuery{Session: "imp_00000001"})
	errs := errorsOf(drivePage(t, bob, bob.Init()))
	if len(errs) != 1 || !strings.Contains(errs[0], "may not read") {
		t.Fatalf("errors %q", errs)
	}
}

func TestAuditViewerGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoOwner, 100, 30)
	goldenPage(t, c, NewAuditViewer(c, "Session imp_00000001 · Lee Lead → Jane Doe", core.AuditQuery{Session: "imp_00000001"}),
		"session.started", "")
}

// BenchmarkAuditViewerOpen opens the whole log of a large demo (one
// user.created event per member) and scrolls five pages: the cost must
// not grow with the log, since only a window is read.
func BenchmarkAuditViewerOpen(b *testing.B) {
	f := newFixture(b, 200_000)
	events := f.c.AuditCount()
	c := f.pageCommon(b, core.DemoOwner, 100, 30)
	b.ResetTimer()
	for b.Loop() {
		v := newAuditViewer(c, "Audit", core.AuditQuery{})
		drivePage(b, v, v.Init())
		for range 5 {
			drivePage(b, v, tea.KeyMsg{Type: tea.KeyPgDown})
		}
		if len(v.pg.rows) > v.pg.windowMax() {
			b.Fatalf("%d rows in memory", len(v.pg.rows))
		}
	}
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/open+5pages")
}

// colourCommon is c with a theme's styles for a 256-colour terminal.
func colourCommon(c Common, theme string) Common {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.ANSI256)
	c.Styles = themes.New(r, theme)
	return c
}

// The table's ink path draws a row as lipgloss would: the row's style
// around the runs of plain cells, the status colour around the result.
func TestAuditRowsDrawnAsLipglossWould(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoOwner, 100, 30)
	page, err := f.c.Audit(f.principal(t, core.DemoOwner), core.AuditQuery{}, 0, true, 40)
	if err != nil {
		t.Fatal(err)
	}
	for _, theme := range themes.Names() {
		st := pageStylesOf(colourCommon(c, theme))
		tb := tableOf(auditCols(), 98)
		w := tb.widths
		for _, ev := range page.Events {
			cells := []string{fit(ev.Time.UTC().Format("2006-01-02 15:04:05"), w[0]), fit(core.Display(ev.Type), w[1]),
				fit(auditWho(&ev), w[2]), fit(core.Display(ev.Result), w[3]), fit(auditDetails(&ev), w[4])}
			for _, sel := range []bool{false, true} {
				want := st.Row.Render("  "+strings.Join(cells[:3], " ")+" ") + st.Status(ev.Result).Render(cells[3]) + st.Row.Render(" "+cells[4])
				if sel {
					want = st.Selected.Render("> " + strings.Join(cells, " "))
				}
				if got := auditRow(st, &ev, tb, sel); got != want {
					t.Fatalf("%s theme, #%d selected=%v:\n got %q\nwant %q", theme, ev.Seq, sel, got, want)
				}
			}
		}
	}
}

// Rows drawn once are drawn again when the theme or the width changes:
// every row on screen is as drawn afresh for the current styles and width.
func TestAuditViewerRedrawsOnThemeAndWidth(t *testing.T) {
	f := newFixture(t, 30)
	base := f.pageCommon(t, core.DemoOwner, 100, 30)
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	pageKeys(t, v, "j", "j")
	for _, w := range []int{100, 120, 90} {
		for _, c := range []Common{colourCommon(base, themes.Dark), colourCommon(base, themes.Light), base} {
			c.Width = w
			v.SetCommon(c)
			view := v.View()
			st := pageStylesOf(c)
			tb := tableOf(auditCols(), w-2)
			for i := v.pg.offset; i < v.pg.offset+v.listHeight() && i < len(v.pg.rows); i++ {
				if row := auditRow(st, &v.pg.rows[i], tb, i == v.pg.cursor); !strings.Contains(view, row) {
					t.Fatalf("theme %s width %d: row %d is not as drawn afresh (%q):\n%s", c.Styles.Name, w, i, row, view)
				}
			}
		}
	}
}

// Live events reach a filtered viewer only when they match, and one that
// is scrolled keeps its selection, whatever order events arrive in.
func TestAuditViewerLiveFilteredAndOutOfOrder(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	owner := f.principal(t, core.DemoOwner)
	record := func(action string) core.Change {
		if _, err := f.c.RecordAction(owner, action, nil); err != nil {
			t.Fatal(err)
		}
		return nextChange(t, sub, core.ChangeAudit)
	}
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	pageKeys(t, v, "/")
	drivePage(t, v, typing("kept")...)
	pageKeys(t, v, "enter")
	before := len(v.pg.rows)
	noErrors(t, drivePage(t, v, ChangeMsg{record("dropped thing")}))
	noErrors(t, drivePage(t, v, ChangeMsg{record("kept thing")}))
	if len(v.pg.rows) != before+1 || !strings.Contains(auditDetails(&v.pg.rows[0]), "kept thing") {
		t.Fatalf("filtered window: %d rows (was %d), top %q", len(v.pg.rows), before, auditDetails(&v.pg.rows[0]))
	}
	mustNotContain(t, v.View(), "dropped thing")

	// Unfiltered and scrolled down; two events arrive newest first.
	pageKeys(t, v, "esc")
	pageKeys(t, v, "j", "j", "j")
	held := v.selectedSeq()
	first, second := record("live one"), record("live two")
	noErrors(t, drivePage(t, v, ChangeMsg{second}))
	noErrors(t, drivePage(t, v, ChangeMsg{first}))
	if v.selectedSeq() != held || v.pg.rows[0].Seq != second.Event.Seq || v.pg.rows[1].Seq != first.Event.Seq {
		t.Fatalf("selected #%d (want #%d), top #%d #%d (want #%d #%d)", v.selectedSeq(), held,
			v.pg.rows[0].Seq, v.pg.rows[1].Seq, second.Event.Seq, first.Event.Seq)
	}
	for i := 1; i < len(v.pg.rows); i++ {
		if v.pg.rows[i].Seq != v.pg.rows[i-1].Seq-1 {
			t.Fatalf("window not contiguous at %d: #%d after #%d", i, v.pg.rows[i].Seq, v.pg.rows[i-1].Seq)
		}
	}
	// Following the newest, a long run of live events keeps the window
	// small, read from the hub alone.
	pageKeys(t, v, "g")
	for i := range 3 * auditPageSize {
		ch := record(fmt.Sprintf("run %d", i))
		_, cmd := v.Update(ChangeMsg{ch})
		if cmd != nil {
			t.Fatalf("event %d needed a read", i)
		}
	}
	if len(v.pg.rows) > max(auditPageSize, v.listHeight()+v.pg.margin()) || !strings.Contains(v.View(), fmt.Sprintf("run %d", 3*auditPageSize-1)) {
		t.Fatalf("%d rows after a run of live events; view:\n%s", len(v.pg.rows), v.View())
	}
}

func TestFilterInputBuiltWhenFirstUsed(t *testing.T) {
	f := newFixture(t, 30)
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	v.SetCommon(colourCommon(v.c, themes.Light))
	if v.input.in != nil || v.input.Value() != "" {
		t.Fatal("the filter input was built before / was pressed")
	}
	pageKeys(t, v, "/")
	drivePage(t, v, typing("step")...)
	if v.input.in == nil || v.input.Value() != "step" {
		t.Fatalf("typed %q", v.input.Value())
	}
	// Built late, it still has the session's colours.
	if v.input.in.PromptStyle.Render("/") != v.c.Styles.Prompt.Render("/") {
		t.Fatal("the input built late lost the theme's prompt style")
	}
}

// Following the newest events, a live event moves the window's rows along
// in place: no new array per event.
func TestAuditViewerLiveEventsReuseTheWindow(t *testing.T) {
	f := newFixture(t, 30)
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	owner := f.principal(t, core.DemoOwner)
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	var changes []core.Change
	for i := range 20 {
		if _, err := f.c.RecordAction(owner, fmt.Sprintf("reuse %d", i), nil); err != nil {
			t.Fatal(err)
		}
		changes = append(changes, nextChange(t, sub, core.ChangeAudit))
	}
	v.Update(ChangeMsg{changes[0]})
	next := 1
	// One warm-up run, then one event a run.
	allocs := testing.AllocsPerRun(len(changes)-2, func() {
		v.Update(ChangeMsg{changes[next]})
		next++
	})
	if allocs > 0 || next != len(changes) || v.pg.rows[0].Seq != changes[len(changes)-1].Event.Seq {
		t.Fatalf("%v allocations a live event; top #%d after %d", allocs, v.pg.rows[0].Seq, next)
	}
	if spare := cap(v.pg.rows) - len(v.pg.rows); spare > pagerSlack {
		t.Fatalf("%d rows of room kept", spare)
	}
}

// Written straight into a frame, the view is the one View returns, never
// taller than the page.
func TestAuditViewerWritesItsViewIntoTheFrame(t *testing.T) {
	f := newFixture(t, 30)
	for _, q := range []core.AuditQuery{{}, {Session: "nothing-such"}} {
		v := openViewer(t, f, core.DemoOwner, q)
		for h := 5; h <= 40; h++ {
			c := v.c
			c.Height = h
			v.SetCommon(c)
			v.note = ""
			if h%2 == 0 {
				v.note = "Filtered by something"
			}
			var b strings.Builder
			v.writeView(&b)
			if n := strings.Count(b.String(), "\n") + 1; n > h {
				t.Fatalf("height %d: wrote %d lines", h, n)
			}
			if got, want := strings.TrimRight(b.String(), "\n"), v.View(); got != want {
				t.Fatalf("height %d: wrote\n%s\nView is\n%s", h, got, want)
			}
		}
	}
}

// A session's audit viewer fills its first page: all ten events of a
// session show at once at 80×24, as the Sessions tab counts them.
func TestSessionAuditViewerFillsFirstPage(t *testing.T) {
	f := newFixture(t, 30)
	owner := f.principal(t, core.DemoOwner)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	s, err := f.c.Start(owner, jane.ID, "ticket")
	if err != nil {
		t.Fatal(err)
	}
	withActions(t, f, 8)
	if err := f.c.End(owner, core.EndExit); err != nil {
		t.Fatal(err)
	}
	m := f.newModel(t, core.DemoOwner, 80, 24)
	drive(t, m, keyMsg("3"))
	mustContain(t, m.View(), "exit          10")
	drive(t, m, keyMsg("enter"))
	v := m.View()
	mustContain(t, v, "Session "+s.ID, "10 events", "session.started", "session.ended")
	if n := strings.Count(v, "action.performed"); n != 8 {
		t.Fatalf("%d of 8 actions shown:\n%s", n, v)
	}
}
