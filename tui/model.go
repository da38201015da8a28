package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Minimum terminal size; below it the console says so instead of drawing
// a broken screen.
const (
	MinWidth  = 80
	MinHeight = 24
)

// How long a footer notice or error stays.
const noticeFor = 8 * time.Second

// pageCtors builds each tab's page, by tab number (index 0 unused).
func pageCtors() [7]func(Common) Page {
	return [7]func(Common) Page{
		nil, NewUsersPage, NewApprovalsPage, NewSessionsPage, NewAuditPage, NewAccountPage, NewSettingsPage,
	}
}

// tabTitles name the tabs in the tab bar, also those whose page is not
// built yet (a page is built when its tab is first opened).
func tabTitles() [7]string {
	return [7]string{"", "Users", "Approvals", "Sessions", "Audit", "Account", "Settings"}
}

// tabCaps is the capability each tab needs ("" = everyone).
func tabCaps() [7]core.Capability {
	return [7]core.Capability{"", core.CapUsers, core.CapApprovals, core.CapSessions, core.CapAudit, "", core.CapSettings}
}

// Model is the console's root: tabs, the impersonation banner, the active
// page (or an overlay such as a session's audit viewer) and the footer.
type Model struct {
	opt    Options
	common Common // shared state; Height here is the page area's

	tabs    [7]bool // the tabs shown to the viewer, by number
	pages   [7]Page // by tab number; nil until the tab is first opened
	active  int
	before  int     // the tab shown before impersonating
	stash   [7]Page // your own pages, kept while impersonating
	overlay Page

	fullHelp bool // the help shows every key

	// loggedOut is why an owner's step closed this console (suspended,
	// deleted, its key removed), once it did.
	loggedOut string

	self     core.User        // the principal's own user, as core last gave it
	target   core.User        // whom the session is on, while impersonating
	link     core.ProductLink // the way into the host product, if policy gives one
	ticking  bool             // a one-second tick is on its way
	pending  int              // pending requests, shown on the Approvals tab
	notice   string
	errText  string
	noticeID int

	width, height int
	quitting      bool
	initCmd       tea.Cmd // the first pages' Inits, run by Init

	// The tab row and the help as last drawn (frame.go).
	tabsDrawn struct {
		key  tabsKey
		view string
	}
	helpDrawn helpDrawn
	frame     string // the frame for the current state, drawn by New and every Update; View returns it
	frameSize int    // its length, to size the next one
}

// Root messages.
type (
	tickMsg struct{}
	// linkMsg is the product link as read on a tick (ok: there is one).
	linkMsg struct {
		link core.ProductLink
		ok   bool
	}
	// sessionLoadedMsg is the principal's session as read from core in a
	// Cmd (loadSession): s (ID "" when none), whom it is on and the
	// product link; reason is why the session shown before ended. self is
	// their own user, read again after missed changes (selfOK).
	sessionLoadedMsg struct {
		s      core.Session
		target core.User
		link   core.ProductLink
		reason core.EndReason
		self   core.User
		selfOK bool
		// abilities is core's answer for the console in that state
		// (abilitiesOK: core gave one).
		abilities   core.Abilities
		abilitiesOK bool
	}
	// abilitiesMsg is core's answer to what the console may offer, read
	// again after a change about the principal or the viewer.
	abilitiesMsg struct{ a core.Abilities }
	// requestNoticeMsg is a request of the principal's that was decided
	// or expired, with whom it is on.
	requestNoticeMsg struct {
		r      core.Request
		target core.User
	}
	linkCopiedMsg struct {
		link core.ProductLink
		err  error
	}
	pendingMsg  struct{ n int }
	clearNotice struct{ id int }
	endedMsg    struct{} // ctrl+x went through
)

