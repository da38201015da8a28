package tui

import (
	"fmt"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// sessionsPageSize is how many sessions of history one read brings.
const sessionsPageSize = 100

type sessionsKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Open, Terminate, ClearFilter key.Binding
}

func newSessionsKeys(k *KeyMap) sessionsKeys {
	return sessionsKeys{
		Up:          k.Up,
		Down:        k.Down,
		PageUp:      k.PageUp,
		PageDown:    k.PageDown,
		Top:         k.Top,
		Bottom:      k.Bottom,
		Open:        as(k.Enter, "audit"),
		Terminate:   k.Terminate,
		ClearFilter: as(k.Cancel, "all sessions"),
	}
}

// sessionRow is a session with its people resolved for display.
type sessionRow struct {
	core.Session
	imp, impEmail       string
	target, targetEmail string
}

type sessionsLoadedMsg struct {
	to      *SessionsPage
	gen     int
	more    bool // a further page of history, to append
	active  []sessionRow
	history []sessionRow
	before  string // where the next page of history starts
	done    bool   // no more history
	now     time.Time
	err     error
}

// SessionsPage lists impersonation sessions: the running ones first, then
// the history, newest first, read a page at a time.
type SessionsPage struct {
	pageBase
	c       Common
	keys    sessionsKeys
	filter  core.User // only sessions on this user, when set
	active  []sessionRow
	history []sessionRow
	before  string
	done    bool
	now     time.Time
	listCursor
	gen    int
	load   loadGate
	more   bool // a page of history is being read
	loaded bool
	flow   flow // the terminate dialog (dialog.go)
	err    error
}

// NewSessionsPage builds the Sessions tab.
func NewSessionsPage(c Common) Page {
	return &SessionsPage{c: c, keys: newSessionsKeys(keysOf(c))}
}

// Init reads the first page.
func (p *SessionsPage) Init() tea.Cmd { return p.reload() }

// SetCommon takes the new shared state.
func (p *SessionsPage) SetCommon(c Common) Page {
	p.c = c
	p.flow.restyle(c)
	p.scrollCursor(p.count(), p.listHeight())
	return p
}

// Title is the tab label.
func (p *SessionsPage) Title() string { return "Sessions" }

// followsAudit is true: a session's event count follows its audit events.
func (p *SessionsPage) followsAudit() bool { return true }

// Capturing is true while the terminate dialog is open.
func (p *SessionsPage) Capturing() bool { return p.flow.active() }

// ShortHelp lists the keys that apply now.
func (p *SessionsPage) ShortHelp() []key.Binding {
	if p.flow.active() {
		return p.flow.help(keysOf(p.c))
	}
	b := []key.Binding{p.keys.Down, p.keys.Up, p.keys.Open}
	if r, ok := p.selected(); ok && r.Active() && p.mayTerminate() {
		b = append(b, p.keys.Terminate)
	}
	if p.filter.ID != "" {
		b = append(b, p.keys.ClearFilter)
	}
	return b
}

// FullHelp lists every key of the page.
func (p *SessionsPage) FullHelp() [][]key.Binding {
	if p.flow.active() {
		return [][]key.Binding{p.ShortHelp()}
	}
	return [][]key.Binding{{p.keys.Down, p.keys.Up, p.keys.PageDown, p.keys.PageUp, p.keys.Top, p.keys.Bottom}, p.ShortHelp()[2:]}
}

// mayTerminate reports whether core lets the principal terminate sessions.
func (p *SessionsPage) mayTerminate() bool { return p.c.Abilities.May(core.ActTerminate) == nil }

func (p *SessionsPage) count() int { return len(p.active) + len(p.history) }

func (p *SessionsPage) row(i int) sessionRow {
	if i < len(p.active) {
		return p.active[i]
	}
	return p.history[i-len(p.active)]
}

func (p *SessionsPage) selected() (sessionRow, bool) {
	if p.cursor < 0 || p.cursor >= p.count() {
		return sessionRow{}, false
	}
	return p.row(p.cursor), true
}

// reload reads the running sessions and as much history as is loaded.
func (p *SessionsPage) reload() tea.Cmd {
	if p.c.Core == nil || !p.load.start() {
		return nil
	}
	limit := max(sessionsPageSize, len(p.history)+len(p.active))
	return p.read(false, "", limit)
}

