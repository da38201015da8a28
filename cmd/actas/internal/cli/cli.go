// Package cli is the actas command line: the cobra commands of DESIGN's
// table, the data directory, and the guard that keeps a second process away
// from a database a server holds. It only parses, opens and prints; every
// rule lives in core. The console and the SSH server are handed in by
// package main (Env.Console, Env.Serve), so this package needs neither.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

// Env is everything the command line talks to: the process's streams and
// environment, and the parts built elsewhere.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (os.Getenv in production).
	Getenv func(string) string
	// Operator names the person at the command line in the audit log
	// ("cli:NAME"); empty means the OS user.
	Operator string
	// Console runs the interactive console; nil means it is not built.
	Console ConsoleFunc
	// Serve runs the SSH server; nil means it is not built.
	Serve ServeFunc
	// LockTimeout is how long to wait for a database another process
	// holds; 0 means the store's default (2 s).
	LockTimeout time.Duration
}

// ConsoleFunc runs the console in this terminal as p until the person quits.
type ConsoleFunc func(ctx context.Context, c *core.Core, p core.Principal, opt ConsoleOptions) error

// ConsoleOptions describe the local terminal.
type ConsoleOptions struct {
	Plain bool // NO_COLOR is set or TERM=dumb
}

// Run executes the command line with args (without the program name) and
// returns the process exit code. Errors go to env.Stderr.
func Run(ctx context.Context, env Env, args []string) int {
	a := newApp(env)
	root := a.root()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(env.Stderr, "actas: %v\n", err)
	if !a.ran && cmd != nil {
		// The arguments never got past cobra's checks: point at the help.
		fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return 1
}

// app is one run of the command line.
type app struct {
	env  Env
	data string // --data
	// dataFlag is the --data flag, to tell "given" from "default".
	dataFlagChanged func() bool
	// ran is set once cobra has accepted the arguments and a command runs.
	ran bool
}

func newApp(env Env) *app {
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	return &app{env: env}
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "actas",
		Short: "Safe, consented, audited user impersonation for support staff",
		Long: `actas is a console for safe user impersonation. Support staff connect to it
over SSH (actas serve) or run it in this terminal (actas tui), find a user,
and — when policy, approval and the user's consent allow — act as that user
for a limited time. Everything is recorded in a tamper-evident audit log.

Try it:  actas demo`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		// Required flags are checked here, not after, so that their errors
		// count as usage errors (see Run).
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return err
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return err
			}
			a.ran = true
			return nil
		},
	}
	root.SetIn(a.env.Stdin)
	root.SetOut(a.env.Stdout)
	root.SetErr(a.env.Stderr)
	root.PersistentFlags().StringVar(&a.data, "data", "",
		"data directory (env ACTAS_DATA; default $XDG_DATA_HOME/actas, else ~/.local/share/actas)")
	a.dataFlagChanged = func() bool { return root.PersistentFlags().Changed("data") }

	root.AddCommand(
		a.demoCmd(), a.initCmd(), a.tuiCmd(), a.serveCmd(),
		a.orgCmd(), a.policyCmd(), a.userCmd(), a.keyCmd(),
		a.importCmd(), a.auditCmd(), a.apikeyCmd(), a.signingKeyCmd(),
	)
	// Each Use line already shows its flags.
	var noFlagsInUse func(*cobra.Command)
	noFlagsInUse = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		for _, sub := range c.Commands() {
			noFlagsInUse(sub)
		}
	}
	noFlagsInUse(root)
	return root
}

// operator is who the audit log names for this command line.
func (a *app) operator() core.Principal {
	name := a.env.Operator
	if name == "" {
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		} else if n := a.env.Getenv("USER"); n != "" {
			name = n
		} else {
			name = "unknown"
		}
	}
	return core.SystemPrincipal(name)
}

// group is a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	c.AddCommand(subs...)
	return c
}

// errorf builds a one-line error for a person.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// isNotFound reports a core lookup that found nothing.
func isNotFound(err error) bool { return errors.Is(err, core.ErrNotFound) }

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