// New builds the console for one terminal and principal.
func New(opt Options) *Model {
	if opt.Renderer == nil {
		opt.Renderer = lipgloss.DefaultRenderer()
	}
	ctx := opt.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	m := &Model{
		opt:    opt,
		width:  opt.Width,
		height: opt.Height,
	}
	if m.width <= 0 {
		m.width = MinWidth
	}
	if m.height <= 0 {
		m.height = MinHeight
	}
	if m.opt.Shared == nil {
		m.opt.Shared = NewShared()
	}
	m.common = Common{Ctx: ctx, Core: opt.Core, Principal: opt.Principal, Keys: m.opt.Shared.keys, drawn: m.opt.Shared.drawn}
	m.self = opt.Principal.User
	if u, err := opt.Core.Me(opt.Principal); err == nil {
		m.self = u
	}
	if s, target, ok, _ := opt.Core.MySession(opt.Principal); ok {
		m.common.Session = s
		m.target = target
		m.link, _ = opt.Core.ProductLinkOf(opt.Principal)
	}
	// The first frame shows the tabs core gives: the answer is read here,
	// by the same call the Cmd of later answers makes.
	if msg, ok := m.readAbilities()().(abilitiesMsg); ok {
		m.common.Abilities = msg.a
	}
	m.common.Viewer = m.viewer()
	m.restyle()
	m.layout()
	m.initCmd = m.rebuild()
	m.frame = m.draw()
	return m
}

// me is the principal's own user as core last gave it (at the start, or
// in a change).
func (m *Model) me() core.User { return m.self }

// viewer is whom the console shows: the target while impersonating.
func (m *Model) viewer() core.User {
	if m.common.Impersonating() && m.target.ID != "" {
		return m.target
	}
	return m.me()
}

// restyle picks the viewer's theme (plain when the terminal wants no colour).
func (m *Model) restyle() {
	name := m.common.Viewer.Theme
	if !themes.Valid(name) {
		name = themes.Default
	}
	if m.opt.Plain {
		name = themes.Plain
	}
	// Styles are shared by every console on a terminal of this profile.
	s := m.opt.Shared.styles.For(m.opt.Renderer.ColorProfile(), name)
	m.common.Styles = s
}

// visible reports whether core shows the viewer tab n.
func (m *Model) visible(n int) bool { return m.common.Abilities.Shows(tabCaps()[n]) == nil }

// readAbilities asks core, in a Cmd, what the console may offer now.
func (m *Model) readAbilities() tea.Cmd {
	c, p := m.opt.Core, m.opt.Principal
	return Cmd(func() (core.Abilities, error) { return c.Abilities(p) },
		func(a core.Abilities) tea.Msg { return abilitiesMsg{a} })
}

// abilitiesRead takes core's answer: the pages get it, and the tabs
// follow it (a demoted viewer loses theirs at once).
func (m *Model) abilitiesRead(a core.Abilities) tea.Cmd {
	m.common.Abilities = a
	m.push()
	return tea.Batch(m.retab(), m.pendingCmd())
}

// rebuild forgets the pages (after an impersonation starts or ends, the
// console shows someone else) and opens the active tab afresh.
func (m *Model) rebuild() tea.Cmd {
	m.pages = [7]Page{}
	m.overlay = nil
	return m.retab()
}

// retab works out the tabs the viewer has, drops the pages of those that
// went, keeps the active tab on one that is shown and opens it.
func (m *Model) retab() tea.Cmd {
	for n := 1; n <= 6; n++ {
		m.tabs[n] = m.visible(n)
		if !m.tabs[n] {
			m.pages[n] = nil
		}
	}
	if !m.tabs[m.active] {
		m.active = 0
		for n := 1; n <= 6; n++ {
			if m.tabs[n] {
				m.active = n
				break
			}
		}
	}
	return m.show(m.active)
}

// open builds tab n's page when it is first shown and returns its Init: a
// console holds no page, and reads nothing, for tabs never opened.
func (m *Model) open(n int) tea.Cmd {
	if !m.tabs[n] || m.pages[n] != nil {
		return nil
	}
	m.pages[n] = pageCtors()[n](m.common).SetCommon(m.common)
	return m.pages[n].Init()
}

// layout works out the page area and hands the shared state to every page.
func (m *Model) layout() {
	m.common.Width = m.width
	m.common.Height = m.pageHeight()
	m.push()
}

