package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// policyHelp says what each policy key does, under the list.
var policyHelp = map[string]string{
	"enabled":            "Impersonation is possible at all.",
	"require_consent":    "Users must have granted consent (Account tab) before anyone acts as them.",
	"max_duration":       "Longest session, approval or consent (1h–168h).",
	"default_duration":   "Session length when no approved request says otherwise.",
	"require_reason":     "Requests must give a reason.",
	"request_ttl":        "Pending requests expire after this; approvals are usable this long.",
	"approvals_required": "Approvals a request needs: 1, or 2 from different approvers.",
	"end_on_disconnect":  "A session ends when the console that started it disconnects.",
	"notify_target":      "Tell users when someone starts acting as them.",
	"alerting":           "Session starts and ends go to the alert channels (Alerts, below).",
	"environment":        "Label put in every alert, e.g. production.",
}

type settingsKeys struct {
	Up, Down, Top, Bottom, Edit, Mode, Approver, Test, Save, Cancel key.Binding
}

func newSettingsKeys(k *KeyMap) settingsKeys {
	return settingsKeys{
		Up:       k.Up,
		Down:     k.Down,
		Top:      k.Top,
		Bottom:   k.Bottom,
		Edit:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "edit")),
		Mode:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "cycle mode")),
		Approver: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "toggle approver")),
		Test:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "send a test")),
		Save:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
		Cancel:   k.Cancel,
	}
}

type settingsLoadedMsg struct {
	to     *SettingsPage
	policy map[string]string
	staff  []core.User
	orgs   map[string]string
	acts   core.SelfActions
	chans  []core.Channel
	outbox []core.OutboxMessage
	apikey []core.APIKey
	err    error
}

type alertTestedMsg struct {
	to  *SettingsPage
	id  string
	err error
}

type policySavedMsg struct {
	to    *SettingsPage
	key   string
	value string
	err   error
}

type staffSavedMsg struct {
	to *SettingsPage
	u  core.User
}

// SettingsPage lets owners edit the policy and the staff's impersonation
// modes and approver flags in place (core records each change), and shows
// the alert channels and the outbox, where t sends a test.
type SettingsPage struct {
	pageBase
	c       Common
	keys    settingsKeys
	policy  map[string]string
	staff   []core.User
	orgs    map[string]string
	chans   []core.Channel
	outbox  []core.OutboxMessage
	apikeys []core.APIKey // host products' keys, shown only (actas apikey add|revoke)
	testing string        // channel a test is on its way to
	// The selection runs over the policy keys first, then staff and
	// alert channels; the offset is the first line on screen.
	listCursor
	loaded  bool
	load    loadGate
	err     error
	editing bool
	input   lazyInput
	editErr string
	acts    core.SelfActions // whether core lets the viewer change settings now
}

// NewSettingsPage builds the Settings tab.
func NewSettingsPage(c Common) Page {
	p := &SettingsPage{c: c, keys: newSettingsKeys(keysOf(c))}
	p.input = newLazyInput("", "", 200)
	p.styleInput()
	return p
}

func (p *SettingsPage) styleInput() { p.input.style(p.c, max(min(p.c.Width-26, 40), 8)) }

// Init loads the policy and the staff.
func (p *SettingsPage) Init() tea.Cmd { return p.reload() }

// SetCommon takes the new shared state.
func (p *SettingsPage) SetCommon(c Common) Page {
	p.c = c
	p.styleInput()
	p.scroll()
	return p
}

// Title is the tab label.
func (p *SettingsPage) Title() string { return "Settings" }

// Capturing is true while a policy value is being edited.
func (p *SettingsPage) Capturing() bool { return p.editing }

// ShortHelp lists the keys that apply now.
func (p *SettingsPage) ShortHelp() []key.Binding {
	if p.editing {
		return []key.Binding{p.keys.Save, p.keys.Cancel}
	}
	b := []key.Binding{p.keys.Down, p.keys.Up}
	if p.acts.Settings != nil {
		return b // changes are refused now (while impersonating)
	}
	if k, ok := p.policyKey(); ok {
		e := p.keys.Edit
		if isBoolPolicy(p.policy[k]) {
			e.SetHelp("enter", "toggle")
		}
		return append(b, e)
	}
	if _, ok := p.channel(); ok {
		return append(b, p.keys.Test)
	}
	return append(b, p.keys.Mode, p.keys.Approver)
}

