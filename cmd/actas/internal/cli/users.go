package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

func (a *app) userCmd() *cobra.Command {
	return group("user", "Add, list and change users", a.userAddCmd(), a.userListCmd(), a.userSetCmd())
}

func (a *app) userAddCmd() *cobra.Command {
	var email, name, role, org, mode string
	var approver bool
	c := &cobra.Command{
		Use:   "add --email E --name N --role R --org O [--mode M] [--approver]",
		Short: "Add a user",
		Long: `Add one user. Roles: member, support, admin, owner, sysadmin. Only staff
(support and up) may have an impersonation mode other than never
(request: each session needs an approved request; direct) or be approvers.`,
		Example: `  actas user add --email jane@globex.test --name "Jane Doe" --role member --org Globex
  actas user add --email sam@acme.test --name "Sam Support" --role support --org Acme --mode request`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nu := core.NewUser{Email: email, Name: name, Org: org, Approver: approver}
			var err error
			if nu.Role, err = core.ParseRole(role); err != nil {
				return err
			}
			if nu.Mode, err = core.ParseMode(mode); err != nil {
				return err
			}
			return a.write(func(co *core.Core) error {
				u, err := co.CreateUser(a.operator(), nu)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added %s <%s>: %s in %s, mode %s%s\n", core.Display(u.Name), u.Email,
					u.Role, core.Display(co.OrgName(u.Org)), u.Mode, map[bool]string{true: ", approver"}[u.Approver])
				return nil
			})
		},
	}
	c.Flags().StringVar(&email, "email", "", "email, unique (required)")
	c.Flags().StringVar(&name, "name", "", "full name (required)")
	c.Flags().StringVar(&role, "role", "", "member, support, admin, owner or sysadmin (required)")
	c.Flags().StringVar(&org, "org", "", "org name (required; see actas org list)")
	c.Flags().StringVar(&mode, "mode", string(core.ModeNever), "impersonation mode: never, request or direct")
	c.Flags().BoolVar(&approver, "approver", false, "may approve impersonation requests")
	for _, f := range []string{"email", "name", "role", "org"} {
		_ = c.MarkFlagRequired(f)
	}
	return c
}

// userRecord is one line of user list --json.
type userRecord struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Org          string    `json:"org"`
	OrgID        string    `json:"org_id"`
	Role         string    `json:"role"`
	Status       string    `json:"status"`
	Kind         string    `json:"kind"`
	Mode         string    `json:"mode"`
	Approver     bool      `json:"approver"`
	ConsentUntil time.Time `json:"consent_until,omitzero"` // only while consent is active
	Created      time.Time `json:"created"`
}

func (a *app) userListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--json]",
		Short: "List every user, by name",
		Long: `List every user, in name order, as a table (email, name, org, role, status,
kind, mode, approver, consent until). With --json, one JSON object per line
(JSON Lines) with the fields id, email, name, org, org_id, role, status,
kind, mode, approver, consent_until (only while consent is active) and
created. Output streams: a million users are fine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				if err := co.Authorize(a.operator(), core.CapAdmin, "listing users"); err != nil {
					return err
				}
				w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
				var err error
				if asJSON {
					err = a.listUsersJSON(cmd.Context(), co, w)
				} else {
					err = a.listUsersTable(cmd.Context(), co, w)
				}
				if err != nil {
					return err
				}
				return w.Flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON Lines: one object per user")
	return c
}

// eachUser calls fn for every user, in name order, streamed from the store.
func (a *app) eachUser(ctx context.Context, c *core.Core, fn func(core.User) error) error {
	return c.EachUser(ctx, a.operator(), fn)
}

func (a *app) listUsersJSON(ctx context.Context, c *core.Core, w io.Writer) error {
	enc := json.NewEncoder(w)
	return a.eachUser(ctx, c, func(u core.User) error { return enc.Encode(newUserRecord(c, u)) })
}

func newUserRecord(c *core.Core, u core.User) userRecord {
	r := userRecord{ID: u.ID, Email: u.Email, Name: u.Name, Org: c.OrgName(u.Org), OrgID: u.Org,
		Role: string(u.Role), Status: string(u.Status), Kind: string(u.Kind), Mode: string(u.Mode),
		Approver: u.Approver, Created: u.Created}
	if u.ConsentActive(c.Now()) {
		r.ConsentUntil = u.ConsentUntil
	}
	return r
}

// listUsersTable walks the users twice: once to measure the columns, once
// to print, so that nothing but one page is held in memory.
func (a *app) listUsersTable(ctx context.Context, c *core.Core, w io.Writer) error {
	now := c.Now()
	orgNames := map[string]string{}
	for _, o := range c.Orgs() {
		orgNames[o.ID] = cell(o.Name)
	}
	row := func(u core.User) []string {
		consent := "-"
		if u.ConsentActive(now) {
			consent = stamp(u.ConsentUntil)
		}
		org, ok := orgNames[u.Org]
		if !ok {
			org = u.Org
		}
		return []string{cell(u.Email), cell(u.Name), org, string(u.Role), string(u.Status), string(u.Kind),
			string(u.Mode), strconv.FormatBool(u.Approver), consent}
	}
	t := newTable("EMAIL", "NAME", "ORG", "ROLE", "STATUS", "KIND", "MODE", "APPROVER", "CONSENT UNTIL")
	if err := a.eachUser(ctx, c, func(u core.User) error { t.measure(row(u)...); return nil }); err != nil {
		return err
	}
	if err := t.write(w, "EMAIL", "NAME", "ORG", "ROLE", "STATUS", "KIND", "MODE", "APPROVER", "CONSENT UNTIL"); err != nil {
		return err
	}
	return a.eachUser(ctx, c, func(u core.User) error { return t.write(w, row(u)...) })
}

func (a *app) userSetCmd() *cobra.Command {
	var email, status, mode, role, name string
	var approver bool
	c := &cobra.Command{
		Use:   "set --email E [--status S] [--mode M] [--approver=BOOL] [--role R] [--name N]",
		Short: "Change a user's status, mode, approver flag, role or name",
		Long: `Change the given settings of one user; the others stay as they are.
