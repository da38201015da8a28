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

// The audit viewer shows a window of the log around the screen, never the
// whole log: it reads pages of at most auditPageSize events (pageSize:
// fewer on a small screen) through core.Audit's cursors, fetches the next
// page while the cursor is still two screens (margin) away from the
// window's edge, and drops rows from the far end once the window holds
// more than windowMax (a page or two). A million-event log opens with one
// page.
const auditPageSize = 50

// auditLoad says which page a load fetched.
type auditLoad int

const (
	loadNewest auditLoad = iota // the first page, newest first
	loadOldest                  // the last page (G), read forwards from seq 1
	loadOlder                   // the page below the window
	loadNewer                   // the page above the window (or live events)
)

// auditPageMsg is a page read for one viewer. to and gen drop answers
// meant for another viewer or for a query that has since changed.
type auditPageMsg struct {
	to   *AuditViewer
	gen  int
	kind auditLoad
	page core.AuditPage
	head uint64 // the log's length when the read began
	err  error
}

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
	c          Common
	keys       auditViewerKeys
	title      string
	note       string          // a line under the title, e.g. the Audit tab's filters
	base       core.AuditQuery // the fixed query; the / filter adds Text
	text       string          // the applied / filter
	overlay    bool            // esc closes it (CloseOverlayMsg)
	input      lazyInput       // the / filter while typing
	typing     bool            // the filter input has focus
	rows       []core.Event    // the window, newest first
	listCursor                 // into rows
	gen        int             // bumped whenever the query or position is reset
	head       uint64          // the newest seq known to exist in the log
	newest     bool            // rows[0] is the newest matching event
	oldest     bool            // the last row is the oldest matching event
	olderAt    uint64          // seq to read older events from (when !oldest)
	newerAt    uint64          // seq to read newer events from (when !newest)
	busy       map[auditLoad]bool
	again      bool  // a live event arrived while a newer load was running
	loaded     bool  // the first page has arrived
	err        error // the last load failed with this
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
	v := &AuditViewer{c: c, keys: newAuditViewerKeys(keysOf(c)), title: title, base: q, busy: map[auditLoad]bool{}}
	v.input = newLazyInput("/ ", "text in type, people, session, reason or details", 200)
	v.styleInput()
	return v
}

func (v *AuditViewer) styleInput() { v.input.style(v.c, max(v.c.Width-4, 10)) }

// Init reads the newest page.
func (v *AuditViewer) Init() tea.Cmd { return v.reset(loadNewest) }

