package tui

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/termframe"
	"github.com/actas/actas/themes"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

const janeBanner = "You are impersonating Jane Doe (jane@globex.test) · 1h 00m left · ctrl+x back to me"

// impersonate drives the Users page: search for who, open the kebab menu,
// choose Impersonate user, confirm with y.
func impersonate(t *testing.T, m *Model, who string) {
	t.Helper()
	drive(t, m, keyMsg("1"), keyMsg("/"))
	drive(t, m, typing(who)...)
	drive(t, m, keys("enter", "enter")...)
	mustContain(t, m.View(), "Impersonate user", "Request impersonation", "View sessions", "View audit")
	drive(t, m, keyMsg("i"))
	mustContain(t, m.View(), "You will temporarily act as user", "and have their permissions.", "Cancel", "Impersonate user")
	if strings.Contains(m.View(), "Reason:") { // policy require_reason, direct mode
		drive(t, m, typing("ticket 42")...)
		drive(t, m, keyMsg("enter"))
		return
	}
	drive(t, m, keyMsg("y"))
}

func TestImpersonateBannerOnEveryTabThenCtrlX(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	mustNotContain(t, m.View(), "You are impersonating")
	for _, tab := range []string{"1 Users", "2 Approvals", "3 Sessions", "4 Audit", "5 Account", "6 Settings"} {
		mustContain(t, m.View(), tab)
	}

	impersonate(t, m, "jane")
	owner := f.principal(t, core.DemoOwner)
	s, ok := f.c.SystemActiveSessionOf(owner.User.ID)
	if !ok {
		t.Fatalf("no session started; footer: %q", m.errText)
	}

	// Jane is a member: the console shows her tabs only, and the banner on
	// each of them, whatever number is pressed.
	for _, n := range []string{"1", "2", "3", "4", "5", "6"} {
		drive(t, m, keyMsg(n))
		v := m.View()
		if first := strings.SplitN(v, "\n", 2)[0]; !strings.Contains(first, janeBanner) {
			t.Fatalf("after %s, the first line is not the banner: %q", n, first)
		}
		tabRow := strings.Split(v, "\n")[1]
		mustContain(t, tabRow, "5 Account")
		mustNotContain(t, tabRow, "1 Users", "6 Settings", "4 Audit")
	}
	// The banner stays over an overlay too (a session's audit viewer).
	drive(t, m, OpenAuditMsg{Title: "Audit · " + s.ID, Query: core.AuditQuery{Session: s.ID}})
	mustContain(t, m.View(), janeBanner)
	drive(t, m, CloseOverlayMsg{})

	drive(t, m, keyMsg("ctrl+x"))
	v := m.View()
	mustNotContain(t, v, "You are impersonating")
	mustContain(t, v, "Back to yourself", "1 Users", "6 Settings")
	if _, ok := f.c.SystemActiveSessionOf(owner.User.ID); ok {
		t.Fatal("ctrl+x did not end the session in core")
	}
	ended, err := f.c.SystemSession(s.ID)
	if err != nil || ended.EndReason != core.EndExit {
		t.Fatalf("session after ctrl+x: %+v, %v", ended, err)
	}
	// Back on the tab shown before impersonating.
	if m.active != TabUsers {
		t.Fatalf("active tab after ctrl+x = %d, want Users", m.active)
	}
}

func TestImpersonatingStaffShowsTheirTabs(t *testing.T) {
	f := newFixture(t, 30)
	lead := f.principal(t, core.DemoLead)
	if _, err := f.c.GrantConsent(lead, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "lead@")
	v := m.View()
	mustContain(t, v, "You are impersonating Lee Lead (lead@acme.test)", "1 Users", "3 Sessions", "5 Account")
	mustNotContain(t, v, "2 Approvals", "4 Audit", "6 Settings")
	for _, n := range []string{"1", "3", "5"} {
		drive(t, m, keyMsg(n))
		mustContain(t, m.View(), "You are impersonating Lee Lead")
	}
	// A second impersonation is refused, with core's reason in the menu.
	drive(t, m, keyMsg("1"), keyMsg("/"))
	drive(t, m, typing("jane")...)
	drive(t, m, keys("enter", "enter")...)
	mustContain(t, m.View(), "already impersonating")
}

