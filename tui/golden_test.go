package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
)

// step is one thing a golden test does: type keys, then wait until the
// screen shows some text.
type step struct {
	keys []string
	text string // typed as single runes
	wait string
}

// goldenConsole runs the whole console for email in a teatest program at
// 100×30 (ASCII profile), performs the steps, and compares the final
// screen with testdata/<test name>.golden (go test -update rewrites it).
func goldenConsole(t *testing.T, f *fixture, email string, steps ...step) {
	t.Helper()
	m := New(Options{Core: f.c, Principal: f.principal(t, email), Renderer: asciiRenderer(), Width: 100, Height: 30})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	for _, s := range steps {
		for _, k := range s.keys {
			tm.Send(keyMsg(k))
		}
		for _, msg := range typing(s.text) {
			tm.Send(msg)
		}
		if s.wait != "" {
			want := s.wait
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), want) },
				teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
		}
	}
	// The output stream is what was drawn; the final View is the screen.
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*Model)
	view := final.View()
	if strings.Contains(view, "\x1b") {
		t.Fatalf("ASCII view holds escape sequences: %q", view)
	}
	golden.RequireEqual(t, []byte(view+"\n"))
}

func TestUsersGolden(t *testing.T) {
	f := newFixture(t, 30)
	goldenConsole(t, f, core.DemoOwner, step{wait: "Avery Approver"})
}

func TestUsersSearchGolden(t *testing.T) {
	f := newFixture(t, 30)
	goldenConsole(t, f, core.DemoOwner,
		step{wait: "Avery Approver"},
		step{keys: []string{"/"}, text: "globex.test", wait: "Gus Guest"},
		step{keys: []string{"enter", "down", "down"}, wait: "Filter: globex.test"})
}

func TestUsersMenuGolden(t *testing.T) {
	f := newFixture(t, 30)
	goldenConsole(t, f, core.DemoOwner,
		step{wait: "Avery Approver"},
		step{keys: []string{"/"}, text: "bob@", wait: "Bob Brown"},
		step{keys: []string{"enter", "."}, wait: "has not granted"})
}

func TestUsersConfirmGolden(t *testing.T) {
	f := newFixture(t, 30)
	goldenConsole(t, f, core.DemoOwner,
		step{wait: "Avery Approver"},
		step{keys: []string{"/"}, text: "jane", wait: "Jane Doe"},
		step{keys: []string{"enter", "enter"}, wait: "Request impersonation"},
		step{keys: []string{"i"}, wait: "have their permissions"})
}

func TestRequestFormGolden(t *testing.T) {
	f := newFixture(t, 30)
	goldenConsole(t, f, core.DemoSupport,
		step{wait: "Avery Approver"},
		step{keys: []string{"/"}, text: "bob@", wait: "Bob Brown"},
		step{keys: []string{"enter", "enter"}, wait: "View audit"},
		step{keys: []string{"r"}, wait: "Send request"},
		step{keys: []string{"ctrl+s"}, wait: "reason is required"})
}

// TestFrameImpersonatingGolden is the frame while impersonating: banner,
// the target's tabs, footer.
func TestFrameImpersonatingGolden(t *testing.T) {
	f := newFixture(t, 30)
	goldenConsole(t, f, core.DemoOwner,
		step{wait: "Avery Approver"},
		step{keys: []string{"/"}, text: "jane", wait: "Jane Doe"},
		step{keys: []string{"enter", "enter"}, wait: "Request impersonation"},
		step{keys: []string{"i"}, wait: "have their permissions"},
		step{text: "ticket 42", wait: "ticket 42"},
		step{keys: []string{"enter"}, wait: "You are impersonating"})
}

func TestFrameFullHelpGolden(t *testing.T) {
	f := newFixture(t, 30)
	goldenConsole(t, f, core.DemoOwner,
		step{wait: "Avery Approver"},
		step{keys: []string{"?"}, wait: "page down"})
}