// loadMore reads the next page of history.
func (p *SessionsPage) loadMore() tea.Cmd {
	if p.done || p.more || p.load.loading || !p.loaded {
		return nil
	}
	p.more = true
	return p.read(true, p.before, sessionsPageSize)
}

func (p *SessionsPage) read(more bool, before string, limit int) tea.Cmd {
	co, pr, target, gen := p.c.Core, p.c.Principal, p.filter.ID, p.gen
	return func() tea.Msg {
		msg := sessionsLoadedMsg{to: p, gen: gen, more: more, now: co.Now()}
		var act []core.Session
		if !more {
			var err error
			if act, err = co.VisibleActiveSessions(pr, target); err != nil {
				msg.err = err
				return msg
			}
		}
		list, err := co.Sessions(pr, target, before, limit)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.before, msg.done = before, len(list) == 0
		ended := make([]core.Session, 0, len(list))
		for _, s := range list {
			msg.before = s.ID
			if !s.Active() {
				ended = append(ended, s)
			}
		}
		rows := sessionRows(co, pr, act, ended)
		if !more {
			msg.active = rows[0]
		}
		msg.history = rows[1]
		return msg
	}
}

// openSessionAudit asks the root to open the audit of one session (enter
// on the Sessions tab and under "Who impersonated me").
func openSessionAudit(r sessionRow) tea.Cmd {
	title := fmt.Sprintf("Session %s · %s → %s", core.Display(r.ID), r.imp, r.target)
	return func() tea.Msg { return OpenAuditMsg{Title: title, Query: core.AuditQuery{Session: r.ID}} }
}

func sessionRowOf(people map[string]core.User, s core.Session) sessionRow {
	r := sessionRow{Session: s}
	r.imp, r.impEmail = personIn(people, s.Impersonator)
	r.target, r.targetEmail = personIn(people, s.Target)
	return r
}

// sessionRows are the rows of each list, with the names of all their
// people read in one call.
func sessionRows(co *core.Core, pr core.Principal, lists ...[]core.Session) [][]sessionRow {
	var ids []string
	for _, list := range lists {
		for _, s := range list {
			ids = append(ids, s.Impersonator, s.Target)
		}
	}
	people, _ := co.People(pr, ids...)
	rows := make([][]sessionRow, len(lists))
	for i, list := range lists {
		rows[i] = make([]sessionRow, 0, len(list))
		for _, s := range list {
			rows[i] = append(rows[i], sessionRowOf(people, s))
		}
	}
	return rows
}

// Update handles keys, loads and live changes.
func (p *SessionsPage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		p.SetCommon(resized(p.c, msg))
	case sessionsLoadedMsg:
		if msg.to != p {
			return p, nil
		}
		return p, p.receive(msg)
	case flowDoneMsg:
		return p, p.flow.answer(p, msg)
	case ShowSessionsMsg:
		return p, p.setFilter(msg.Target)
	case ChangeMsg:
		switch msg.Change.Kind {
		case core.ChangeSession, core.ChangeResync:
			return p, p.reload()
		case core.ChangeAudit:
			if ev := msg.Change.Event; ev != nil && ev.Session != "" && p.shows(ev.Session) {
				return p, p.reload()
			}
		}
	case tea.KeyMsg:
		if p.flow.active() {
			return p, p.flow.key(p, msg, keysOf(p.c))
		}
		return p, p.key(msg)
	}
	return p, nil
}

func (p *SessionsPage) shows(id string) bool {
	for _, r := range p.active {
		if r.ID == id {
			return true
		}
	}
	for _, r := range p.history {
		if r.ID == id {
			return true
		}
	}
	return false
}

// setFilter shows one user's sessions (all when u is zero).
func (p *SessionsPage) setFilter(u core.User) tea.Cmd {
	p.filter = u
	p.gen++
	p.load, p.more, p.loaded = loadGate{}, false, false
	p.active, p.history, p.before, p.done = nil, nil, "", false
	p.cursor, p.offset = 0, 0
	return p.reload()
}

