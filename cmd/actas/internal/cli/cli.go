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
	// Clock is core's clock; nil means the system clock (tests fix it).
	Clock core.Clock
	// LockTimeout is how long to wait for a database another process
	// holds; 0 means the store's default (2 s).
	LockTimeout time.Duration
	// Notifier delivers alerts; nil means package notify's.
	Notifier core.Notifier
	// ImportBatch is how many users a large import commits at a time; 0
	// means 50,000 (tests make it small).
	ImportBatch int
}

// ConsoleFunc runs the console in this terminal as p until the person quits.
type ConsoleFunc func(ctx context.Context, c *core.Core, p core.Principal, opt ConsoleOptions) error

// ConsoleOptions describe the local terminal.
type ConsoleOptions struct {
	Plain bool // NO_COLOR is set or TERM=dumb: no colour
	ASCII bool // TERM=dumb: no escape sequences, no glyphs beyond ASCII
}

// Run executes the command line of this process with args (without the
// program name) and returns the process exit code. Errors go to
// env.Stderr.
func Run(ctx context.Context, env Env, args []string) int {
	return newApp(env, nil).execute(ctx, args)
}

// Bound is a command line bound to a person (or operator) on a core that
// is already running: the control socket and SSH commands run the same
// commands through it as the local command line does.
type Bound struct {
	Core      *core.Core
	Principal core.Principal
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	// Open opens an input file named on the command line (import users
	// FILE, key add --key-file F); nil refuses file names, so only "-"
	// (standard input) works.
	Open func(name string) (io.ReadCloser, error)
	// Dir is the data folder the core serves, for messages.
	Dir string
	// Remote leaves out the --data flag and the commands that need this
	// machine's terminal or data folder (demo, init, tui, serve): the
	// shape of SSH commands.
	Remote bool
}

// RunBound executes args as b.Principal on b.Core and returns the exit
// code, with output and errors exactly as Run writes them.
func RunBound(ctx context.Context, b Bound, args []string) int {
	env := Env{Stdin: b.Stdin, Stdout: b.Stdout, Stderr: b.Stderr}
	return newApp(env, &b).execute(ctx, args)
}

// app is one run of the command line.
type app struct {
	env Env
	// bound is the running core and principal the commands act on, or
	// nil for the local command line, which opens the database itself.
	bound *Bound
	data  string // --data
	// dataFlag is the --data flag, to tell "given" from "default".
	dataFlagChanged func() bool
	// ran is set once cobra has accepted the arguments and a command runs.
	ran bool
	// args are the arguments as given, handed on to a server that holds
	// the folder; stdin remembers what was read before that.
	args  []string
	stdin *recordingReader
	// out and errOut keep control bytes from the terminal.
	out, errOut *safeWriter
}

func newApp(env Env, b *Bound) *app {
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
	a := &app{env: env, bound: b, dataFlagChanged: func() bool { return false }}
	a.out, a.errOut = &safeWriter{w: env.Stdout}, &safeWriter{w: env.Stderr}
	a.env.Stdout, a.env.Stderr = a.out, a.errOut
	if b == nil {
		a.stdin = &recordingReader{r: env.Stdin, on: true}
		a.env.Stdin = a.stdin
	}
	return a
}

// execute runs args through the command tree and returns the exit code.
func (a *app) execute(ctx context.Context, args []string) int {
	a.args = args
	defer func() { _ = a.out.Flush(); _ = a.errOut.Flush() }()
	root := a.root()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var fw errForwarded
	if errors.As(err, &fw) {
		return fw.code // the server has written the command's output and errors
	}
	fmt.Fprintf(a.env.Stderr, "actas: %v\n", err)
	if !a.ran && cmd != nil {
		// The arguments never got past cobra's checks: point at the help.
		fmt.Fprintf(a.env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return 1
}

// commands is the command tree: one entry per top-level command or group.
//
// To add a command: write its constructor, a method of app, in a file of
// its own (see keys.go), and list it here. Its RunE reaches core through
// a.read (commands that only look) or a.write (commands that change
// something), acts as a.operator(), reads standard input from a.env.Stdin
// and files through a.openInput, and prints to cmd.OutOrStdout(). Then it
// runs the same way from this terminal, through a running server's control
// socket, and over SSH as the person logged in, with core deciding who may.
// Mark it with localOnly if it needs this machine's terminal or data folder
// (it is then left out of SSH commands).
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		localOnly(a.demoCmd()), localOnly(a.initCmd()), localOnly(a.tuiCmd()), localOnly(a.serveCmd()),
		a.orgCmd(), a.policyCmd(), a.userCmd(), a.keyCmd(),
		a.importCmd(), a.auditCmd(), a.alertCmd(), a.smtpCmd(),
		a.whoamiCmd(), a.consentCmd(), a.requestsCmd(), a.sessionsCmd(),
		a.apikeyCmd(), a.signingKeyCmd(),
	}
}

// whereAnnotation marks commands that only run locally.
const whereAnnotation = "actas:where"

// localOnly marks a command that needs this machine's terminal or data
// folder; SSH commands leave it out.
func localOnly(c *cobra.Command) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[whereAnnotation] = "local"
	return c
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
		// count as usage errors (see execute).
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
	remote := a.bound != nil && a.bound.Remote
	if remote {
		root.Use = "ssh HOST"
		root.Long = "The actas commands, run over SSH as the person whose key logged in."
		root.CompletionOptions.DisableDefaultCmd = true
	} else {
		root.PersistentFlags().StringVar(&a.data, "data", "",
			"data directory (env ACTAS_DATA; default $XDG_DATA_HOME/actas, else ~/.local/share/actas)")
		a.dataFlagChanged = func() bool { return root.PersistentFlags().Changed("data") }
	}
	for _, c := range a.commands() {
		if remote && c.Annotations[whereAnnotation] == "local" {
			continue
		}
		root.AddCommand(c)
	}
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
	if a.bound != nil {
		return a.bound.Principal
	}
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

// group is a command that only holds subcommands. Alone it prints its
// help; with a word that names none of them it fails, with cobra's
// suggestion, as an unknown top-level command does (a typo in a script
// must not pass silently).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: noSuchSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	c.AddCommand(subs...)
	return c
}

// noSuchSubcommand refuses any argument to a group: cobra only checks the
// root's subcommands itself.
func noSuchSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default for the root
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return errors.New(msg)
}

// errorf builds a one-line error for a person.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
