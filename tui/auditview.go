package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// auditPageSize is the most events one read brings. The audit viewer
// shows a window of the log around the screen, never the whole log: its
// pager reads the screen and a margin at a time through core.Audit's seq
// cursors, so a million-event log opens with one read.
const auditPageSize = 50

type auditViewerKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Filter, Apply, Clear, Close key.Binding
}

func newAuditViewerKeys(k *KeyMap) auditViewerKeys {
	return auditViewerKeys{
		Up:       as(k.Up, "newer"),
		Down:     as(k.Down, "older"),
		PageUp:   k.PageUp,
		PageDown: k.PageDown,
		Top:      as(k.Top, "newest"),
		Bottom:   as(k.Bottom, "oldest"),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Apply:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply filter")),
		Clear:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Close:    as(k.Cancel, "close"),
	}
}

// AuditViewer is the scrollable audit log: per session as an overlay
// (NewAuditViewer) and, with an empty query, the Audit tab.
type AuditViewer struct {
	pageBase
	c       Common
	keys    auditViewerKeys
	title   string
	note    string            // a line under the title, e.g. the Audit tab's filters
	noteFit string            // note fitted to the width (setNote), as drawn
	base    core.AuditQuery   // the fixed query; the / filter adds Text
	text    string            // the applied / filter
	overlay bool              // esc closes it (CloseOverlayMsg)
	input   lazyInput         // the / filter while typing
	typing  bool              // the filter input has focus
	pg      pager[core.Event] // the window, newest first
}

// auditRow draws one event's row of t, with the result in its status
// colour.
func auditRow(st pageStyles, ev *core.Event, t table, selected bool) string {
	cells := [...]string{
		ev.Time.UTC().Format("2006-01-02 15:04:05"),
		core.Display(ev.Type),
		auditWho(ev),
		core.Display(ev.Result),
		auditDetails(ev),
	}
	return t.row(st, cells[:], selected, map[int]themes.Ink{3: st.StatusInk(ev.Result)})
}

// NewAuditViewer opens the audit log on q, newest first, as an overlay
// that emits CloseOverlayMsg on esc.
func NewAuditViewer(c Common, title string, q core.AuditQuery) Page {
	v := newAuditViewer(c, title, q)
	v.overlay = true
	return v
}

func newAuditViewer(c Common, title string, q core.AuditQuery) *AuditViewer {
	v := &AuditViewer{c: c, keys: newAuditViewerKeys(keysOf(c)), title: title, base: q}
	v.pg = newPager(Page(v), v.listHeight, auditPageSize, v.fetch, auditKeys)
	v.input = newLazyInput("/ ", "text in type, people, session, reason or details", 200)
	v.styleInput()
	return v
}

func (v *AuditViewer) styleInput() { v.input.style(v.c, max(v.c.Width-4, 10)) }

// Init reads the newest page.
func (v *AuditViewer) Init() tea.Cmd { return v.pg.open() }

// SetCommon takes the new size, viewer and styles.
func (v *AuditViewer) SetCommon(c Common) Page {
	v.c = c
	v.setNote(v.note)
	v.styleInput()
	v.pg.scroll()
	return v
}

// setNote sets the line under the title. It is fitted to the width here,
// not in every frame: the checkpoint's line is long and not ASCII, and
// fitting it took most of a frame's time.
func (v *AuditViewer) setNote(s string) {
	v.note, v.noteFit = s, ""
	if s != "" {
		v.noteFit = fit(s, max(v.c.Width, 20))
	}
}

// followsAudit is true: live audit events reach the viewer.
func (v *AuditViewer) followsAudit() bool { return true }

// Title is the overlay's or tab's title.
func (v *AuditViewer) Title() string { return v.title }

// Capturing is true while the filter is being typed.
func (v *AuditViewer) Capturing() bool { return v.typing }

// Query is the query on screen, filter text included.
func (v *AuditViewer) Query() core.AuditQuery {
	q := v.base
	q.Text = v.text
	return q
}

// SetQuery replaces the fixed part of the query and reads from the newest.
func (v *AuditViewer) SetQuery(q core.AuditQuery) tea.Cmd {
	v.base = q
	return v.pg.open()
}