func (p *SessionsPage) receive(msg sessionsLoadedMsg) tea.Cmd {
	if msg.gen != p.gen {
		return nil
	}
	if msg.more {
		p.more = false
	} else {
		p.load.loading = false
	}
	if msg.err != nil {
		p.err = msg.err
		return errorOf(msg.err)
	}
	p.err = nil
	p.now = msg.now
	if msg.more {
		// A reload may have replaced the history meanwhile: only append
		// what lies below it (IDs order sessions).
		for _, r := range msg.history {
			if n := len(p.history); n == 0 || r.ID < p.history[n-1].ID {
				p.history = append(p.history, r)
			}
		}
	} else {
		keep := ""
		if r, ok := p.selected(); ok {
			keep = r.ID
		}
		p.active, p.history = msg.active, msg.history
		p.moveCursor(0, p.count())
		for i := range p.count() {
			if p.row(i).ID == keep {
				p.cursor = i
			}
		}
	}
	p.before, p.done = msg.before, msg.done
	p.loaded = true
	p.scrollCursor(p.count(), p.listHeight())
	if p.load.rerun() {
		return p.reload()
	}
	return p.nearEnd()
}

// nearEnd reads more history when the cursor is within two screens of
// the end of what is loaded.
func (p *SessionsPage) nearEnd() tea.Cmd {
	if p.count()-1-p.cursor < 2*p.listHeight() {
		return p.loadMore()
	}
	return nil
}

func (p *SessionsPage) key(msg tea.KeyMsg) tea.Cmd {
	page := max(p.listHeight()-1, 1)
	switch {
	case key.Matches(msg, p.keys.Down):
		return p.move(1)
	case key.Matches(msg, p.keys.Up):
		return p.move(-1)
	case key.Matches(msg, p.keys.PageDown):
		return p.move(page)
	case key.Matches(msg, p.keys.PageUp):
		return p.move(-page)
	case key.Matches(msg, p.keys.Top):
		return p.move(-p.count())
	case key.Matches(msg, p.keys.Bottom):
		return p.move(p.count())
	case key.Matches(msg, p.keys.Open):
		r, ok := p.selected()
		if !ok {
			return nil
		}
		return openSessionAudit(r)
	case key.Matches(msg, p.keys.Terminate):
		r, ok := p.selected()
		if !ok || !r.Active() || !p.mayTerminate() {
			return nil
		}
		d := newConfirm("Terminate session "+core.Display(r.ID)+"?",
			fmt.Sprintf("%s (%s) has been acting as %s (%s) for %s. Their impersonation ends at once and is recorded as terminated by you.",
				r.imp, r.impEmail, r.target, r.targetEmail, fmtSpan(p.now.Sub(r.Started))),
			"Cancel", "Terminate session")
		co, pr, id := p.c.Core, p.c.Principal, r.ID
		openDialog(&p.flow, d, func() func() (string, error) {
			return func() (string, error) { return id, co.Terminate(pr, id) }
		}, func(id string) tea.Cmd {
			return tea.Batch(p.reload(), noticeOf("Session %s terminated", core.Display(id)))
		})
	case key.Matches(msg, p.keys.ClearFilter) && p.filter.ID != "":
		return p.setFilter(core.User{})
	}
	return nil
}

func (p *SessionsPage) move(d int) tea.Cmd {
	if p.count() == 0 {
		return nil
	}
	p.stepCursor(d, p.count(), p.listHeight())
	return p.nearEnd()
}

func sessionCols() []colSpec {
	return []colSpec{
		{title: "Started (UTC)", width: 16},
		{title: "Ended", width: 11},
		{title: "Duration", width: 8},
		{title: "Impersonator", width: 10, flex: 1},
		{title: "Target", width: 10, flex: 1},
		{title: "Status", width: 6},
		{title: "End reason", width: 15},
		{title: "Events", width: 6},
	}
}

// sessionColsNarrow are the columns below sessionsWide: shorter times and
// counts, so that the people's names stay readable at 80 columns.
func sessionColsNarrow() []colSpec {
	return []colSpec{
		{title: "Started UTC", width: 11},
		{title: "Ended", width: 5},
		{title: "Took", width: 5},
		{title: "Impersonator", width: 10, flex: 1},
		{title: "Target", width: 10, flex: 1},
		{title: "Status", width: 6},
		{title: "End reason", width: 13},
		{title: "Ev.", width: 3},
	}
}

// sessionsWide is the page width from which the Sessions table has room
// for its long columns.
const sessionsWide = 100

const sessionDetailLines = 2

func (p *SessionsPage) listHeight() int { return listRows(p.c.Height, sessionDetailLines) }

