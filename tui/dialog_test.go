package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Every dialog runs the same flow: the call into core runs in a Cmd, and
// core's refusal shows in the dialog, which stays open to be put right
// or cancelled, instead of closing with a footer error.

// The approve dialog: another approver decided first.
func TestApproveRefusalShowsInTheDialog(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	pageKeys(t, p, "a", "+")
	reqs, _ := f.c.Requests(f.principal(t, core.DemoApprover), core.RequestPending, 0)
	if _, err := f.c.Decide(f.principal(t, core.DemoOwner), reqs[0].ID, false, 0, "no"); err != nil {
		t.Fatal(err)
	}
	out := pageKeys(t, p, "y")
	if errs := errorsOf(out); len(errs) != 0 {
		t.Fatalf("the refusal went to the footer: %q", errs)
	}
	if !p.Capturing() {
		t.Fatal("core refused, yet the dialog closed")
	}
	v := p.View()
	mustContain(t, v, "Approve request", "is already denied", "Duration: -  2h  +")
	pageKeys(t, p, "esc")
	if p.Capturing() {
		t.Fatal("esc left the dialog open")
	}
}

// The terminate dialog: the owner started impersonating meanwhile, and
// core's impersonation block shows in it.
func TestTerminateRefusalShowsInTheDialog(t *testing.T) {
	f := newFixture(t, 30)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	s, err := f.c.Start(f.principal(t, core.DemoLead), jane.ID, "live one")
	if err != nil {
		t.Fatal(err)
	}
	p := f.openPage(t, NewSessionsPage, core.DemoOwner)
	pageKeys(t, p, "g", "x")
	mustContain(t, p.View(), "Terminate session "+s.ID)
	if _, err := f.c.Start(f.principal(t, core.DemoOwner), jane.ID, "owner at work"); err != nil {
		t.Fatal(err)
	}
	out := pageKeys(t, p, "y")
	noErrors(t, out)
	if !p.Capturing() {
		t.Fatal("core refused, yet the dialog closed")
	}
	mustContain(t, p.View(), "not while impersonating: terminating a session")
	if got, _ := f.c.SystemSession(s.ID); !got.Active() {
		t.Fatal("the session ended")
	}
}

// The deny dialog's note goes with the decision, and an answer closes the
// dialog with a notice; esc before then changes nothing.
func TestDenyAndCancelRunThroughTheFlow(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewApprovalsPage, core.DemoSupport)
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	r, err := f.c.CreateRequest(f.principal(t, core.DemoSupport), bob.ID, "help Bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	drivePage(t, p, p.Init())
	pageKeys(t, p, "g", "c")
	mustContain(t, p.View(), "Cancel your request "+r.ID+"?", "Keep it", "Cancel the request")
	pageKeys(t, p, "n")
	if p.Capturing() {
		t.Fatal("n kept the cancel dialog open")
	}
	out := pageKeys(t, p, "c", "y")
	if n := noticesOf(out); len(n) != 1 || !strings.Contains(n[0], "Cancelled your request to act as Bob Brown") {
		t.Fatalf("notices %q", n)
	}
	if got, _ := f.c.Requests(f.principal(t, core.DemoSupport), core.RequestCancelled, 0); len(got) != 1 {
		t.Fatalf("cancelled %+v", got)
	}
}

// The request and consent forms offer each preset up to the limit, the
// limit itself included; the approve dialog offers on 1–3 those below the
// max only, as 4 is the max.
func TestPresetsUpToTheLimit(t *testing.T) {
	for _, c := range []struct {
		limit time.Duration
		want  []time.Duration
	}{
		{72 * time.Hour, []time.Duration{time.Hour, 24 * time.Hour, 72 * time.Hour}},
		{48 * time.Hour, []time.Duration{time.Hour, 24 * time.Hour}},
		{time.Hour, []time.Duration{time.Hour}},
	} {
		if got := presetsWithin(c.limit); !slices.Equal(got, c.want) {
			t.Errorf("presetsWithin(%v) = %v, want %v", c.limit, got, c.want)
		}
	}
	f := &approveForm{max: 72 * time.Hour}
	if got, want := strings.Join(f.presets(), " · "), "1 1h · 2 24h · 4 max 72h"; got != want {
		t.Errorf("approve presets at max 72h: %q, want %q", got, want)
	}
}

// submitDialog is a dialog that any key submits.
type submitDialog struct{}

func (submitDialog) update(tea.KeyMsg, *KeyMap) (dialogResult, tea.Cmd) { return dialogSubmitted, nil }
func (submitDialog) view(Common, int) string                            { return "" }
func (submitDialog) help(*KeyMap) []key.Binding                         { return nil }
func (submitDialog) refused(error)                                      {}
func (submitDialog) waiting(bool)                                       {}
func (submitDialog) restyle(Common)                                     {}

// A flow takes only the answer to its own page's call: one addressed to
// another page, or to an earlier dialog, leaves the dialog waiting.
func TestFlowTakesOnlyItsOwnAnswer(t *testing.T) {
	mine, other := &SessionsPage{}, &SessionsPage{}
	var f flow
	done := 0
	openDialog(&f, submitDialog{}, func() func() (int, error) {
		return func() (int, error) { return 7, nil }
	}, func(int) tea.Cmd { done++; return nil })
	msg, ok := f.key(mine, tea.KeyMsg{Type: tea.KeyEnter}, nil)().(flowDoneMsg)
	if !ok || msg.to != Page(mine) {
		t.Fatalf("the call answered %+v", msg)
	}
	stray := msg
	stray.to = other
	f.answer(mine, stray)
	old := msg
	old.seq--
	f.answer(mine, old)
	if !f.active() || done != 0 {
		t.Fatal("an answer meant for another page or dialog closed the dialog")
	}
	f.answer(mine, msg)
	if f.active() || done != 1 {
		t.Fatalf("its own answer: open %v, done %d", f.active(), done)
	}
}
