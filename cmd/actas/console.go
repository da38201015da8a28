package main

import (
	"context"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/actas/actas/cmd/actas/internal/cli"
	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/actas/actas/tui"
)

// runConsole runs the console in this terminal as p until they quit.
func runConsole(ctx context.Context, c *core.Core, p core.Principal, opt cli.ConsoleOptions) error {
	o := tui.Options{Core: c, Principal: p, Plain: opt.Plain, ASCII: opt.ASCII}
	if t := opt.Remote; t != nil {
		return runRemoteConsole(ctx, o, t)
	}
	if opt.Plain {
		o.Renderer = lipgloss.NewRenderer(os.Stdout)
		o.Renderer.SetColorProfile(themes.PlainProfile(opt.ASCII))
	}
	return tui.Run(ctx, o)
}

// runRemoteConsole runs the console on the terminal of a command line
// that reached this server through its control socket: its keys come in,
// its frames go out and its window sizes arrive through the socket, and
// its colours follow that terminal's variables, not this process's.
func runRemoteConsole(ctx context.Context, o tui.Options, t *cli.Terminal) error {
	env := make([]string, 0, len(t.Env))
	for k, v := range t.Env {
		env = append(env, k+"="+v)
	}
	o.Renderer = lipgloss.NewRenderer(t.Out, termenv.WithEnvironment(environ(t.Env)), termenv.WithUnsafe(), termenv.WithColorCache(true))
	if o.Plain {
		o.Renderer.SetColorProfile(themes.PlainProfile(o.ASCII))
	}
	sizes := make(chan tea.WindowSizeMsg, 1)
	go func() {
		for {
			select {
			case s := <-t.Resize:
				select {
				case <-sizes: // only the newest size matters
				default:
				}
				sizes <- tea.WindowSizeMsg{Width: s.Width, Height: s.Height}
			case <-ctx.Done():
				return
			}
		}
	}()
	return tui.RunOn(ctx, o, tui.Terminal{In: t.In, Out: t.Out, Width: t.Width, Height: t.Height, Sizes: sizes},
		tea.WithEnvironment(env), tea.WithoutSignalHandler())
}

// environ is a terminal's variables for termenv.
type environ map[string]string

func (e environ) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

func (e environ) Getenv(k string) string { return e[k] }