func TestRefusedMenuItemShowsReason(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("bob@")...)
	drive(t, m, keys("enter", ".")...)
	v := m.View()
	mustContain(t, v, "Impersonate user", "has not granted consent", "your mode is direct")
	// Pressing the disabled item keeps the menu, says why, starts nothing.
	drive(t, m, keyMsg("i"))
	v = m.View()
	mustNotContain(t, v, "You will temporarily act as user")
	mustContain(t, v, "Bob Brown has not granted consent")
	if _, ok := f.c.SystemActiveSessionOf(f.principal(t, core.DemoOwner).User.ID); ok {
		t.Fatal("a refused item started a session")
	}
	drive(t, m, keyMsg("esc"))
	mustNotContain(t, m.View(), "Request impersonation")

	// Ina is inactive, the sysadmin is out of reach.
	for who, reason := range map[string]string{"ina@": "inactive", "root@": "sysadmins can never be impersonated"} {
		drive(t, m, keyMsg("esc"), keyMsg("/"))
		drive(t, m, typing(who)...)
		drive(t, m, keys("enter", "enter")...)
		mustContain(t, m.View(), reason)
		drive(t, m, keyMsg("esc"))
	}
}

func TestEscapeBytesRenderHarmless(t *testing.T) {
	f := newFixture(t, 30)
	globex, err := f.c.SystemUserByEmail(core.DemoJane)
	if err != nil {
		t.Fatal(err)
	}
	// Core refuses control characters on input; a record written behind
	// its back (an old import, a restored file) must still render inert.
	evil := core.User{ID: "usr_evil", Email: "evil\x1b[2J@globex.test", Name: "\x1b[31mEvil\x07\u202e", Org: globex.Org,
		Role: core.RoleMember, Status: core.StatusActive, Kind: core.KindHuman, Mode: core.ModeNever, Created: f.clock.Now(),
		ConsentFrom: f.clock.Now(), ConsentUntil: f.clock.Now().Add(time.Hour)}
	if err := f.db.Update(func(tx core.Tx) error { return tx.PutUser(evil) }); err != nil {
		t.Fatal(err)
	}
	f.reopen(t)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("evil")...)
	drive(t, m, keyMsg("enter"))
	check := func(what string) {
		t.Helper()
		v := m.View()
		if strings.ContainsAny(v, "\x1b\x07\u202e") {
			t.Fatalf("%s: raw control bytes in the view: %q", what, v)
		}
		mustContain(t, v, `\x1b[31mEvil`)
	}
	check("table")
	drive(t, m, keyMsg("enter"))
	check("menu")
	drive(t, m, keyMsg("i"))
	check("confirm")
	drive(t, m, typing("ticket 42")...)
	drive(t, m, keyMsg("enter"))
	check("banner")
	mustContain(t, m.View(), `(evil\x1b[2J@globex.test) · `, `You are impersonating \x1b[31mEvil`)
}

func TestSessionEndedElsewhereShowsWhy(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "jane")
	mustContain(t, m.View(), janeBanner)

	if _, err := f.c.RevokeConsent(f.principal(t, core.DemoJane)); err != nil {
		t.Fatal(err)
	}
	// Hand the model what the pump would.
	for len(sub.C) > 0 {
		drive(t, m, ChangeMsg{Change: <-sub.C})
	}
	v := m.View()
	mustNotContain(t, v, "You are impersonating")
	mustContain(t, v, "Your session as Jane Doe ended: consent revoked", "1 Users")
}

func TestSessionExpiryEndsBanner(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "jane")
	f.clock.Advance(56 * time.Minute)
	drive(t, m, tickMsg{})
	mustContain(t, m.View(), "· 4m 00s left ·")
	f.clock.Advance(5 * time.Minute)
	for len(sub.C) > 0 {
		drive(t, m, ChangeMsg{Change: <-sub.C})
	}
	v := m.View()
	mustNotContain(t, v, "You are impersonating")
	mustContain(t, v, "Your session as Jane Doe ended: time is up")
}

