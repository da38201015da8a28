package core

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// HostAction is one request the impersonator made in the host product, as
// the product reports it.
type HostAction struct {
	Time    time.Time
	Method  string
	Path    string
	Status  int
	Blocked bool
	Request map[string]any // the request body or parameters; redacted before it is stored
	Details map[string]any // anything else the product wants kept; redacted too
}

// MaxHostActions is the most actions one report may carry.
const MaxHostActions = 1000

// maxActionSize bounds one action as stored (DESIGN: an event ≤ 64 KB).
const maxActionSize = 60 << 10

// RecordHostActions appends the actions a product reports for a session:
// each becomes action.performed, or action.blocked when the product
// refused it, with actor = the impersonator and subject = the target, in
// one durable transaction — all of them or none. Only the API key that
// entered the session may report, and only actions timed from the
// session's start to ActionGrace after its end.
func (c *Core) RecordHostActions(p Principal, sessionID string, actions []HostAction) error {
	if _, err := c.allowed(p, product("actions are reported with an API key")); err != nil {
		return err
	}
	switch {
	case len(actions) == 0:
		return invalid("events", "events is empty: send at least one event")
	case len(actions) > MaxHostActions:
		return refuse(CodeTooLarge, "%d events in one request; send at most %d at a time", len(actions), MaxHostActions)
	}
	details := make([]json.RawMessage, len(actions))
	for i, a := range actions {
		d, err := checkHostAction(i, a)
		if err != nil {
			return err
		}
		if details[i], err = prepareDetails(d); err != nil {
			return invalid(fmt.Sprintf("events[%d]", i), "events[%d] cannot be stored: %v", i, err)
		}
	}
	// Read the session first: a report for a session that does not exist,
	// or that is not this key's, costs no write transaction.
	var s Session
	var imp, target User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		if s, err = enteredSession(tx, sessionID, p.APIKey, "reports actions in it"); err != nil {
			return err
		}
		imp, _ = tx.User(s.Impersonator)
		target, _ = tx.User(s.Target)
		return nil
	})
	if err != nil {
		return err
	}
	if err := checkActionTimes(s, actions, c.clock.Now()); err != nil {
		return err
	}
	return c.update(func(t *txn) error {
		// The session may have ended since: check the times against it again.
		cur, err := t.Session(s.ID)
		if err != nil {
			return notFound("no session %s", s.ID)
		}
		if err := checkActionTimes(cur, actions, t.now); err != nil {
			return err
		}
		for i, a := range actions {
			ev := Event{Type: EvActionPerformed, Actor: imp.Ref(), Subject: target.Ref(), Org: cur.Org, Session: cur.ID}
			if a.Blocked {
				ev.Type, ev.Result, ev.Reason = EvActionBlocked, ResultDenied, "blocked_by_product"
			}
			if _, err := t.recordPrepared(ev, details[i]); err != nil {
				return err
			}
		}
		cur.Events += len(actions)
		if err := t.PutSession(cur); err != nil {
			return err
		}
		t.counted = append(t.counted, cur)
		return nil
	})
}

// checkHostAction validates one action and returns its details as stored
// (before redaction, which record does).
func checkHostAction(i int, a HostAction) (map[string]any, error) {
	field := func(name string) string { return fmt.Sprintf("events[%d].%s", i, name) }
	switch {
	case a.Time.IsZero():
		return nil, invalid(field("time"), "%s is required (RFC 3339)", field("time"))
	case a.Method == "" || len(a.Method) > 16 || strings.IndexFunc(a.Method, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0:
		return nil, invalid(field("method"), "%s must be an HTTP method in capitals, like GET or POST", field("method"))
	case a.Path == "" || a.Path[0] != '/' || len(a.Path) > 2048 || hasUnsafe(a.Path):
		return nil, invalid(field("path"), "%s must be a path starting with / (at most 2048 characters, no control characters)", field("path"))
	case a.Status != 0 && (a.Status < 100 || a.Status > 599):
		return nil, invalid(field("status"), "%s must be an HTTP status between 100 and 599", field("status"))
	}
	d := map[string]any{"method": a.Method, "path": a.Path, "at": a.Time.UTC().Format(time.RFC3339Nano)}
	if a.Status != 0 {
		d["status"] = a.Status
	}
	if len(a.Request) > 0 {
		d["request"] = a.Request
	}
	if len(a.Details) > 0 {
		d["details"] = a.Details
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, invalid(fmt.Sprintf("events[%d]", i), "events[%d] cannot be stored: %v", i, err)
	}
	if len(b) > maxActionSize {
		return nil, refuse(CodeTooLarge, "events[%d] is %d KB; one event holds at most %d KB", i, len(b)>>10, maxActionSize>>10)
	}
	return d, nil
}

// checkActionTimes refuses actions timed outside [start, end + ActionGrace],
// where a running session's end is now.
func checkActionTimes(s Session, actions []HostAction, now time.Time) error {
	end := now
	if !s.Active() {
		end = s.Ended
	}
	last := end.Add(ActionGrace)
	for i, a := range actions {
		if a.Time.Before(s.Started) || a.Time.After(last) {
			return invalid(fmt.Sprintf("events[%d].time", i), "events[%d].time %s is outside session %s (%s to %s)",
				i, a.Time.UTC().Format(time.RFC3339), s.ID, s.Started.Format(time.RFC3339), last.Format(time.RFC3339))
		}
	}
	return nil
}

// IsSecretKey reports whether redaction treats a details key as naming a
// secret (its value is stored as [REDACTED]): for checks from outside,
// such as the HTTP API's fuzz test.
func IsSecretKey(k string) bool { return isSecretKey(k) }

// EndFromProduct ends a session from the host product: its impersonator
// pressed End in the product (hostkit's banner). Only the API key that
// entered the session may; the end reason is exit, as when the
// impersonator leaves from the console, and ended_by names the key
// ("product:NAME").
func (c *Core) EndFromProduct(p Principal, sessionID string) error {
	if _, err := c.allowed(p, product("a session is ended from a product with an API key")); err != nil {
		return err
	}
	return c.update(func(t *txn) error {
		s, err := enteredSession(t, sessionID, p.APIKey, "ends it")
		if err != nil {
			return err
		}
		if !s.Active() {
			return refuse(CodeSessionEnded, "session %s has already ended", s.ID)
		}
		// "product:NAME", not p.ref()'s "apikey:NAME", which the free-text
		// redaction would take for a secret.
		return t.endSession(s, EndExit, Ref{ID: "product:" + p.APIKey})
	})
}
