package ssh

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/tui"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"
)

// fakeConsole stands in for the tui where a test is about the server, not
// the console: it redraws on its own every 50 ms (output without input),
// reports its options and sizes, and panics on request.
type fakeConsole struct {
	opt   tui.Options
	w, h  int
	ticks int
	seen  chan<- any
}

type fakeTick struct{}

func fakeTickCmd() tea.Cmd {
	return tea.Tick(50*time.Millisecond, func(time.Time) tea.Msg { return fakeTick{} })
}

func (m *fakeConsole) Init() tea.Cmd { return fakeTickCmd() }

func (m *fakeConsole) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case fakeTick:
		m.ticks++
		return m, fakeTickCmd()
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		if m.seen != nil {
			m.seen <- msg
		}
	case tea.KeyMsg:
		switch msg.String() {
		case "q":
			return m, tea.Quit
		case "p":
			panic("boom in Update")
		case "c":
			return m, tea.Batch(nil, func() tea.Msg { panic("boom in a command") })
		}
	}
	return m, nil
}

func (m *fakeConsole) View() string {
	return fmt.Sprintf("fake console of %s\nsize %dx%d\nframe %d", m.opt.Principal.User.Email, m.w, m.h, m.ticks)
}

// withFake makes every console a fakeConsole; options and window sizes
// go to seen.
func withFake(seen chan any) func(*Server) {
	return func(s *Server) {
		s.newModel = func(opt tui.Options) tea.Model {
			if seen != nil {
				seen <- opt
			}
			return &fakeConsole{opt: opt, w: opt.Width, h: opt.Height, seen: seen}
		}
	}
}

func TestIdleTimeoutCountsOnlyInput(t *testing.T) {
	const idle = 1500 * time.Millisecond
	w := newWorld(t, withFake(nil), func(c *Config) { c.IdleTimeout = idle })
	tm := w.open(core.DemoOwner)
	tm.waitText("fake console of owner@acme.test")

	// Keys keep it open for twice the idle timeout...
	for range 12 {
		tm.press("x")
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case err := <-tm.exit:
		t.Fatalf("closed while the person was typing: %v", err)
	default:
	}
	// ...while the console's own output, a frame every 50 ms, does not
	// keep it open once they stop.
	if code := tm.waitExit(); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if got := tm.scr.Written(); !strings.Contains(got, "closed this connection after 1.5s without input") {
		t.Fatalf("the client did not read why: %q", got)
	}
}

// A command that works longer than the idle timeout, writing as it goes
// and reading nothing, is not idle: its output reaches the client whole.
func TestIdleTimeoutSparesARunningCommand(t *testing.T) {
	const idle = 300 * time.Millisecond
	w := newWorld(t, func(c *Config) {
		c.IdleTimeout = idle
		c.Commands = func(ctx context.Context, _ core.Principal, _ []string, _ io.Reader, out, _ io.Writer) int {
			for i := range 8 {
				select {
				case <-ctx.Done():
					return 1
				case <-time.After(idle / 2):
				}
				fmt.Fprintf(out, "line %d\n", i)
			}
			return 0
		}
	})
	out, err := w.command(core.DemoOwner, "long")
	if err != nil {
		t.Fatalf("the command was cut off: %v; output %q", err, out)
	}
	if want := "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n"; string(out) != want {
		t.Fatalf("output %q, want %q", out, want)
	}
}

func TestConnectionLifetimeIsBounded(t *testing.T) {
	w := newWorld(t, withFake(nil), func(c *Config) { c.MaxSession = 2 * time.Second })
	tm := w.open(core.DemoOwner)
	tm.waitText("fake console")
	for range 5 { // typing does not extend the lifetime
		_, _ = io.WriteString(tm.stdin, "x")
		time.Sleep(100 * time.Millisecond)
	}
	if code := tm.waitExit(); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if got := tm.scr.Written(); !strings.Contains(got, "after its maximum of 2s") {
		t.Fatalf("the client did not read why: %q", got)
	}
}

func TestHandshakeDeadline(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", w.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	// The server's version line arrives, then nothing but the close.
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the server did not close a silent connection: %v", err)
	}
}

func TestPerAddressLimitBeforeAuthentication(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.PerIPConnRate, c.PerIPConnBurst = 1, 3 })
	stranger := newSigner(t)
	for i := range 3 {
		_, err := w.dial(stranger)
		if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Fatalf("connection %d did not reach authentication: %v", i+1, err)
		}
	}
	// The fourth is closed before the handshake, known key or not.
	if c, err := w.dial(w.key(core.DemoOwner)); err == nil {
		c.Close()
		t.Fatal("the fourth connection in a burst of three got in")
	}
	if !strings.Contains(w.logs.String(), "too many new connections") {
		t.Fatal("the refusal was not logged")
	}
}

// Connections that never finish their handshake, from anywhere, fill at
// most MaxUnauthenticated places; past that a new one is closed at once,
// and a place frees up when one of them goes.
func TestUnauthenticatedConnectionsAreBounded(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.MaxUnauthenticated = 2 })
	banner := func(c net.Conn) string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		return string(buf[:n])
	}
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", w.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if b := banner(c); !strings.HasPrefix(b, "SSH-2.0-") {
			t.Fatalf("a connection within the limit got %q, want the SSH banner", b)
		}
		idle = append(idle, c)
	}
	third, err := net.Dial("tcp", w.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if b := banner(third); b != "" {
		t.Fatalf("a third connection in its handshake got %q, want it closed", b)
	}
	if !strings.Contains(w.logs.String(), "too many connections still in their handshake") {
		t.Fatal("the refusal was not logged")
	}
	idle[0].Close()
	eventually(t, "a place to free up", func() bool { return w.srv.unauthed.Load() < 2 })
	c, err := w.dial(w.key(core.DemoOwner))
	if err != nil {
		t.Fatalf("after one left, a known key could not connect: %v", err)
	}
	defer c.Close()
	// Only the idle connection still counts: the one that authenticated
	// stopped counting then, while it stays open.
	eventually(t, "the authenticated one to stop counting", func() bool { return w.srv.unauthed.Load() == 1 })
}

