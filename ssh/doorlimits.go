package ssh

import (
	"context"
	"fmt"
	"sync"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Limits of the SSH door (DESIGN): what one client can make the server
// draw, hold and run.
const (
	// MaxWidth and MaxHeight bound the terminal a console draws for: a
	// larger one is drawn as this size.
	MaxWidth, MaxHeight = 500, 200
	// MaxConsolesPerPerson is how many consoles one person may have open
	// at once, over all their connections.
	MaxConsolesPerPerson = 8
)

// OneConsoleMessage is why a further session channel on a connection is
// rejected.
const OneConsoleMessage = "actas serves one console per connection; open another connection for another console"

// tooManyConsolesMessage is what the person with MaxConsolesPerPerson open
// reads when they open one more.
func tooManyConsolesMessage() string {
	return fmt.Sprintf("actas: you have %d consoles open already, the most one person may; close one and connect again", MaxConsolesPerPerson)
}

// capWindow is the size a console draws for.
func capWindow(w ssh.Window) ssh.Window {
	w.Width, w.Height = min(max(w.Width, 0), MaxWidth), min(max(w.Height, 0), MaxHeight)
	return w
}

// sessionChannel serves the first session channel of a connection and
// rejects every further one before anything is allocated for it: one
// console per connection.
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	if g := guardOf(ctx); g != nil && g.sessions.Add(1) > 1 {
		_ = newChan.Reject(gossh.Prohibited, OneConsoleMessage)
		return
	}
	ssh.DefaultSessionHandler(srv, conn, newChan, ctx)
}

// reserveConsole counts a console for the person, unless they have
// MaxConsolesPerPerson already; release gives it back.
func (s *Server) reserveConsole(userID string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perPerson == nil {
		s.perPerson = map[string]int{}
	}
	if s.perPerson[userID] >= MaxConsolesPerPerson {
		return nil, false
	}
	s.perPerson[userID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.perPerson[userID]--; s.perPerson[userID] <= 0 {
				delete(s.perPerson, userID)
			}
		})
	}, true
}

// resizer hands a console the terminal's newest size and drops the ones
// it had no time for: a client that resizes faster than the console
// draws gets the last size drawn, not every size in turn. The SSH
// library's request loop never waits for a frame.
type resizer struct {
	ctx   context.Context
	apply func(ssh.Window)

	mu   sync.Mutex
	next ssh.Window
	has  bool
	busy bool
}

// take is called for every window-change: it keeps the newest size and
// starts applying if nothing is under way.
func (r *resizer) take(w ssh.Window) {
	r.mu.Lock()
	r.next, r.has = capWindow(w), true
	start := !r.busy
	r.busy = true
	r.mu.Unlock()
	if start {
		go r.run()
	}
}

func (r *resizer) run() {
	for {
		r.mu.Lock()
		if !r.has || r.ctx.Err() != nil {
			r.has, r.busy = false, false
			r.mu.Unlock()
			return
		}
		w := r.next
		r.has = false
		r.mu.Unlock()
		r.apply(w) // waits until the console took it
	}
}