func TestBannerUrgentInLastMinutes(t *testing.T) {
	f := newFixture(t, 30)
	owner := f.principal(t, core.DemoOwner)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if _, err := f.c.Start(owner, jane.ID, "ticket"); err != nil {
		t.Fatal(err)
	}
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.ANSI256)
	m := New(Options{Core: f.c, Principal: owner, Renderer: r, Width: 100, Height: 30})
	st := themes.New(r, themes.Dark)
	normal := m.bannerView()
	if normal != st.Banner.Width(100).MaxHeight(1).Render(janeBanner) {
		t.Fatalf("banner %q is not in the warning style", normal)
	}
	f.clock.Advance(56 * time.Minute)
	urgent := m.bannerView()
	want := st.BannerUrgent.Width(100).MaxHeight(1).Render("You are impersonating Jane Doe (jane@globex.test) · 4m 00s left · ctrl+x back to me")
	if urgent != want {
		t.Fatalf("last minutes: got %q, want the urgent style %q", urgent, want)
	}
}

func TestTimeLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{
		72 * time.Hour:                  "72h 00m",
		time.Hour + 5*time.Minute:       "1h 05m",
		59*time.Minute + 59*time.Second: "59m",
		5 * time.Minute:                 "5m 00s",
		4*time.Minute + 9*time.Second:   "4m 09s",
		-time.Second:                    "0m 00s",
	} {
		if got := timeLeft(d); got != want {
			t.Errorf("timeLeft(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestQuitEndsThisConnectionsSession(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "jane")
	owner := f.principal(t, core.DemoOwner)
	if _, ok := f.c.SystemActiveSessionOf(owner.User.ID); !ok {
		t.Fatal("no session")
	}
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	msgs := run(cmd)
	_ = msgs
	if _, ok := f.c.SystemActiveSessionOf(owner.User.ID); ok {
		t.Fatal("quitting left the session running")
	}
	// The person quit: the end is theirs, not the system's.
	page, err := f.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Types: []string{core.EvSessionEnded}}, 0, true, 1)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("session.ended: %v %v", page.Events, err)
	}
	if ev := page.Events[0]; ev.Reason != string(core.EndExit) || ev.DetailsMap()["ended_by"] != core.DemoOwner {
		t.Errorf("q recorded reason %q, ended_by %v; want exit by %s", ev.Reason, ev.DetailsMap()["ended_by"], core.DemoOwner)
	}
}

func TestTabsFollowCapabilities(t *testing.T) {
	f := newFixture(t, 30)
	for email, want := range map[string][]string{
		core.DemoOwner:    {"1 Users", "2 Approvals", "3 Sessions", "4 Audit", "5 Account", "6 Settings"},
		core.DemoSupport:  {"1 Users", "2 Approvals", "3 Sessions", "5 Account"},
		core.DemoJane:     {"5 Account"},
		core.DemoApprover: {"1 Users", "2 Approvals", "3 Sessions", "4 Audit", "5 Account"},
	} {
		m := f.newModel(t, email, 100, 30)
		tabs := strings.SplitN(m.View(), "\n", 2)[0]
		for _, name := range []string{"1 Users", "2 Approvals", "3 Sessions", "4 Audit", "5 Account", "6 Settings"} {
			has := strings.Contains(tabs, name)
			wanted := strings.Contains(strings.Join(want, ","), name)
			if has != wanted {
				t.Errorf("%s: tab %q shown=%v, want %v (%q)", email, name, has, wanted, tabs)
			}
		}
	}
}

// A console builds a tab's page when the tab is first opened; until then
// the tab costs nothing and reads nothing, and shows what is current when
// it opens.
func TestPagesBuiltWhenFirstOpened(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	for n := 2; n <= 6; n++ {
		if m.pages[n] != nil {
			t.Fatalf("tab %d built before it was opened", n)
		}
	}
	mustContain(t, m.View(), "1 Users", "2 Approvals (1)", "4 Audit", "6 Settings")
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if _, err := f.c.Start(f.principal(t, core.DemoLead), jane.ID, "opened later"); err != nil {
		t.Fatal(err)
	}
	drive(t, m, keys("4")...)
	if m.pages[TabAudit] == nil || m.pages[TabSessions] != nil {
		t.Fatal("4 did not build the Audit tab alone")
	}
	mustContain(t, m.View(), "Audit log", "session.started")
	drive(t, m, keys("3")...)
	mustContain(t, m.View(), "opened later")
}