// View draws the list, or the terminate dialog.
func (p *SessionsPage) View() string {
	st := pageStylesOf(p.c)
	w := max(p.c.Width, 20)
	page := p.listView(st, w)
	if p.flow.active() {
		return dialogOver(p.c, page, p.flow.view(p.c, w))
	}
	return page
}

func (p *SessionsPage) listView(st pageStyles, w int) string {
	title := fmt.Sprintf("Sessions · %d active", len(p.active))
	right := ""
	if p.filter.ID != "" {
		title = fmt.Sprintf("Sessions on %s (%s) · %d active", core.Display(p.filter.DisplayName()), core.Display(p.filter.Email), len(p.active))
		right = "esc: all sessions"
	}
	cols, narrow := sessionCols(), w < sessionsWide
	if narrow {
		cols = sessionColsNarrow()
	}
	return listPage{
		title: title, right: right, cols: cols,
		count: p.count(), listCursor: p.listCursor,
		empty: emptyListText(p.loaded, p.err, "No sessions yet."),
		row: func(i int) ([]string, map[int]themes.Ink) {
			r := p.row(i)
			cells := sessionCells(r, p.now)
			if narrow {
				cells = narrowSessionCells(r, p.now, cells)
			}
			return cells, map[int]themes.Ink{5: st.StatusInk(string(r.Status))}
		},
		detailLines: sessionDetailLines, detail: p.detail,
	}.view(p.c, st, w)
}

// sessionCells are a session's table cells: started, ended, duration,
// impersonator, target, status, end reason, events.
func sessionCells(r sessionRow, now time.Time) []string {
	started := r.Started.UTC().Format("2006-01-02 15:04")
	ended, dur, reason := "running", fmtSpan(now.Sub(r.Started)), "ends in "+fmtSpan(r.TimeLeft(now))
	if !r.Active() {
		ended = r.Ended.UTC().Format("15:04")
		if endedAnotherDay(r) {
			ended = r.Ended.UTC().Format("01-02 15:04")
		}
		dur, reason = fmtSpan(r.Ended.Sub(r.Started)), core.Display(string(r.EndReason))
	}
	return []string{started, ended, dur, r.imp, r.target, core.Display(string(r.Status)), reason, fmt.Sprint(r.Events)}
}

// narrowSessionCells shortens a session's cells for sessionColsNarrow():
// the start without the year, the end without the date (the detail pane
// has it), the time left as "1h00m left".
func narrowSessionCells(r sessionRow, now time.Time, cells []string) []string {
	cells[0] = r.Started.UTC().Format("01-02 15:04")
	switch {
	case r.Active():
		cells[1], cells[6] = "now", fmtSpan(r.TimeLeft(now))+" left"
	case endedAnotherDay(r):
		cells[1] = r.Ended.UTC().Format("01-02")
	}
	return cells
}

// endedAnotherDay reports a session that ended on another UTC day than it
// started: its end then shows the date too.
func endedAnotherDay(r sessionRow) bool {
	ey, em, ed := r.Ended.UTC().Date()
	sy, sm, sd := r.Started.UTC().Date()
	return ey != sy || em != sm || ed != sd
}

func (p *SessionsPage) detail(st pageStyles, w int) string {
	r, ok := p.selected()
	if !ok {
		return ""
	}
	head := fmt.Sprintf("%s · %s (%s) → %s (%s)", core.Display(r.ID), r.imp, r.impEmail, r.target, r.targetEmail)
	more := "Reason: " + core.Display(r.Reason)
	if r.Reason == "" {
		more = "No reason given"
	}
	if r.Request != "" {
		more += " · request " + core.Display(r.Request)
	}
	if r.Active() {
		more += " · ends " + r.Ends.UTC().Format("2006-01-02 15:04")
	}
	more += " · enter: audit"
	return st.Bold.Render(fit(head, w)) + "\n" + st.Muted.Render(fit(more, w))
}

// fmtSpan shows a duration briefly: "45s", "9m", "1h05m", "3d4h".
func fmtSpan(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	if days, hours := int(d.Hours())/24, int(d.Hours())%24; hours > 0 {
		return fmt.Sprintf("%dd%dh", days, hours)
	}
	return fmt.Sprintf("%dd", int(d.Hours())/24)
}
