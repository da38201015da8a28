package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/termframe"
	"github.com/actas/actas/themes"
	"github.com/actas/actas/tui"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// NoTerminalMessage is what a client without a PTY reads before it is
// sent away with exit status 1.
const NoTerminalMessage = "actas needs an interactive terminal: ssh -t …"

// NoCommandMessage answers a subsystem request, or "ssh host COMMAND" on
// a server built without commands.
const NoCommandMessage = "actas runs no commands; connect without one: ssh -t …"

const deniedMessage = "Permission denied (publickey)."

// console is one running console: a tea.Program on one SSH session.
type console struct {
	id          string // connection ID handed to core; sessions remember it
	cancel      context.CancelCauseFunc
	done        chan struct{}
	user        string // who logged in (user ID)
	fingerprint string // with which key
	guard       *connGuard
}

// stop ends the console for cause; it prints the cause's message.
func (c *console) stop(cause error) { c.cancel(cause) }

// consoleMiddleware is the whole session handler: wish runs it for every
// session channel ("shell" or "exec"); nothing runs after it.
func (s *Server) consoleMiddleware(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		// Shutdown waits for this handler until the exit status is sent.
		s.mu.Lock()
		closing := s.closing
		if !closing {
			s.wg.Add(1)
			defer s.wg.Done()
		}
		s.mu.Unlock()
		// done closes once the person has the exit status, so a kick that
		// waits for it does not cut off the last line.
		c := &console{done: make(chan struct{})}
		defer close(c.done)
		code, msg := 1, ShutdownMessage
		if !closing && s.safely("console", func() { code, msg = s.serveConsole(sess, c) }) {
			code, msg = 1, endMessage(errPanic, s.cfg)
		}
		if msg != "" {
			// Without a PTY the line goes to stderr; with one both reach the
			// terminal, and stdout keeps it after the console's last frame.
			var w io.Writer = sess.Stderr()
			if _, _, isPty := sess.Pty(); isPty {
				w = sess
			}
			fmt.Fprintf(w, "\r%s\n", msg)
		}
		_ = sess.Exit(code)
	}
}

// serveConsole checks who is there, runs their console and says how it
// ended: the exit status and a line for the person ("" for none).
func (s *Server) serveConsole(sess ssh.Session, c *console) (code int, msg string) {
	g := guardOf(sess.Context())
	if g == nil {
		s.log.Error("session without a connection guard", "remote", sess.RemoteAddr().String())
		return 1, deniedMessage
	}
	// Identity is the key whose signature was verified: the session's
	// public key is the one the successful attempt carried, and the
	// fingerprint set after verification must agree with it. The SSH user
	// name plays no part.
	pk := sess.PublicKey()
	if pk == nil {
		return 1, deniedMessage
	}
	fp := fingerprint(pk)
	if proven := sess.Permissions().Extensions[provenKeyExt]; proven != fp {
		s.log.Error("session key differs from the proven key; refusing", "remote", g.remote, "key", fp, "proven", proven)
		return 1, deniedMessage
	}
	user, _, err := s.core.UserByKey(pk)
	if err != nil {
		s.failed.add(g.addr, fp, "key no longer registered")
		return 1, deniedMessage
	}
	pty, winch, isPty := sess.Pty()
	switch {
	case sess.Subsystem() != "" || (sess.RawCommand() != "" && s.cfg.Commands == nil):
		return 1, NoCommandMessage
	case len(sess.Command()) > 0:
		return s.runCommand(sess, c, user, fp, g)
	case sess.RawCommand() != "":
		return 1, NoCommandMessage
	case !isPty:
		return 1, NoTerminalMessage
	}

	release, ok := s.reserveConsole(user.ID)
	if !ok {
		return 1, tooManyConsolesMessage()
	}
	defer release()
	pty.Window = capWindow(pty.Window)

	p, ctx, end, msg := s.begin(sess, c, user, fp, g)
	if msg != "" {
		return 1, msg
	}
	defer end()
	id := c.id
	s.log.Info("login", "user", user.Email, "fingerprint", fp, "remote", g.remote, "conn", id)

	env := sess.Environ() // has TERM from the PTY request
	plain, dumb := themes.ForEnv(env), themes.Dumb(env)
	r := lipgloss.NewRenderer(sess, termenv.WithEnvironment(environ(env)), termenv.WithUnsafe(), termenv.WithColorCache(true))
	if plain {
		r.SetColorProfile(themes.PlainProfile(dumb))
	}
	started := time.Now()
	screen := termframe.New(sess, pty.Window.Width, pty.Window.Height)
	var model tea.Model
	if s.safely("console constructor", func() {
		model = s.newModel(tui.Options{Ctx: ctx, Core: s.core, Principal: p, Renderer: r, Plain: plain, ASCII: dumb, Shared: s.shared,
			Width: pty.Window.Width, Height: pty.Window.Height,
			Copy: func(text string) { screen.WriteRaw(ansi.SetSystemClipboard(text)) }})
	}) || model == nil {
		s.endConn(id, core.EndDisconnect)
		return 1, endMessage(errPanic, s.cfg)
	}
	gm := &guarded{m: termframe.Draw(model, screen), onPanic: func(v any, stack []byte) {
		s.log.Error("console panicked; closing it", "user", user.Email, "conn", id, "panic", v, "stack", string(stack))
		c.stop(errPanic)
	}}
	prog := tea.NewProgram(gm,
		tea.WithInput(inputReader{r: sess, g: g}),
		tea.WithOutput(sess),
		// termframe draws instead (termframe.Draw): Bubble Tea's renderer
		// wakes 60 times a second even when nothing changes.
		tea.WithoutRenderer(),
		// The server's signals are cmd's business, not every console's.
		tea.WithoutSignalHandler(),
		tea.WithEnvironment(env),
	)
	// Each console runs one goroutine besides its program's: it hands the
	// program core's changes and the terminal's new sizes (termframe.Draw
	// hands them to the screen first, so that the view drawn for a size
	// repaints the whole window), and quits it when the connection ends.
	feed := s.newFeed(s.core, p)
	sizes := &resizer{ctx: ctx, apply: func(w ssh.Window) {
		prog.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
	}}
	go s.safely("console feed", func() {
		tui.PumpWith(ctx, prog, feed, winch, sizes.take)
	})
	// A connection that is gone gets no more frames, whatever the
	// program still does on its way out.
	stopDrawing := context.AfterFunc(sess.Context(), screen.Halt)
	defer stopDrawing()
	_, runErr := prog.Run()
	screen.Stop()

	cause := context.Cause(ctx)
	reason := core.EndExit
	switch {
	case errors.Is(cause, errShutdown):
		reason = core.EndShutdown
	case cause != nil || runErr != nil || sess.Context().Err() != nil:
		reason = core.EndDisconnect
	}
	if runErr != nil && !errors.Is(runErr, tea.ErrProgramKilled) {
		s.log.Error("console ended with an error", "user", user.Email, "conn", id, "err", runErr)
	}
	if errors.Is(runErr, tea.ErrProgramPanic) {
		cause = errPanic
	}
	// The console may have seen its own Logout before the server's watch
	// stopped it: the person reads why either way.
	if lo, ok := model.(interface{ LoggedOut() string }); ok && lo.LoggedOut() != "" && cause == nil {
		cause = loggedOut{lo.LoggedOut()}
	}
	s.endConn(id, reason)
	s.log.Info("console closed", "user", user.Email, "conn", id, "reason", reason,
		"after", time.Since(started).Round(time.Second))
	if msg := endMessage(cause, s.cfg); msg != "" {
		return 1, msg
	}
	return 0, ""
}