// FullHelp lists every key of the page.
func (p *SettingsPage) FullHelp() [][]key.Binding {
	if p.editing {
		return [][]key.Binding{p.ShortHelp()}
	}
	return [][]key.Binding{{p.keys.Down, p.keys.Up, p.keys.Top, p.keys.Bottom}, {p.keys.Edit, p.keys.Mode, p.keys.Approver, p.keys.Test}}
}

func (p *SettingsPage) count() int { return len(core.PolicyKeys) + len(p.staff) + len(p.chans) }

// channel is the selected alert channel, if a channel row is selected.
func (p *SettingsPage) channel() (core.Channel, bool) {
	i := p.cursor - len(core.PolicyKeys) - len(p.staff)
	if i < 0 || i >= len(p.chans) {
		return core.Channel{}, false
	}
	return p.chans[i], true
}

// policyKey is the selected policy key, if a policy row is selected.
func (p *SettingsPage) policyKey() (string, bool) {
	if p.cursor < len(core.PolicyKeys) {
		return core.PolicyKeys[p.cursor], true
	}
	return "", false
}

// staffMember is the selected staff member, if a staff row is selected.
func (p *SettingsPage) staffMember() (core.User, bool) {
	i := p.cursor - len(core.PolicyKeys)
	if i < 0 || i >= len(p.staff) {
		return core.User{}, false
	}
	return p.staff[i], true
}

func isBoolPolicy(v string) bool { return v == "true" || v == "false" }

func (p *SettingsPage) reload() tea.Cmd {
	if p.c.Core == nil || !p.load.start() {
		return nil
	}
	co, pr := p.c.Core, p.c.Principal
	return func() tea.Msg {
		msg := settingsLoadedMsg{to: p, policy: core.PolicyValues(co.Policy()), orgs: map[string]string{}}
		staff, err := co.Staff(pr)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.staff = staff
		if msg.acts, err = co.SelfActionsFor(pr); err != nil {
			msg.err = err
			return msg
		}
		if msg.chans, err = co.Channels(pr); err != nil {
			msg.err = err
			return msg
		}
		if msg.outbox, err = co.Outbox(pr); err != nil {
			msg.err = err
			return msg
		}
		if msg.apikey, err = co.APIKeys(pr); err != nil {
			msg.err = err
			return msg
		}
		for _, u := range staff {
			if _, ok := msg.orgs[u.Org]; !ok {
				msg.orgs[u.Org] = core.Display(co.OrgName(u.Org))
			}
		}
		return msg
	}
}

// Update handles keys, loads and live changes.
func (p *SettingsPage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		p.SetCommon(resized(p.c, msg))
	case settingsLoadedMsg:
		if msg.to != p {
			return p, nil
		}
		p.load.loading = false
		if msg.err != nil {
			p.err = msg.err
			return p, errorOf(msg.err)
		}
		p.err, p.acts = nil, msg.acts
		keep, wasStaff := p.staffMember()
		p.policy, p.staff, p.orgs, p.loaded = msg.policy, msg.staff, msg.orgs, true
		p.chans, p.outbox, p.apikeys = msg.chans, msg.outbox, msg.apikey
		if wasStaff {
			for i, u := range p.staff {
				if u.ID == keep.ID {
					p.cursor = len(core.PolicyKeys) + i
				}
			}
		}
		p.moveCursor(0, p.count())
		p.scroll()
		if p.load.rerun() {
			return p, p.reload()
		}
	case policySavedMsg:
		if msg.to != p {
			return p, nil
		}
		if msg.err != nil {
			if p.editing {
				p.editErr = core.Display(msg.err.Error())
				return p, nil
			}
			return p, errorOf(msg.err)
		}
		p.editing, p.editErr = false, ""
		p.input.Blur()
		return p, tea.Batch(p.reload(), noticeOf("Policy: %s = %s", msg.key, core.Display(msg.value)))
	case staffSavedMsg:
		if msg.to != p {
			return p, nil
		}
		approver := "not an approver"
		if msg.u.Approver {
			approver = "approver"
		}
		return p, tea.Batch(p.reload(), noticeOf("%s: mode %s, %s", core.Display(msg.u.Email), core.Display(string(msg.u.Mode)), approver))
	case alertTestedMsg:
		if msg.to != p {
			return p, nil
		}
		p.testing = ""
		if msg.err != nil {
			return p, tea.Batch(p.reload(), errorOf(msg.err))
		}
		return p, tea.Batch(p.reload(), noticeOf("Test message delivered to %s", core.Display(msg.id)))
	case ChangeMsg:
		switch msg.Change.Kind {
		case core.ChangePolicy, core.ChangeUser, core.ChangeResync, core.ChangeAlerts, core.ChangeAPIKey:
			return p, p.reload()
		}
	case tea.KeyMsg:
		if p.editing {
			return p, p.editKey(msg)
		}
		cmd := p.key(msg)
		p.scroll()
		return p, cmd
	}
	return p, nil
}

