package tui

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// decidedLimit bounds how many decided requests of each status h shows.
const decidedLimit = 200

type approvalsKeys struct {
	Up, Down, Top, Bottom, Approve, Deny, History, Cancel key.Binding
}

func newApprovalsKeys(k *KeyMap) approvalsKeys {
	return approvalsKeys{
		Up:      k.Up,
		Down:    k.Down,
		Top:     as(k.Top, "newest"),
		Bottom:  as(k.Bottom, "oldest"),
		Approve: k.Approve,
		Deny:    k.Deny,
		History: k.History,
		Cancel:  k.CancelRequest,
	}
}

// approvalRow is a request with its people resolved for display, and
// what core says the viewer may do with it.
type approvalRow struct {
	core.Request
	requester, requesterEmail string
	target, targetEmail       string
	acts                      core.RequestActions
}

type approvalsLoadedMsg struct {
	to      *ApprovalsPage
	rows    []approvalRow
	pending int
	max     time.Duration
	now     time.Time
	err     error
}

// ApprovalsPage is the approvals inbox: pending requests newest first,
// decided ones on h. Staff in request mode see their own requests here,
// with their status, and may cancel the pending ones.
type ApprovalsPage struct {
	pageBase
	c       Common
	keys    approvalsKeys
	rows    []approvalRow
	pending int
	max     time.Duration // policy max_duration
	now     time.Time
	history bool // h: decided requests too
	listCursor
	loaded bool
	load   loadGate
	err    error
	flow   flow        // the approve, deny or cancel dialog (dialog.go)
	target approvalRow // the request the dialog is about
}

// NewApprovalsPage builds the approvals inbox.
func NewApprovalsPage(c Common) Page {
	p := &ApprovalsPage{c: c, keys: newApprovalsKeys(keysOf(c)), max: core.MaxConsent}
	// Approvers see what waits for them; requesters their requests, decided too.
	p.history = c.Abilities.May(core.ActDecide) != nil
	return p
}

// Init loads the requests.
func (p *ApprovalsPage) Init() tea.Cmd { return p.reload() }

// SetCommon takes the new shared state.
func (p *ApprovalsPage) SetCommon(c Common) Page {
	p.c = c
	p.flow.restyle(c)
	p.scrollCursor(len(p.rows), p.listHeight())
	return p
}

// Title shows the number of pending requests.
func (p *ApprovalsPage) Title() string {
	if p.pending == 0 {
		return "Approvals"
	}
	return fmt.Sprintf("Approvals (%d)", p.pending)
}

// Capturing is true while a dialog is open.
func (p *ApprovalsPage) Capturing() bool { return p.flow.active() }

// ShortHelp lists the keys that apply now.
func (p *ApprovalsPage) ShortHelp() []key.Binding {
	if p.flow.active() {
		return p.flow.help(keysOf(p.c))
	}
	// Keys core would refuse for the selected request are left out; the
	// detail pane says why.
	b := []key.Binding{p.keys.Down, p.keys.Up}
	r, ok := p.selected()
	if p.approver() && ok && r.acts.Decide == nil {
		b = append(b, p.keys.Approve, p.keys.Deny)
	}
	if ok && r.acts.Cancel == nil {
		b = append(b, p.keys.Cancel)
	}
	h := p.keys.History
	if p.history {
		h.SetHelp("h", "hide decided")
	}
	return append(b, h)
}

// FullHelp lists every key of the page.
func (p *ApprovalsPage) FullHelp() [][]key.Binding {
	if p.flow.active() {
		return [][]key.Binding{p.ShortHelp()}
	}
	return [][]key.Binding{{p.keys.Down, p.keys.Up, p.keys.Top, p.keys.Bottom}, p.ShortHelp()[2:]}
}

// approver reports whether core lets the viewer decide requests: the
// page is then their inbox, else their own requests.
func (p *ApprovalsPage) approver() bool { return p.c.Abilities.May(core.ActDecide) == nil }

func (p *ApprovalsPage) selected() (approvalRow, bool) {
	if p.cursor < 0 || p.cursor >= len(p.rows) {
		return approvalRow{}, false
	}
	return p.rows[p.cursor], true
}

