package ssh

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/charmbracelet/ssh"

	"github.com/actas/actas/core"
)

// CommandFunc runs "ssh HOST COMMAND…" as p: args are the command's words,
// in, out and errw the session's streams. It returns the exit status.
// cmd/actas hands in the command line's tree bound to p, so SSH runs the
// very commands the local command line does, under core's rules.
type CommandFunc func(ctx context.Context, p core.Principal, args []string, in io.Reader, out, errw io.Writer) int

// runCommand runs one command for the person whose key was proven. It is
// recorded as a login like a console is; core decides what the command
// may do, and refuses (and records) the rest.
func (s *Server) runCommand(sess ssh.Session, c *console, user core.User, fp string, g *connGuard) (code int, msg string) {
	p, ctx, end, msg := s.begin(sess, c, user, fp, g)
	if msg != "" {
		return 1, msg
	}
	defer s.endConn(c.id, core.EndDisconnect)
	defer end()
	s.log.Info("command", "user", user.Email, "conn", c.id, "command", core.LoggableArgs(sess.Command()))
	var out, errw io.Writer = sess, sess.Stderr()
	if _, _, isPty := sess.Pty(); isPty {
		// ssh -t: the client's terminal is raw, so lines need their
		// carriage return, as a terminal's own output processing adds.
		out, errw = crlf{out}, crlf{errw}
	}
	done := g.commandRunning()
	code = s.cfg.Commands(ctx, p, sess.Command(), inputReader{r: sess, g: g}, out, errw)
	done()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return 1, endMessage(cause, s.cfg)
	}
	return code, ""
}

// begin records the login of user, with the key fp, on a new connection
// (c.id) and tracks c as running on it: a console's and a command's start.
// ctx ends with the SSH session or when c is stopped; end stops tracking c
// and cancels ctx. When the login is refused or the server is closing, msg
// says why and there is nothing to end.
func (s *Server) begin(sess ssh.Session, c *console, user core.User, fp string, g *connGuard) (p core.Principal, ctx context.Context, end func(), msg string) {
	id := core.NewConnID("ssh")
	p, err := s.core.Login(user, fp, g.remote, id)
	if err != nil {
		s.failed.add(g.addr, fp, err.Error())
		return p, nil, nil, "actas: " + err.Error()
	}
	ctx, cancel := context.WithCancelCause(sess.Context())
	c.id, c.cancel, c.user, c.fingerprint, c.guard = id, cancel, user.ID, fp, g
	if !s.track(c) {
		cancel(nil)
		s.endConn(id, core.EndShutdown)
		return p, nil, nil, ShutdownMessage
	}
	return p, ctx, func() { s.untrack(c); cancel(nil) }, ""
}

// track registers a running console or command, unless the server is
// closing.
func (s *Server) track(c *console) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	s.consoles[c] = struct{}{}
	s.mu.Unlock()
	c.guard.addConsole(c)
	return true
}

func (s *Server) untrack(c *console) {
	c.guard.removeConsole(c)
	s.mu.Lock()
	delete(s.consoles, c)
	s.mu.Unlock()
}

// loggedOut closes a person's consoles at once when core says so
// (suspended, deleted, or the key they logged in with removed): each
// prints the one-line reason and its connection closes.
type loggedOut struct{ msg string }

func (e loggedOut) Error() string { return e.msg }

// watchLogouts follows core's hub until ctx ends, closing the consoles a
// Logout names. When the hub says it dropped changes for us, every
// console's person and key are checked again instead.
func (s *Server) watchLogouts(ctx context.Context) {
	sub := s.core.Hub().Subscribe(256)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ch := <-sub.C:
			switch ch.Kind {
			case core.ChangeLogout:
				s.logout(*ch.Logout)
			case core.ChangeResync:
				s.recheckConsoles()
			}
		}
	}
}

func (s *Server) logout(lo core.Logout) {
	for _, c := range s.running() {
		if c.user == lo.User && (lo.Fingerprint == "" || c.fingerprint == lo.Fingerprint) {
			s.log.Info("closing a console", "user", lo.User, "conn", c.id, "reason", lo.Reason)
			c.guard.kick(loggedOut{lo.Message})
		}
	}
}

// recheckConsoles closes the consoles whose key is gone or whose person
// is no longer active.
func (s *Server) recheckConsoles() {
	for _, c := range s.running() {
		u, err := s.core.SystemUser(c.user)
		switch {
		case err != nil || u.Status != core.StatusActive:
			c.guard.kick(loggedOut{"actas: your account is no longer active; this connection is closed"})
		case !s.core.HasKey(c.fingerprint):
			c.guard.kick(loggedOut{"actas: the key you logged in with was removed; this connection is closed"})
		}
	}
}

func (s *Server) running() []*console {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*console, 0, len(s.consoles))
	for c := range s.consoles {
		out = append(out, c)
	}
	return out
}

// crlf writes "\n" as "\r\n".
type crlf struct{ w io.Writer }

func (c crlf) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