func (p *SettingsPage) key(msg tea.KeyMsg) tea.Cmd {
	co, pr := p.c.Core, p.c.Principal
	switch {
	case key.Matches(msg, p.keys.Down):
		p.moveCursor(1, p.count())
	case key.Matches(msg, p.keys.Up):
		p.moveCursor(-1, p.count())
	case key.Matches(msg, p.keys.Top):
		p.cursor = 0
	case key.Matches(msg, p.keys.Bottom):
		p.moveCursor(p.count(), p.count())
	case p.acts.Settings != nil && (key.Matches(msg, p.keys.Edit) || key.Matches(msg, p.keys.Mode) || key.Matches(msg, p.keys.Approver)):
		return errorOf(p.acts.Settings)
	case key.Matches(msg, p.keys.Edit):
		k, ok := p.policyKey()
		if !ok || !p.loaded {
			return nil
		}
		v := p.policy[k]
		if isBoolPolicy(v) {
			nv := strconv.FormatBool(v != "true")
			return p.savePolicy(k, nv)
		}
		p.editing, p.editErr = true, ""
		p.input.SetValue(v)
		p.input.CursorEnd()
		return p.input.Focus()
	case key.Matches(msg, p.keys.Mode):
		u, ok := p.staffMember()
		if !ok {
			return nil
		}
		next := core.Modes[0]
		for i, m := range core.Modes {
			if m == u.Mode {
				next = core.Modes[(i+1)%len(core.Modes)]
			}
		}
		return Cmd(func() (core.User, error) { return co.UpdateUser(pr, u.Email, core.UserChange{Mode: &next}) },
			func(u core.User) tea.Msg { return staffSavedMsg{to: p, u: u} })
	case key.Matches(msg, p.keys.Approver):
		u, ok := p.staffMember()
		if !ok {
			return nil
		}
		flip := !u.Approver
		return Cmd(func() (core.User, error) { return co.UpdateUser(pr, u.Email, core.UserChange{Approver: &flip}) },
			func(u core.User) tea.Msg { return staffSavedMsg{to: p, u: u} })
	case key.Matches(msg, p.keys.Test):
		ch, ok := p.channel()
		if !ok || p.testing != "" {
			return nil
		}
		p.testing = ch.ID
		ctx := p.c.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		// Core bounds the attempt (10 s); the console stays responsive meanwhile.
		return tea.Batch(noticeOf("Sending a test to %s…", core.Display(ch.ID)), func() tea.Msg {
			return alertTestedMsg{to: p, id: ch.ID, err: co.TestChannel(ctx, pr, ch.ID)}
		})
	}
	return nil
}

func (p *SettingsPage) savePolicy(k, v string) tea.Cmd {
	co, pr := p.c.Core, p.c.Principal
	return func() tea.Msg {
		_, err := co.SetPolicy(pr, map[string]string{k: v})
		return policySavedMsg{to: p, key: k, value: v, err: err}
	}
}

func (p *SettingsPage) editKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc:
		p.editing, p.editErr = false, ""
		p.input.Blur()
		return nil
	case tea.KeyEnter:
		k, _ := p.policyKey()
		return p.savePolicy(k, p.input.Value())
	}
	return p.input.Update(msg)
}

func staffCols() []colSpec {
	return []colSpec{
		{title: "Name", width: 12, flex: 2},
		{title: "Email", width: 14, flex: 2},
		{title: "Org", width: 8, flex: 1},
		{title: "Role", width: 8},
		{title: "Mode", width: 7},
		{title: "Approver", width: 8},
		{title: "Status", width: 9},
	}
}

