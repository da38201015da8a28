package cli

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

func (a *app) importCmd() *cobra.Command {
	return group("import", "Bulk-load data", a.importUsersCmd())
}

func (a *app) importUsersCmd() *cobra.Command {
	var quiet bool
	c := &cobra.Command{
		Use:   "users FILE",
		Short: "Add every user in a JSON Lines or CSV file, or none of them",
		Long: `Add every user in FILE in one step: if any line is bad, nothing is imported
and every bad line is reported by its number.

JSON Lines (.jsonl, .json, or a file starting with "{"): one object per line
with email, name, role, org and optionally status, kind, mode, approver.

CSV (.csv, or anything else): a header line naming the columns email, name,
role and org, optionally status, kind, mode and approver, in any order.

FILE - reads standard input (over SSH: ssh HOST import users - < people.csv).

On a terminal a line shows how far it is (count, rate, time left); --quiet,
or output that is not a terminal, shows only the final line. A large file
(more than 50,000 lines) is imported into a copy of the database, which
takes the database's place at the end: an import that fails or is killed
leaves the database as it was.`,
		Example: `  actas import users people.csv
    email,name,role,org,status
    jane@globex.test,Jane Doe,member,Globex,active

  actas import users people.jsonl
    {"email":"jane@globex.test","name":"Jane Doe","role":"member","org":"Globex"}`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			var f io.ReadCloser = io.NopCloser(a.env.Stdin)
			if name == "-" {
				name = "standard input"
			} else {
				var err error
				if f, err = a.openInput(name); err != nil {
					return errorf("cannot read the import file: %v", err)
				}
			}
			rows, err := parseImport(name, f)
			f.Close()
			if err != nil {
				return err
			}
			return a.importUsers(cmd.OutOrStdout(), name, rows, quiet)
		},
	}
	c.Flags().BoolVar(&quiet, "quiet", false, "show only the final line, no progress")
	return c
}

// importBatch is how many users a large import commits at a time.
const importBatch = 50_000

// importMemoryLimit is the soft limit of the Go heap during a large import
// (a million lines: ~450 MB live; peak RSS ~0.7 GB at 640 MB, fewer
// collections as it rises).
const importMemoryLimit = 768 << 20

// importUsers adds rows, all or none. Up to one batch, in one transaction.
// A larger file is imported a batch at a time into a copy of the database
// file, which is renamed over the database at the end, so memory stays
// bounded (one transaction of a million users took 5 GB) and a failure or
// a kill -9 at any moment leaves the database untouched: before the rename
// the copy is only a leftover (removed by the next large import), after it
// every user is in. A running server imports in one transaction.
func (a *app) importUsers(out io.Writer, name string, rows []core.ImportRow, quiet bool) error {
	prog := a.newProgress(out, "importing users", len(rows), quiet)
	finish := func(n int, err error) error {
		prog.clear()
		var ie *core.ImportError
		if errors.As(err, &ie) {
			for _, l := range ie.Lines {
				fmt.Fprintf(a.env.Stderr, "%s: line %d: %v\n", name, l.Line, l.Err)
			}
			return errorf("%d bad line(s) in %s; nothing was imported", len(ie.Lines), name)
		}
		if err != nil {
			return fmt.Errorf("%w; nothing was imported", err)
		}
		fmt.Fprintf(out, "imported %d users from %s\n", n, name)
		return nil
	}
	batch := cmp.Or(a.env.ImportBatch, importBatch)
	if a.bound != nil || len(rows) <= batch {
		return a.write(func(co *core.Core) error { return finish(co.ImportUsers(a.operator(), rows)) })
	}
	dir, err := a.dataDir(true)
	if err != nil {
		return err
	}
	if served, err := a.forward(dir); served || err != nil {
		return err
	}
	a.stdin.stop()
	o, err := a.openCore(dir, core.Options{}, true)
	if err != nil {
		return err
	}
	// The database stays open, and so locked against other writers, until
	// the copy is in place; its core does nothing meanwhile (no expiry).
	defer o.db.Close()
	o.core.Close()
	return finish(a.importIntoCopy(o, rows, batch, prog))
}

// importIntoCopy imports rows into a copy of o's database and renames the
// copy over it.
func (a *app) importIntoCopy(o *opened, rows []core.ImportRow, batch int, prog *progress) (int, error) {
	path := filepath.Join(o.dir, dbFile)
	tmp := path + ".import"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if err := o.db.CopyTo(tmp); err != nil {
		return 0, fmt.Errorf("copy the database for the import: %w", err)
	}
	n, err := func() (int, error) {
		db, err := store.Open(tmp, store.Options{})
		if err != nil {
			return 0, err
		}
		defer db.Close()
		co, err := core.Open(db, core.Options{Clock: a.env.Clock, Notifier: a.notifier()})
		if err != nil {
			return 0, err
		}
		defer co.Close()
		// Keep the heap near what it holds (the rows and one batch) rather
		// than letting it grow to twice that between collections, unless
		// GOMEMLIMIT says otherwise; and let go of the file's pages read.
		if a.env.Getenv("GOMEMLIMIT") == "" {
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(importMemoryLimit))
		}
		return co.ImportUsersWith(a.operator(), rows, core.ImportOptions{Batch: batch, Progress: func(done int) {
			db.ReleaseMemory()
			prog.update(done)
		}})
	}()
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return n, syncDir(o.dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
