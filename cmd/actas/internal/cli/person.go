package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

// The commands of a person rather than of the database: who am I, my
// consent, the approvals inbox and the sessions. Over SSH they act as the
// person logged in; on this machine as the operator (cli:NAME), where core
// refuses what only a person can do (consent, deciding a request).

func (a *app) whoamiCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "whoami [--json]",
		Short: "Say who the commands run as",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := a.operator()
			if p.System != "" {
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"id": p.System})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: the operator of this data folder, allowed every administrative step\n", p.System)
				return nil
			}
			return a.read(func(co *core.Core) error {
				u, err := co.Me(p)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(newUserRecord(co, u))
				}
				consent := "no active consent"
				if u.ConsentActive(co.Now()) {
					consent = "consent until " + stamp(u.ConsentUntil)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s <%s>: %s in %s, %s, mode %s, approver %t, %s\n", core.Display(u.Name), u.Email,
					u.Role, core.Display(co.OrgName(u.Org)), u.Status, u.Mode, u.Approver, consent)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

func (a *app) consentCmd() *cobra.Command {
	show := &cobra.Command{
		Use:   "show",
		Short: "Say whether you allow impersonation, and until when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := a.operator()
			if p.System != "" {
				return errorf("consent is given by each person for themself: log in as them (ssh HOST consent show)")
			}
			return a.read(func(co *core.Core) error {
				u, err := co.Me(p)
				if err != nil {
					return err
				}
				if u.ConsentActive(co.Now()) {
					fmt.Fprintf(cmd.OutOrStdout(), "consent active until %s (%s left)\n", stamp(u.ConsentUntil),
						core.FormatDuration(u.ConsentUntil.Sub(co.Now()).Round(time.Minute)))
				} else {
					fmt.Fprintln(cmd.OutOrStdout(), "no active consent: nobody can impersonate you")
				}
				return nil
			})
		},
	}
	var d string
	grant := &cobra.Command{
		Use:     "grant --for D",
		Short:   "Allow impersonation of yourself for 1h to 168h",
		Example: "  ssh -p 23234 HOST consent grant --for 24h",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dur, err := core.ParseDuration(d)
			if err != nil {
				return errorf("--for %q: %v", d, err)
			}
			return a.write(func(co *core.Core) error {
				u, err := co.GrantConsent(a.operator(), dur)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "consent granted until %s\n", stamp(u.ConsentUntil))
				return nil
			})
		},
	}
	grant.Flags().StringVar(&d, "for", "", "how long, e.g. 1h, 24h, 3d (required)")
	_ = grant.MarkFlagRequired("for")
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Withdraw your consent; sessions on you end at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.write(func(co *core.Core) error {
				if _, err := co.RevokeConsent(a.operator()); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "consent revoked")
				return nil
			})
		},
	}
	return group("consent", "Show, grant and revoke consent to be impersonated", show, grant, revoke)
}

// requestRecord is one line of requests list --json.
type requestRecord struct {
	ID        string    `json:"id"`
	Requester string    `json:"requester"`
	Target    string    `json:"target"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	Duration  string    `json:"duration"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
}