// reload reads the requests in a Cmd.
func (p *ApprovalsPage) reload() tea.Cmd {
	if p.c.Core == nil || !p.load.start() {
		return nil
	}
	co, pr, history := p.c.Core, p.c.Principal, p.history
	return func() tea.Msg {
		msg := approvalsLoadedMsg{to: p, max: co.Policy().DurationLimit(), now: co.Now()}
		pending, err := co.Requests(pr, core.RequestPending, 0)
		if err != nil {
			return approvalsLoadedMsg{to: p, err: err}
		}
		msg.pending = len(pending)
		slices.SortStableFunc(pending, func(a, b core.Request) int { return b.Created.Compare(a.Created) })
		reqs := pending
		if history {
			var decided []core.Request
			for _, st := range core.RequestStatuses[1:] {
				list, err := co.Requests(pr, st, decidedLimit)
				if err != nil {
					return approvalsLoadedMsg{to: p, err: err}
				}
				decided = append(decided, list...)
			}
			slices.SortStableFunc(decided, func(a, b core.Request) int {
				return cmp.Or(b.Decided.Compare(a.Decided), b.Created.Compare(a.Created))
			})
			reqs = append(reqs, decided...)
		}
		ids := make([]string, len(reqs))
		for i, r := range reqs {
			ids[i] = r.ID
		}
		acts, err := co.RequestActionsFor(pr, ids)
		if err != nil {
			return approvalsLoadedMsg{to: p, err: err}
		}
		who := make([]string, 0, 2*len(reqs))
		for _, r := range reqs {
			who = append(who, r.Requester, r.Target)
		}
		people, _ := co.People(pr, who...)
		for _, r := range reqs {
			row := approvalRow{Request: r, acts: acts[r.ID]}
			row.requester, row.requesterEmail = personIn(people, r.Requester)
			row.target, row.targetEmail = personIn(people, r.Target)
			msg.rows = append(msg.rows, row)
		}
		return msg
	}
}

// personIn is a user's sanitized name and email from people (the ID if
// unknown).
func personIn(people map[string]core.User, id string) (name, email string) {
	u, ok := people[id]
	if !ok {
		return core.Display(id), ""
	}
	return core.Display(u.DisplayName()), core.Display(u.Email)
}

