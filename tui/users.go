package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// usersReadMax is the most users one read brings. The page's pager keeps
// only the rows on screen and a margin either side, so a million users
// cost no more memory or time than two hundred; a read is the screen and a
// margin, so the table opens, and G reaches the end, with one read.
const usersReadMax = 100

// UsersPage is the Users tab: a table of users (name, email, org, role,
// status, consent until, ⋮), search-as-you-type, and a kebab menu per row.
type UsersPage struct {
	pageBase
	c Common

	input     lazyInput
	searching bool   // the search input has the focus
	query     string // the filter in force (2+ characters, or "")

	// The window over core's list, rows numbered from 0.
	pg pager[core.User]
	// ranked: core said positions are row numbers (UserPage.Total), so
	// any row can be read at once. A search's positions are the
	// directory's instead: starts holds, for the rows where a read began
	// or ended, the position to read on from there (so paging back up
	// needs no rescan).
	ranked  bool
	starts  []usersStart
	ctx     context.Context // the search's; a new one cancels a stale scan
	cancel  context.CancelFunc
	loadErr string
	asleep  bool // the tab is not shown: no rows are held or read

	lines map[int]string // rendered unselected rows, by row number

	menu     *menu
	menuUser core.User
	// typedAhead holds keys typed while a chosen item waited for core.
	typedAhead []tea.KeyMsg
	flow       flow       // the dialog a menu item opened (dialog.go)
	admin      *adminPane // an owner's keys list (admin.go)
	// What the menu's answer said the dialogs its items open need.
	needsReason bool
	policy      core.Policy
}

// Messages of the Users page.
type (
	menuCheckedMsg struct {
		userID, item string
		err          error
	}
	// menuActionsMsg is core's answer (ActionsOn) for every item of a
	// user's menu, in the menu's order, with what the dialogs the items
	// open need: whether a start needs a reason, and the policy (the
	// request form's durations).
	menuActionsMsg struct {
		userID      string
		items       []menuCheckedMsg
		needsReason bool
		policy      core.Policy
	}
)

// Kebab menu item IDs.
const (
	itemImpersonate = "impersonate"
	itemRequest     = "request"
	itemSessions    = "sessions"
	itemAudit       = "audit"
)

// NewUsersPage builds the Users tab.
func NewUsersPage(c Common) Page {
	p := &UsersPage{c: c, lines: map[int]string{}}
	p.pg = newPager(Page(p), p.visibleRows, usersReadMax, p.fetch, nil)
	p.input = newLazyInput("/ ", "search name or email", 200)
	p.input.style(c, max(c.Width-30, 10))
	p.newGeneration()
	return p
}

func (p *UsersPage) Init() tea.Cmd { return p.pg.open() }

func (p *UsersPage) Title() string { return "Users" }

func (p *UsersPage) Capturing() bool {
	return p.searching || p.menu != nil || p.flow.active() || p.admin != nil
}

func (p *UsersPage) SetCommon(c Common) Page {
	p.flow.restyle(c)
	p.c = c
	p.input.style(c, max(c.Width-30, 10))
	p.lines = map[int]string{}
	p.pg.scroll()
	p.render()
	return p
}

// visibleRows is how many table rows fit: the page height minus the
// search line, the header and its rule.
func (p *UsersPage) visibleRows() int { return max(p.c.Height-3, 1) }

// newGeneration starts a fresh search: it cancels the previous one's
// context, so a stale scan stops, and forgets every row.
func (p *UsersPage) newGeneration() {
	p.newContext()
	p.pg.clear()
	p.ranked = false
	p.starts = []usersStart{{}}
	p.loadErr = ""
	p.lines = map[int]string{}
}

// newContext cancels the reads under way and gives the next ones a fresh
// context.
func (p *UsersPage) newContext() {
	if p.cancel != nil {
		p.cancel()
	}
	parent := p.c.Ctx
	if parent == nil {
		parent = context.Background()
	}
	p.ctx, p.cancel = context.WithCancel(parent)
}

// sleep lets go of the rows while the tab is not shown (an admin watching
// the Audit tab holds no users); wake reads the rows on screen again,
// where the cursor was.
func (p *UsersPage) sleep() {
	p.newContext()
	p.pg.release()
	p.lines = map[int]string{}
	p.asleep = true
}

func (p *UsersPage) wake() tea.Cmd {
	if !p.asleep {
		return nil
	}
	p.asleep = false
	return p.pg.reload()
}

// refetch reloads the rows on screen after missed changes, keeping the
// cursor where it is.
func (p *UsersPage) refetch() tea.Cmd {
	p.newContext()
	p.lines = map[int]string{}
	return p.pg.reload()
}