// push hands the current Common to every page.
func (m *Model) push() {
	for n, p := range m.pages {
		if p != nil {
			m.pages[n] = p.SetCommon(m.common)
		}
	}
	if m.overlay != nil {
		m.overlay = m.overlay.SetCommon(m.common)
	}
	// Stashed pages are yours: they keep your viewer, session-free, and
	// follow the size and help only.
	own := m.common
	own.Session, own.Viewer = core.Session{}, m.me()
	for n, p := range m.stash {
		if p != nil {
			m.stash[n] = p.SetCommon(own)
		}
	}
}

func (m *Model) Init() tea.Cmd {
	cmd := m.initCmd
	m.initCmd = nil
	return tea.Batch(cmd, m.pendingCmd(), m.armTick())
}

// armTick arms the console's next one-second tick, only while something
// on screen counts down: the banner while impersonating, or a page that
// says so (countdown). An idle console has no timer at all.
func (m *Model) armTick() tea.Cmd {
	if m.opt.noTimers || m.ticking || !m.countingDown() {
		return nil
	}
	m.ticking = true
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return tickMsg{} })
}

// countingDown reports whether something on screen shows time running out.
func (m *Model) countingDown() bool {
	if m.common.Impersonating() {
		return true
	}
	p := m.focused()
	return p != nil && p.countingDown()
}

// pendingCmd counts the pending requests the viewer sees, in a Cmd.
func (m *Model) pendingCmd() tea.Cmd {
	if !m.tabs[TabApprovals] {
		return nil
	}
	c, p := m.opt.Core, m.opt.Principal
	return func() tea.Msg {
		list, err := c.Requests(p, core.RequestPending, 0)
		if err != nil {
			return pendingMsg{0}
		}
		return pendingMsg{len(list)}
	}
}

// say shows a notice or error in the footer for a while.
func (m *Model) say(text string, isErr bool) tea.Cmd {
	m.noticeID++
	if isErr {
		m.errText, m.notice = text, ""
	} else {
		m.notice, m.errText = text, ""
	}
	id := m.noticeID
	if m.opt.noTimers {
		return nil
	}
	return tea.Tick(noticeFor, func(time.Time) tea.Msg { return clearNotice{id} })
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ch, ok := msg.(ChangeMsg); ok && ch.Change.Kind == core.ChangeAudit && !m.followsAudit() {
		// No page of this console shows audit events as they happen (a
		// member on Account): nothing changes, and the frame stays drawn.
		return m, nil
	}
	cmd := m.update(msg)
	cmd = tea.Batch(cmd, m.armTick())
	// The footer's height depends on the help shown, which depends on the
	// page's state: keep the page area in step.
	if m.common.Height != m.pageHeight() {
		m.layout()
	}
	m.frame = m.draw()
	return m, cmd
}