func (a *app) requestsCmd() *cobra.Command {
	var status string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--status S] [--json]",
		Short: "List impersonation requests you may see, newest first",
		Long: `List requests, newest first: approvers see those of their org subtree,
staff in request mode their own. --status is pending (default), approved,
denied, cancelled, expired or all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st := core.RequestStatus(strings.ToLower(strings.TrimSpace(status)))
			statuses := []core.RequestStatus{st}
			if st == "all" {
				statuses = core.RequestStatuses
			} else if !slices.Contains(core.RequestStatuses, st) {
				return errorf("--status must be pending, approved, denied, cancelled, expired or all, not %q", status)
			}
			return a.read(func(co *core.Core) error {
				if err := co.Authorize(a.operator(), core.CapApprovals, "listing requests"); err != nil {
					return err
				}
				var all []core.Request
				for _, s := range statuses {
					list, err := co.Requests(a.operator(), s, 0)
					if err != nil {
						return err
					}
					all = append(all, list...)
				}
				email := emailsOf(co)
				if asJSON {
					return writeJSONLines(cmd.OutOrStdout(), all, func(r core.Request) requestRecord {
						return requestRecord{ID: r.ID, Requester: email(r.Requester), Target: email(r.Target),
							Status: string(r.Status), Reason: core.Display(r.Reason), Duration: core.FormatDuration(r.Duration),
							Created: r.Created, Expires: r.Expires}
					})
				}
				rows := make([][]string, 0, len(all))
				for _, r := range all {
					rows = append(rows, []string{r.ID, cell(email(r.Requester)), cell(email(r.Target)), string(r.Status),
						core.FormatDuration(r.Duration), stamp(r.Created), cell(oneLine(r.Reason))})
				}
				return writeTable(cmd.OutOrStdout(), []string{"ID", "REQUESTER", "TARGET", "STATUS", "DURATION", "CREATED", "REASON"}, rows)
			})
		},
	}
	list.Flags().StringVar(&status, "status", "pending", "pending, approved, denied, cancelled, expired or all")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON Lines: one object per request")

	var dur, note string
	approve := &cobra.Command{
		Use:     "approve ID [--duration D] [--note N]",
		Short:   "Approve a pending request, for the duration asked or another",
		Example: "  ssh -p 23234 HOST requests approve req_00000001 --duration 2h --note 'ticket 4411'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d time.Duration
			if dur != "" {
				var err error
				if d, err = core.ParseDuration(dur); err != nil {
					return errorf("--duration %q: %v", dur, err)
				}
			}
			return a.decide(cmd.OutOrStdout(), args[0], true, d, note)
		},
	}
	approve.Flags().StringVar(&dur, "duration", "", "how long the session may last (default: as asked)")
	approve.Flags().StringVar(&note, "note", "", "a note for the requester and the audit log")
	var denyNote string
	deny := &cobra.Command{
		Use:     "deny ID --note N",
		Short:   "Deny a pending request, saying why",
		Example: "  ssh -p 23234 HOST requests deny req_00000001 --note 'no ticket'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(denyNote) == "" {
				return errorf("--note must say why the request is denied")
			}
			return a.decide(cmd.OutOrStdout(), args[0], false, 0, denyNote)
		},
	}
	deny.Flags().StringVar(&denyNote, "note", "", "why (required)")
	_ = deny.MarkFlagRequired("note")
	return group("requests", "List and decide impersonation requests", list, approve, deny)
}

func (a *app) decide(w io.Writer, id string, approve bool, d time.Duration, note string) error {
	return a.write(func(co *core.Core) error {
		r, err := co.Decide(a.operator(), strings.TrimSpace(id), approve, d, note)
		if err != nil {
			return err
		}
		email := emailsOf(co)
		if r.Status == core.RequestPending {
			fmt.Fprintf(w, "%s: your approval is recorded; it needs another approver\n", r.ID)
			return nil
		}
		if r.Status != core.RequestApproved {
			fmt.Fprintf(w, "%s %s: %s may not act as %s\n", r.ID, r.Status, email(r.Requester), email(r.Target))
			return nil
		}
		fmt.Fprintf(w, "%s %s: %s may act as %s for %s\n", r.ID, r.Status, email(r.Requester), email(r.Target),
			core.FormatDuration(r.Duration))
		return nil
	})
}

// sessionRecord is one line of sessions list --json.
type sessionRecord struct {
	ID           string    `json:"id"`
	Impersonator string    `json:"impersonator"`
	Target       string    `json:"target"`
	Status       string    `json:"status"`
	Reason       string    `json:"reason,omitempty"`
	Started      time.Time `json:"started"`
	Ends         time.Time `json:"ends"`
	Ended        time.Time `json:"ended,omitzero"`
	EndReason    string    `json:"end_reason,omitempty"`
	Events       int       `json:"events"`
}

func (a *app) sessionsCmd() *cobra.Command {
	var limit int
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--limit N] [--json]",
		Short: "List impersonation sessions you may see: active first, then the newest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return errorf("--limit must be 1 or more, not %d", limit)
			}
			return a.read(func(co *core.Core) error {
				if err := co.Authorize(a.operator(), core.CapSessions, "listing sessions"); err != nil {
					return err
				}
				list, err := co.Sessions(a.operator(), "", "", limit)
				if err != nil {
					return err
				}
				email := emailsOf(co)
				if asJSON {
					return writeJSONLines(cmd.OutOrStdout(), list, func(s core.Session) sessionRecord {
						return sessionRecord{ID: s.ID, Impersonator: email(s.Impersonator), Target: email(s.Target),
							Status: string(s.Status), Reason: core.Display(s.Reason), Started: s.Started, Ends: s.Ends,
							Ended: s.Ended, EndReason: string(s.EndReason), Events: s.Events}
					})
				}
				rows := make([][]string, 0, len(list))
				for _, s := range list {
					end := stamp(s.Ends)
					if !s.Active() {
						end = stamp(s.Ended)
					}
					rows = append(rows, []string{s.ID, cell(email(s.Impersonator)), cell(email(s.Target)), string(s.Status),
						stamp(s.Started), end, cell(string(s.EndReason)), strconv.Itoa(s.Events)})
				}
				return writeTable(cmd.OutOrStdout(), []string{"ID", "IMPERSONATOR", "TARGET", "STATUS", "STARTED", "ENDS/ENDED", "END REASON", "EVENTS"}, rows)
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "at most this many sessions")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON Lines: one object per session")
	terminate := &cobra.Command{
		Use:   "terminate ID",
		Short: "End a running session now (owners)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.write(func(co *core.Core) error {
				if err := co.Terminate(a.operator(), strings.TrimSpace(args[0])); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "terminated %s\n", strings.TrimSpace(args[0]))
				return nil
			})
		},
	}
	return group("sessions", "List and end impersonation sessions", list, terminate)
}

// emailsOf maps user IDs to emails (the ID when the user is gone). It
// remembers each ID it looked up: a list names the same few people on many
// rows, and each look-up is a read of the store.
func emailsOf(co *core.Core) func(id string) string {
	seen := map[string]string{}
	return func(id string) string {
		if e, ok := seen[id]; ok {
			return e
		}
		e := id
		if u, err := co.SystemUser(id); err == nil {
			e = u.Email
		}
		seen[id] = e
		return e
	}
}

// oneLine keeps the first line of free text for a table cell.
func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
