package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// accountSessions is how many sessions "Who impersonated me" shows.
const accountSessions = 20

type accountKeys struct {
	Up, Down, Open, Receipt, Enable, Revoke, Theme key.Binding
}

func newAccountKeys(k *KeyMap) accountKeys {
	return accountKeys{
		Up:      k.Up,
		Down:    k.Down,
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "session audit")),
		Receipt: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "proof receipt")),
		Enable:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "enable consent")),
		Revoke:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "revoke consent")),
		Theme:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "next theme")),
	}
}

type accountLoadedMsg struct {
	to       *AccountPage
	user     core.User
	org      string
	limit    time.Duration // the longest consent allowed now
	now      time.Time
	sessions []sessionRow
	acts     core.SelfActions
	err      error
}

type themeSetMsg struct {
	to   *AccountPage
	name string
}

// AccountPage shows the viewer's profile (the target's, while
// impersonating), their consent with enable/revoke, who impersonated
// them, and the theme switch.
type AccountPage struct {
	pageBase
	c          Common
	keys       accountKeys
	user       core.User
	org        string
	limit      time.Duration
	now        time.Time
	sessions   []sessionRow
	acts       core.SelfActions // what core lets the viewer change here
	listCursor                  // the selected session; the table scrolls with it
	loaded     bool
	load       loadGate
	flow       flow // the enable or revoke dialog (dialog.go)
}

// NewAccountPage builds the Account tab.
func NewAccountPage(c Common) Page {
	return &AccountPage{c: c, keys: newAccountKeys(keysOf(c)), limit: core.MaxConsent, user: c.Viewer}
}

// me is the account shown: the viewer (the target while impersonating).
func (p *AccountPage) me() string {
	if p.c.Viewer.ID != "" {
		return p.c.Viewer.ID
	}
	return p.c.Principal.User.ID
}

// Init loads the account.
func (p *AccountPage) Init() tea.Cmd { return p.reload() }

// SetCommon takes the new shared state; a different viewer (impersonation
// started or ended) is read afresh.
func (p *AccountPage) SetCommon(c Common) Page {
	changed := c.Viewer.ID != p.c.Viewer.ID
	p.c = c
	p.flow.restyle(c)
	if changed {
		p.user, p.loaded, p.sessions, p.cursor = c.Viewer, false, nil, 0
		p.flow.close()
	}
	return p
}

// Title is the tab label.
func (p *AccountPage) Title() string { return "Account" }

// Capturing is true while a dialog is open.
func (p *AccountPage) Capturing() bool { return p.flow.active() }

// ShortHelp lists the keys that apply now.
func (p *AccountPage) ShortHelp() []key.Binding {
	if p.flow.active() {
		return p.flow.help(keysOf(p.c))
	}
	// Consent keys core would refuse (while impersonating) are left out;
	// the page says why.
	var b []key.Binding
	if p.acts.Consent == nil {
		e := p.keys.Enable
		if p.user.ConsentActive(p.now) {
			e.SetHelp("e", "change consent")
		}
		b = append(b, e)
		if p.user.ConsentActive(p.now) {
			b = append(b, p.keys.Revoke)
		}
	}
	b = append(b, p.keys.Theme)
	if len(p.sessions) > 0 {
		b = append(b, p.keys.Down, p.keys.Up, p.keys.Open)
	}
	return b
}

// FullHelp lists every key of the page.
func (p *AccountPage) FullHelp() [][]key.Binding {
	b := p.ShortHelp()
	if !p.flow.active() && len(p.sessions) > 0 {
		b = append(b, p.keys.Receipt)
	}
	return [][]key.Binding{b}
}

// reload reads the account, its consent and the sessions on it.
func (p *AccountPage) reload() tea.Cmd {
	if p.c.Core == nil || !p.load.start() {
		return nil
	}
	co, pr, id := p.c.Core, p.c.Principal, p.me()
	return func() tea.Msg {
		msg := accountLoadedMsg{to: p, now: co.Now(), limit: co.Policy().ConsentLimit()}
		u, err := co.Person(pr, id)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.user, msg.org = u, core.Display(co.OrgName(u.Org))
		if msg.acts, err = co.SelfActionsFor(pr); err != nil {
			msg.err = err
			return msg
		}
		list, err := co.Sessions(pr, id, "", accountSessions)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.sessions = sessionRows(co, pr, list)[0]
		return msg
	}
}

