package main

import (
	"context"
	"os"

	"github.com/charmbracelet/lipgloss"

	"github.com/actas/actas/cmd/actas/internal/cli"
	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/actas/actas/tui"
)

// runConsole runs the console in this terminal as p until they quit.
func runConsole(ctx context.Context, c *core.Core, p core.Principal, opt cli.ConsoleOptions) error {
	o := tui.Options{Core: c, Principal: p, Plain: opt.Plain, ASCII: opt.ASCII}
	if opt.Plain {
		o.Renderer = lipgloss.NewRenderer(os.Stdout)
		o.Renderer.SetColorProfile(themes.PlainProfile(opt.ASCII))
	}
	return tui.Run(ctx, o)
}