// usersStart is a row where a search's read can begin: its row number
// and its position in the directory.
type usersStart struct{ row, pos int }

// fetch is the pager's read: core.SearchUsers from a position. Ranked,
// the position is the row number; in a search, the read begins at the
// nearest row at or before the one asked for whose position is known, and
// reads on to where the pager asked. It runs in a Cmd.
func (p *UsersPage) fetch(req pageRequest) pageRead[core.User] {
	start, end, ok := req.span()
	if !ok {
		return nil
	}
	first, from := start, start
	if !p.ranked {
		i, _ := slices.BinarySearchFunc(p.starts, start+1, func(s usersStart, row int) int { return s.row - row })
		s := p.starts[max(i-1, 0)]
		first, from = s.row, s.pos
	}
	limit := end - first
	if limit <= 0 {
		return nil
	}
	ctx, query, pr, c := p.ctx, p.query, p.c.Principal, p.c.Core
	return func() (pageAnswer[core.User], error) {
		page, err := c.SearchUsers(ctx, pr, query, from, limit)
		if err != nil {
			return pageAnswer[core.User]{}, err
		}
		// Kept at its length: the search grew it by doubling.
		return pageAnswer[core.User]{rows: slices.Clip(page.Users), first: first, total: page.Total,
			atBottom: page.Next < 0, below: uint64(max(page.Next, 0))}, nil
	}
}

// noteStart remembers where a search's read ended, to read on from there.
func (p *UsersPage) noteStart(msg pagerMsg[core.User]) {
	a := msg.ans
	if a.total >= 0 {
		p.ranked = true
	}
	if p.ranked || a.atBottom {
		return
	}
	row := a.first + len(a.rows)
	i, found := slices.BinarySearchFunc(p.starts, row, func(s usersStart, row int) int { return s.row - row })
	if !found {
		p.starts = slices.Insert(p.starts, i, usersStart{row: row, pos: int(a.below)})
	}
}

func (p *UsersPage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if e, ok := msg.(envelope); ok && e.to == Page(p) {
		msg = e.msg // run on its own, as in a test, the page opens its own
	}
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return p, p.key(msg)
	case pagerMsg[core.User]:
		if !p.pg.fresh(msg) {
			return p, nil
		}
		if msg.err != nil {
			if p.ctx.Err() == nil {
				p.loadErr = core.Display(msg.err.Error())
			}
		} else {
			p.noteStart(msg)
		}
		cmd := p.pg.receive(msg)
		p.render()
		return p, cmd
	case menuActionsMsg:
		if msg.userID == p.menuUser.ID {
			p.needsReason, p.policy = msg.needsReason, msg.policy
		}
		var cmds []tea.Cmd
		for _, m := range msg.items {
			_, cmd := p.Update(m)
			cmds = append(cmds, cmd)
		}
		return p, tea.Batch(cmds...)
	case menuCheckedMsg:
		if p.menu != nil && p.menuUser.ID == msg.userID {
			waiting := p.menu.pending == msg.item
			if chosen := p.menu.set(msg.item, msg.err); chosen != "" {
				p.menu = nil
				cmds := []tea.Cmd{p.act(chosen, p.menuUser)}
				// Keys typed while core was answering (the y of "i y") go
				// to the dialog the choice opened, in order.
				for _, k := range p.typedAhead {
					cmds = append(cmds, p.key(k))
				}
				p.typedAhead = nil
				return p, tea.Batch(cmds...)
			}
			if waiting {
				p.typedAhead = nil // refused: what was typed for it is moot
			}
		}
		return p, nil
	case flowDoneMsg:
		return p, answerTo(p, p.flow.answer(p, msg))
	case ChangeMsg:
		return p, p.change(msg.Change)
	case adminDoneMsg, keysLoadedMsg:
		if p.admin == nil {
			if m, ok := msg.(adminDoneMsg); ok { // suspend: no dialog
				if m.err != nil {
					return p, func() tea.Msg { return ErrorMsg{m.err} }
				}
				return p, func() tea.Msg { return NoticeMsg{m.notice} }
			}
			return p, nil
		}
		done, cmd := p.admin.answer(msg, p.c)
		if done {
			p.admin = nil
		}
		return p, answerTo(p, cmd)
	}
	if p.searching {
		return p, p.input.Update(msg)
	}
	return p, nil
}