// ShortHelp lists the keys of the current state.
func (v *AuditViewer) ShortHelp() []key.Binding {
	if v.typing {
		return []key.Binding{v.keys.Apply, v.keys.Clear}
	}
	// Room for the keys the Audit tab and the overlay add.
	b := append(make([]key.Binding, 0, 8), v.keys.Down, v.keys.Up, v.keys.Top, v.keys.Bottom, v.keys.Filter)
	if v.text != "" {
		b = append(b, v.keys.Clear)
	}
	if v.overlay {
		b = append(b, v.keys.Close)
	}
	return b
}

// FullHelp lists every key.
func (v *AuditViewer) FullHelp() [][]key.Binding {
	if v.typing {
		return [][]key.Binding{v.ShortHelp()}
	}
	return [][]key.Binding{
		{v.keys.Down, v.keys.Up, v.keys.PageDown, v.keys.PageUp},
		{v.keys.Top, v.keys.Bottom, v.keys.Filter},
		v.ShortHelp()[5:],
	}
}

// auditKeys are the seqs to read on from past an event: the log is
// newest first, so above it are the larger seqs.
func auditKeys(ev *core.Event) (above, below uint64) { return ev.Seq + 1, ev.Seq - 1 }

// fetch is the pager's read of the log: core.Audit from a seq, backwards
// (older, below) or forwards (newer, above; the oldest from seq 1), with
// the log's length as the total when nothing filters it. It runs in a Cmd.
func (v *AuditViewer) fetch(req pageRequest) pageRead[core.Event] {
	if v.c.Core == nil {
		return nil
	}
	var from uint64
	reverse := true
	switch req.from {
	case fromTop:
	case fromBottom:
		from, reverse = 1, false
	case fromBelow:
		from = req.key
	case fromAbove:
		from, reverse = req.key, false
	default:
		return nil
	}
	co, p, q := v.c.Core, v.c.Principal, v.Query()
	whole := isEmptyQuery(q)
	return func() (pageAnswer[core.Event], error) {
		head := co.AuditCount()
		page, err := co.Audit(p, q, from, reverse, req.limit)
		if err != nil {
			return pageAnswer[core.Event]{}, err
		}
		evs, next := page.Events, page.Next
		a := pageAnswer[core.Event]{rows: evs, total: -1}
		if whole {
			a.total = int(head)
		}
		// The key above the newest event read is past the log's head as
		// it was when the read began.
		newest := max(head+1, from)
		if reverse {
			if len(evs) > 0 {
				newest = max(newest, evs[0].Seq+1)
			}
			a.atTop, a.above = req.from == fromTop, newest
			a.atBottom, a.below = next == 0, next
			return a, nil
		}
		slices.Reverse(evs)
		if len(evs) > 0 {
			newest = max(newest, evs[0].Seq+1)
			a.below = evs[len(evs)-1].Seq - 1
		}
		a.atBottom = req.from == fromBottom
		a.atTop, a.above = next == 0, next
		if next == 0 {
			a.above = newest
		}
		return a, nil
	}
}

// Update handles keys, pages and live events.
func (v *AuditViewer) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.SetCommon(resized(v.c, msg))
	case pagerMsg[core.Event]:
		return v, v.receive(msg)
	case ChangeMsg:
		switch msg.Change.Kind {
		case core.ChangeAudit:
			if v.prepend(msg.Change.Event) {
				return v, nil
			}
			return v, v.pg.readHead()
		case core.ChangeResync:
			if v.pg.top {
				return v, v.pg.open()
			}
		}
	case tea.KeyMsg:
		if v.typing {
			return v, v.typeFilter(msg)
		}
		return v, v.key(msg)
	}
	return v, nil
}

// receive hands an answer to the pager; a failed read is reported in the
// footer too.
func (v *AuditViewer) receive(msg pagerMsg[core.Event]) tea.Cmd {
	fresh := v.pg.fresh(msg)
	cmd := v.pg.receive(msg)
	if fresh && msg.err != nil {
		return errorOf(msg.err)
	}
	return cmd
}

func (v *AuditViewer) typeFilter(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, v.keys.Apply):
		v.typing = false
		v.input.Blur()
		v.text = strings.TrimSpace(v.input.Value())
		return v.pg.open()
	case key.Matches(msg, v.keys.Clear):
		v.typing = false
		v.input.Blur()
		v.input.SetValue("")
		if v.text == "" {
			return nil
		}
		v.text = ""
		return v.pg.open()
	}
	return v.input.Update(msg)
}

