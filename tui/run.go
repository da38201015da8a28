package tui

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/termframe"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
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

// Terminal is a terminal the console runs on: its keys come from In,
// its frames go to Out, and its new sizes arrive on Sizes (nil: it keeps
// the size it starts with, Width × Height).
type Terminal struct {
	In            io.Reader
	Out           io.Writer
	Width, Height int
	Sizes         <-chan tea.WindowSizeMsg
}

// Run runs the console on this process's terminal (standard input and
// output) until the person quits or ctx ends, with live changes pumped
// in. It draws as the SSH server does (RunOn), so the terminal is put in
// raw mode and watched for new sizes here rather than by Bubble Tea.
func Run(ctx context.Context, opt Options) error {
	t, restore, err := localTerminal(opt.Width, opt.Height)
	if err != nil {
		return err
	}
	defer restore()
	return RunOn(ctx, opt, t)
}

// RunOn runs the console on t until the person quits or ctx ends, with
// live changes pumped in: one program, drawn by termframe, for this
// process's terminal and for one at a distance (the control socket), as
// the SSH server runs it for each connection.
func RunOn(ctx context.Context, opt Options, t Terminal, progOpts ...tea.ProgramOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opt.Ctx = ctx
	if opt.Width <= 0 || opt.Height <= 0 {
		opt.Width, opt.Height = t.Width, t.Height
	}
	screen := termframe.New(t.Out, opt.Width, opt.Height)
	if opt.Copy == nil {
		opt.Copy = func(text string) { screen.WriteRaw(ansi.SetSystemClipboard(text)) }
	}
	model := New(opt)
	p := tea.NewProgram(termframe.Draw(model, screen), append([]tea.ProgramOption{
		tea.WithInput(t.In), tea.WithOutput(t.Out),
		// termframe draws instead: Bubble Tea's renderer wakes 60 times
		// a second even when nothing changes.
		tea.WithoutRenderer(),
	}, progOpts...)...)
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		PumpWith(ctx, p, FeedFor(opt.Core, opt.Principal), t.Sizes, func(ws tea.WindowSizeMsg) { p.Send(ws) })
	}()
	_, err := p.Run()
	screen.Stop()
	cancel()
	<-pumped
	if err == nil && model.LoggedOut() != "" {
		return errors.New(strings.TrimPrefix(model.LoggedOut(), "actas: "))
	}
	return err
}
