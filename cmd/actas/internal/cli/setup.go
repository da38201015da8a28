package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

func (a *app) initCmd() *cobra.Command {
	var email, name, org string
	c := &cobra.Command{
		Use:   "init --owner-email E --owner-name N [--org NAME]",
		Short: "Create a new, empty database with one owner",
		Long: `Create a new database in the data directory with a root org, the default
policy (impersonation off until an owner enables it) and its first owner.
It refuses a directory that already holds an initialised database.`,
		Example: `  actas init --owner-email ops@example.com --owner-name "Olga Ops" --org Example`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.bound != nil {
				// A server serves only an initialised database.
				return errorf("%s already holds an initialised database (root org %q); nothing changed",
					a.bound.Dir, a.bound.Core.RootOrg().Name)
			}
			dir := a.chosenDataDir()
			if dir == "" {
				var err error
				if dir, err = a.defaultDataDir(); err != nil {
					return err
				}
			}
			if served, err := a.forward(dir); served || err != nil {
				return err
			}
			o, err := a.openCore(dir, core.Options{}, false)
			if err != nil {
				return err
			}
			defer o.Close()
			if o.core.Initialized() {
				return errorf("%s already holds an initialised database (root org %q); nothing changed",
					dir, o.core.RootOrg().Name)
			}
			owner, err := o.core.Init(a.operator(), email, name, org)
			if err != nil {
				return err
			}
			if err := useLogKey(o, false); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s: root org %q, owner %s\n",
				filepath.Join(dir, dbFile), core.Display(o.core.RootOrg().Name), owner.Email)
			fmt.Fprintln(cmd.OutOrStdout(), "impersonation is off until enabled: actas policy set enabled=true")
			return nil
		},
	}
	c.Flags().StringVar(&email, "owner-email", "", "the owner's email (required)")
	c.Flags().StringVar(&name, "owner-name", "", "the owner's name (required)")
	c.Flags().StringVar(&org, "org", "", `name of the root org (default "Root")`)
	_ = c.MarkFlagRequired("owner-email")
	_ = c.MarkFlagRequired("owner-name")
	return c
}

func (a *app) demoCmd() *cobra.Command {
	var members int
	var noTUI, quiet bool
	c := &cobra.Command{
		Use:   "demo [--users N] [--no-tui]",
		Short: "Seed the demo data set, then open the console as owner@acme.test",
		Long: `Seed the fixed demo data set (org Acme with its staff, customer org Globex
with Jane, Bob and generated members, a pending request, finished sessions)
and open the console as owner@acme.test. Seeding again does nothing.

Without --data (or ACTAS_DATA) the demo keeps its own folder, beside the
default data directory, and never touches a real database; it prints where.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if members < 0 {
				return errorf("--users must be 0 or more, not %d", members)
			}
			if a.bound != nil {
				return a.servedDemo(cmd.Context(), noTUI)
			}
			dir, err := a.demoDataDir()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "demo data in %s\n", dir)
			if served, err := a.forward(dir); served || err != nil {
				return err
			}
			// Open once on the real clock: a seeded demo (the usual case on
			// a second run) is loaded only once, which matters at 1M users.
			o, err := a.openCore(dir, core.Options{}, false)
			if err != nil {
				return err
			}
			if _, err := o.core.SystemUserByEmail(core.DemoOwner); err == nil {
				fmt.Fprintln(a.env.Stderr, "demo already seeded")
			} else {
				o.Close()
				if err := a.seedDemo(dir, members, quiet); err != nil {
					return err
				}
				if o, err = a.openCore(dir, core.Options{}, true); err != nil {
					return err
				}
			}
			defer o.Close()
			if noTUI {
				return nil
			}
			return a.console(cmd.Context(), o.core, core.DemoOwner)
		},
	}
	c.Flags().IntVar(&members, "users", 200, "how many generated members to add")
	c.Flags().BoolVar(&noTUI, "no-tui", false, "seed and exit, without opening the console")
	c.Flags().BoolVar(&quiet, "quiet", false, "show no progress while seeding, only the final line")
	return c
}

// seedDemo seeds dir on a clock set a few hours back, so the demo's
// history has real durations.
func (a *app) seedDemo(dir string, members int, quiet bool) error {
	clk := core.NewFakeClock(time.Now().Add(-3 * time.Hour))
	o, err := a.openCore(dir, core.Options{Clock: clk}, false)
	if err != nil {
		return err
	}
	defer o.Close()
	prog := a.newProgress(a.env.Stderr, "adding demo members", members, quiet)
	seeded, err := core.SeedDemoWith(o.core, clk, members, prog.update)
	prog.clear()
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(a.env.Stderr, "seeded the demo: %d users\n", o.core.UserCount())
	} else {
		fmt.Fprintln(a.env.Stderr, "demo already seeded")
	}
	return nil
}

func (a *app) tuiCmd() *cobra.Command {
	var email string
	c := &cobra.Command{
		Use:     "tui --as EMAIL",
		Short:   "Open the console in this terminal as a user",
		Long:    "Open the console in this terminal as the user with the email. The login is recorded in the audit log.",
		Example: "  actas tui --as owner@acme.test",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.write(func(co *core.Core) error {
				return a.console(cmd.Context(), co, email)
			})
		},
	}
	c.Flags().StringVar(&email, "as", "", "email of the user to log in as (required)")
	_ = c.MarkFlagRequired("as")
	return c
}

// console logs email in and runs the console until they quit; sessions
// this console started then end (if policy end_on_disconnect holds).
func (a *app) console(ctx context.Context, c *core.Core, email string) error {
	u, err := c.SystemUserByEmail(email)
	if err != nil {
		return errorf("no user with email %s (see actas user list)", email)
	}
	if a.env.Console == nil {
		return errorf("the console is not built yet")
	}
	var remote *Terminal
	if a.bound != nil {
		// Carried out by a server for a command line on its socket: the
		// console draws on the caller's terminal, if there is one.
		if remote = a.bound.Term; remote == nil || remote.raw == nil {
			return errorf("the console needs a terminal: run it in one, or connect over SSH")
		}
	}
	p, err := c.Login(u, "", "local", core.NewConnID("local"))
	if err != nil {
		return errorf("cannot open the console as %s: %v", u.Email, err)
	}
	dumb := a.env.Getenv("TERM") == "dumb"
	plain := a.env.Getenv("NO_COLOR") != "" || dumb
	// The console is a long-running writer: it delivers the outbox while
	// it runs (a server, when one runs, holds the database instead).
	if a.bound == nil {
		stop := runOutbox(ctx, c)
		defer stop()
	}
	if remote != nil {
		if err := remote.raw(); err != nil {
			_ = c.EndConn(p.Conn, core.EndDisconnect)
			return err
		}
	}
	runErr := a.env.Console(ctx, c, p, ConsoleOptions{Plain: plain, ASCII: dumb, Remote: remote})
	if err := c.EndConn(p.Conn, core.EndDisconnect); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// servedDemo is actas demo carried out by the server that holds the demo's
// folder: the demo is there already (a server serves only a seeded or an
// initialised database), and the console opens on the caller's terminal.
func (a *app) servedDemo(ctx context.Context, noTUI bool) error {
	if _, err := a.bound.Core.SystemUserByEmail(core.DemoOwner); err != nil {
		return errorf("%s holds a database without the demo; the demo keeps a folder of its own (actas --data OTHER demo)", a.bound.Dir)
	}
	fmt.Fprintln(a.env.Stderr, "demo already seeded")
	if noTUI {
		return nil
	}
	return a.console(ctx, a.bound.Core, core.DemoOwner)
}