func TestPendingCountOnApprovalsTab(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoApprover, 100, 30)
	mustContain(t, m.View(), "2 Approvals (1)")
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	if _, err := f.c.CreateRequest(f.principal(t, core.DemoSupport), bob.ID, "ticket #5", time.Hour); err != nil {
		t.Fatal(err)
	}
	for len(sub.C) > 0 {
		drive(t, m, ChangeMsg{Change: <-sub.C})
	}
	mustContain(t, m.View(), "2 Approvals (2)")
}

func TestTooSmallAndResize(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, tea.WindowSizeMsg{Width: 79, Height: 24})
	v := m.View()
	mustContain(t, v, "terminal too small", "79×24")
	mustNotContain(t, v, "1 Users")
	drive(t, m, keyMsg("1")) // ignored, no panic
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	v = m.View()
	mustContain(t, v, "1 Users", "Avery Approver")
	lines := strings.Split(v, "\n")
	if len(lines) != 24 {
		t.Fatalf("80×24 view has %d lines", len(lines))
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w > 80 {
			t.Fatalf("line %d is %d wide: %q", i, w, l)
		}
	}
	drive(t, m, tea.WindowSizeMsg{Width: 140, Height: 50})
	lines = strings.Split(m.View(), "\n")
	if len(lines) != 50 {
		t.Fatalf("140×50 view has %d lines", len(lines))
	}
}

func TestHelpToggles(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	mustNotContain(t, m.View(), "page down")
	drive(t, m, keyMsg("?"))
	v := m.View()
	mustContain(t, v, "page down", "actions", "quit")
	if n := len(strings.Split(v, "\n")); n != 30 {
		t.Fatalf("full help view has %d lines, want 30", n)
	}
	drive(t, m, keyMsg("?"))
	mustNotContain(t, m.View(), "page down")
}

func TestGlobalKeysWaitWhileCapturing(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("q2?")...)
	if m.quitting || m.active != TabUsers || m.fullHelp {
		t.Fatalf("global keys acted while typing a search: quitting=%v tab=%d help=%v", m.quitting, m.active, m.fullHelp)
	}
	mustContain(t, m.View(), "/ q2?")
}

func TestBackToMeKeepsYourPlace(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "jane")
	mustContain(t, m.View(), janeBanner)
	drive(t, m, keyMsg("ctrl+x"))
	v := m.View()
	// The Users tab as you left it: the filter on Jane, her row selected.
	mustContain(t, v, "Filter: jane", "> Jane Doe")
	mustNotContain(t, v, "You will temporarily act")
}

func TestMenuChoiceWaitsForPolicyAnswer(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("jane")...)
	drive(t, m, keyMsg("enter"))
	_, cmd := m.Update(keyMsg("enter")) // the menu opens; core is being asked
	answers := run(cmd)
	mustContain(t, m.View(), "checking…")
	drive(t, m, keyMsg("i")) // typed ahead of the answer
	mustNotContain(t, m.View(), "You will temporarily act")
	drive(t, m, answers...)
	mustContain(t, m.View(), "You will temporarily act as user Jane Doe and have their permissions.")
}

func TestConfirmTypedAheadOfTheAnswer(t *testing.T) {
	f := newFixture(t, 30)
	// Without a required reason, y confirms (with one, y is typed into
	// the Reason field).
	if _, err := f.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"require_reason": "false"}); err != nil {
		t.Fatal(err)
	}
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("jane")...)
	drive(t, m, keyMsg("enter"))
	_, cmd := m.Update(keyMsg("enter"))
	answers := run(cmd)
	// "i y" typed in one go, before core answered whether i is allowed.
	drive(t, m, keyMsg("i"), keyMsg("y"))
	if _, ok := f.c.SystemActiveSessionOf(f.principal(t, core.DemoOwner).User.ID); ok {
		t.Fatal("started before core answered")
	}
	drive(t, m, answers...)
	if _, ok := f.c.SystemActiveSessionOf(f.principal(t, core.DemoOwner).User.ID); !ok {
		t.Fatalf("the y typed ahead was lost:\n%s", m.View())
	}
	mustContain(t, m.View(), "You are impersonating Jane Doe")
}