// SetCommon takes the new size, viewer and styles.
func (v *AuditViewer) SetCommon(c Common) Page {
	v.c = c
	v.styleInput()
	v.scrollCursor(len(v.rows), v.listHeight())
	return v
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
	return v.reset(loadNewest)
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

// reset forgets the window and reads the newest (or oldest) page again.
func (v *AuditViewer) reset(kind auditLoad) tea.Cmd {
	v.gen++
	v.busy = map[auditLoad]bool{}
	v.again = false
	return v.load(kind)
}

// load reads one page in a Cmd. Only one load of a kind runs at a time.
func (v *AuditViewer) load(kind auditLoad) tea.Cmd {
	if v.busy[kind] || v.c.Core == nil {
		return nil
	}
	v.busy[kind] = true
	var from uint64
	reverse := true
	switch kind {
	case loadOldest:
		from, reverse = 1, false
	case loadOlder:
		from = v.olderAt
	case loadNewer:
		from, reverse = v.newerAt, false
	}
	co, p, q, gen, limit := v.c.Core, v.c.Principal, v.Query(), v.gen, v.pageSize()
	return func() tea.Msg {
		head := co.AuditCount()
		page, err := co.Audit(p, q, from, reverse, limit)
		return auditPageMsg{to: v, gen: gen, kind: kind, page: page, head: head, err: err}
	}
}

// Update handles keys, pages and live events.
func (v *AuditViewer) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.SetCommon(resized(v.c, msg))
	case auditPageMsg:
		if msg.to != v {
			return v, nil
		}
		return v, v.receive(msg)
	case ChangeMsg:
		switch msg.Change.Kind {
		case core.ChangeAudit:
			if v.prepend(msg.Change.Event) {
				return v, nil
			}
			return v, v.live()
		case core.ChangeResync:
			if v.newest {
				return v, v.reset(loadNewest)
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

func (v *AuditViewer) typeFilter(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, v.keys.Apply):
		v.typing = false
		v.input.Blur()
		v.text = strings.TrimSpace(v.input.Value())
		return v.reset(loadNewest)
	case key.Matches(msg, v.keys.Clear):
		v.typing = false
		v.input.Blur()
		v.input.SetValue("")
		if v.text == "" {
			return nil
		}
		v.text = ""
		return v.reset(loadNewest)
	}
	return v.input.Update(msg)
}

func (v *AuditViewer) key(msg tea.KeyMsg) tea.Cmd {
	page := max(v.listHeight()-1, 1)
	switch {
	case key.Matches(msg, v.keys.Down):
		return v.move(1)
	case key.Matches(msg, v.keys.Up):
		return v.move(-1)
	case key.Matches(msg, v.keys.PageDown):
		return v.move(page)
	case key.Matches(msg, v.keys.PageUp):
		return v.move(-page)
	case key.Matches(msg, v.keys.Top):
		if v.newest {
			return v.move(-len(v.rows))
		}
		return v.reset(loadNewest)
	case key.Matches(msg, v.keys.Bottom):
		if v.oldest {
			return v.move(len(v.rows))
		}
		return v.reset(loadOldest)
	case key.Matches(msg, v.keys.Filter):
		v.typing = true
		v.input.SetValue(v.text)
		v.input.CursorEnd()
		return v.input.Focus()
	case msg.Type == tea.KeyEsc && v.text != "":
		v.text = ""
		v.input.SetValue("")
		return v.reset(loadNewest)
	case key.Matches(msg, v.keys.Close) && v.overlay:
		return func() tea.Msg { return CloseOverlayMsg{} }
	}
	return nil
}

// move shifts the cursor and fetches the next page when it nears an edge.
func (v *AuditViewer) move(d int) tea.Cmd {
	if len(v.rows) == 0 {
		return nil
	}
	v.stepCursor(d, len(v.rows), v.listHeight())
	return v.prefetch()
}

// margin is how many rows beyond the cursor the window keeps towards each
// edge: a screen, at least 10.
func (v *AuditViewer) margin() int { return max(v.listHeight(), 10) }

// prefetch reads the neighbouring page when fewer than margin rows
// are left towards an edge of the window that is not the log's edge.
func (v *AuditViewer) prefetch() tea.Cmd {
	if !v.loaded {
		return nil
	}
	margin := v.margin()
	var cmds []tea.Cmd
	if !v.oldest && len(v.rows)-1-v.cursor < margin {
		cmds = append(cmds, v.load(loadOlder))
	}
	if !v.newest && v.cursor < margin {
		cmds = append(cmds, v.load(loadNewer))
	}
	return tea.Batch(cmds...)
}

// prepend puts a live event on top of a window that shows the newest
// events of the whole log, without reading the store: the hub hands every
// event over in full. It reports whether the event needs no read: it was
// added, or it is in the window already. Filtered windows (which must
// match the event), windows with a read under way, and an event that is
// not the next one (one went missing) read the store as before.
func (v *AuditViewer) prepend(ev *core.Event) bool {
	if ev == nil || !v.loaded || !v.newest || v.busy[loadNewer] || !isEmptyQuery(v.Query()) {
		return false
	}
	switch {
	case ev.Seq < v.newerAt:
		return true // read with the window's page
	case ev.Seq > v.newerAt:
		return false
	}
	v.fit()
	v.rows = slices.Insert(v.rows, 0, *ev)
	if v.cursor > 0 {
		// Further down, the selection stays on its event.
		v.cursor++
		v.offset++
	}
	v.head = max(v.head, ev.Seq)
	v.newerAt = ev.Seq + 1
	v.trimBelow()
	v.scrollCursor(len(v.rows), v.listHeight())
	return true
}

// windowMax is how many rows the window keeps while scrolling: two pages,
// or more on a tall screen, so that the prefetch margins either side of
// the screen and a page always fit, and dropping rows at one end never
// makes the other end read them again.
func (v *AuditViewer) windowMax() int {
	return max(2*v.pageSize(), v.pageSize()+2*v.margin()+v.listHeight())
}

// pageSize is how many events a read brings: the screen and the margin
// below it, at most auditPageSize.
func (v *AuditViewer) pageSize() int { return min(auditPageSize, v.listHeight()+v.margin()) }

// trimBelow drops the rows further below the screen than the prefetch
// margin: events coming in at the top do not make the window grow.
func (v *AuditViewer) trimBelow() {
	v.cut(v.offset + v.listHeight() + v.margin())
}

// cut drops the rows below the first keep, so that the window does not
// grow with every live event.
func (v *AuditViewer) cut(keep int) {
	if len(v.rows) > keep && keep >= 1 {
		clear(v.rows[keep:])
		v.rows = v.rows[:keep]
		v.olderAt = v.rows[keep-1].Seq - 1
		v.oldest = v.olderAt == 0
	}
	v.fit()
}

// auditSlack is the room the window keeps for events coming in at the
// top, so that a live event moves rows along instead of allocating.
const auditSlack = 8

// fit gives the window an array of its rows and auditSlack more, letting
// go of a larger one (after a cut, or a page read in) or growing a full
// one.
func (v *AuditViewer) fit() {
	if spare := cap(v.rows) - len(v.rows); spare > auditSlack || spare == 0 {
		v.rows = append(make([]core.Event, 0, len(v.rows)+auditSlack), v.rows...)
	}
}

// live reads events appended since the window's top, when the window
// shows the newest events; otherwise scrolling up reaches them.
func (v *AuditViewer) live() tea.Cmd {
	if !v.loaded || !v.newest {
		return nil
	}
	if v.busy[loadNewer] {
		v.again = true
		return nil
	}
	return v.load(loadNewer)
}

func (v *AuditViewer) receive(msg auditPageMsg) tea.Cmd {
	if msg.gen != v.gen {
		return nil
	}
	v.busy[msg.kind] = false
	if msg.err != nil {
		v.err = msg.err
		return func() tea.Msg { return ErrorMsg{msg.err} }
	}
	v.err = nil
	evs := msg.page.Events
	next := msg.page.Next
	v.head = max(v.head, msg.head)
	switch msg.kind {
	case loadNewest:
		v.rows = evs
		v.cursor, v.offset = 0, 0
		v.newest, v.oldest = true, next == 0
		v.olderAt = next
		v.newerAt = v.head + 1
		if len(evs) > 0 {
			v.newerAt = max(v.newerAt, evs[0].Seq+1)
		}
	case loadOldest:
		slices.Reverse(evs)
		v.rows = evs
		v.offset = 0
		v.placeCursor(len(evs)-1, len(evs), v.listHeight())
		v.oldest, v.newest = true, next == 0
		v.newerAt = next
		if next == 0 {
			v.newerAt = v.head + 1
			if len(evs) > 0 {
				v.newerAt = max(v.newerAt, evs[0].Seq+1)
			}
		}
	case loadOlder:
		if len(v.rows) > 0 {
			last := v.rows[len(v.rows)-1].Seq
			evs = slices.DeleteFunc(evs, func(e core.Event) bool { return e.Seq >= last })
		}
		v.rows = append(v.rows, evs...)
		v.oldest, v.olderAt = next == 0, next
		if drop := len(v.rows) - v.windowMax(); drop > 0 {
			drop = min(drop, v.offset) // never the rows on screen
			v.rows = slices.Delete(v.rows, 0, drop)
			v.cursor -= drop
			v.offset -= drop
			if drop > 0 {
				v.newest = false
				v.newerAt = v.rows[0].Seq + 1
			}
		}
	case loadNewer:
		if len(v.rows) > 0 {
			top := v.rows[0].Seq
			evs = slices.DeleteFunc(evs, func(e core.Event) bool { return e.Seq <= top })
		}
		slices.Reverse(evs)
		follow := v.newest && v.cursor == 0
		v.rows = append(evs, v.rows...)
		if !follow {
			v.cursor += len(evs)
			v.offset += len(evs)
		}
		v.newest = next == 0
		if next == 0 {
			v.newerAt = v.head + 1
			if len(v.rows) > 0 {
				v.newerAt = max(v.newerAt, v.rows[0].Seq+1)
			}
		} else {
			v.newerAt = next
		}
		v.trimBelow()
		v.scrollCursor(len(v.rows), v.listHeight())
		if v.again && v.newest {
			v.again = false
			return v.load(loadNewer)
		}
	}
	v.loaded = true
	v.fit()
	return v.prefetch()
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
	right := ""
	switch {
	case v.busy[loadNewest] || v.busy[loadOldest]:
		right = "loading…"
	case v.loaded && v.newest && v.oldest:
		right = thousands(uint64(len(v.rows))) + " events"
		if len(v.rows) == 1 {
			right = "1 event"
		}
	case v.head > 0 && isEmptyQuery(v.Query()):
		right = thousands(v.head) + " events"
	}
	b.WriteString(titleLine(st, core.Display(v.title), right, w))
	b.WriteByte('\n')
	if v.note != "" {
		ink.Muted.Write(b, fit(v.note, w))
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
	t := tableOf(auditCols(), w-2)
	b.WriteString(v.c.drawn.get(drawKey{styles: st.Styles, width: w, part: partHeader}, func() string {
		return t.header(st, w)
	}))
	b.WriteByte('\n')
	lines := 0
	switch {
	case v.err != nil && len(v.rows) == 0:
		ink.Error.Write(b, fit(core.Display(v.err.Error()), w))
		lines++
	case len(v.rows) == 0 && v.loaded:
		msg := "No audit events yet."
		if v.text != "" || !isEmptyQuery(v.base) {
			msg = "No events match."
		}
		ink.TableEmpty.Write(b, fit(msg, w))
		lines++
	}
	for i := v.offset; i < len(v.rows) && i < v.offset+h; i++ {
		ev := &v.rows[i]
		selected := i == v.cursor
		part := partRow
		if selected {
			part = partSelected
		}
		b.WriteString(v.c.drawn.get(drawKey{styles: st.Styles, width: w, part: part, seq: ev.Seq, hash: ev.Hash}, func() string {
			return auditRow(st, ev, t, selected)
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
		if v.cursor < len(v.rows) {
			ev := &v.rows[v.cursor]
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