// pageHeight is the height left for the page: without the tab bar and its
// rule, the footer, and while impersonating the banner and the product
// link under it.
func (m *Model) pageHeight() int {
	h := m.height - 2 - m.footerHeight()
	if m.common.Impersonating() {
		h--
		if m.link.URL != "" {
			h -= m.linkLines()
		}
	}
	return max(h, 1)
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return nil
	case tea.KeyMsg:
		return m.key(msg)
	case tickMsg:
		m.ticking = false
		co, p := m.opt.Core, m.opt.Principal
		readLink := func() tea.Msg {
			l, ok := co.ProductLinkOf(p)
			return linkMsg{link: l, ok: ok}
		}
		if m.countingDown() {
			return tea.Batch(readLink, m.sendTo(clockMsg{now: m.opt.Core.Now()}))
		}
		return readLink
	case linkMsg:
		if msg.ok && msg.link.Session == m.common.Session.ID {
			m.link = msg.link // spent when the product redeemed it
		}
		return nil
	case sessionLoadedMsg:
		return m.sessionLoaded(msg)
	case abilitiesMsg:
		return m.abilitiesRead(msg.a)
	case requestNoticeMsg:
		return m.requestDecided(msg.r, msg.target)
	case pendingMsg:
		m.pending = msg.n
		return nil
	case linkCopiedMsg:
		if msg.err != nil {
			return m.say(core.Display(msg.err.Error()), true)
		}
		if msg.link.Session == m.common.Session.ID {
			m.link = msg.link
		}
		return m.say("Copied the link into "+core.Display(m.target.DisplayName())+"'s view of the product to your clipboard", false)
	case clearNotice:
		if msg.id == m.noticeID {
			m.notice, m.errText = "", ""
		}
		return nil
	case ErrorMsg:
		if msg.Err == nil {
			return nil
		}
		return m.say(core.Display(msg.Err.Error()), true)
	case NoticeMsg:
		return m.say(core.Display(msg.Text), false)
	case SessionMsg:
		return m.loadSession(msg.Session, "", false)
	case endedMsg:
		return nil
	case ChangeMsg:
		return m.change(msg)
	case SwitchTabMsg:
		return m.switchTab(msg.Tab)
	case ShowSessionsMsg:
		if !m.tabs[TabSessions] {
			return nil
		}
		cmd := m.switchTab(TabSessions)
		var pc tea.Cmd
		m.pages[TabSessions], pc = updatePage(m.pages[TabSessions], msg)
		return tea.Batch(cmd, pc)
	case OpenAuditMsg:
		m.overlay = NewAuditViewer(m.common, msg.Title, msg.Query).SetCommon(m.common)
		return m.overlay.Init()
	case OpenReceiptMsg:
		m.overlay = NewReceiptView(m.common, msg.Session).SetCommon(m.common)
		return m.overlay.Init()
	case CloseOverlayMsg:
		m.overlay = nil
		return nil
	case ThemeMsg:
		m.common.Viewer.Theme = msg.Theme
		m.restyle()
		m.push()
		return nil
	case envelope:
		return m.deliver(msg.to, msg.msg)
	case addressed:
		return m.deliver(msg.addressee(), msg)
	}
	return m.sendTo(msg)
}

// broadcast hands a message to every page and the overlay: answers to a
// page's Cmd find their page even if the user switched tabs meanwhile,
// and live changes reach every page.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for n, p := range m.pages {
		if p != nil {
			var cmd tea.Cmd
			m.pages[n], cmd = updatePage(p, msg)
			cmds = append(cmds, cmd)
		}
	}
	// Stashed pages stay live, so they are current when you come back.
	for n, p := range m.stash {
		if p != nil {
			var cmd tea.Cmd
			m.stash[n], cmd = updatePage(p, msg)
			cmds = append(cmds, cmd)
		}
	}
	if m.overlay != nil {
		var cmd tea.Cmd
		m.overlay, cmd = updatePage(m.overlay, msg)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func updatePage(p Page, msg tea.Msg) (Page, tea.Cmd) {
	nm, cmd := p.Update(msg)
	if np, ok := nm.(Page); ok {
		return np, cmd
	}
	return p, cmd
}

// key routes a keypress: ctrl+c and ctrl+x always act; a page that holds
// the focus in an input, menu or dialog gets the rest; otherwise the tab
// numbers, ? and q are the root's.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	// Fast typing (or tmux send-keys) delivers several runes in one
	// message; taken one by one, "/jane" is the search key and then "jane".
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
		var cmds []tea.Cmd
		for _, r := range msg.Runes {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
		}
		return tea.Batch(cmds...)
	}
	k := m.common.Keys
	switch {
	case msg.String() == "ctrl+c":
		return m.quit()
	case key.Matches(msg, k.BackToMe):
		if m.common.Impersonating() {
			return m.backToMe()
		}
		return nil
	}
	if m.tooSmall() {
		if key.Matches(msg, k.Quit) {
			return m.quit()
		}
		return nil
	}
	focused := m.focused()
	if focused != nil && focused.Capturing() {
		return m.sendKey(msg)
	}
	if key.Matches(msg, k.CopyLink) && m.common.Impersonating() && m.link.URL != "" {
		return m.copyLink()
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.fullHelp = !m.fullHelp
		m.layout()
		return nil
	}
	for i, b := range k.Tabs {
		if key.Matches(msg, b) {
			if !m.tabs[i+1] {
				return m.hiddenTab(i + 1)
			}
			return m.switchTab(i + 1)
		}
	}
	return m.sendKey(msg)
}

// focused is the page that receives keys: the overlay, or the active tab.
func (m *Model) focused() Page {
	if m.overlay != nil {
		return m.overlay
	}
	return m.pages[m.active]
}