func (v *AuditViewer) key(msg tea.KeyMsg) tea.Cmd {
	page := max(v.listHeight()-1, 1)
	switch {
	case key.Matches(msg, v.keys.Down):
		return v.pg.move(1)
	case key.Matches(msg, v.keys.Up):
		return v.pg.move(-1)
	case key.Matches(msg, v.keys.PageDown):
		return v.pg.move(page)
	case key.Matches(msg, v.keys.PageUp):
		return v.pg.move(-page)
	case key.Matches(msg, v.keys.Top):
		return v.pg.home()
	case key.Matches(msg, v.keys.Bottom):
		return v.pg.end()
	case key.Matches(msg, v.keys.Filter):
		v.typing = true
		v.input.SetValue(v.text)
		v.input.CursorEnd()
		return v.input.Focus()
	case msg.Type == tea.KeyEsc && v.text != "":
		v.text = ""
		v.input.SetValue("")
		return v.pg.open()
	case key.Matches(msg, v.keys.Close) && v.overlay:
		return func() tea.Msg { return CloseOverlayMsg{} }
	}
	return nil
}

// prepend puts a live event on top of a window that shows the newest
// events of the whole log, without reading the store: the hub hands every
// event over in full. It reports whether the event needs no read: it was
// added, or it is in the window already. Filtered windows (which must
// match the event), windows with a read under way, and an event that is
// not the next one (one went missing) read the store as before.
func (v *AuditViewer) prepend(ev *core.Event) bool {
	if ev == nil || !v.pg.canInsertTop() || !isEmptyQuery(v.Query()) {
		return false
	}
	switch {
	case ev.Seq < v.pg.above:
		return true // read with the window's page
	case ev.Seq > v.pg.above:
		return false
	}
	v.pg.insertTop(*ev, ev.Seq+1)
	return true
}

// listHeight is the number of rows on screen: the page minus the title,
// the filter line, the header and the detail pane.
func (v *AuditViewer) listHeight() int {
	return max(v.c.Height-v.chromeHeight(), 1)
}

func (v *AuditViewer) chromeHeight() int {
	h := 4 // title, filter line, header and its rule
	if v.note != "" {
		h++
	}
	if v.c.Height >= 14 {
		h += auditDetailLines + 1
	}
	return h
}

const auditDetailLines = 3

func auditCols() []colSpec {
	return []colSpec{
		{title: "Time (UTC)", width: 19},
		{title: "Type", width: 17},
		{title: "Actor → subject", width: 32, flex: 1},
		{title: "Result", width: 6},
		{title: "Details", width: 14, flex: 2},
	}
}

// View draws the window.
func (v *AuditViewer) View() string {
	var b strings.Builder
	b.Grow((2*max(v.c.Width, 20) + 64) * (v.listHeight() + 8)) // rows carry their escape sequences
	v.draw(&b)
	return limitLines(strings.TrimRight(b.String(), "\n"), v.c.Height)
}

// writeView writes the view straight into the console's frame (see
// Page.writeView): the Audit tab is drawn for every live event. With the
// detail pane, the view is exactly as tall as the page; without it, it is
// cut to the page as View cuts it.
func (v *AuditViewer) writeView(b *strings.Builder) bool {
	if v.c.Height < 14 || v.c.Height < v.chromeHeight()+1 {
		b.WriteString(v.View())
		return true
	}
	v.draw(b)
	return true
}

