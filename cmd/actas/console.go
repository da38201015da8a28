package main

import (
	"context"
	"errors"

	"github.com/actas/actas/cmd/actas/internal/cli"
	"github.com/actas/actas/core"
)

// runConsole runs the console (package tui) in this terminal as p.
func runConsole(ctx context.Context, c *core.Core, p core.Principal, opt cli.ConsoleOptions) error {
	// TODO(lead): return tui.Run(ctx, tui.Options{Core: c, Principal: p, Plain: opt.Plain})
	// once package tui has Run.
	return errors.New("the console is not built yet")
}