func TestIPLimiterRefills(t *testing.T) {
	now := time.Unix(0, 0)
	l := newIPLimiter(10, 2, func() time.Time { return now })
	allow := func(addr string) bool { ok, _ := l.allow(addr); return ok }
	first, second := allow("a"), allow("a")
	if !first || !second {
		t.Fatal("the burst was refused")
	}
	if allow("a") {
		t.Fatal("a third connection in the same instant got through")
	}
	if !allow("b") {
		t.Fatal("another address paid for the first")
	}
	now = now.Add(6 * time.Second) // 10 a minute: one token
	if !allow("a") || allow("a") {
		t.Fatal("refill is not one token per 6 s")
	}
	if off := newIPLimiter(-1, 0, time.Now); !func() bool { ok, _ := off.allow("x"); return ok }() {
		t.Fatal("a negative rate does not switch the limit off")
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:2222":             "127.0.0.1",
		"[::ffff:10.0.0.1]:22":       "10.0.0.1",
		"[2001:db8:1:2:3:4:5:6]:22":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:ff::1]:40000": "2001:db8:1:2::/64",
	} {
		addr, _ := net.ResolveTCPAddr("tcp", in)
		if got := addrKey(addr); got != want {
			t.Errorf("addrKey(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestPanicStaysInItsConsole(t *testing.T) {
	for _, key := range []string{"p", "c"} {
		t.Run(key, func(t *testing.T) {
			w := newWorld(t, withFake(nil))
			tm := w.open(core.DemoOwner)
			tm.waitText("fake console")
			tm.press(key)
			if code := tm.waitExit(); code != 1 {
				t.Fatalf("exit status %d, want 1", code)
			}
			if got := tm.scr.Written(); !strings.Contains(got, "internal error") {
				t.Fatalf("the client read %q", got)
			}
			if !strings.Contains(w.logs.String(), "boom in") {
				t.Fatal("the panic was not logged")
			}
			next := w.open(core.DemoApprover)
			next.waitText("fake console of approver@acme.test")
		})
	}
}

func TestRendererFollowsTheClientTerminal(t *testing.T) {
	cases := []struct {
		name    string
		term    string
		env     map[string]string
		plain   bool
		profile termenv.Profile
		ascii   bool
	}{
		{"256 colours", "xterm-256color", nil, false, termenv.ANSI256, false},
		{"truecolor", "xterm-256color", map[string]string{"COLORTERM": "truecolor"}, false, termenv.TrueColor, false},
		{"dumb", "dumb", nil, true, termenv.Ascii, true},
		// NO_COLOR forbids colour, not emphasis: bold and reverse video stay.
		{"NO_COLOR", "xterm-256color", map[string]string{"NO_COLOR": "1"}, true, termenv.ANSI, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(chan any, 16)
			w := newWorld(t, withFake(seen))
			tm := w.open(core.DemoOwner, func(o *termOpt) { o.term, o.env = tc.term, tc.env })
			tm.waitText("fake console")
			opt := (<-seen).(tui.Options)
			if opt.Plain != tc.plain || opt.Renderer.ColorProfile() != tc.profile || opt.ASCII != tc.ascii {
				t.Fatalf("plain %v profile %v ascii %v; want %v %v %v", opt.Plain, opt.Renderer.ColorProfile(), opt.ASCII,
					tc.plain, tc.profile, tc.ascii)
			}
			if opt.Width != 100 || opt.Height != 30 || opt.Principal.Conn == "" || opt.Principal.Fingerprint == "" {
				t.Fatalf("options %+v", opt)
			}
		})
	}
}

func TestWindowResizesReachTheConsole(t *testing.T) {
	seen := make(chan any, 16)
	w := newWorld(t, withFake(seen))
	tm := w.open(core.DemoOwner)
	tm.waitText("size 100x30")
	if err := tm.sess.WindowChange(40, 120); err != nil {
		t.Fatal(err)
	}
	tm.scr.resize(120, 40)
	tm.waitText("size 120x40")
}

func TestRunServesUntilContextEnds(t *testing.T) {
	w := newWorld(t)
	srv, err := New(Config{Core: w.c, Listen: "127.0.0.1:0", HostKeyPath: w.dataDir + "/ssh_host_ed25519_key",
		Logger: w.srv.log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, time.Second, func(a net.Addr) { addrs <- a }) }()
	addr := (<-addrs).String()
	client, err := gossh.Dial("tcp", addr, w.clientConfig(w.key(core.DemoOwner)))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after a graceful stop", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still listening after Run returned")
	}
}

// A flood from many addresses costs bounded memory: the limiter forgets
// addresses past maxLimiters.
func TestIPLimiterIsBounded(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := newIPLimiter(10, 20, func() time.Time { return now })
	for i := range 3 * maxLimiters {
		l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if n := len(l.buckets); n > maxLimiters {
		t.Fatalf("the limiter remembers %d addresses, at most %d", n, maxLimiters)
	}
}
