package core

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditQuery selects audit events. Empty fields match everything.
type AuditQuery struct {
	Session string   // imp_… ID
	Actor   string   // user ID
	Subject string   // user ID
	Types   []string // event types
	Since   time.Time
	Until   time.Time
	Text    string // substring of type, actor, subject, reason or details (case-insensitive)
}

func (q AuditQuery) match(ev *Event) bool {
	switch {
	case q.Session != "" && ev.Session != q.Session,
		q.Actor != "" && ev.Actor.ID != q.Actor,
		q.Subject != "" && ev.Subject.ID != q.Subject,
		len(q.Types) > 0 && !slices.Contains(q.Types, ev.Type),
		!q.Since.IsZero() && ev.Time.Before(q.Since),
		!q.Until.IsZero() && !ev.Time.Before(q.Until):
		return false
	}
	if q.Text != "" {
		hay := strings.ToLower(strings.Join([]string{ev.Type, ev.Actor.ID, ev.Actor.Email, ev.Subject.ID, ev.Subject.Email,
			ev.Session, ev.Request, ev.Reason, string(ev.Details)}, " "))
		return strings.Contains(hay, strings.ToLower(q.Text))
	}
	return true
}

// AuditPage is a page of events and where to go on.
type AuditPage struct {
	Events []Event
	// Next is the seq to pass as from to continue in the same direction;
	// 0 when the log is exhausted that way.
	Next uint64
}

// auditScanBudget bounds the records one page call reads, so a filter that
// matches little cannot hold a screen for long; the caller continues from
// Next.
const auditScanBudget = 100_000

// Audit reads a page of events matching q, newest first when reverse,
// starting at seq from (0 = the newest, or the oldest when !reverse).
// Without the audit capability p sees only events about themselves and the
// sessions they may see.
func (c *Core) Audit(p Principal, q AuditQuery, from uint64, reverse bool, limit int) (AuditPage, error) {
	var page AuditPage
	err := c.st.View(func(tx ReadTx) error {
		page = AuditPage{}
		var err error
		if q, err = auditReader(tx, p, q, c.orgSnapshot()); err != nil {
			return err
		}
		read := 0
		visit := func(seq uint64, rec []byte) bool {
			read++
			page.Next = seq
			ev, err := DecodeEvent(rec)
			if err == nil && q.match(&ev) {
				page.Events = append(page.Events, ev)
			}
			return len(page.Events) < limit && read < auditScanBudget
		}
		index, key := "", ""
		switch {
		case q.Session != "":
			index, key = "session", q.Session
		case q.Subject != "":
			index, key = "subject", q.Subject
		case q.Actor != "":
			index, key = "actor", q.Actor
		}
		if index == "" {
			err = tx.ScanAudit(from, reverse, visit)
		} else {
			err = tx.ScanAuditIndex(index, key, from, reverse, func(seq uint64) bool {
				rec, err := tx.AuditRecord(seq)
				if err != nil {
					return false
				}
				return visit(seq, rec)
			})
		}
		if err != nil {
			return err
		}
		// Next is one past the last record read, in the direction of travel.
		switch {
		case page.Next == 0:
		case reverse && page.Next > 1:
			page.Next--
		case reverse:
			page.Next = 0
		default:
			page.Next++
		}
		if len(page.Events) < limit && read < auditScanBudget {
			page.Next = 0 // ran off the end
		}
		return nil
	})
	return page, err
}

// AuditCount is the number of events in the log.
func (c *Core) AuditCount() uint64 {
	var n uint64
	_ = c.st.View(func(tx ReadTx) error {
		n, _, _ = tx.AuditHead()
		return nil
	})
	return n
}

// Verify checks the whole hash chain.
func (c *Core) Verify() (Verification, error) { return VerifyChain(c.st) }

// ExportAudit writes every event matching q, oldest first, as JSON lines
// or CSV, for p, who needs the audit capability (the whole log).
func (c *Core) ExportAudit(p Principal, w io.Writer, format string, q AuditQuery) (int, error) {
	if err := c.require(p, CapAudit); err != nil {
		return 0, err
	}
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	switch format {
	case "", "jsonl":
	case "csv":
		cw = csv.NewWriter(w)
		_ = cw.Write([]string{"seq", "time", "type", "actor_id", "actor_email", "subject_id", "subject_email",
			"org", "session", "request", "result", "reason", "details", "prev", "hash"})
	default:
		return 0, invalid("format", "unknown format %q: use jsonl or csv", format)
	}
	n := 0
	from := uint64(0)
	var line []byte
	for {
		page, err := c.Audit(p, q, from, false, 1000)
		if err != nil {
			return n, err
		}
		for _, ev := range page.Events {
			if cw != nil {
				row := []string{strconv.FormatUint(ev.Seq, 10), ev.Time.Format(time.RFC3339Nano), ev.Type,
					ev.Actor.ID, ev.Actor.Email, ev.Subject.ID, ev.Subject.Email, ev.Org, ev.Session, ev.Request,
					ev.Result, ev.Reason, string(ev.Details), ev.Prev.String(), ev.Hash.String()}
				for i := range row {
					row[i] = CSVCell(row[i])
				}
				err = cw.Write(row)
			} else {
				var ok bool
				if line, ok = appendEventJSON(line[:0], &ev); ok {
					_, err = w.Write(line)
				} else {
					err = enc.Encode(ev)
				}
			}
			if err != nil {
				return n, err
			}
			n++
		}
		if page.Next == 0 {
			break
		}
		from = page.Next
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	return n, nil
}

// CSVCell makes stored text safe in a spreadsheet: control characters
// are escaped as visible text, as the console shows them (Display), and a
// cell that a spreadsheet would read as a formula — starting with = + - @,
// tab or CR — gets a leading ' (OWASP "CSV injection").
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	first := s[0]
	s = Display(s)
	switch first {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// RecordAction records something p did in the console. While p is
// impersonating it is recorded with p as actor and the target as subject,
// under the session — never as the target alone.
func (c *Core) RecordAction(p Principal, action string, details map[string]any) (Event, error) {
	action, err := checkText("action", action, 1, 100)
	if err != nil {
		return Event{}, err
	}
	var ev Event
	err = c.update(func(t *txn) error {
		me, err := authorize(t, p, see(""))
		if err != nil {
			return err
		}
		e := Event{Type: EvActionPerformed, Actor: p.ref(), Org: me.Org}
		s, ok, err := sessionBy(t, me.ID)
		if err != nil {
			return err
		}
		if ok {
			target, _ := t.User(s.Target)
			e.Subject, e.Session, e.Org = target.Ref(), s.ID, s.Org
		}
		d := map[string]any{"action": action}
		for k, v := range details {
			d[k] = v
		}
		ev, err = t.record(e, d)
		return err
	})
	return ev, err
}