// change applies a live change: a user on screen is updated in place;
// a resync (missed changes) reloads.
func (p *UsersPage) change(ch core.Change) tea.Cmd {
	switch {
	case p.asleep:
		// Nothing held; wake reads what is current.
	case ch.Kind == core.ChangeResync:
		return p.refetch()
	case ch.User != nil:
		for i := range p.pg.rows {
			if p.pg.rows[i].ID == ch.User.ID {
				p.pg.rows[i] = *ch.User
				delete(p.lines, p.pg.first+i)
			}
		}
		p.render()
	}
	return nil
}

func (p *UsersPage) key(msg tea.KeyMsg) tea.Cmd {
	k := p.c.Keys
	switch {
	case p.admin != nil:
		done, cmd := p.admin.key(msg, p.c)
		if done {
			p.admin = nil
		}
		return answerTo(p, cmd)
	case p.flow.active():
		return answerTo(p, p.flow.key(p, msg, k))
	case p.menu != nil && p.menu.pending != "":
		if key.Matches(msg, k.Cancel) {
			p.menu, p.typedAhead = nil, nil
		} else if len(p.typedAhead) < 16 {
			p.typedAhead = append(p.typedAhead, msg)
		}
		return nil
	case p.menu != nil:
		res, chosen := p.menu.update(msg, k)
		switch res {
		case menuClosed:
			p.menu = nil
		case menuChose:
			p.menu = nil
			return p.act(chosen, p.menuUser)
		}
		return nil
	case p.searching:
		switch {
		case key.Matches(msg, k.Cancel):
			p.searching = false
			p.input.Blur()
			p.input.SetValue("")
			return p.setQuery("")
		case msg.Type == tea.KeyEnter:
			p.searching = false
			p.input.Blur()
			return nil
		case msg.Type == tea.KeyUp || msg.Type == tea.KeyDown:
			p.searching = false
			p.input.Blur()
			return p.key(msg)
		}
		cmd := p.input.Update(msg)
		q := strings.TrimSpace(p.input.Value())
		if len([]rune(q)) < 2 {
			q = ""
		}
		return tea.Batch(cmd, p.setQuery(q))
	}
	n := p.visibleRows()
	switch {
	case key.Matches(msg, k.Down):
		return p.moved(p.pg.move(1))
	case key.Matches(msg, k.Up):
		return p.moved(p.pg.move(-1))
	case key.Matches(msg, k.PageDown):
		return p.moved(p.pg.move(n))
	case key.Matches(msg, k.PageUp):
		return p.moved(p.pg.move(-n))
	case key.Matches(msg, k.Top):
		return p.moved(p.pg.home())
	case key.Matches(msg, k.Bottom):
		return p.moved(p.pg.end())
	case key.Matches(msg, k.Search):
		p.searching = true
		p.input.CursorEnd()
		return p.input.Focus()
	case key.Matches(msg, k.Cancel):
		if p.query != "" || p.input.Value() != "" {
			p.input.SetValue("")
			return p.setQuery("")
		}
	case key.Matches(msg, k.Open):
		if u := p.pg.selected(); u != nil {
			return p.openMenu(*u)
		}
	}
	return nil
}

// moved draws the rows a move brought on screen, and passes on the reads
// it needs.
func (p *UsersPage) moved(cmd tea.Cmd) tea.Cmd {
	p.render()
	return cmd
}

// setQuery applies a new filter, cancelling the search in flight.
func (p *UsersPage) setQuery(q string) tea.Cmd {
	if q == p.query {
		return nil
	}
	p.query = q
	p.newGeneration()
	cmd := p.pg.open()
	p.render()
	return cmd
}

// openMenu opens the kebab menu on a user and asks core, in a Cmd, which
// items it would allow and why not (one answer: ActionsOn).
func (p *UsersPage) openMenu(u core.User) tea.Cmd {
	k := p.c.Keys
	p.menuUser = u
	items := []menuItem{
		{ID: itemImpersonate, Key: k.Impersonate, Label: "Impersonate user", Checking: true},
		{ID: itemRequest, Key: k.Request, Label: "Request impersonation", Checking: true},
		{ID: itemSessions, Key: k.ViewSessions, Label: "View sessions", Checking: true},
		{ID: itemAudit, Key: k.ViewAudit, Label: "View audit", Checking: true},
	}
	items = append(items, adminItems(p.c, u)...)
	p.menu = newMenu(core.Display(u.DisplayName()), items)
	c, pr, id := p.c.Core, p.c.Principal, u.ID
	return answerTo(p, func() tea.Msg {
		a, err := c.ActionsOn(pr, id)
		answers := map[string]error{itemImpersonate: a.Impersonate, itemRequest: a.Request,
			itemSessions: a.Sessions, itemAudit: a.Audit}
		for item, action := range adminActions() {
			answers[item] = a.Admin[action]
		}
		msg := menuActionsMsg{userID: id, needsReason: c.StartNeedsReason(pr), policy: c.Policy()}
		for _, it := range items {
			if err != nil {
				answers[it.ID] = err
			}
			msg.items = append(msg.items, menuCheckedMsg{userID: id, item: it.ID, err: answers[it.ID]})
		}
		return msg
	})
}

