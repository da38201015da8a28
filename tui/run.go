package tui

import (
	"context"

	"github.com/actas/actas/core"
	tea "github.com/charmbracelet/bubbletea"
)

// pumpBuffer is how many changes a console's subscription holds while it
// is busy: enough for a burst; past it, the hub coalesces what the console
// missed into one resync, which reloads what is on screen.
const pumpBuffer = 32

// Pump forwards core's live changes to one program as ChangeMsg until ctx
// ends, then quits the program and unsubscribes. The hub never waits for
// a slow program: a subscriber that falls behind is told to resync.
func Pump(ctx context.Context, p *tea.Program, c *core.Core) {
	pump(ctx, p, c, nil)
}

// PumpFor is Pump for the console of who: it leaves out the audit events
// that no screen of theirs can show, so that their console neither
// updates nor draws for them. Staff see every event (the Audit tab, the
// Sessions tab's counts, a user's audit from the Users page); anyone else
// sees only the audit of the sessions on them (under Account) and the
// events about themselves.
func PumpFor(ctx context.Context, p *tea.Program, c *core.Core, who core.Principal) {
	pump(ctx, p, c, func(ch core.Change) bool {
		if ch.Kind != core.ChangeAudit || ch.Event == nil {
			return true
		}
		u, err := c.User(who.User.ID)
		return err != nil || auditShownTo(u, ch.Event)
	})
}

// auditShownTo reports whether a console of u's may show ev.
func auditShownTo(u core.User, ev *core.Event) bool {
	return core.Allows(u, core.CapAudit) || core.Allows(u, core.CapSessions) || core.Allows(u, core.CapUsers) ||
		ev.Session != "" || ev.Actor.ID == u.ID || ev.Subject.ID == u.ID
}

func pump(ctx context.Context, p *tea.Program, c *core.Core, wanted func(core.Change) bool) {
	sub := c.Hub().Subscribe(pumpBuffer)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			p.Quit()
			return
		case ch, ok := <-sub.C:
			if !ok {
				return
			}
			if wanted == nil || wanted(ch) {
				p.Send(ChangeMsg{Change: ch})
			}
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
	_, err := p.Run()
	cancel()
	<-pumped
	return err
}