// Update handles keys, loads and live changes.
func (p *AccountPage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		p.SetCommon(resized(p.c, msg))
	case accountLoadedMsg:
		if msg.to != p {
			return p, nil
		}
		p.load.loading = false
		if msg.err != nil {
			return p, errorOf(msg.err)
		}
		if msg.user.ID == p.me() {
			p.user, p.org, p.limit, p.now, p.sessions, p.loaded = msg.user, msg.org, msg.limit, msg.now, msg.sessions, true
			p.acts = msg.acts
			p.moveCursor(0, len(p.sessions))
		}
		if p.load.rerun() || msg.user.ID != p.me() {
			return p, p.reload()
		}
	case themeSetMsg:
		if msg.to != p {
			return p, nil
		}
		// core publishes no change for a theme: remember it here.
		p.user.Theme = msg.name
		return p, func() tea.Msg { return ThemeMsg{Theme: msg.name} }
	case flowDoneMsg:
		return p, p.flow.answer(p, msg)
	case ChangeMsg:
		ch := msg.Change
		switch {
		case ch.Kind == core.ChangeResync, ch.Kind == core.ChangePolicy,
			ch.User != nil && ch.User.ID == p.me(),
			ch.Session != nil && ch.Session.Target == p.me(),
			ch.Event != nil && ch.Event.Session != "" && p.running(ch.Event.Session):
			return p, p.reload()
		}
	case tea.KeyMsg:
		if p.flow.active() {
			return p, p.flow.key(p, msg, keysOf(p.c))
		}
		return p, p.key(msg)
	}
	return p, nil
}

// running reports whether session id is on the list and running: its
// events counter counts live.
func (p *AccountPage) running(id string) bool {
	for _, r := range p.sessions {
		if r.ID == id && r.Active() {
			return true
		}
	}
	return false
}

// followsAudit is true while a session on the account runs: the console
// then hands it audit events, so that the session's counter counts live.
func (p *AccountPage) followsAudit() bool {
	for _, r := range p.sessions {
		if r.Active() {
			return true
		}
	}
	return false
}

func (p *AccountPage) key(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, p.keys.Down):
		p.moveCursor(1, len(p.sessions))
	case key.Matches(msg, p.keys.Up):
		p.moveCursor(-1, len(p.sessions))
	case key.Matches(msg, p.keys.Open):
		if p.cursor >= len(p.sessions) {
			return nil
		}
		return openSessionAudit(p.sessions[p.cursor])
	case key.Matches(msg, p.keys.Receipt):
		if p.cursor >= len(p.sessions) {
			return nil
		}
		id := p.sessions[p.cursor].ID
		return func() tea.Msg { return OpenReceiptMsg{Session: id} }
	case (key.Matches(msg, p.keys.Enable) || key.Matches(msg, p.keys.Revoke)) && p.acts.Consent != nil:
		return errorOf(p.acts.Consent)
	case key.Matches(msg, p.keys.Enable):
		f := newConsentForm(p.c, p.limit)
		co, pr := p.c.Core, p.c.Principal
		openDialog(&p.flow, f, func() func() (core.User, error) {
			d, _ := f.duration()
			return func() (core.User, error) { return co.GrantConsent(pr, d) }
		}, p.consentChanged)
	case key.Matches(msg, p.keys.Revoke):
		d := newConfirm("Revoke your consent?",
			"Support staff will no longer be able to act as you. Anyone impersonating you right now is stopped at once.",
			"Keep it", "Revoke")
		co, pr := p.c.Core, p.c.Principal
		openDialog(&p.flow, d, func() func() (core.User, error) {
			return func() (core.User, error) { return co.RevokeConsent(pr) }
		}, p.consentChanged)
	case key.Matches(msg, p.keys.Theme):
		co, pr := p.c.Core, p.c.Principal
		next := themes.Next(p.theme())
		return Cmd(func() (string, error) { return next, co.SetTheme(pr, next) },
			func(name string) tea.Msg { return themeSetMsg{to: p, name: name} })
	}
	return nil
}

// consentChanged is what follows core's answer to the enable or revoke
// dialog: the page again, and what the consent is now.
func (p *AccountPage) consentChanged(u core.User) tea.Cmd {
	text := "Consent revoked: nobody can act as you now"
	if !u.ConsentFrom.IsZero() {
		text = "Consent granted until " + u.ConsentUntil.UTC().Format("2006-01-02 15:04") + " UTC"
	}
	return tea.Batch(p.reload(), noticeOf("%s", text))
}

// theme is the viewer's stored theme (the default when none is stored).
func (p *AccountPage) theme() string {
	if themes.Valid(p.user.Theme) {
		return p.user.Theme
	}
	if p.c.Styles != nil && themes.Valid(p.c.Styles.Name) {
		return p.c.Styles.Name
	}
	return themes.Default
}

