package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func TestRequestValidation(t *testing.T) {
	w := newWorld(t)
	jane := w.u["jane"].ID
	for _, tc := range []struct {
		name   string
		reason string
		d      time.Duration
		field  string
	}{
		{"empty reason", "  ", time.Hour, "reason"},
		{"long reason", strings.Repeat("x", 501), time.Hour, "reason"},
		{"control chars", "help\x1b[2J", time.Hour, "reason"},
		{"too short", "ok", 30 * time.Minute, "duration"},
		{"over max", "ok", 169 * time.Hour, "duration"},
	} {
		_, err := w.c.CreateRequest(w.as("support"), jane, tc.reason, tc.d)
		var e *core.Error
		if !asErr(err, &e) || e.Code != core.CodeInvalid || e.Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if _, err := w.c.CreateRequest(w.as("support"), w.u["ina"].ID, "x", time.Hour); core.CodeOf(err) != core.CodeTargetInactive {
		t.Errorf("request for inactive user: %v", err)
	}
	if _, err := w.c.CreateRequest(w.as("lead"), jane, "x", time.Hour); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("request by direct-mode staff: %v", err)
	}
	if _, err := w.c.CreateRequest(w.as("support"), jane, strings.Repeat("é", 500), time.Hour); err != nil {
		t.Errorf("500-character reason refused: %v", err)
	}
	if _, err := w.c.CreateRequest(w.as("support"), jane, "again", time.Hour); core.CodeOf(err) != core.CodeConflict {
		t.Errorf("second pending request for the same pair: %v", err)
	}
}

func TestRequestLifecycle(t *testing.T) {
	w := newWorld(t)
	jane := w.u["jane"].ID
	r := must(w.c.CreateRequest(w.as("support"), jane, "ticket 42", 2*time.Hour))
	if r.Status != core.RequestPending || !r.Expires.Equal(t0.Add(24*time.Hour)) && r.Expires.Sub(r.Created) != 24*time.Hour {
		t.Fatalf("new request %+v", r)
	}
	// support is an approver too, but not of their own request.
	if _, err := w.c.Decide(w.as("support"), r.ID, true, 0, ""); core.CodeOf(err) != core.CodeOwnRequest {
		t.Fatalf("self-approval: %v", err)
	}
	if _, err := w.c.Decide(w.as("lead"), r.ID, true, 0, ""); core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("approval by a non-approver: %v", err)
	}
	if _, err := w.c.Decide(w.as("approver"), r.ID, true, 200*time.Hour, ""); core.CodeOf(err) != core.CodeInvalid {
		t.Fatalf("approval beyond max: %v", err)
	}
	w.clock.Advance(time.Hour)
	r = must(w.c.Decide(w.as("approver"), r.ID, true, 3*time.Hour, "ok for 3h"))
	if r.Status != core.RequestApproved || r.Duration != 3*time.Hour || len(r.Decisions) != 1 || r.Decisions[0].Fingerprint != "SHA256:approver" {
		t.Fatalf("approved request %+v", r)
	}
	ev := w.lastEvent()
	if ev.Type != core.EvRequestApproved || ev.Actor.ID != w.u["approver"].ID || ev.Request != r.ID {
		t.Fatalf("approval event %+v", ev)
	}
	if _, err := w.c.Decide(w.as("approver2"), r.ID, false, 0, "late"); core.CodeOf(err) != core.CodeAlreadyDecided {
		t.Fatalf("deciding a decided request: %v", err)
	}
	// Used once.
	s := must(w.c.Start(w.as("support"), jane, "ticket"))
	if s.Request != r.ID {
		t.Fatalf("session did not use the request")
	}
	w.must(nil, w.c.End(w.as("support"), core.EndExit))
	if _, err := w.c.Start(w.as("support"), jane, "ticket"); core.CodeOf(err) != core.CodeNeedsApproval {
		t.Fatalf("approval reused: %v", err)
	}
	w.verify()
}

func TestTwoApprovers(t *testing.T) {
	w := newWorld(t)
	w.must(w.c.SetPolicy(w.cli, map[string]string{"approvals_required": "2"}))
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "needs two", time.Hour))
	r = must(w.c.Decide(w.as("approver"), r.ID, true, 0, ""))
	if r.Status != core.RequestPending {
		t.Fatalf("one of two approvals made it %s", r.Status)
	}
	if _, err := w.c.Start(w.as("support"), w.u["jane"].ID, "ticket"); core.CodeOf(err) != core.CodeNeedsApproval {
		t.Fatalf("started with one of two approvals: %v", err)
	}
	if _, err := w.c.Decide(w.as("approver"), r.ID, true, 0, ""); core.CodeOf(err) != core.CodeAlreadyApproved {
		t.Fatalf("same approver twice: %v", err)
	}
	r = must(w.c.Decide(w.as("approver2"), r.ID, true, 0, ""))
	if r.Status != core.RequestApproved || len(r.Decisions) != 2 {
		t.Fatalf("after two approvers: %+v", r)
	}
	must(w.c.Start(w.as("support"), w.u["jane"].ID, "ticket"))
}

func TestDenyAndCancel(t *testing.T) {
	w := newWorld(t)
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "a", time.Hour))
	r = must(w.c.Decide(w.as("approver"), r.ID, false, 0, "not now"))
	if r.Status != core.RequestDenied || w.lastEvent().Type != core.EvRequestDenied {
		t.Fatalf("deny: %s", r.Status)
	}
	r2 := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "b", time.Hour))
	if _, err := w.c.Cancel(w.as("approver"), r2.ID); core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("cancel by someone else: %v", err)
	}
	r2 = must(w.c.Cancel(w.as("support"), r2.ID))
	if r2.Status != core.RequestCancelled {
		t.Fatalf("cancel: %s", r2.Status)
	}
}

func TestApprovalOfIneligibleTargetRefused(t *testing.T) {
	w := newWorld(t)
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "a", time.Hour))
	st := core.StatusInactive
	w.must(w.c.UpdateUser(w.cli, "jane@globex.test", core.UserChange{Status: &st}))
	if _, err := w.c.Decide(w.as("approver"), r.ID, true, 0, ""); core.CodeOf(err) != core.CodeTargetInactive {
		t.Fatalf("approval of an inactive target: %v", err)
	}
	if got := must(w.c.SystemRequest(r.ID)); got.Status != core.RequestPending || len(got.Decisions) != 0 {
		t.Fatalf("refused approval changed the request: %+v", got)
	}
}
