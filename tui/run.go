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

// Feed is one console's subscription to core's live changes: core hands
// it only what its person may see. The hub never waits for a slow console:
// a subscriber that falls behind is told to resync.
type Feed struct {
	sub *core.Subscription
}

// FeedFor subscribes for the console of who.
func FeedFor(c *core.Core, who core.Principal) *Feed {
	return &Feed{sub: c.Subscribe(who, pumpBuffer)}
}

// C delivers the changes; it is closed by Close.
func (f *Feed) C() <-chan core.Change { return f.sub.C }

// Msg is the message for the console that ch makes.
func (f *Feed) Msg(ch core.Change) (tea.Msg, bool) { return ChangeMsg{Change: ch}, true }

// Close unsubscribes.
func (f *Feed) Close() { f.sub.Close() }

// Pump forwards who's live changes to one program until ctx ends, then
// quits the program and unsubscribes.
func Pump(ctx context.Context, p *tea.Program, c *core.Core, who core.Principal) {
	pump(ctx, p, FeedFor(c, who))
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
	return RunSized(ctx, opt, nil, progOpts...)
}

// RunSized is Run for a terminal whose size arrives on sizes rather than
// from the terminal itself: one at a distance (the control socket).
func RunSized(ctx context.Context, opt Options, sizes <-chan tea.WindowSizeMsg, progOpts ...tea.ProgramOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opt.Ctx = ctx
	p := tea.NewProgram(New(opt), append([]tea.ProgramOption{tea.WithAltScreen()}, progOpts...)...)
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		PumpWith(ctx, p, FeedFor(opt.Core, opt.Principal), sizes, func(ws tea.WindowSizeMsg) { p.Send(ws) })
	}()
	final, err := p.Run()
	cancel()
	<-pumped
	if m, ok := final.(*Model); ok && err == nil && m.LoggedOut() != "" {
		return errors.New(strings.TrimPrefix(m.LoggedOut(), "actas: "))
	}
	return err
}