// act carries out a chosen menu item.
func (p *UsersPage) act(item string, u core.User) tea.Cmd {
	name := core.Display(u.DisplayName())
	switch item {
	case itemImpersonate:
		d := newConfirm("Impersonate "+name+"?",
			"You will temporarily act as user "+name+" and have their permissions.",
			"Cancel", "Impersonate user")
		if p.needsReason {
			d.withReason(p.c)
		}
		openDialog(&p.flow, d, p.start(u, d), func(s core.Session) tea.Cmd {
			return func() tea.Msg { return SessionMsg{Session: s} }
		})
		return d.focusCmd()
	case itemRequest:
		f := newRequestForm(p.c, u, p.policy)
		openDialog(&p.flow, f, p.request(u, f), func(r core.Request) tea.Cmd {
			return noticeOf("Request %s to impersonate %s sent to the approvers", r.ID, name)
		})
		return f.focusCmd()
	case itemSessions:
		return func() tea.Msg { return ShowSessionsMsg{Target: u} }
	case itemAudit:
		return func() tea.Msg {
			return OpenAuditMsg{Title: "Audit · " + name, Query: core.AuditQuery{Subject: u.ID}}
		}
	case itemSuspend, itemDelete, itemEdit, itemKeys:
		var cmd tea.Cmd
		p.admin, cmd = startAdmin(p.c, &p.flow, item, u)
		return answerTo(p, cmd)
	}
	return nil
}

// start is the impersonate dialog's call: begin the session, with the
// reason typed in d.
func (p *UsersPage) start(u core.User, d *confirm) func() func() (core.Session, error) {
	c, pr := p.c.Core, p.c.Principal
	return func() func() (core.Session, error) {
		reason := d.text()
		return func() (core.Session, error) { return c.Start(pr, u.ID, reason) }
	}
}

// request is the request form's call: ask the approvers.
func (p *UsersPage) request(u core.User, f *requestForm) func() func() (core.Request, error) {
	c, pr := p.c.Core, p.c.Principal
	return func() func() (core.Request, error) {
		reason, d := f.values()
		return func() (core.Request, error) { return c.CreateRequest(pr, u.ID, reason, d) }
	}
}

// usersTable is the Users table for a page width: fixed columns, the org
// column growing first when there is room to spare, then name and email
// sharing the rest.
func usersTable(w int) table {
	const mark, role, status, consent, kebab = 2, 8, 9, 12, 1
	org := 8
	fixed := mark + org + role + status + consent + kebab + 6 // six gaps
	rest := max(w-fixed, 20)
	if rest > 40 {
		org += min((rest-40)/4, 12) // room to spare: longer org names first
		rest = max(w-fixed-(org-8), 20)
	}
	name := rest * 9 / 20
	return table{
		titles: []string{"Name", "Email", "Org", "Role", "Status", "Consent UTC", "⋮"},
		widths: []int{name, rest - name, org, role, status, consent, kebab},
	}
}

// usersInk is the ink of the Users table's status and kebab columns.
func usersInk(s *themes.Styles, u core.User) map[int]themes.Ink {
	return map[int]themes.Ink{4: s.StatusInk(string(u.Status)), 6: s.Inks.Faint}
}

// cells are one row's cells.
func (p *UsersPage) cells(u core.User) []string {
	consent := "—"
	if u.ConsentActive(p.c.Core.Now()) {
		consent = u.ConsentUntil.UTC().Format("Jan 02 15:04")
	}
	return []string{
		core.Display(u.Name),
		core.Display(u.Email),
		core.Display(p.c.Core.OrgName(u.Org)),
		core.Display(string(u.Role)),
		core.Display(string(u.Status)),
		consent,
		"⋮",
	}
}