// draw writes the window into b. The header, the rows and the detail pane
// come from drawn, the cache that consoles with the same styles and width
// share, so a frame mostly copies strings.
func (v *AuditViewer) draw(b *strings.Builder) {
	st := pageStylesOf(v.c)
	ink := &st.Inks
	w := max(v.c.Width, 20)
	h := v.listHeight()
	pg := &v.pg
	right := ""
	switch {
	case pg.jumping():
		right = "loading…"
	case pg.loaded && pg.top && pg.bottom:
		right = thousands(uint64(len(pg.rows))) + " events"
		if len(pg.rows) == 1 {
			right = "1 event"
		}
	case pg.total > 0 && isEmptyQuery(v.Query()):
		right = thousands(uint64(pg.total)) + " events"
	}
	b.WriteString(titleLine(st, core.Display(v.title), right, w))
	b.WriteByte('\n')
	if v.note != "" {
		ink.Muted.Write(b, v.noteFit)
		b.WriteByte('\n')
	}
	switch {
	case v.typing:
		b.WriteString(ansi.Truncate(v.input.View(), w, ""))
	case v.text != "":
		ink.Muted.Write(b, fit("filter: "+core.Display(v.text)+"  (/ to change, esc to clear)", w))
	default:
		ink.Faint.Write(b, fit("/ to filter", w))
	}
	b.WriteByte('\n')
	// The table is laid out only when the cache lacks a part: a frame
	// whose parts were all drawn before (a live event) copies strings.
	var t table
	layout := func() table {
		if t.widths == nil {
			t = tableOf(auditCols(), w-2)
		}
		return t
	}
	b.WriteString(v.c.drawn.get(drawKey{styles: st.Styles, width: w, part: partHeader}, func() string {
		return layout().header(st, w)
	}))
	b.WriteByte('\n')
	lines := 0
	switch {
	case pg.err != nil && len(pg.rows) == 0:
		ink.Error.Write(b, fit(core.Display(pg.err.Error()), w))
		lines++
	case len(pg.rows) == 0 && pg.loaded:
		msg := "No audit events yet."
		if v.text != "" || !isEmptyQuery(v.base) {
			msg = "No events match."
		}
		ink.TableEmpty.Write(b, fit(msg, w))
		lines++
	}
	for i := pg.offset; i < pg.offset+h; i++ {
		ev := pg.row(i)
		if ev == nil {
			break
		}
		selected := i == pg.cursor
		part := partRow
		if selected {
			part = partSelected
		}
		b.WriteString(v.c.drawn.get(drawKey{styles: st.Styles, width: w, part: part, seq: ev.Seq, hash: ev.Hash}, func() string {
			return auditRow(st, ev, layout(), selected)
		}))
		b.WriteByte('\n')
		lines++
	}
	if v.c.Height >= 14 {
		for ; lines < h; lines++ {
			b.WriteByte('\n')
		}
		ink.Faint.Write(b, strings.Repeat("─", w))
		b.WriteByte('\n')
		if ev := pg.selected(); ev != nil {
			b.WriteString(v.c.drawn.get(drawKey{styles: st.Styles, width: w, part: partDetail, seq: ev.Seq, hash: ev.Hash}, func() string {
				return auditDetail(st, ev, w)
			}))
		}
	}
}

// auditDetail shows an event in full, wrapped to the pane.
func auditDetail(st pageStyles, ev *core.Event, w int) string {
	parts := []string{fmt.Sprintf("#%d", ev.Seq), core.Display(ev.Type), auditWho(ev)}
	if ev.Session != "" {
		parts = append(parts, "session "+core.Display(ev.Session))
	}
	if ev.Request != "" {
		parts = append(parts, "request "+core.Display(ev.Request))
	}
	parts = append(parts, "result "+core.Display(ev.Result))
	head := st.Bold.Render(fit(strings.Join(parts, " · "), w))
	body := auditDetails(ev)
	if body == "" {
		body = "(no details)"
	}
	wrapped := strings.Split(ansi.Hardwrap(body, w, true), "\n")
	if len(wrapped) > auditDetailLines-1 {
		wrapped = wrapped[:auditDetailLines-1]
		wrapped[len(wrapped)-1] = ansi.Truncate(wrapped[len(wrapped)-1], w-1, "") + "…"
	}
	return head + "\n" + st.Muted.Render(strings.Join(wrapped, "\n"))
}

// auditWho is "actor → subject", sanitized.
func auditWho(ev *core.Event) string {
	s := core.Display(ev.Actor.String())
	if !ev.Subject.IsZero() {
		s += " → " + core.Display(ev.Subject.String())
	}
	return s
}

// auditDetails is the reason and details on one line, sanitized.
func auditDetails(ev *core.Event) string {
	d := core.Display(ev.DetailsText())
	if ev.Reason != "" {
		r := "reason=" + core.Display(ev.Reason)
		if d == "" {
			return r
		}
		return r + " " + d
	}
	return d
}

func isEmptyQuery(q core.AuditQuery) bool {
	return q.Session == "" && q.Actor == "" && q.Subject == "" && len(q.Types) == 0 &&
		q.Since.IsZero() && q.Until.IsZero() && q.Text == ""
}

func thousands(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