func accountSessionCols() []colSpec {
	return []colSpec{
		{title: "Started (UTC)", width: 16},
		{title: "Ended", width: 11},
		{title: "Duration", width: 8},
		{title: "Impersonator", width: 12, flex: 2},
		{title: "Status", width: 6},
		{title: "End reason", width: 15},
		{title: "Events", width: 6},
	}
}

// View draws the profile, consent and sessions, or the open dialog.
func (p *AccountPage) View() string {
	st := pageStylesOf(p.c)
	w := max(p.c.Width, 20)
	page := p.pageView(st, w)
	if p.flow.active() {
		return dialogOver(p.c, page, p.flow.view(p.c, w))
	}
	return page
}

func (p *AccountPage) pageView(st pageStyles, w int) string {
	u := p.user
	var b strings.Builder
	title := "Account"
	if p.c.Impersonating() {
		title = "Account of " + core.Display(u.DisplayName()) + " (as seen by them)"
	}
	b.WriteString(titleLine(st, title, "", w) + "\n")
	if p.acts.Consent != nil {
		for _, l := range wrap("e/r: "+core.Display(p.acts.Consent.Error()), w) {
			b.WriteString(st.StatusWarn.Render(fit(l, w)) + "\n")
		}
	}
	b.WriteByte('\n')
	field := func(label, value string) {
		b.WriteString(st.Label.Render(fmt.Sprintf("%-9s", label)) + " " + fit(value, w-10) + "\n")
	}
	mode := string(u.Mode)
	if u.Approver {
		mode += " · approver"
	}
	field("Name", core.Display(u.Name))
	field("Email", core.Display(u.Email))
	field("Org", p.org)
	field("Role", core.Display(string(u.Role)))
	field("Status", st.Status(string(u.Status)).Render(core.Display(string(u.Status))))
	if u.Role.IsStaff() {
		// Members never impersonate: a mode would only puzzle them.
		field("Mode", core.Display(mode))
	}
	field("Theme", p.theme()+"  (t for the next)")
	b.WriteByte('\n')
	b.WriteString(st.Title.Render("Impersonation consent") + "\n")
	switch {
	case !p.loaded:
		b.WriteString(st.Muted.Render("Loading…") + "\n")
	case u.ConsentActive(p.now):
		b.WriteString(st.StatusOK.Render("Active") + fmt.Sprintf(" until %s UTC (%s left) — support staff may act as you.",
			u.ConsentUntil.UTC().Format("2006-01-02 15:04"), fmtSpan(u.ConsentUntil.Sub(p.now))) + "\n")
		if p.acts.Consent == nil {
			b.WriteString(st.Muted.Render("e to change the duration · r to revoke") + "\n")
		}
	case !u.ConsentUntil.IsZero():
		b.WriteString(st.StatusWarn.Render("Not active") + fmt.Sprintf(" — it ended %s UTC. Nobody can act as you.",
			u.ConsentUntil.UTC().Format("2006-01-02 15:04")) + "\n")
		if p.acts.Consent == nil {
			b.WriteString(st.Muted.Render("e to enable it for 1h, 24h, 72h or a custom time") + "\n")
		}
	default:
		b.WriteString(st.StatusInfo.Render("Not granted") + " — nobody can act as you.\n")
		if p.acts.Consent == nil {
			b.WriteString(st.Muted.Render("e to enable it for 1h, 24h, 72h or a custom time") + "\n")
		}
	}
	b.WriteByte('\n')
	b.WriteString(st.Title.Render("Who impersonated me"))
	if len(p.sessions) > 0 && w >= 60 {
		b.WriteString(st.Muted.Render(fit("  p: proof receipt of a session", w-len("Who impersonated me"))))
	}
	b.WriteByte('\n')
	used := strings.Count(b.String(), "\n")
	h := max(p.c.Height-used-1, 1)
	t := tableOf(accountSessionCols(), w-2)
	switch {
	case !p.loaded:
	case len(p.sessions) == 0:
		b.WriteString(st.Empty.Render("Nobody has impersonated you."))
	default:
		b.WriteString(t.header(st, w) + "\n")
		h = max(h-2, 1)
		off := keepVisible(p.cursor, 0, h, len(p.sessions))
		for i := off; i < len(p.sessions) && i < off+h; i++ {
			r := p.sessions[i]
			c := sessionCells(r, p.now)
			cells := []string{c[0], c[1], c[2], r.imp + " (" + r.impEmail + ")", c[5], c[6], c[7]}
			t.writeRow(&b, st, cells, i == p.cursor, map[int]themes.Ink{4: st.StatusInk(string(r.Status))})
			b.WriteByte('\n')
		}
	}
	return limitLines(strings.TrimRight(b.String(), "\n"), p.c.Height)
}
