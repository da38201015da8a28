// Command actas is the impersonation console's command line: the admin
// commands, the local console and the SSH server. It only wires; the
// commands live in internal/cli, the rules in core.
package main

import (
	"context"
	"os"

	"github.com/actas/actas/cmd/actas/internal/cli"
)

func main() {
	env := cli.Env{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Console: runConsole,
		Serve:   runServer,
	}
	os.Exit(cli.Run(context.Background(), env, os.Args[1:]))
}