// View draws both sections, scrolled so that the selection is visible.
func (p *SettingsPage) View() string {
	st := pageStylesOf(p.c)
	w := max(p.c.Width, 20)
	if !p.loaded {
		return titleLine(st, "Settings", "", w) + "\n\n" + st.Empty.Render(emptyListText(p.loaded, p.err, ""))
	}
	var lines []string
	sel := 0
	lines = append(lines, st.Title.Render("Policy")+st.Muted.Render("  (for the whole organisation; each change is audited)"))
	for i, k := range core.PolicyKeys {
		v := core.Display(p.policy[k])
		if v == "" {
			v = "—"
		}
		label := fmt.Sprintf("  %-20s ", k)
		switch {
		case i == p.cursor && p.editing:
			sel = len(lines)
			lines = append(lines, st.LabelFocused.Render(">"+label[1:])+p.input.View())
			if p.editErr != "" {
				lines = append(lines, strings.Repeat(" ", 23)+st.FieldError.Render(p.editErr))
			}
		case i == p.cursor:
			sel = len(lines)
			lines = append(lines, st.Selected.Render(fit(">"+label[1:]+v, w)))
		default:
			vs := st.Row
			if isBoolPolicy(v) {
				vs = st.Status("info")
				if v == "true" {
					vs = st.Status("ok")
				}
			}
			lines = append(lines, st.Label.Render(label)+vs.Render(v))
		}
	}
	lines = append(lines, "", st.Title.Render(fmt.Sprintf("Staff (%d)", len(p.staff)))+
		st.Muted.Render("  m cycles the mode never → request → direct · a toggles approver"))
	staff := tableOf(staffCols(), w-2)
	lines = append(lines, strings.Split(staff.header(st, w), "\n")...)
	for i, u := range p.staff {
		approver := "no"
		if u.Approver {
			approver = "yes"
		}
		cells := []string{core.Display(u.DisplayName()), core.Display(u.Email), p.orgs[u.Org], core.Display(string(u.Role)),
			core.Display(string(u.Mode)), approver, core.Display(string(u.Status))}
		if len(core.PolicyKeys)+i == p.cursor {
			sel = len(lines)
		}
		lines = append(lines, staff.row(st, cells, len(core.PolicyKeys)+i == p.cursor, nil))
	}
	lines = append(lines, p.apiKeyLines(st, w)...)
	lines = append(lines, p.alertLines(st, w, len(lines), &sel)...)
	h := p.bodyHeight()
	off := keepVisible(sel, p.offset, h, len(lines))
	end := min(off+h, len(lines))
	var b strings.Builder
	b.WriteString(titleLine(st, "Settings", "", w) + "\n\n")
	b.WriteString(strings.Join(lines[off:end], "\n"))
	for i := end - off; i < h; i++ {
		b.WriteByte('\n')
	}
	b.WriteString("\n" + st.Faint.Render(strings.Repeat("─", w)) + "\n")
	if k, ok := p.policyKey(); ok {
		b.WriteString(st.Muted.Render(fit(policyHelp[k], w)))
	} else if u, ok := p.staffMember(); ok {
		b.WriteString(st.Muted.Render(fit(staffHint(u), w)))
	} else if ch, ok := p.channel(); ok {
		hint := "t sends a test to " + ch.ID + "; actas alert remove " + ch.ID + " removes it."
		if ch.LastError != "" {
			hint = "Last error " + ch.LastErrorAt.UTC().Format(time.RFC3339) + ": " + core.Display(ch.LastError)
		}
		b.WriteString(st.Muted.Render(fit(hint, w)))
	}
	return limitLines(b.String(), p.c.Height)
}

// bodyHeight is the height of the scrolled sections: the page minus the
// title, a blank line, the rule and the hint line.
func (p *SettingsPage) bodyHeight() int { return max(p.c.Height-4, 3) }

// scroll keeps the selected line on screen. The lines are: the policy
// title, the keys (plus an error line while editing), a blank line, the
// staff title, the staff header and its rule, then the staff.
func (p *SettingsPage) scroll() {
	sel := 1 + p.cursor
	total := 1 + len(core.PolicyKeys) + 4 + len(p.staff) + p.apiKeyLineCount() + p.alertLineCount()
	if p.cursor >= len(core.PolicyKeys) {
		sel += 4
	}
	if p.cursor >= len(core.PolicyKeys)+len(p.staff) {
		sel += 4 + p.apiKeyLineCount()
	}
	p.offset = keepVisible(sel, p.offset, p.bodyHeight(), total)
}