func TestBannerFitsAt80Columns(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 80, 24)
	impersonate(t, m, "jane")
	first := strings.SplitN(m.View(), "\n", 2)[0]
	// The name gives way; the email, the countdown and the way back never do.
	if !strings.HasPrefix(first, "You are impersonating Jane… (jane@globex.test)") || !strings.HasSuffix(first, " · 1h 00m left · ctrl+x back to me") {
		t.Fatalf("banner at 80 columns: %q", first)
	}
	if w := lipgloss.Width(first); w != 80 {
		t.Fatalf("banner is %d wide", w)
	}
}

func TestTooSmallStillShowsBanner(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "jane")
	drive(t, m, tea.WindowSizeMsg{Width: 60, Height: 20})
	v := m.View()
	mustContain(t, v, "Impersonating Jan… (jane@globex.test) · 1h 00m", "terminal too small")
	for i, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w > 60 {
			t.Fatalf("line %d is %d wide: %q", i, w, l)
		}
	}
	if n := len(strings.Split(v, "\n")); n != 20 {
		t.Fatalf("%d lines", n)
	}
	drive(t, m, keyMsg("ctrl+x"))
	mustNotContain(t, m.View(), "You are impersonating")
}

func TestRequesterSeesDecisionLive(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoSupport, 120, 30)
	reqs, err := f.c.Requests(f.principal(t, core.DemoSupport), core.RequestPending, 0)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("pending %v %v", reqs, err)
	}
	if _, err := f.c.Decide(f.principal(t, core.DemoApprover), reqs[0].ID, true, 2*time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	for len(sub.C) > 0 {
		drive(t, m, ChangeMsg{Change: <-sub.C})
	}
	mustContain(t, m.View(), "Your request to act as Jane Doe was approved for 2h")
}

// A console none of whose pages shows audit events as they happen takes
// them without drawing its frame again; one on the Audit tab shows them.
func TestAuditEventsDrawOnlyWhereShown(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(16)
	defer sub.Close()
	jane := f.newModel(t, core.DemoJane, 100, 30)
	owner := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, owner, keys("4")...)
	before := jane.View()
	if _, err := f.c.RecordAction(f.principal(t, core.DemoOwner), "seen by the owner", nil); err != nil {
		t.Fatal(err)
	}
	ch := ChangeMsg{Change: nextChange(t, sub, core.ChangeAudit)}
	if _, cmd := jane.Update(ch); cmd != nil {
		t.Fatal("Jane's console acted on an audit event")
	}
	if after := jane.View(); unsafe.StringData(after) != unsafe.StringData(before) {
		t.Fatal("Jane's frame was drawn again for an audit event")
	}
	drive(t, owner, ch)
	mustContain(t, owner.View(), "seen by the owner")
	// Any other message draws afresh.
	drive(t, jane, tea.WindowSizeMsg{Width: 90, Height: 30})
	if after := jane.View(); after == before {
		t.Fatal("a resize did not draw the frame again")
	}
}

// While impersonating, a hidden tab's number says why, and the help
// lists no key that core would refuse.
func TestImpersonatingHiddenTabsAndRefusedKeys(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "jane")
	drive(t, m, keyMsg("1"))
	mustContain(t, m.View(), "1 Users is not shown while you act as Jane Doe: only staff can browse users")
	drive(t, m, keyMsg("6"))
	mustContain(t, m.View(), "6 Settings is not shown while you act as Jane Doe: only owners can change settings")
	drive(t, m, keyMsg("?"))
	v := m.View()
	mustContain(t, v, "Account of Jane Doe", "next theme", "ctrl+x back to me")
	mustNotContain(t, v, "enable consent", "change consent", "revoke consent")
	// Without a session a hidden tab says why too.
	drive(t, m, keyMsg("ctrl+x"))
	jane := f.newModel(t, core.DemoJane, 100, 30)
	drive(t, jane, keyMsg("4"))
	mustContain(t, jane.View(), "4 Audit is not shown: only admins, owners and approvers can read the audit log")
}

