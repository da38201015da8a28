package main

import (
	"context"

	"github.com/actas/actas/cmd/actas/internal/cli"
	"github.com/actas/actas/core"
	"github.com/actas/actas/tui"
)

// runConsole runs the console in this terminal as p until they quit.
func runConsole(ctx context.Context, c *core.Core, p core.Principal, opt cli.ConsoleOptions) error {
	return tui.Run(ctx, tui.Options{Core: c, Principal: p, Plain: opt.Plain})
}
