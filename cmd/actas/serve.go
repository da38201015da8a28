package main

import (
	"context"
	"net"
	"time"

	"github.com/actas/actas/cmd/actas/internal/cli"
	"github.com/actas/actas/core"
	"github.com/actas/actas/ssh"
)

// shutdownGrace is how long consoles get to close when the server stops.
const shutdownGrace = 10 * time.Second

// runServer runs the SSH server on c until ctx ends, then shuts it down
// gracefully: impersonations end with reason server_shutdown and every
// console is told why.
func runServer(ctx context.Context, c *core.Core, cfg cli.ServeConfig) error {
	defer ssh.TuneRuntime()()
	srv, err := ssh.New(ssh.Config{
		Core:             c,
		Listen:           cfg.Listen,
		HostKeyPath:      cfg.HostKeyPath,
		IdleTimeout:      cfg.IdleTimeout,
		MaxSession:       cfg.MaxSession,
		HandshakeTimeout: cfg.HandshakeTimeout,
		Logger:           cfg.Logger,
		Commands:         cfg.Commands,
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx, shutdownGrace, func(a net.Addr) { cfg.Ready(a.String()) })
}