// Under NO_COLOR the banner keeps bold and reverse video (NO_COLOR forbids
// colour, not emphasis), and nothing on screen is coloured.
func TestNoColorKeepsEmphasis(t *testing.T) {
	f := newFixture(t, 30)
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(themes.PlainProfile(false))
	m := New(Options{Core: f.c, Principal: f.principal(t, core.DemoOwner), Renderer: r, Plain: true, Width: 100, Height: 30, noTimers: true})
	drive(t, m, m.Init())
	impersonate(t, m, "jane")
	v := m.View()
	banner := strings.SplitN(v, "\n", 2)[0]
	mustContain(t, banner, "You are impersonating Jane Doe")
	if !strings.Contains(banner, "\x1b[1;7m") && !(strings.Contains(banner, "\x1b[1m") && strings.Contains(banner, "7m")) {
		t.Fatalf("banner without bold and reverse video: %q", banner)
	}
	for _, colour := range []string{"[38;", "[48;", "[3", "[4"} {
		for _, seq := range strings.Split(v, "\x1b")[1:] {
			if strings.HasPrefix(seq, colour) && !strings.HasPrefix(seq, "[4m") {
				t.Fatalf("colour sequence %q under NO_COLOR", seq)
			}
		}
	}
}

// Under TERM=dumb every glyph of the console falls back to ASCII, with the
// screen's layout unchanged.
func TestDumbTerminalGetsASCII(t *testing.T) {
	f := newFixture(t, 30)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		m := New(Options{Core: f.c, Principal: f.principal(t, core.DemoOwner), Renderer: asciiRenderer(), Plain: true, ASCII: true,
			Width: size[0], Height: size[1], noTimers: true})
		drive(t, m, m.Init())
		screens := []string{m.View()}
		drive(t, m, keyMsg("enter"))
		screens = append(screens, m.View())
		drive(t, m, keyMsg("esc"), keyMsg("3"), keyMsg("?"))
		screens = append(screens, m.View())
		drive(t, m, keyMsg("?"), keyMsg("4"))
		screens = append(screens, m.View())
		for _, v := range screens {
			for i, r := range v {
				if r > 127 {
					t.Fatalf("%dx%d: %q at %d:\n%s", size[0], size[1], r, i, v)
				}
			}
			for i, l := range strings.Split(v, "\n") {
				if w := len(l); w > size[0] {
					t.Fatalf("line %d is %d wide: %q", i, w, l)
				}
			}
		}
		mustContain(t, screens[0], "Name", ":")
	}
}

// At 80 columns the tab row still says who you are: the tabs give up
// their padding and names first.
func TestHeaderSaysWhoYouAreAt80Columns(t *testing.T) {
	f := newFixture(t, 30)
	for _, email := range []string{core.DemoOwner, core.DemoApprover, core.DemoSupport, core.DemoJane} {
		for _, w := range []int{80, 90, 100} {
			m := f.newModel(t, email, w, 24)
			me, _ := f.c.SystemUserByEmail(email)
			row := strings.Split(m.View(), "\n")[0]
			mustContain(t, row, me.Name)
			if lipgloss.Width(row) > w {
				t.Fatalf("tab row %d wide at %d: %q", lipgloss.Width(row), w, row)
			}
		}
	}
	m := f.newModel(t, core.DemoOwner, 80, 24)
	mustContain(t, strings.Split(m.View(), "\n")[0], "[1 Users]", "Olivia Owner")
	m = f.newModel(t, core.DemoOwner, 120, 24)
	mustContain(t, strings.Split(m.View(), "\n")[0], "6 Settings", "Olivia Owner · owner")
}

