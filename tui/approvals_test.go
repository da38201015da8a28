package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
)

// Helpers for the page tests (approvals, sessions, audit, account,
// settings); the fixture itself is in fixture_test.go.

// pageCommon is the Common a page gets for email at w×h, in ASCII.
func (f *fixture) pageCommon(t testing.TB, email string, w, h int) Common {
	t.Helper()
	pr := f.principal(t, email)
	keys := DefaultKeyMap()
	// The root hands pages core's abilities in Common; so does this.
	a, err := f.c.Abilities(pr)
	if err != nil {
		t.Fatal(err)
	}
	return Common{Ctx: context.Background(), Core: f.c, Principal: pr, Viewer: pr.User, Abilities: a,
		Styles: themes.New(asciiRenderer(), themes.Dark), Keys: &keys, Width: w, Height: h}
}

// openPage builds a page with ctor for email at 100×30 and runs its Init.
func (f *fixture) openPage(t testing.TB, ctor func(Common) Page, email string) Page {
	t.Helper()
	p := ctor(f.pageCommon(t, email, 100, 30))
	drivePage(t, p, p.Init())
	return p
}

// drivePage runs messages (or Cmds) through a page and every Cmd it
// returns, as the program would, and returns every message produced: the
// ones for the root (ErrorMsg, NoticeMsg, OpenAuditMsg, …) among them.
func drivePage(t testing.TB, p Page, msgs ...tea.Msg) []tea.Msg {
	t.Helper()
	var queue, out []tea.Msg
	for _, msg := range msgs {
		if cmd, ok := msg.(tea.Cmd); ok {
			got := run(cmd)
			queue = append(queue, got...)
			out = append(out, got...)
			continue
		}
		queue = append(queue, msg)
	}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			t.Fatal("drivePage: runaway message loop")
		}
		msg := queue[0]
		queue = queue[1:]
		m, cmd := p.Update(msg)
		if m != tea.Model(p) {
			t.Fatalf("Update returned another model %T", m)
		}
		got := run(cmd)
		queue = append(queue, got...)
		out = append(out, got...)
	}
	return out
}

// pageKeys drives named keys (see keyMsg) through a page.
func pageKeys(t testing.TB, p Page, names ...string) []tea.Msg {
	t.Helper()
	return drivePage(t, p, keys(names...)...)
}

// errorsOf lists the ErrorMsg texts among msgs.
func errorsOf(msgs []tea.Msg) []string {
	var out []string
	for _, m := range msgs {
		if e, ok := m.(ErrorMsg); ok {
			out = append(out, e.Err.Error())
		}
	}
	return out
}

func noticesOf(msgs []tea.Msg) []string {
	var out []string
	for _, m := range msgs {
		if n, ok := m.(NoticeMsg); ok {
			out = append(out, n.Text)
		}
	}
	return out
}

func noErrors(t testing.TB, msgs []tea.Msg) {
	t.Helper()
	if errs := errorsOf(msgs); len(errs) > 0 {
		t.Fatalf("unexpected errors: %q", errs)
	}
}

// nextChange waits for the next change of kind on a hub subscription.
func nextChange(t testing.TB, sub *core.Subscription, kind core.ChangeKind) core.Change {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ch := <-sub.C:
			if ch.Kind == kind {
				return ch
			}
		case <-timeout:
			t.Fatalf("no %s change within 5s", kind)
		}
	}
}

// pageHost runs one page as a whole program, for teatest goldens.
type pageHost struct {
	p Page
	c Common
}

func (h *pageHost) Init() tea.Cmd { return h.p.Init() }

func (h *pageHost) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if size, ok := msg.(tea.WindowSizeMsg); ok {
		h.c.Width, h.c.Height = size.Width, size.Height
		h.p = h.p.SetCommon(h.c)
		return h, nil
	}
	m, cmd := h.p.Update(msg)
	h.p = m.(Page)
	return h, cmd
}

func (h *pageHost) View() string { return h.p.View() }

// goldenPage runs the page in a teatest program at 100×30, types the keys
// once want shows, waits for after to show (when given) and compares the
// final screen with testdata/<test name>.golden (go test -update writes it).
func goldenPage(t *testing.T, c Common, p Page, want string, after string, names ...string) {
	t.Helper()
	host := &pageHost{p: p, c: c}
	tm := teatest.NewTestModel(t, host, teatest.WithInitialTermSize(100, 30))
	wait := func(s string) {
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), s) },
			teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	wait(want)
	for _, k := range keys(names...) {
		tm.Send(k)
	}
	if after != "" {
		wait(after)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*pageHost)
	view := final.View()
	if strings.Contains(view, "\x1b") {
		t.Fatalf("ASCII view holds escape sequences: %q", view)
	}
	golden.RequireEqual(t, []byte(view+"\n"))
}

