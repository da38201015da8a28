package ssh

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/tui"
	tea "github.com/charmbracelet/bubbletea"
)

// A terminal of 65535×65535 is drawn as 500×200, at connect and after a
// window change: the server never builds a frame for the size asked.
func TestHugeTerminalIsDrawnAtTheLimit(t *testing.T) {
	seen := make(chan any, 64)
	w := newWorld(t, withFake(seen))
	tm := w.open(core.DemoOwner, func(o *termOpt) { o.ptyWidth, o.ptyHeight = 65535, 65535 })
	opt := (<-seen).(tui.Options)
	if opt.Width != MaxWidth || opt.Height != MaxHeight {
		t.Fatalf("console built for %dx%d, want %dx%d", opt.Width, opt.Height, MaxWidth, MaxHeight)
	}
	waitSize := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m := <-seen:
				if ws, ok := m.(tea.WindowSizeMsg); ok {
					got := fmt.Sprintf("%dx%d", ws.Width, ws.Height)
					if ws.Width > MaxWidth || ws.Height > MaxHeight {
						t.Fatalf("console told of a %s window", got)
					}
					if got == want {
						return
					}
				}
			case <-deadline:
				t.Fatalf("no window size %s reached the console", want)
			}
		}
	}
	waitSize("500x200")
	if err := tm.sess.WindowChange(80, 120); err != nil {
		t.Fatal(err)
	}
	waitSize("120x80")
	if err := tm.sess.WindowChange(65535, 65535); err != nil {
		t.Fatal(err)
	}
	waitSize("500x200")
}

// slowResizes is a console whose every window size costs 20 ms to draw,
// as a huge view does: it counts the sizes it was given.
type slowResizes struct {
	fakeConsole
	sizes *atomic.Int32
	last  *atomic.Value
}

func (m *slowResizes) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		m.sizes.Add(1)
		m.last.Store(fmt.Sprintf("%dx%d", ws.Width, ws.Height))
		time.Sleep(20 * time.Millisecond)
		return m, nil
	}
	_, cmd := m.fakeConsole.Update(msg)
	return m, cmd
}

// A storm of window changes is coalesced: the console draws the newest
// size, not each one in turn (500 sizes would take it 10 s at 20 ms each).
func TestResizeStormIsCoalesced(t *testing.T) {
	var sizes atomic.Int32
	var last atomic.Value
	w := newWorld(t, func(s *Server) {
		s.newModel = func(opt tui.Options) tea.Model {
			return &slowResizes{fakeConsole: fakeConsole{opt: opt, w: opt.Width, h: opt.Height}, sizes: &sizes, last: &last}
		}
	})
	tm := w.open(core.DemoOwner)
	tm.waitText("fake console")
	const storm = 500
	for i := range storm {
		if err := tm.sess.WindowChange(20+i%50, 40+i%60); err != nil {
			t.Fatal(err)
		}
	}
	if err := tm.sess.WindowChange(45, 123); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the newest size to reach the console", func() bool { return last.Load() == "123x45" })
	if n := sizes.Load(); n > storm/5 {
		t.Fatalf("the console was given %d of %d sizes; they should have been coalesced", n, storm+1)
	}
	t.Logf("%d window changes reached the console as %d sizes", storm+1, sizes.Load())
}

// One console per connection: a second session channel on the same
// connection is rejected with the reason, and costs no login.
func TestOneConsolePerConnection(t *testing.T) {
	w := newWorld(t, withFake(nil))
	tm := w.open(core.DemoOwner)
	tm.waitText("fake console")
	logins := len(w.events(core.EvLogin))
	for range 50 {
		_, err := tm.client.NewSession()
		if err == nil || !strings.Contains(err.Error(), "one console per connection") {
			t.Fatalf("a further session channel: %v", err)
		}
	}
	if n := len(w.events(core.EvLogin)); n != logins {
		t.Fatalf("%d login events after the rejected channels, want %d", n, logins)
	}
	tm.press("x")
	tm.waitText("fake console") // the first console still works
}

// At most MaxConsolesPerPerson consoles per person: one more is closed at
// once with a one-line reason; closing one makes room again.
func TestConsolesPerPersonAreBounded(t *testing.T) {
	w := newWorld(t, withFake(nil))
	var open []*term
	for range MaxConsolesPerPerson {
		tm := w.open(core.DemoOwner)
		tm.waitText("fake console")
		open = append(open, tm)
	}
	logins := len(w.events(core.EvLogin))
	extra := w.open(core.DemoOwner)
	if code := extra.waitExit(); code != 1 {
		t.Fatalf("console %d: exit %d, want 1", MaxConsolesPerPerson+1, code)
	}
	if got := extra.scr.Written(); !strings.Contains(got, "consoles open already") {
		t.Fatalf("the client read %q", got)
	}
	if n := len(w.events(core.EvLogin)); n != logins {
		t.Fatalf("the refused console was logged in (%d logins, want %d)", n, logins)
	}
	// Someone else is not affected.
	w.open(core.DemoApprover).waitText("fake console of approver@acme.test")
	open[0].press("q")
	open[0].waitExit()
	eventually(t, "room for one more console", func() bool {
		tm := w.open(core.DemoOwner)
		select {
		case <-tm.exit:
			return false
		case <-time.After(300 * time.Millisecond):
			return strings.Contains(tm.scr.Text(), "fake console")
		}
	})
}

// A console whose connection is gone draws nothing more: the client's
// connection drops while its console keeps producing frames (a frame
// every 50 ms), and the console and its goroutines are gone soon after.
func TestConsoleStopsDrawingWhenConnectionGoes(t *testing.T) {
	w := newWorld(t, withFake(nil))
	tm := w.open(core.DemoOwner)
	tm.waitText("frame 2")
	tm.client.Close()
	eventually(t, "the server to close the console", func() bool {
		return strings.Contains(w.logs.String(), "console closed")
	})
	w.srv.mu.Lock()
	n := len(w.srv.consoles) + len(w.srv.perPerson)
	w.srv.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d consoles still counted after the connection went", n)
	}
}

// frames that were halted write nothing more.
func TestFramesHaltDrawsNothing(t *testing.T) {
	c := newFakeClient(20, 5)
	f := newFrames(c, 20, 5)
	f.show("one")
	f.idle(t)
	n := c.count()
	f.halt()
	f.show("two")
	f.write("\x1b]52;c;eA==\x07")
	f.resize(30, 6)
	f.show("three")
	time.Sleep(50 * time.Millisecond)
	f.stop()
	if c.count() != n {
		t.Fatalf("%d writes after halt", c.count()-n)
	}
}