func (m *Model) sendKey(msg tea.KeyMsg) tea.Cmd { return m.sendTo(msg) }

// sendTo hands msg to the focused page only.
func (m *Model) sendTo(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch {
	case m.overlay != nil:
		m.overlay, cmd = updatePage(m.overlay, msg)
	case m.pages[m.active] != nil:
		m.pages[m.active], cmd = updatePage(m.pages[m.active], msg)
	}
	return cmd
}

// hiddenTab says why tab n is not shown, with core's reason, instead of
// doing nothing.
func (m *Model) hiddenTab(n int) tea.Cmd {
	why := "not available"
	if err := m.common.Abilities.Shows(tabCaps()[n]); err != nil {
		why = err.Error()
	}
	where := ""
	if m.common.Impersonating() {
		where = " while you act as " + m.target.DisplayName()
	}
	return m.say(core.Display(fmt.Sprintf("%d %s is not shown%s: %s", n, tabTitles()[n], where, why)), true)
}

func (m *Model) switchTab(n int) tea.Cmd {
	if n < 1 || n > 6 || !m.tabs[n] {
		return nil
	}
	m.overlay = nil
	if s, ok := m.pages[m.active].(sleeper); ok && n != m.active {
		s.sleep()
	}
	m.active = n
	return m.show(n)
}

// sleeper is a page that lets go of what it holds while its tab is not
// shown (sleep) and reads it again when it is (wake).
type sleeper interface {
	sleep()
	wake() tea.Cmd
}

// show opens tab n's page, or wakes it.
func (m *Model) show(n int) tea.Cmd {
	if cmd := m.open(n); cmd != nil {
		return cmd
	}
	if s, ok := m.pages[n].(sleeper); ok {
		return s.wake()
	}
	return nil
}

// quit ends any session this connection started, then quits.
func (m *Model) quit() tea.Cmd {
	if m.quitting {
		return nil
	}
	m.quitting = true
	c, p := m.opt.Core, m.opt.Principal
	return tea.Sequence(func() tea.Msg {
		_ = c.Quit(p)
		return nil
	}, tea.Quit)
}

// backToMe ends the impersonation (ctrl+x), in a Cmd.
func (m *Model) backToMe() tea.Cmd {
	c, p := m.opt.Core, m.opt.Principal
	return func() tea.Msg {
		if err := c.End(p, core.EndExit); err != nil {
			return ErrorMsg{err}
		}
		return SessionMsg{}
	}
}

// change handles a live change from core's hub.
func (m *Model) change(msg ChangeMsg) tea.Cmd {
	ch := msg.Change
	me := m.opt.Principal.User.ID
	var cmds []tea.Cmd
	switch {
	case ch.Kind == core.ChangeLogout && ch.Logout != nil:
		if lo := ch.Logout; lo.User == me && (lo.Fingerprint == "" || lo.Fingerprint == m.opt.Principal.Fingerprint) {
			m.loggedOut = lo.Message
			return tea.Quit
		}
	case ch.Kind == core.ChangeResync:
		cmds = append(cmds, m.loadSession(core.Session{}, "", true), m.pendingCmd())
	case ch.Session != nil && ch.Session.Impersonator == me:
		s := *ch.Session
		switch {
		case s.Active() && s.ID != m.common.Session.ID:
			cmds = append(cmds, m.loadSession(s, "", false))
		case !s.Active() && s.ID == m.common.Session.ID:
			cmds = append(cmds, m.loadSession(core.Session{}, s.EndReason, false))
		case s.Active() && s.ID == m.common.Session.ID && !s.Ends.Equal(m.common.Session.Ends):
			// Policy moved its end (a lower max_duration): the banner's
			// countdown follows at once.
			m.common.Session = s
			m.push()
			cmds = append(cmds, m.say("Your session as "+core.Display(m.target.DisplayName())+" now ends in "+timeLeft(s.TimeLeft(m.opt.Core.Now()))+" (policy changed)", true))
		}
	case ch.Kind == core.ChangeNotice && ch.Notice != nil:
		if ch.Notice.User == me {
			cmds = append(cmds, m.say(ch.Notice.Text, true))
		}
	case ch.Request != nil:
		cmds = append(cmds, m.pendingCmd())
		if ch.Request.Requester == me {
			cmds = append(cmds, m.requestNotice(*ch.Request))
		}
	case ch.User != nil && (ch.User.ID == me || ch.User.ID == m.common.Viewer.ID):
		if ch.User.ID == me {
			m.self = *ch.User
		}
		if m.common.Impersonating() && ch.User.ID == m.target.ID {
			m.target = *ch.User
		}
		m.common.Viewer = m.viewer()
		m.restyle()
		m.push()
		cmds = append(cmds, m.readAbilities())
	}
	cmds = append(cmds, m.broadcast(msg))
	return tea.Batch(cmds...)
}