func TestApprovalsApproverSeesPendingRequest(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	if got := p.Title(); got != "Approvals (1)" {
		t.Fatalf("title %q, want Approvals (1)", got)
	}
	v := p.View()
	mustContain(t, v, "Sam Support", "Jane Doe", "Jane reports a broken export", "1h", "pending")
	if p.Capturing() {
		t.Fatal("capturing without a dialog")
	}
}

func TestApprovalsLiveRequest(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	mustNotContain(t, p.View(), "Bob Brown")

	support := f.principal(t, core.DemoSupport)
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	if _, err := f.c.CreateRequest(support, bob.ID, "Bob cannot log in (ticket #5001)", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	ch := nextChange(t, sub, core.ChangeRequest)
	noErrors(t, drivePage(t, p, ChangeMsg{ch}))

	if got := p.Title(); got != "Approvals (2)" {
		t.Fatalf("title %q, want Approvals (2)", got)
	}
	v := p.View()
	mustContain(t, v, "Bob Brown", "Bob cannot log in", "24h", "no consent")
	// Newest first and selected: the approver had not moved off the top.
	if strings.Index(v, "Bob Brown") > strings.Index(v, "Jane reports") {
		t.Fatalf("newest request not first:\n%s", v)
	}
	if r, _ := p.(*ApprovalsPage).selected(); r.Target != bob.ID {
		t.Fatal("the new request is not selected")
	}
	// An approver who moved down the list keeps their place.
	pageKeys(t, p, "j", "j")
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if r, _ := p.(*ApprovalsPage).selected(); r.Target != jane.ID {
		t.Fatalf("after j j the selection is on %s", r.Target)
	}
	member, _ := f.c.SystemUserByEmail(core.DemoMember(1).Email)
	if _, err := f.c.CreateRequest(support, member.ID, "another", time.Hour); err != nil {
		t.Fatal(err)
	}
	ch = nextChange(t, sub, core.ChangeRequest)
	noErrors(t, drivePage(t, p, ChangeMsg{ch}))
	if r, _ := p.(*ApprovalsPage).selected(); r.Target != jane.ID {
		t.Fatal("selection left the request the approver had chosen")
	}
}

func TestApprovalsApproveWithLongerDuration(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	pageKeys(t, p, "a")
	if !p.Capturing() {
		t.Fatal("approve dialog did not open")
	}
	mustContain(t, p.View(), "Approve request", "Duration:", "1h")
	pageKeys(t, p, "+")
	mustContain(t, p.View(), "2h")
	out := pageKeys(t, p, "y")
	noErrors(t, out)
	if p.Capturing() {
		t.Fatal("dialog still open")
	}
	reqs, err := f.c.Requests(f.principal(t, core.DemoApprover), core.RequestApproved, 0)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("approved requests %v, %v", reqs, err)
	}
	if reqs[0].Duration != 2*time.Hour {
		t.Fatalf("approved for %s, want 2h", reqs[0].Duration)
	}
	if n := noticesOf(out); len(n) == 0 || !strings.Contains(n[0], "for 2h") {
		t.Fatalf("notices %q", n)
	}
	if got := p.Title(); got != "Approvals" {
		t.Fatalf("title %q after approving the only request", got)
	}
}

func TestApprovalsDurationSteps(t *testing.T) {
	for _, tc := range []struct {
		from time.Duration
		dir  int
		want time.Duration
	}{
		{time.Hour, -1, time.Hour},
		{time.Hour, +1, 2 * time.Hour},
		{23 * time.Hour, +1, 24 * time.Hour},
		{24 * time.Hour, +1, 48 * time.Hour},
		{24 * time.Hour, -1, 23 * time.Hour},
		{48 * time.Hour, -1, 24 * time.Hour},
		{168 * time.Hour, +1, 168 * time.Hour},
		{72 * time.Hour, +1, 72 * time.Hour}, // policy max 72h
	} {
		limit := 168 * time.Hour
		if tc.from == 72*time.Hour {
			limit = 72 * time.Hour
		}
		if got := stepDuration(tc.from, tc.dir, limit); got != tc.want {
			t.Errorf("step(%s, %+d) = %s, want %s", tc.from, tc.dir, got, tc.want)
		}
	}
}

