package main

import (
	"context"
	"errors"

	"github.com/actas/actas/cmd/actas/internal/cli"
	"github.com/actas/actas/core"
)

// runServer runs the SSH server (package ssh) on c until ctx ends. It must
// call cfg.Ready(addr) once it listens: that writes DIR/serve.json.
func runServer(ctx context.Context, c *core.Core, cfg cli.ServeConfig) error {
	// TODO(lead): wire package ssh here once its API exists.
	return errors.New("the SSH server is not built yet")
}