// loadSession reads, in a Cmd, what the console needs to show session s
// (active, or none: ID ""): whom it is on and the product link, and why
// the session shown now ended when reason does not say. fromCore reads
// the session itself (and the principal's user) from core instead: after
// missed changes.
func (m *Model) loadSession(s core.Session, reason core.EndReason, fromCore bool) tea.Cmd {
	c, p, old := m.opt.Core, m.opt.Principal, m.common.Session.ID
	return func() tea.Msg {
		msg := sessionLoadedMsg{s: s, reason: reason}
		if fromCore {
			msg.s, _, _, _ = c.MySession(p)
			u, err := c.Me(p)
			msg.self, msg.selfOK = u, err == nil
		}
		a, err := c.Abilities(p)
		msg.abilities, msg.abilitiesOK = a, err == nil
		if msg.s.ID == old {
			return msg
		}
		if old != "" && msg.reason == "" {
			if ended, err := c.SessionFor(p, old); err == nil {
				msg.reason = ended.EndReason
			}
		}
		if msg.s.ID != "" {
			msg.target, _ = c.Person(p, msg.s.Target)
			msg.link, _ = c.ProductLinkOf(p)
		}
		return msg
	}
}

// sessionLoaded moves the console to the session state loadSession read:
// a session active (it started) or none (it ended). The console then
// shows the new viewer with fresh pages.
func (m *Model) sessionLoaded(msg sessionLoadedMsg) tea.Cmd {
	if msg.selfOK {
		m.self = msg.self
	}
	if msg.abilitiesOK {
		m.common.Abilities = msg.abilities
	}
	s, reason := msg.s, msg.reason
	old := m.common.Session
	if s.ID == old.ID {
		if msg.selfOK && !m.common.Impersonating() {
			m.common.Viewer = m.viewer()
			m.restyle()
		}
		if msg.selfOK || msg.abilitiesOK {
			m.push()
			return m.retab()
		}
		return nil
	}
	var notice tea.Cmd
	if old.ID != "" {
		name := core.Display(m.target.DisplayName())
		if reason == core.EndExit || reason == "" {
			notice = m.say("Back to yourself — your session as "+name+" ended", false)
		} else {
			notice = m.say("Your session as "+name+" ended: "+endReasonText(reason), true)
		}
	}
	m.common.Session = s
	m.target, m.link = core.User{}, core.ProductLink{}
	if s.ID != "" {
		m.target, m.link = msg.target, msg.link
	}
	m.common.Viewer = m.viewer()
	m.restyle()
	var cmd tea.Cmd
	switch {
	case old.ID == "" && s.ID != "":
		// Keep your own pages (filter, cursor, dialogs closed) for when you
		// come back; show the target's, fresh.
		m.before, m.stash = m.active, m.pages
		cmd = m.rebuild()
	case old.ID != "" && s.ID == "" && m.stash != [7]Page{}:
		m.pages, m.stash, m.overlay = m.stash, [7]Page{}, nil
		m.active = m.before
		cmd = m.retab()
	default:
		cmd = m.rebuild()
	}
	m.layout()
	return tea.Batch(notice, cmd, m.pendingCmd())
}

// requestNotice tells requesters, live, what became of their request,
// once a Cmd has read whom it is on.
func (m *Model) requestNotice(r core.Request) tea.Cmd {
	c, p := m.opt.Core, m.opt.Principal
	return func() tea.Msg {
		target, _ := c.Person(p, r.Target)
		return requestNoticeMsg{r: r, target: target}
	}
}

