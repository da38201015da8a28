package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

func (a *app) importCmd() *cobra.Command {
	return group("import", "Bulk-load data", a.importUsersCmd())
}

func (a *app) importUsersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "users FILE",
		Short: "Add every user in a JSON Lines or CSV file, or none of them",
		Long: `Add every user in FILE in one step: if any line is bad, nothing is imported
and every bad line is reported by its number.

JSON Lines (.jsonl, .json, or a file starting with "{"): one object per line
with email, name, role, org and optionally status, kind, mode, approver.

CSV (.csv, or anything else): a header line naming the columns email, name,
role and org, optionally status, kind, mode and approver, in any order.

FILE - reads standard input (over SSH: ssh HOST import users - < people.csv).`,
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
			return a.write(func(co *core.Core) error {
				n, err := co.ImportUsers(a.operator(), rows)
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
				fmt.Fprintf(cmd.OutOrStdout(), "imported %d users from %s\n", n, name)
				return nil
			})
		},
	}
}