// endConn ends the impersonations this console started; core checks
// end_on_disconnect for EndDisconnect.
func (s *Server) endConn(id string, reason core.EndReason) {
	if err := s.core.EndConn(id, reason); err != nil {
		s.log.Error("ending the sessions of a console", "conn", id, "reason", reason, "err", err)
	}
}

// endMessage is the line a person reads when their console ends without
// their asking.
func endMessage(cause error, cfg Config) string {
	switch {
	case errors.Is(cause, errShutdown):
		return ShutdownMessage
	case errors.Is(cause, errIdle):
		return fmt.Sprintf("actas closed this connection after %s without input", shortDuration(cfg.IdleTimeout))
	case errors.Is(cause, errLifetime):
		return fmt.Sprintf("actas closed this connection after its maximum of %s; connect again", shortDuration(cfg.MaxSession))
	case errors.Is(cause, errPanic):
		return errPanic.Error()
	}
	var lo loggedOut
	if errors.As(cause, &lo) {
		return lo.msg
	}
	return ""
}

// shortDuration writes 15m and 12h rather than 15m0s and 12h0m0s.
func shortDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return strings.TrimSuffix(d.String(), "0s")
	}
	return d.String()
}

// inputReader is the console's input: every byte the person sends resets
// the idle timer; what the server writes never does.
type inputReader struct {
	r io.Reader
	g *connGuard
}

func (in inputReader) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if n > 0 {
		in.g.input()
	}
	return n, err
}

// environ lets termenv read the client's environment instead of the
// server's.
type environ []string

func (e environ) Environ() []string { return e }

func (e environ) Getenv(key string) string {
	for _, kv := range e {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// guarded keeps a panic in the console (Init, Update, View or a command)
// inside its own connection: it is logged with its stack, the console
// closes with a line for the person, and the server carries on.
type guarded struct {
	m       tea.Model
	onPanic func(v any, stack []byte)
	once    sync.Once
	failed  bool
}

type panicMsg struct {
	v     any
	stack []byte
}

func (g *guarded) fail(v any, stack []byte) {
	g.failed = true
	g.once.Do(func() { g.onPanic(v, stack) })
}

func (g *guarded) Init() (cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			g.fail(r, debug.Stack())
			cmd = nil
		}
	}()
	return g.wrap(g.m.Init())
}

func (g *guarded) Update(msg tea.Msg) (_ tea.Model, cmd tea.Cmd) {
	if p, ok := msg.(panicMsg); ok {
		g.fail(p.v, p.stack)
		return g, nil
	}
	if g.failed {
		return g, nil
	}
	defer func() {
		if r := recover(); r != nil {
			g.fail(r, debug.Stack())
			cmd = nil
		}
	}()
	m, c := g.m.Update(msg)
	g.m = m
	return g, g.wrap(c)
}

func (g *guarded) View() (v string) {
	if g.failed {
		return ""
	}
	defer func() {
		if r := recover(); r != nil {
			g.fail(r, debug.Stack())
			v = ""
		}
	}()
	return g.m.View()
}

// wrap turns a panic in a command into a panicMsg, including the commands
// of a batch.
func (g *guarded) wrap(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = panicMsg{v: r, stack: debug.Stack()}
			}
		}()
		msg = cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for i := range b {
				b[i] = g.wrap(b[i])
			}
		}
		return msg
	}
}

// stack is the current goroutine's stack for a log line.
func stack() string { return string(debug.Stack()) }
