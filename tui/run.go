package tui

import (
	"context"

	"github.com/actas/actas/core"
	tea "github.com/charmbracelet/bubbletea"
)

// Pump forwards core's live changes to one program as ChangeMsg until ctx
// ends, then quits the program and unsubscribes. The hub never waits for
// a slow program: a subscriber that falls behind is told to resync.
func Pump(ctx context.Context, p *tea.Program, c *core.Core) {
	sub := c.Hub().Subscribe(256)
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
			p.Send(ChangeMsg{Change: ch})
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
