package tui

import (
	"context"
	"errors"
	"strings"

	"github.com/actas/actas/core"
	tea "github.com/charmbracelet/bubbletea"
)

// pumpBuffer is how many changes a console's subscription holds while it
// is busy: enough for a burst; past it, the hub coalesces what the console
// missed into one resync, which reloads what is on screen.
const pumpBuffer = 32

// Feed is one console's subscription to core's live changes, leaving out
// what none of its screens shows. The hub never waits for a slow console:
// a subscriber that falls behind is told to resync.
type Feed struct {
	sub    *core.Subscription
	wanted func(core.Change) bool // nil: everything
}

// NewFeed subscribes to every change.
func NewFeed(c *core.Core) *Feed { return &Feed{sub: c.Hub().Subscribe(pumpBuffer)} }

// FeedFor subscribes for the console of who: it leaves out the audit
// events that no screen of theirs can show, so that their console neither
// updates nor draws for them. Staff see every event (the Audit tab, the
// Sessions tab's counts, a user's audit from the Users page); anyone else
// sees only the audit of the sessions on them (under Account) and the
// events about themselves.
func FeedFor(c *core.Core, who core.Principal) *Feed {
	f := NewFeed(c)
	f.wanted = func(ch core.Change) bool {
		if ch.Kind != core.ChangeAudit || ch.Event == nil {
			return true
		}
		u, err := c.User(who.User.ID)
		return err != nil || auditShownTo(u, ch.Event)
	}
	return f
}

// C delivers the changes; it is closed by Close.
func (f *Feed) C() <-chan core.Change { return f.sub.C }

// Msg is the message for the console that ch makes, if it wants ch.
func (f *Feed) Msg(ch core.Change) (tea.Msg, bool) {
	if f.wanted != nil && !f.wanted(ch) {
		return nil, false
	}
	return ChangeMsg{Change: ch}, true
}

// Close unsubscribes.
func (f *Feed) Close() { f.sub.Close() }

// Pump forwards core's live changes to one program until ctx ends, then
// quits the program and unsubscribes.
func Pump(ctx context.Context, p *tea.Program, c *core.Core) { pump(ctx, p, NewFeed(c)) }

// auditShownTo reports whether a console of u's may show ev.
func auditShownTo(u core.User, ev *core.Event) bool {
	return core.Allows(u, core.CapAudit) || core.Allows(u, core.CapSessions) || core.Allows(u, core.CapUsers) ||
		ev.Session != "" || ev.Actor.ID == u.ID || ev.Subject.ID == u.ID
}

func pump(ctx context.Context, p *tea.Program, f *Feed) {
	PumpWith[struct{}](ctx, p, f, nil, nil)
}

// PumpWith forwards f's changes to p until ctx ends (then it quits p) or f
// closes, and unsubscribes. Meanwhile it hands each value that arrives on
// also to handle (a nil also: none), so that one goroutine serves a
// console's other input too, as the SSH server's window sizes.
func PumpWith[T any](ctx context.Context, p *tea.Program, f *Feed, also <-chan T, handle func(T)) {
	defer f.Close()
	for {
		select {
		case <-ctx.Done():
			p.Quit()
			return
		case ch, ok := <-f.C():
			if !ok {
				return
			}
			if msg, ok := f.Msg(ch); ok {
				p.Send(msg)
			}
		case v, ok := <-also:
			if !ok {
				also = nil
				continue
			}
			handle(v)
		}
	}
}

// Run runs the console in this terminal (alternate screen) until the user
// quits or ctx ends, with live changes pumped in.
func Run(ctx context.Context, opt Options, progOpts ...tea.ProgramOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opt.Ctx = ctx
	p := tea.NewProgram(New(opt), append([]tea.ProgramOption{tea.WithAltScreen()}, progOpts...)...)
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		Pump(ctx, p, opt.Core)
	}()
	final, err := p.Run()
	cancel()
	<-pumped
	if m, ok := final.(*Model); ok && err == nil && m.LoggedOut() != "" {
		return errors.New(strings.TrimPrefix(m.LoggedOut(), "actas: "))
	}
	return err
}