// TestDirectModeAsksForReason: with require_reason on, the confirm dialog
// holds a focused Reason field; enter with nothing typed is refused in
// place, esc cancels, enter with a reason starts the session with it.
// Without a required reason there is no field and y confirms.
func TestDirectModeAsksForReason(t *testing.T) {
	f := newFixture(t, 30)
	owner := f.principal(t, core.DemoOwner).User.ID
	m := f.newModel(t, core.DemoOwner, 100, 30)
	open := func() {
		t.Helper()
		drive(t, m, keyMsg("1"), keyMsg("/"))
		drive(t, m, typing("jane")...)
		drive(t, m, keys("enter", "enter")...)
		drive(t, m, keyMsg("i"))
	}
	open()
	mustContain(t, m.View(), "Reason:", "enter confirm · esc cancel")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "a reason is required", "Reason:")
	if _, ok := f.c.SystemActiveSessionOf(owner); ok {
		t.Fatal("started without a reason")
	}
	drive(t, m, keyMsg("y")) // typed into the field, not a confirmation
	if _, ok := f.c.SystemActiveSessionOf(owner); ok {
		t.Fatal("y confirmed a dialog that asks for a reason")
	}
	drive(t, m, keyMsg("esc"))
	mustNotContain(t, m.View(), "Reason:")
	if _, ok := f.c.SystemActiveSessionOf(owner); ok {
		t.Fatal("esc started a session")
	}
	reopen := func() {
		t.Helper()
		drive(t, m, keyMsg("1"), keyMsg("enter"), keyMsg("i"))
		mustContain(t, m.View(), "have their permissions")
	}
	reopen()
	drive(t, m, typing("ticket #4802")...)
	drive(t, m, keyMsg("enter"))
	s, ok := f.c.SystemActiveSessionOf(owner)
	if !ok || s.Reason != "ticket #4802" {
		t.Fatalf("session %+v (%v), want reason ticket #4802", s, ok)
	}
	drive(t, m, keyMsg("ctrl+x"))

	if _, err := f.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"require_reason": "false"}); err != nil {
		t.Fatal(err)
	}
	reopen()
	mustNotContain(t, m.View(), "Reason:")
	drive(t, m, keyMsg("y"))
	if _, ok := f.c.SystemActiveSessionOf(owner); !ok {
		t.Fatal("y did not confirm without a required reason")
	}
}

// TestBannerKeepsTheWholeEmail: however long or wide the name, the banner
// shows the target's email in full and fits the width.
func TestBannerKeepsTheWholeEmail(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("Bartholomew ", 8),
		strings.Repeat("山田太郎", 12),
		strings.Repeat("👩\u200d💻", 20) + " Ada",
	} {
		for _, width := range []int{60, 80, 120} {
			text, _ := bannerText(name, "jane.q.longaddress@globex.test", "59m", width-2)
			if !strings.Contains(text, "(jane.q.longaddress@globex.test)") || !strings.Contains(text, "59m") {
				t.Errorf("width %d, name %.12q: %q", width, name, text)
			}
			if w := termframe.Cells(text); w > width {
				t.Errorf("width %d: banner %d wide: %q", width, w, text)
			}
		}
	}
}

// TestLowerMaxDurationMovesTheBanner: a lower max_duration shortens the
// running session, and its console's countdown follows at once.
func TestLowerMaxDurationMovesTheBanner(t *testing.T) {
	f := newFixture(t, 30)
	sys := core.SystemPrincipal("test")
	if _, err := f.c.SetPolicy(sys, map[string]string{"default_duration": "24h"}); err != nil {
		t.Fatal(err)
	}
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoOwner, 100, 30)
	impersonate(t, m, "jane")
	mustContain(t, m.View(), "· 24h 00m left ·")
	if _, err := f.c.SetPolicy(sys, map[string]string{"max_duration": "2h", "default_duration": "1h"}); err != nil {
		t.Fatal(err)
	}
	for len(sub.C) > 0 {
		drive(t, m, ChangeMsg{Change: <-sub.C})
	}
	mustContain(t, m.View(), "· 2h 00m left ·", "now ends in 2h 00m")
}