// apiKeyLines draws the API keys of host products: a blank line, the
// title, one line per key (never the key itself, which only its hash
// stands for), or a line saying there are none. Keys are added and
// revoked on the command line, where the new key is printed once.
func (p *SettingsPage) apiKeyLines(st pageStyles, w int) []string {
	lines := []string{"", st.Title.Render(fmt.Sprintf("API keys (%d)", len(p.apikeys))) +
		st.Muted.Render("  for host products · actas apikey add --name APP · actas apikey revoke --name APP")}
	for _, k := range p.apikeys {
		state, style := "active", st.Row
		if !k.Active() {
			state, style = "revoked "+k.Revoked.UTC().Format("2006-01-02 15:04"), st.Muted
		}
		text := fmt.Sprintf("  %-20s %-24s %6d/s  added %s by %s", k.Name, state, k.Rate,
			k.Created.UTC().Format("2006-01-02 15:04"), k.CreatedBy)
		lines = append(lines, style.Render(fit(core.Display(text), w)))
	}
	if len(p.apikeys) == 0 {
		lines = append(lines, st.Muted.Render("  No API keys yet."))
	}
	return lines
}

// apiKeyLineCount is len(apiKeyLines(…)) without drawing it.
func (p *SettingsPage) apiKeyLineCount() int { return 2 + max(len(p.apikeys), 1) }

func alertCols() []colSpec {
	return []colSpec{
		{title: "Channel", width: 11},
		{title: "Kind", width: 7},
		{title: "Destination", width: 16, flex: 2},
		{title: "Last delivered", width: 20},
		{title: "Last error", width: 12, flex: 2},
	}
}

// maxOutboxLines is how many undelivered messages Settings lists.
const maxOutboxLines = 8

// alertLines draws the Alerts section: a blank line, the title, the
// channel table (header, rule, rows, or a line saying there are none),
// then the outbox summary and its oldest undelivered messages.
// The selected channel's line is base (the lines above) plus its place here.
func (p *SettingsPage) alertLines(st pageStyles, w, base int, sel *int) []string {
	lines := []string{"", st.Title.Render(fmt.Sprintf("Alerts (%d)", len(p.chans))) +
		st.Muted.Render("  t sends a test · add channels with actas alert add slack|email|webhook")}
	t := tableOf(alertCols(), w-2)
	lines = append(lines, strings.Split(t.header(st, w), "\n")...)
	first := len(core.PolicyKeys) + len(p.staff)
	for i, ch := range p.chans {
		last := "never"
		if !ch.LastDelivered.IsZero() {
			last = ch.LastDelivered.UTC().Format("2006-01-02 15:04:05")
		}
		errText := "—"
		if ch.LastError != "" {
			errText = core.Display(ch.LastError)
		}
		if ch.ID == p.testing {
			errText = "sending a test…"
		}
		if first+i == p.cursor {
			*sel = base + len(lines)
		}
		cells := []string{ch.ID, string(ch.Kind), core.Display(ch.Destination()), last, errText}
		lines = append(lines, t.row(st, cells, first+i == p.cursor, nil))
	}
	if len(p.chans) == 0 {
		lines = append(lines, st.Muted.Render("  No channels yet."))
	}
	pending, failed := 0, 0
	for _, m := range p.outbox {
		if m.Failed {
			failed++
		} else {
			pending++
		}
	}
	lines = append(lines, "", st.Label.Render(fmt.Sprintf("  Outbox: %d pending, %d failed", pending, failed)))
	for i, m := range p.outbox {
		if i == maxOutboxLines {
			lines = append(lines, st.Muted.Render(fmt.Sprintf("  … %d more (actas alert outbox)", len(p.outbox)-i)))
			break
		}
		state := fmt.Sprintf("pending, try %d at %s", m.Attempts+1, m.NextAt.UTC().Format("15:04:05"))
		style := st.Row
		if m.Failed {
			state, style = "FAILED after "+strconv.Itoa(m.Attempts)+" tries", st.FieldError
		}
		text := fmt.Sprintf("  %s %s → %s · %s", m.ID, m.Notice.Type, m.Destination(), state)
		if m.LastError != "" {
			text += " · " + m.LastError
		}
		lines = append(lines, style.Render(fit(core.Display(text), w)))
	}
	return lines
}

// alertLineCount is len(alertLines(…)) without drawing it.
func (p *SettingsPage) alertLineCount() int {
	n := 4 + max(len(p.chans), 1) + 2
	if len(p.outbox) > maxOutboxLines {
		return n + maxOutboxLines + 1
	}
	return n + len(p.outbox)
}

func staffHint(u core.User) string {
	var mode string
	switch u.Mode {
	case core.ModeNever:
		mode = "may not impersonate"
	case core.ModeRequest:
		mode = "needs an approved request each time"
	case core.ModeDirect:
		mode = "may impersonate directly (consent still applies)"
	}
	s := core.Display(u.DisplayName()) + " " + mode
	if u.Approver {
		s += "; decides requests"
	}
	return s + "."
}
