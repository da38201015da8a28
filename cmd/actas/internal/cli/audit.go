package cli

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

func (a *app) auditCmd() *cobra.Command {
	return group("audit", "Check and export the tamper-evident audit log", a.auditVerifyCmd(), a.auditExportCmd(),
		a.auditCheckpointCmd(), a.auditPubkeyCmd(), a.auditProveCmd(), a.auditVerifyProofCmd())
}

func (a *app) auditVerifyCmd() *cobra.Command {
	var files []string
	c := &cobra.Command{
		Use:   "verify [--checkpoint FILE]…",
		Short: "Check the audit log's hash chain and Merkle tree, and its consistency with signed checkpoints",
		Long: `Check the audit log's hash chain and Merkle tree; exit 1 naming the first
bad seq. With --checkpoint FILE (repeatable), also prove the log consistent
with every signed checkpoint in FILE (one or many, as actas audit checkpoint
prints them or policy checkpoint_file collects them): a log that was cut
short, rolled back to an older copy or rewritten fails, naming the
checkpoint and where the log diverges from it. The database is only read.`,
		Example: `  actas audit verify
  actas audit verify --checkpoint /mnt/elsewhere/actas-checkpoints.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type file struct {
				name  string
				notes [][]byte
			}
			var cps []file
			for _, name := range files {
				data, err := a.readInput(name)
				if err != nil {
					return err
				}
				notes := core.SplitNotes(data)
				if len(notes) == 0 {
					return errorf("%s holds no checkpoint", name)
				}
				cps = append(cps, file{name, notes})
			}
			return a.read(func(co *core.Core) error {
				if err := co.Authorize(a.operator(), core.CapAudit, "verifying the audit log"); err != nil {
					return err
				}
				v, err := co.Verify()
				if err != nil {
					return fmt.Errorf("cannot read the audit log: %w", err)
				}
				if !v.OK() {
					return errorf("%s", v)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintln(out, v)
				var failed []string
				for _, f := range cps {
					checks, err := co.CheckCheckpoints(v, f.notes)
					if err != nil {
						return err
					}
					for _, c := range checks {
						name := fmt.Sprintf("%s checkpoint %d of %d", f.name, c.N, len(checks))
						if c.Checkpoint.Size > 0 {
							name += fmt.Sprintf(" (size %d, root %s)", c.Checkpoint.Size, c.Checkpoint.ShortRoot())
						}
						if c.Err != nil {
							failed = append(failed, fmt.Sprintf("%s: %v", name, c.Err))
							continue
						}
						fmt.Fprintf(out, "%s: consistent\n", name)
					}
				}
				if len(failed) > 0 {
					return errorf("audit log is NOT consistent with its checkpoints:\n  %s", strings.Join(failed, "\n  "))
				}
				return nil
			})
		},
	}
	c.Flags().StringArrayVar(&files, "checkpoint", nil, "a file of signed checkpoints to prove the log consistent with (repeatable; - = stdin)")
	return c
}

func (a *app) auditExportCmd() *cobra.Command {
	var format, session, since, until string
	c := &cobra.Command{
		Use:   "export [--format jsonl|csv] [--session ID] [--since T] [--until T]",
		Short: "Write audit events to standard output, oldest first",
		Long: `Write audit events, oldest first, to standard output: as JSON Lines (one
event per line, with seq, time, type, actor, subject, …, prev and hash) or
as CSV with a header.

T is a time in RFC 3339 (2025-05-01T14:00:00Z), a date (2025-05-01, UTC),
or a duration back from now (90m, 1h, 7d, 2w).
--since keeps events at or after T; --until keeps events before T, and a
date there means the end of that day, so --since D --until D is day D.`,
		Example: `  actas audit export --format jsonl | head
  actas audit export --format csv --since 2025-05-01 --until 2025-05-31 > may.csv
  actas audit export --since 1h
  actas audit export --session imp_00000001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format = strings.ToLower(strings.TrimSpace(format))
			if format != "jsonl" && format != "csv" {
				return errorf("--format must be jsonl or csv, not %q", format)
			}
			q := core.AuditQuery{Session: strings.TrimSpace(session)}
			var err error
			now := time.Now()
			if q.Since, err = parseTime("--since", since, false, now); err != nil {
				return err
			}
			if q.Until, err = parseTime("--until", until, true, now); err != nil {
				return err
			}
			if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
				return errorf("--since (%s) must be before --until (%s)", stamp(q.Since), stamp(q.Until))
			}
			return a.read(func(co *core.Core) error {
				if err := co.Authorize(a.operator(), core.CapAudit, "exporting the audit log"); err != nil {
					return err
				}
				if q.Session != "" {
					if _, err := co.SessionFor(a.operator(), q.Session); err != nil {
						return errorf("no session %s (session IDs look like imp_00000001)", q.Session)
					}
				}
				w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
				if _, err := co.ExportAudit(a.operator(), w, format, q); err != nil {
					return err
				}
				return w.Flush()
			})
		},
	}
	c.Flags().StringVar(&format, "format", "jsonl", "jsonl or csv")
	c.Flags().StringVar(&session, "session", "", "only events of this impersonation session (imp_…)")
	c.Flags().StringVar(&since, "since", "", "only events at or after T (RFC 3339, YYYY-MM-DD, or a duration back from now: 1h, 7d)")
	c.Flags().StringVar(&until, "until", "", "only events before T (RFC 3339, YYYY-MM-DD for the end of that day, or a duration back from now)")
	return c
}

// parseTime reads an RFC 3339 time, a UTC date, or a duration back from
// now ("90m", "1h", "7d", "2w": Go's units plus days and weeks); with
// endOfDay a date means the midnight that ends it. Empty is the zero time.
func parseTime(flag, s string, endOfDay bool, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if d, ok := backFromNow(s); ok {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, errorf("%s %q is not a time: use RFC 3339 (2025-05-01T14:00:00Z), a date (2025-05-01) or a duration back from now (1h, 7d)", flag, s)
}

// backFromNow reads a positive duration of Go's units, or a whole number of
// days ("7d") or weeks ("2w").
func backFromNow(s string) (time.Duration, bool) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseUint(n, 10, 16)
			return time.Duration(v) * unit, err == nil && v > 0
		}
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}
