package cli

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/charmbracelet/x/term"
)

// localTerm is this process's terminal, when its standard input and
// output are one: a console that a server runs for this command line
// (actas tui, actas demo on a served folder) draws on it through the
// control socket.
type localTerm struct{ in, out uintptr }

// terminal is this process's terminal, or nil.
func (a *app) terminal() *localTerm {
	if a.stdin == nil {
		return nil
	}
	in, ok := a.stdin.r.(*os.File)
	out, ok2 := a.out.w.(*os.File)
	if !ok || !ok2 || !term.IsTerminal(in.Fd()) || !term.IsTerminal(out.Fd()) {
		return nil
	}
	return &localTerm{in: in.Fd(), out: out.Fd()}
}

// describe tells the server what the terminal is: its size and the
// variables that decide colours.
func (t *localTerm) describe(getenv func(string) string) *controlTerm {
	if t == nil {
		return nil
	}
	w, h, err := term.GetSize(t.out)
	if err != nil {
		w, h = 80, 24
	}
	env := map[string]string{}
	for _, k := range []string{"TERM", "COLORTERM", "NO_COLOR", "LANG", "LC_ALL", "LC_CTYPE"} {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	return &controlTerm{Env: env, Width: w, Height: h}
}

// raw puts the terminal into raw mode, reports each new window size, and
// returns what restores it.
func (t *localTerm) raw(resized func(w, h int)) (restore func(), err error) {
	st, err := term.MakeRaw(t.in)
	if err != nil {
		return nil, err
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				if w, h, err := term.GetSize(t.out); err == nil {
					resized(w, h)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
		_ = term.Restore(t.in, st)
	}, nil
}