// requestDecided is the notice for request r on target.
func (m *Model) requestDecided(r core.Request, target core.User) tea.Cmd {
	name := core.Display(target.DisplayName())
	switch r.Status {
	case core.RequestApproved:
		return m.say(fmt.Sprintf("Your request to act as %s was approved for %s — open their actions and press i", name, core.FormatDuration(r.Duration)), false)
	case core.RequestDenied:
		note := ""
		if n := len(r.Decisions); n > 0 && r.Decisions[n-1].Note != "" {
			note = ": " + core.Display(r.Decisions[n-1].Note)
		}
		return m.say("Your request to act as "+name+" was denied"+note, true)
	case core.RequestExpired:
		return m.say("Your request to act as "+name+" expired without a decision", true)
	}
	return nil
}

// endReasonText says why a session ended, for people.
func endReasonText(r core.EndReason) string {
	switch r {
	case core.EndExpired:
		return "time is up"
	case core.EndConsentRevoked:
		return "consent revoked"
	case core.EndConsentExpired:
		return "consent expired"
	case core.EndDisconnect:
		return "disconnected"
	case core.EndShutdown:
		return "the server shut down"
	case core.EndTerminated:
		return "terminated by an owner"
	}
	if st, ok := strings.CutPrefix(string(r), "user_"); ok {
		return "the user was " + core.Display(st)
	}
	return core.Display(strings.ReplaceAll(string(r), "_", " "))
}

func (m *Model) tooSmall() bool { return m.width < MinWidth || m.height < MinHeight }

// followsAudit reports whether a page, your pages kept while
// impersonating, or the overlay show audit events as they happen.
func (m *Model) followsAudit() bool {
	follows := func(p Page) bool { return p != nil && p.followsAudit() }
	for n := range m.pages {
		if follows(m.pages[n]) || follows(m.stash[n]) {
			return true
		}
	}
	return follows(m.overlay)
}

// View draws the console. A frame is drawn once per Update that may have
// changed it; until the next such Update, View hands back the same frame.
// View is the frame that the last Update (or New) drew: Bubble Tea calls
// it after every Update, and it changes nothing.
func (m *Model) View() string { return m.frame }

func (m *Model) draw() string {
	if m.quitting {
		return ""
	}
	s := m.common.Styles
	if m.tooSmall() {
		msg := fmt.Sprintf("terminal too small\n%d×%d — actas needs at least %d×%d\n\nq quits", m.width, m.height, MinWidth, MinHeight)
		var out string
		if m.common.Impersonating() && m.height > 1 {
			// Even here, nobody forgets whom they are acting as.
			out = m.bannerView() + "\n" + m.opt.Renderer.Place(m.width, m.height-1, lipgloss.Center, lipgloss.Center,
				s.Muted.Align(lipgloss.Center).Render(msg))
		} else {
			out = m.opt.Renderer.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, s.Muted.Align(lipgloss.Center).Render(msg))
		}
		if m.opt.ASCII {
			return asciiGlyphs.Replace(out)
		}
		return out
	}
	page := m.focused()
	var b strings.Builder
	b.Grow(m.frameSize + 256)
	if m.common.Impersonating() {
		b.WriteString(m.bannerView())
		b.WriteByte('\n')
		if m.link.URL != "" {
			b.WriteString(m.linkView())
			b.WriteByte('\n')
		}
	}
	b.WriteString(m.tabsView())
	b.WriteByte('\n')
	start := b.Len()
	if page != nil && !page.writeView(&b) {
		b.WriteString(limitLines(page.View(), m.common.Height))
	}
	// The page fills its area, however few lines it drew.
	for n := strings.Count(b.String()[start:], "\n") + 1; n < m.common.Height; n++ {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	m.writeFooter(&b)
	m.frameSize = b.Len()
	if m.opt.ASCII {
		return asciiGlyphs.Replace(b.String())
	}
	return b.String()
}

// LoggedOut is the line saying why an owner's step closed this console
// (its person suspended or deleted, or the key it logged in with
// removed), or "" while it was not.
func (m *Model) LoggedOut() string { return m.loggedOut }