// Update handles keys, loads and live changes.
func (p *ApprovalsPage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		p.SetCommon(resized(p.c, msg))
	case approvalsLoadedMsg:
		if msg.to != p {
			return p, nil
		}
		p.load.loading = false
		if msg.err != nil {
			p.err = msg.err
			return p, errorOf(msg.err)
		}
		p.receive(msg)
		if p.load.rerun() {
			return p, p.reload()
		}
	case clockMsg:
		p.now = msg.now
	case flowDoneMsg:
		return p, p.flow.answer(p, msg)
	case ChangeMsg:
		switch msg.Change.Kind {
		case core.ChangeRequest, core.ChangePolicy, core.ChangeResync:
			return p, p.reload()
		case core.ChangeUser:
			if u := msg.Change.User; u != nil && u.ID == p.c.Principal.User.ID {
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

func (p *ApprovalsPage) receive(msg approvalsLoadedMsg) {
	p.err = nil
	// The newest request is selected as it arrives, unless the approver
	// moved down the list or has a dialog open: then their choice stays put.
	var keep string
	if r, ok := p.selected(); ok && p.loaded && (p.cursor > 0 || p.flow.active()) {
		keep = r.ID
	}
	p.rows, p.pending, p.max, p.now = msg.rows, msg.pending, msg.max, msg.now
	p.cursor = 0 // the newest
	for i, r := range p.rows {
		if r.ID == keep {
			p.cursor = i
		}
	}
	p.loaded = true
	p.scrollCursor(len(p.rows), p.listHeight())
	if p.flow.active() && !p.flow.busy {
		// The request may have been decided by someone else meanwhile.
		// (While the dialog's own call is on its way, its answer closes it.)
		for _, r := range p.rows {
			if r.ID == p.target.ID && r.Status != core.RequestPending {
				p.flow.close()
			}
		}
	}
}

func (p *ApprovalsPage) key(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, p.keys.Down):
		p.move(1)
	case key.Matches(msg, p.keys.Up):
		p.move(-1)
	case key.Matches(msg, p.keys.Top):
		p.move(-len(p.rows))
	case key.Matches(msg, p.keys.Bottom):
		p.move(len(p.rows))
	case key.Matches(msg, p.keys.History):
		p.history = !p.history
		return p.reload()
	case p.approver() && (key.Matches(msg, p.keys.Approve) || key.Matches(msg, p.keys.Deny)):
		r, ok := p.selected()
		if !ok {
			return nil
		}
		if r.acts.Decide != nil {
			return errorOf(r.acts.Decide)
		}
		if key.Matches(msg, p.keys.Approve) {
			return p.approve(r)
		}
		return p.deny(r)
	case key.Matches(msg, p.keys.Cancel):
		r, ok := p.selected()
		if !ok || r.Requester != p.c.Principal.User.ID {
			return nil
		}
		if r.acts.Cancel != nil {
			return errorOf(r.acts.Cancel)
		}
		return p.cancel(r)
	}
	return nil
}

// decided is what follows core's answer to a dialog on request row: the
// list again, and what became of it.
func (p *ApprovalsPage) decided(row approvalRow) func(core.Request) tea.Cmd {
	return func(r core.Request) tea.Cmd {
		return tea.Batch(p.reload(), noticeOf("%s", decisionNotice(r, row)))
	}
}

// who and reason are how the dialogs introduce request r.
func (r approvalRow) who() string {
	return fmt.Sprintf("%s (%s) asks to act as %s (%s).", r.requester, r.requesterEmail, r.target, r.targetEmail)
}

func (r approvalRow) reasonLine() string { return "Reason: " + core.Display(r.Reason) }

// approve opens the approve dialog on r.
func (p *ApprovalsPage) approve(r approvalRow) tea.Cmd {
	p.target = r
	blocked := ""
	if r.acts.Blocked != nil {
		blocked = core.Display(r.acts.Blocked.Error())
	}
	f := newApproveForm(p.c, r.Request, r.who(), r.reasonLine(), blocked, p.max)
	co, pr, id := p.c.Core, p.c.Principal, r.ID
	openDialog(&p.flow, f, func() func() (core.Request, error) {
		d, note := f.values()
		return func() (core.Request, error) { return co.Decide(pr, id, true, d, note) }
	}, p.decided(r))
	return nil
}

// deny opens the deny dialog on r: a note, and enter.
func (p *ApprovalsPage) deny(r approvalRow) tea.Cmd {
	p.target = r
	d := newConfirm("Deny request "+core.Display(r.ID), r.who()+"\n"+r.reasonLine(), "Cancel", "Deny request").
		withNote(p.c, "why (shown to the requester)")
	co, pr, id := p.c.Core, p.c.Principal, r.ID
	openDialog(&p.flow, d, func() func() (core.Request, error) {
		note := d.text()
		return func() (core.Request, error) { return co.Decide(pr, id, false, 0, note) }
	}, p.decided(r))
	return d.focusCmd()
}

// cancel asks the requester to confirm withdrawing their request r.
func (p *ApprovalsPage) cancel(r approvalRow) tea.Cmd {
	p.target = r
	d := newConfirm("Cancel your request "+core.Display(r.ID)+"?",
		fmt.Sprintf("You asked to act as %s (%s) for %s.\n%s", r.target, r.targetEmail, core.FormatDuration(r.Duration), r.reasonLine()),
		"Keep it", "Cancel the request")
	co, pr, id := p.c.Core, p.c.Principal, r.ID
	openDialog(&p.flow, d, func() func() (core.Request, error) {
		return func() (core.Request, error) { return co.Cancel(pr, id) }
	}, p.decided(r))
	return nil
}

// countingDown reports whether the page shows time running out: ages and
// "expires in" of pending requests.
func (p *ApprovalsPage) countingDown() bool {
	for _, r := range p.rows {
		if r.Status == core.RequestPending {
			return true
		}
	}
	return false
}

func (p *ApprovalsPage) move(d int) {
	if len(p.rows) == 0 {
		return
	}
	p.stepCursor(d, len(p.rows), p.listHeight())
}

func decisionNotice(r core.Request, row approvalRow) string {
	switch r.Status {
	case core.RequestApproved:
		return fmt.Sprintf("Approved %s's request to act as %s for %s", row.requester, row.target, core.FormatDuration(r.Duration))
	case core.RequestDenied:
		return fmt.Sprintf("Denied %s's request to act as %s", row.requester, row.target)
	case core.RequestCancelled:
		return fmt.Sprintf("Cancelled your request to act as %s", row.target)
	case core.RequestPending:
		return fmt.Sprintf("Approved %s — it needs another approver", core.Display(r.ID))
	}
	return fmt.Sprintf("%s is %s", core.Display(r.ID), core.Display(string(r.Status)))
}

func approvalCols() []colSpec {
	return []colSpec{
		{title: "Requester", width: 12, flex: 2},
		{title: "Target", width: 12, flex: 2},
		{title: "Reason", width: 14, flex: 4},
		{title: "Duration", width: 8},
		{title: "Age", width: 4},
		{title: "Status", width: 10},
	}
}

const approvalDetailLines = 4

func (p *ApprovalsPage) listHeight() int { return listRows(p.c.Height, approvalDetailLines) }

// View draws the inbox, or the open dialog over it.
func (p *ApprovalsPage) View() string {
	st := pageStylesOf(p.c)
	w := max(p.c.Width, 20)
	page := p.listView(st, w)
	if p.flow.active() {
		return dialogOver(p.c, page, p.flow.view(p.c, w))
	}
	return page
}

func (p *ApprovalsPage) listView(st pageStyles, w int) string {
	title := fmt.Sprintf("Approvals · %d pending", p.pending)
	none := "No pending requests. New ones appear here as staff ask."
	if !p.approver() {
		title = fmt.Sprintf("My requests · %d pending", p.pending)
		none = "You have no requests. Ask for one with r on a user (tab 1)."
	}
	right := "h: show decided"
	if p.history {
		right = "showing decided · h: hide"
	}
	return listPage{
		title: title, right: right, cols: approvalCols(),
		count: len(p.rows), listCursor: p.listCursor,
		empty: emptyListText(p.loaded, p.err, none),
		row: func(i int) ([]string, map[int]themes.Ink) {
			r := p.rows[i]
			status, style := core.Display(string(r.Status)), st.StatusInk(string(r.Status))
			if r.acts.Blocked != nil {
				// What would stop the session shows in the list already.
				status, style = blockedLabel(r), st.Inks.StatusWarn
			}
			cells := []string{r.requester, r.target, core.Display(r.Reason), core.FormatDuration(r.Duration),
				formatAge(p.now, r.Created), status}
			return cells, map[int]themes.Ink{5: style}
		},
		detailLines: approvalDetailLines, detail: p.detail,
	}.view(p.c, st, w)
}

// detail describes the selected request in full.
func (p *ApprovalsPage) detail(st pageStyles, w int) string {
	r, ok := p.selected()
	if !ok {
		return ""
	}
	head := fmt.Sprintf("%s · %s (%s) → %s (%s)", core.Display(r.ID), r.requester, r.requesterEmail, r.target, r.targetEmail)
	var status string
	switch r.Status {
	case core.RequestPending:
		status = fmt.Sprintf("asks for %s · expires in %s", core.FormatDuration(r.Duration), formatAge(r.Expires, p.now))
	case core.RequestApproved:
		status = fmt.Sprintf("approved for %s", core.FormatDuration(r.Duration))
		if r.UsedBy != "" {
			status += " · used by " + core.Display(r.UsedBy)
		} else if p.now.Before(r.Expires) {
			status += " · usable for " + formatAge(r.Expires, p.now)
		}
	default:
		status = core.Display(string(r.Status))
	}
	for _, d := range r.Decisions {
		verb := "denied"
		if d.Approved {
			verb = "approved"
		}
		status += fmt.Sprintf(" · %s by %s", verb, core.Display(d.Email))
		if d.Note != "" {
			status += ": " + core.Display(d.Note)
		}
	}
	lines := []string{
		st.Bold.Render(fit(head, w)),
		st.Muted.Render(fit("Reason: "+core.Display(r.Reason), w)),
		st.Muted.Render(fit(status, w)),
	}
	// What stands in the way: of the session (the target's state), and of
	// the keys core would refuse this viewer.
	var warn []string
	if p.approver() && r.Status == core.RequestPending && r.acts.Decide != nil {
		warn = append(warn, "a/d: "+core.Display(r.acts.Decide.Error()))
	}
	if r.acts.Blocked != nil {
		warn = append(warn, "! "+core.Display(r.acts.Blocked.Error()))
	}
	lines = append(lines, st.StatusWarn.Render(fit(strings.Join(warn, " · "), w)))
	return strings.Join(lines, "\n")
}

// blockedLabel names, in a word or two, what would stop a pending
// request's session (core's refusal says it in full).
func blockedLabel(r approvalRow) string {
	var e *core.Error
	if !errors.As(r.acts.Blocked, &e) {
		return "blocked"
	}
	switch e.Code {
	case core.CodeNoConsent:
		return "no consent"
	case core.CodeTargetInactive:
		return "not active"
	}
	return "blocked"
}