// render prepares the lines of the rows on screen that are not cached yet,
// so View only joins strings.
func (p *UsersPage) render() {
	t := usersTable(p.c.Width)
	st := pageStylesOf(p.c)
	n := p.visibleRows()
	top := p.pg.offset
	if len(p.lines) > n {
		// Only rows on screen are kept: one that comes back is drawn
		// afresh, from the row read then.
		for i := range p.lines {
			if i < top || i >= top+n {
				delete(p.lines, i)
			}
		}
	}
	for i := top; i < top+n; i++ {
		if _, ok := p.lines[i]; ok || i == p.pg.cursor {
			continue
		}
		u := p.pg.row(i)
		if u == nil {
			continue
		}
		p.lines[i] = t.row(st, p.cells(*u), false, usersInk(st.Styles, *u))
	}
}

func (p *UsersPage) View() string {
	s := p.c.Styles
	w, h := p.c.Width, p.c.Height
	t, st := usersTable(w), pageStylesOf(p.c)
	var b strings.Builder
	b.Grow(w * h * 2)

	// Search line, with the position on the right.
	var left string
	switch {
	case p.searching:
		left = p.input.View()
	case p.query != "":
		left = s.Text.Render("Filter: "+core.Display(p.query)) + s.Muted.Render("  (/ edit · esc clear)")
	default:
		left = s.Muted.Render("/ search by name or email")
	}
	pg := &p.pg
	pos := ""
	switch {
	case pg.total == 0:
		pos = "no users"
	case pg.total > 0:
		pos = fmt.Sprintf("%d of %d", pg.cursor+1, pg.total)
	case pg.loaded:
		pos = fmt.Sprintf("%d of %d+", pg.cursor+1, pg.known())
	}
	b.WriteString(left)
	if gap := w - blockWidth(left) - len(pos); gap > 0 {
		b.WriteString(strings.Repeat(" ", gap) + s.Muted.Render(pos))
	}
	b.WriteByte('\n')

	b.WriteString(t.header(st, w))
	b.WriteByte('\n')

	n := p.visibleRows()
	switch {
	case p.loadErr != "":
		b.WriteString(s.Error.Render(fit(p.loadErr, w)))
		n--
	case pg.loaded && pg.total == 0 && p.query != "":
		b.WriteString(s.TableEmpty.Render(fit("No users match “"+core.Display(p.query)+"”", w)))
		n--
	case pg.loaded && pg.total == 0:
		b.WriteString(s.TableEmpty.Render(fit("No users", w)))
		n--
	case !pg.loaded:
		b.WriteString(s.TableEmpty.Render(fit("Loading…", w)))
		n--
	default:
		for i := pg.offset; i < pg.offset+n; i++ {
			if i > pg.offset {
				b.WriteByte('\n')
			}
			if i == pg.cursor {
				if u := pg.row(i); u != nil {
					t.writeRow(&b, st, p.cells(*u), true, nil)
					continue
				}
			}
			if line, ok := p.lines[i]; ok {
				b.WriteString(line)
			} else if pg.row(i) == nil && (pg.total < 0 || i < pg.total) {
				b.WriteString(s.Faint.Render("  …"))
			}
		}
		n = 0
	}
	for ; n > 0; n-- {
		b.WriteByte('\n')
	}
	out := b.String()

	switch {
	case p.admin != nil:
		out = center(out, p.admin.view(p.c), w, h)
	case p.flow.active():
		out = center(out, p.flow.view(p.c, w), w, h)
	case p.menu != nil:
		mv := p.menu.view(p.c, min(w/2, 56))
		mw, mh := blockSize(mv)
		y := 3 + pg.cursor - pg.offset + 1
		if y+mh > h {
			y = max(h-mh, 0)
		}
		out = overlay(out, mv, max(w-mw-2, 0), y)
	}
	return out
}

func blockWidth(s string) int { w, _ := blockSize(s); return w }

func (p *UsersPage) ShortHelp() []key.Binding {
	k := p.c.Keys
	switch {
	case p.admin != nil:
		return p.admin.help(k)
	case p.flow.active():
		return p.flow.help(k)
	case p.menu != nil:
		// The hotkeys of the items core allows (or is still asked about):
		// a refused item stays in the menu, with its reason, but its key
		// is not offered.
		b := make([]key.Binding, 0, len(p.menu.items)+1)
		for _, it := range p.menu.items {
			if !it.Disabled {
				b = append(b, it.Key)
			}
		}
		return append(b, k.Cancel)
	case p.searching:
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear"))}
	}
	return []key.Binding{k.Up, k.Down, k.Search, k.Open}
}

func (p *UsersPage) FullHelp() [][]key.Binding {
	k := p.c.Keys
	if p.Capturing() {
		return [][]key.Binding{p.ShortHelp()}
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Search, k.Open}, // i r s a … are the menu's: its help lists them
	}
}