func TestApprovalsDenyWithNote(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	pageKeys(t, p, "d")
	drivePage(t, p, typing("no ticket number")...)
	mustContain(t, p.View(), "Deny request", "no ticket number")
	noErrors(t, pageKeys(t, p, "enter"))
	reqs, _ := f.c.Requests(f.principal(t, core.DemoApprover), core.RequestDenied, 0)
	if len(reqs) != 1 || reqs[0].Decisions[0].Note != "no ticket number" {
		t.Fatalf("denied requests %+v", reqs)
	}
	// h shows the decided ones, with the note.
	mustNotContain(t, p.View(), "Sam Support")
	pageKeys(t, p, "h")
	mustContain(t, p.View(), "Sam Support", "denied", "no ticket number")
}

func TestApprovalsEscCancelsDialogs(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	for _, k := range []string{"a", "d"} {
		pageKeys(t, p, k)
		if !p.Capturing() {
			t.Fatalf("%s opened no dialog", k)
		}
		pageKeys(t, p, "esc")
		if p.Capturing() {
			t.Fatalf("esc left the %s dialog open", k)
		}
	}
	reqs, _ := f.c.Requests(f.principal(t, core.DemoApprover), core.RequestPending, 0)
	if len(reqs) != 1 {
		t.Fatalf("pending %d, want 1", len(reqs))
	}
}

func TestApprovalsOwnRequestRefused(t *testing.T) {
	f := newFixture(t, 30)
	cli := core.SystemPrincipal("test")
	mode := core.ModeRequest
	if _, err := f.c.UpdateUser(cli, core.DemoApprover, core.UserChange{Mode: &mode}); err != nil {
		t.Fatal(err)
	}
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	if _, err := f.c.CreateRequest(f.principal(t, core.DemoApprover), bob.ID, "my own", time.Hour); err != nil {
		t.Fatal(err)
	}
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	// Refused up front: the help leaves a and d out, the pane says why,
	// and a says it again instead of opening the dialog.
	for _, b := range p.ShortHelp() {
		if b.Help().Desc == "approve" || b.Help().Desc == "deny" {
			t.Fatalf("help offers %q on the approver's own request", b.Help().Desc)
		}
	}
	mustContain(t, p.View(), "a/d: you cannot decide your own request")
	out := pageKeys(t, p, "a")
	if p.Capturing() {
		t.Fatal("a opened the approve dialog on the approver's own request")
	}
	errs := errorsOf(out)
	if len(errs) != 1 || !strings.Contains(errs[0], "you cannot decide your own request") {
		t.Fatalf("errors %q", errs)
	}
	var e ErrorMsg
	for _, m := range out {
		if em, ok := m.(ErrorMsg); ok {
			e = em
		}
	}
	if !errors.Is(e.Err, &core.Error{Code: core.CodeOwnRequest}) {
		t.Fatalf("error %v is not own_request", e.Err)
	}
}

func TestApprovalsRequesterSeesStatusAndCancels(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	p := f.openPage(t, NewApprovalsPage, core.DemoSupport)
	v := p.View()
	mustContain(t, v, "My requests", "Jane Doe", "pending")

	// The approver denies elsewhere: the requester sees it live.
	reqs, _ := f.c.Requests(f.principal(t, core.DemoSupport), core.RequestPending, 0)
	if _, err := f.c.Decide(f.principal(t, core.DemoApprover), reqs[0].ID, false, 0, "use the export log"); err != nil {
		t.Fatal(err)
	}
	drivePage(t, p, ChangeMsg{nextChange(t, sub, core.ChangeRequest)})
	mustContain(t, p.View(), "denied", "use the export log")

	// A new request of theirs can be cancelled with c, y.
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	if _, err := f.c.CreateRequest(f.principal(t, core.DemoSupport), bob.ID, "help Bob", time.Hour); err != nil {
		t.Fatal(err)
	}
	drivePage(t, p, ChangeMsg{nextChange(t, sub, core.ChangeRequest)})
	pageKeys(t, p, "g", "a") // not an approver: a does nothing
	if p.Capturing() {
		t.Fatal("a opened a dialog for a requester")
	}
	noErrors(t, pageKeys(t, p, "c", "y"))
	got, _ := f.c.Requests(f.principal(t, core.DemoSupport), core.RequestCancelled, 0)
	if len(got) != 1 || got[0].Target != bob.ID {
		t.Fatalf("cancelled %+v", got)
	}
}

func TestApprovalsGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoApprover, 100, 30)
	goldenPage(t, c, NewApprovalsPage(c), "Jane reports", "")
}

func TestApprovalsApproveDialogGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoApprover, 100, 30)
	goldenPage(t, c, NewApprovalsPage(c), "Jane reports", "3h", "a", "+", "+")
}

// With two approvals required, an approver who said yes cannot open the
// dialog again: a is refused up front, with the reason.
func TestApprovalsApproveTwiceRefusedUpFront(t *testing.T) {
	f := newFixture(t, 30)
	if _, err := f.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"approvals_required": "2"}); err != nil {
		t.Fatal(err)
	}
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	noErrors(t, pageKeys(t, p, "a", "y"))
	drivePage(t, p, ChangeMsg{nextChange(t, sub, core.ChangeRequest)})
	mustContain(t, p.View(), "a/d: you already approved this request")
	out := pageKeys(t, p, "a")
	if p.Capturing() {
		t.Fatal("a opened the dialog a second time")
	}
	if errs := errorsOf(out); len(errs) != 1 || !strings.Contains(errs[0], "you already approved") {
		t.Fatalf("errors %q", errs)
	}
}

// The approve dialog offers presets (1h, 24h, 72h, max) and a note that
// goes with the decision.
func TestApprovalsApprovePresetsAndNote(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	pageKeys(t, p, "a", "4")
	mustContain(t, p.View(), "Duration: -  168h  +", "1 1h · 2 24h · 3 72h · 4 max 168h")
	pageKeys(t, p, "1")
	mustContain(t, p.View(), "Duration: -  1h  +")
	pageKeys(t, p, "3", "tab")
	drivePage(t, p, typing("verified 4802, y")...) // y types into the note
	if !p.Capturing() {
		t.Fatal("y in the note closed the dialog")
	}
	noErrors(t, pageKeys(t, p, "enter"))
	reqs, _ := f.c.Requests(f.principal(t, core.DemoApprover), core.RequestApproved, 0)
	if len(reqs) != 1 || reqs[0].Duration != 72*time.Hour || reqs[0].Decisions[0].Note != "verified 4802, y" {
		t.Fatalf("approved %+v", reqs)
	}
}

// A smaller max_duration leaves out the presets above it; 4 is the max.
func TestApprovalsPresetsWithinMax(t *testing.T) {
	f := newFixture(t, 30)
	if _, err := f.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"max_duration": "48h"}); err != nil {
		t.Fatal(err)
	}
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	pageKeys(t, p, "a", "3")
	mustContain(t, p.View(), "Duration: -  1h  +", "1 1h · 2 24h · 4 max 48h")
	mustNotContain(t, p.View(), "72h")
	pageKeys(t, p, "4")
	mustContain(t, p.View(), "Duration: -  48h  +")
}

// The console ticks once a second only while a page on screen counts
// down: the Approvals tab with pending requests, not the Users tab.
func TestApprovalsAgesTickOnlyOnScreen(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoApprover, 100, 30)
	armed := func() bool {
		m.opt.noTimers, m.ticking = false, false
		defer func() { m.opt.noTimers, m.ticking = true, false }()
		return m.armTick() != nil
	}
	if armed() {
		t.Fatal("the Users tab arms a tick")
	}
	drive(t, m, keyMsg("2"))
	if !armed() {
		t.Fatal("the Approvals tab with a pending request arms no tick")
	}
	mustContain(t, m.View(), "expires in 24h")
	f.clock.Advance(7*time.Minute + 30*time.Second)
	drive(t, m, tickMsg{})
	mustContain(t, m.View(), "7m", "expires in 23h")
	drive(t, m, keyMsg("1"))
	if armed() {
		t.Fatal("a tick armed after leaving the Approvals tab")
	}
	// Nothing pending: nothing counts down.
	drive(t, m, keyMsg("2"))
	pa := m.pages[TabApprovals].(*ApprovalsPage)
	pa.rows = nil
	if armed() {
		t.Fatal("an empty Approvals tab arms a tick")
	}
}

// A requester is told, live, when their request expired undecided.
func TestRequesterToldWhenRequestExpired(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoSupport, 100, 30)
	f.clock.Advance(25 * time.Hour)
	ch := nextChange(t, sub, core.ChangeRequest)
	if ch.Request.Status != core.RequestExpired {
		t.Fatalf("change %+v", ch.Request)
	}
	drive(t, m, ChangeMsg{Change: ch})
	mustContain(t, m.View(), "Your request to act as Jane Doe expired without a decision")
}