Statuses: active, pending, inactive, suspended, deleted. Leaving active ends
every impersonation session the user is part of at once.`,
		Example: `  actas user set --email sam@acme.test --mode direct --approver=true
  actas user set --email bob@globex.test --status suspended`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ch core.UserChange
			f := cmd.Flags()
			if f.Changed("status") {
				s, err := core.ParseStatus(status)
				if err != nil {
					return err
				}
				ch.Status = &s
			}
			if f.Changed("mode") {
				m, err := core.ParseMode(mode)
				if err != nil {
					return err
				}
				ch.Mode = &m
			}
			if f.Changed("role") {
				r, err := core.ParseRole(role)
				if err != nil {
					return err
				}
				ch.Role = &r
			}
			if f.Changed("approver") {
				ch.Approver = &approver
			}
			if f.Changed("name") {
				ch.Name = &name
			}
			if ch == (core.UserChange{}) {
				return errorf("nothing to change: give --status, --mode, --approver, --role or --name")
			}
			return a.write(func(co *core.Core) error {
				u, err := co.UpdateUser(a.operator(), email, ch)
				if err != nil {
					return withFlagHint(err, f.Changed)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s <%s>: %s, %s, mode %s, approver %t\n",
					core.Display(u.Name), u.Email, u.Role, u.Status, u.Mode, u.Approver)
				return nil
			})
		},
	}
	c.Flags().StringVar(&email, "email", "", "the user's email (required)")
	c.Flags().StringVar(&status, "status", "", "active, pending, inactive, suspended or deleted")
	c.Flags().StringVar(&mode, "mode", "", "impersonation mode: never, request or direct")
	c.Flags().BoolVar(&approver, "approver", false, "may approve impersonation requests (--approver=false to revoke)")
	c.Flags().StringVar(&role, "role", "", "member, support, admin, owner or sysadmin")
	c.Flags().StringVar(&name, "name", "", "full name")
	_ = c.MarkFlagRequired("email")
	return c
}

// flagFor names the flag that sets each field core may refuse, with the
// value a staff setting takes on someone who is not staff.
var flagFor = map[string]string{"mode": "--mode never", "approver": "--approver=false"}

// withFlagHint adds to core's refusal of a field the flag that fixes it,
// when the command line did not give that flag: "pass --mode never too".
func withFlagHint(err error, given func(flag string) bool) error {
	var e *core.Error
	if !errors.As(err, &e) || e.Code != core.CodeInvalid {
		return err
	}
	hint, ok := flagFor[e.Field]
	if !ok || given(e.Field) {
		return err
	}
	return fmt.Errorf("%w (pass %s too)", err, hint)
}
