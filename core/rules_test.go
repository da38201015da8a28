package core_test

import (
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func TestStartRuleMatrix(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(w *world)
		actor  string
		target string
		want   core.Code // "" = allowed
	}{
		{"policy disabled", func(w *world) {
			w.must(w.c.SetPolicy(w.cli, map[string]string{"enabled": "false"}))
		}, "lead", "jane", core.CodeFeatureDisabled},
		{"mode never", nil, "approver", "jane", core.CodeNotPermitted},
		{"impersonator suspended", func(w *world) {
			st := core.StatusSuspended
			w.must(w.c.UpdateUser(w.cli, "lead@acme.test", core.UserChange{Status: &st}))
		}, "lead", "jane", core.CodeNotPermitted},
		{"self", nil, "owner", "owner", core.CodeSelf},
		{"already impersonating", func(w *world) {
			w.must(w.c.Start(w.as("lead"), w.u["joe"].ID, "ticket"))
		}, "lead", "jane", core.CodeAlreadyImpersonating},
		{"target inactive", nil, "lead", "ina", core.CodeTargetInactive},
		{"target suspended", func(w *world) {
			st := core.StatusSuspended
			w.must(w.c.UpdateUser(w.cli, "jane@globex.test", core.UserChange{Status: &st}))
		}, "lead", "jane", core.CodeTargetInactive},
		{"target guest", nil, "lead", "guest", core.CodeTargetKind},
		{"target sysadmin", nil, "owner", "root", core.CodeSysadmin},
		{"higher privilege", nil, "lead", "approver", core.CodeHigherPrivilege},
		{"outside org", nil, "gstaff", "ivan", core.CodeOutsideOrg},
		{"no consent", nil, "lead", "bob", core.CodeNoConsent},
		{"needs approval", nil, "support", "jane", core.CodeNeedsApproval},
		{"direct with consent", nil, "lead", "jane", ""},
		{"owner on member", nil, "owner", "joe", ""},
		// Same level is allowed: only a higher role is off limits.
		{"support on support", func(w *world) { w.consent("gstaff", time.Hour) }, "lead", "gstaff", ""},
		{"admin on admin", func(w *world) {
			direct := core.ModeDirect
			w.must(w.c.UpdateUser(w.cli, "approver@acme.test", core.UserChange{Mode: &direct}))
			w.consent("approver2", time.Hour)
		}, "approver", "approver2", ""},
		{"subtree staff inside", nil, "gstaff", "jane", ""},
		{"consent not required", func(w *world) {
			w.must(w.c.SetPolicy(w.cli, map[string]string{"require_consent": "false"}))
		}, "lead", "bob", ""},
		{"request mode with approval", func(w *world) {
			r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "ticket 1", time.Hour))
			w.must(w.c.Decide(w.as("approver"), r.ID, true, 2*time.Hour, ""))
		}, "support", "jane", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			before := len(w.c.SystemActiveSessions())
			canErr := w.actionsOn(w.as(tc.actor), w.u[tc.target].ID).Impersonate
			s, err := w.c.Start(w.as(tc.actor), w.u[tc.target].ID, "test")
			if got := core.CodeOf(err); got != tc.want {
				t.Fatalf("Start code = %q (%v), want %q", got, err, tc.want)
			}
			if got := core.CodeOf(canErr); got != tc.want {
				t.Fatalf("ActionsOn.Impersonate code = %q, want %q (they must agree)", got, tc.want)
			}
			ev := w.lastEvent()
			if tc.want != "" {
				if err.Error() == "" || err.Error() == string(tc.want) {
					t.Errorf("refusal has no human sentence: %q", err.Error())
				}
				if ev.Type != core.EvSessionDenied || ev.Reason != string(tc.want) || ev.Result != core.ResultDenied {
					t.Errorf("last event = %s/%s/%s, want session.denied/%s/denied", ev.Type, ev.Reason, ev.Result, tc.want)
				}
				if ev.Actor.ID != w.u[tc.actor].ID || ev.Subject.ID != w.u[tc.target].ID {
					t.Errorf("denied event actor/subject = %v/%v", ev.Actor, ev.Subject)
				}
				if n := len(w.c.SystemActiveSessions()); n != before {
					t.Errorf("active sessions = %d after a refusal, want %d", n, before)
				}
				if _, ok := w.c.SystemActiveSessionOf(w.u[tc.actor].ID); ok && tc.want != core.CodeAlreadyImpersonating {
					t.Errorf("refused actor holds a session")
				}
			} else {
				if ev.Type != core.EvSessionStarted || ev.Session != s.ID || ev.Actor.ID != w.u[tc.actor].ID || ev.Subject.ID != w.u[tc.target].ID {
					t.Errorf("last event = %+v, want session.started for %s", ev, s.ID)
				}
				got, ok := w.c.SystemActiveSessionOf(w.u[tc.actor].ID)
				if !ok || got.ID != s.ID || got.Target != w.u[tc.target].ID {
					t.Errorf("active session = %+v %v", got, ok)
				}
			}
			w.verify()
		})
	}
}

func TestSessionEndTime(t *testing.T) {
	w := newWorld(t)
	// Consent shorter than the default duration caps the session.
	w.consent("joe", time.Hour)
	w.clock.Advance(30 * time.Minute)
	s := must(w.c.Start(w.as("lead"), w.u["joe"].ID, "ticket"))
	if want := w.clock.Now().Add(30 * time.Minute); !s.Ends.Equal(want) {
		t.Errorf("ends %v, want consent expiry %v", s.Ends, want)
	}
	w.must(nil, w.c.End(w.as("lead"), core.EndExit))
	// An approved duration applies, capped by max_duration.
	w.must(w.c.SetPolicy(w.cli, map[string]string{"max_duration": "48h"}))
	w.consent("jane", 48*time.Hour)
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "help", 3*time.Hour))
	w.must(w.c.Decide(w.as("approver"), r.ID, true, 5*time.Hour, "ok"))
	w.clock.Advance(10 * time.Minute) // the clock starts when the session starts
	s = must(w.c.Start(w.as("support"), w.u["jane"].ID, "ticket"))
	if got := s.Ends.Sub(s.Started); got != 5*time.Hour {
		t.Errorf("session length %v, want the approved 5h", got)
	}
	if s.Request != r.ID {
		t.Errorf("session request %q, want %q", s.Request, r.ID)
	}
}

func TestEndingSessions(t *testing.T) {
	t.Run("exit", func(t *testing.T) {
		w := newWorld(t)
		s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
		w.clock.Advance(5 * time.Minute)
		w.must(nil, w.c.End(w.as("lead"), core.EndExit))
		got := must(w.c.SystemSession(s.ID))
		if got.Active() || got.EndReason != core.EndExit || !got.Ended.Equal(w.clock.Now()) {
			t.Fatalf("session after exit: %+v", got)
		}
		if ev := w.lastEvent(); ev.Type != core.EvSessionEnded || ev.Reason != "exit" {
			t.Fatalf("last event %s %s", ev.Type, ev.Reason)
		}
	})
	t.Run("consent revoked ends every session on the user", func(t *testing.T) {
		w := newWorld(t)
		s1 := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
		s2 := must(w.c.Start(w.as("owner"), w.u["jane"].ID, "ticket"))
		s3 := must(w.c.Start(w.as("gstaff"), w.u["joe"].ID, "ticket"))
		sub := w.c.Hub().Subscribe(64)
		defer sub.Close()
		w.must(w.c.RevokeConsent(w.as("jane")))
		for _, id := range []string{s1.ID, s2.ID} {
			if got := must(w.c.SystemSession(id)); got.Active() || got.EndReason != core.EndConsentRevoked {
				t.Errorf("%s: %s %s", id, got.Status, got.EndReason)
			}
		}
		if got := must(w.c.SystemSession(s3.ID)); !got.Active() {
			t.Errorf("joe's session ended too")
		}
		if len(w.events(core.EvConsentRevoked)) != 1 {
			t.Errorf("want one consent.revoked event")
		}
		ended := 0
		for len(sub.C) > 0 {
			if ch := <-sub.C; ch.Kind == core.ChangeSession && !ch.Session.Active() {
				ended++
			}
		}
		if ended != 2 {
			t.Errorf("published %d session ends, want 2", ended)
		}
		if _, err := w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"); core.CodeOf(err) != core.CodeNoConsent {
			t.Errorf("restart after revoke: %v", err)
		}
	})
	for _, st := range []core.Status{core.StatusSuspended, core.StatusDeleted} {
		t.Run("target "+string(st), func(t *testing.T) {
			w := newWorld(t)
			s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
			w.must(w.c.UpdateUser(w.cli, "jane@globex.test", core.UserChange{Status: &st}))
			got := must(w.c.SystemSession(s.ID))
			if got.Active() || string(got.EndReason) != "user_"+string(st) {
				t.Fatalf("session: %s %s", got.Status, got.EndReason)
			}
		})
	}
	t.Run("disconnect and shutdown", func(t *testing.T) {
		w := newWorld(t)
		s1 := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
		s2 := must(w.c.Start(w.as("owner"), w.u["joe"].ID, "ticket"))
		w.must(nil, w.c.EndConn("conn-lead", core.EndDisconnect))
		if got := must(w.c.SystemSession(s1.ID)); got.EndReason != core.EndDisconnect {
			t.Errorf("disconnect: %s", got.EndReason)
		}
		w.must(nil, w.c.Shutdown())
		if got := must(w.c.SystemSession(s2.ID)); got.EndReason != core.EndShutdown {
			t.Errorf("shutdown: %s", got.EndReason)
		}
	})
	t.Run("disconnect kept when policy says so", func(t *testing.T) {
		w := newWorld(t)
		w.must(w.c.SetPolicy(w.cli, map[string]string{"end_on_disconnect": "false"}))
		s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
		w.must(nil, w.c.EndConn("conn-lead", core.EndDisconnect))
		if got := must(w.c.SystemSession(s.ID)); !got.Active() {
			t.Errorf("session ended on disconnect against policy")
		}
	})
	t.Run("owner terminates", func(t *testing.T) {
		w := newWorld(t)
		s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
		if err := w.c.Terminate(w.as("gstaff"), s.ID); core.CodeOf(err) != core.CodeNotPermitted {
			t.Errorf("support terminated: %v", err)
		}
		w.must(nil, w.c.Terminate(w.as("owner"), s.ID))
		if got := must(w.c.SystemSession(s.ID)); got.EndReason != core.EndTerminated {
			t.Errorf("terminate: %s", got.EndReason)
		}
	})
}

func TestWhileImpersonating(t *testing.T) {
	w := newWorld(t)
	other := must(w.c.Start(w.as("lead"), w.u["joe"].ID, "ticket"))
	s := must(w.c.Start(w.as("owner"), w.u["jane"].ID, "ticket"))
	owner := w.as("owner")
	refusals := map[string]error{}
	refusals["terminate"] = w.c.Terminate(owner, other.ID)
	refusals["remove key"] = w.c.RemoveKey(owner, "SHA256:owner")
	_, refusals["policy"] = w.c.SetPolicy(owner, map[string]string{"max_duration": "24h"})
	_, refusals["user"] = w.c.CreateUser(owner, core.NewUser{Email: "x@acme.test", Name: "X", Role: core.RoleMember})
	_, refusals["consent"] = w.c.GrantConsent(owner, time.Hour)
	_, refusals["request"] = w.c.CreateRequest(owner, w.u["joe"].ID, "x", time.Hour)
	_, refusals["second"] = w.c.Start(owner, w.u["joe"].ID, "ticket")
	for what, err := range refusals {
		want := core.CodeImpersonating
		if what == "second" {
			want = core.CodeAlreadyImpersonating
		}
		if core.CodeOf(err) != want {
			t.Errorf("%s while impersonating: %v, want %s", what, err, want)
		}
	}
	blocked := w.events(core.EvActionBlocked)
	if len(blocked) != 6 {
		t.Fatalf("action.blocked events = %d, want 6", len(blocked))
	}
	if got := must(w.c.SystemSession(other.ID)); !got.Active() {
		t.Errorf("terminated while impersonating: %+v", got)
	}
	for _, ev := range blocked {
		if ev.Actor.ID != w.u["owner"].ID || ev.Subject.ID != w.u["jane"].ID || ev.Session != s.ID {
			t.Errorf("blocked event %+v: actor must be the real person, subject the target", ev)
		}
	}
	ev := must(w.c.RecordAction(owner, "open invoices", map[string]any{"page": "/billing"}))
	if ev.Actor.ID != w.u["owner"].ID || ev.Subject.ID != w.u["jane"].ID || ev.Session != s.ID || ev.Type != core.EvActionPerformed {
		t.Errorf("action event %+v", ev)
	}
	if got := must(w.c.SystemSession(s.ID)); got.Events < 6 {
		t.Errorf("session counts %d events", got.Events)
	}
}

// Losing a role takes away what it showed at once: the lists, the audit
// log and the live feed follow the person's current role, not the one
// they logged in with.
func TestDemotedLosesVisibility(t *testing.T) {
	w := newWorld(t)
	lead, approver := w.as("lead"), w.as("approver") // logged in as staff
	feed := w.c.Subscribe(lead, 64)
	defer feed.Close()
	s := must(w.c.Start(w.as("owner"), w.u["jane"].ID, "ticket"))
	if got := must(w.c.Sessions(lead, "", "", 10)); len(got) != 1 || got[0].ID != s.ID {
		t.Fatalf("staff sees sessions %v, want %s", got, s.ID)
	}
	if page := must(w.c.Audit(approver, core.AuditQuery{Session: s.ID}, 0, true, 10)); len(page.Events) == 0 {
		t.Fatalf("an admin reads no audit of %s", s.ID)
	}
	if !drained(feed, s.ID) {
		t.Fatalf("staff's feed did not carry session %s", s.ID)
	}
	member, never, no := core.RoleMember, core.ModeNever, false
	for _, email := range []string{"lead@acme.test", "approver@acme.test"} {
		w.must(w.c.UpdateUser(w.cli, email, core.UserChange{Role: &member, Mode: &never, Approver: &no}))
	}
	drained(feed, "")
	if got, err := w.c.Sessions(lead, "", "", 10); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("demoted person still lists sessions: %v %v", got, err)
	}
	if got := must(w.c.VisibleActiveSessions(lead, w.u["lead"].ID)); len(got) != 0 {
		t.Errorf("demoted person sees running sessions %v", got)
	}
	if page, err := w.c.Audit(approver, core.AuditQuery{Session: s.ID}, 0, true, 10); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("demoted admin still reads the session's audit: %d events, %v", len(page.Events), err)
	}
	if page := must(w.c.Audit(approver, core.AuditQuery{}, 0, true, 100)); len(page.Events) == 0 ||
		!allAbout(page.Events, w.u["approver"].ID) {
		t.Errorf("demoted admin reads the whole log: %d events", len(page.Events))
	}
	w.must(nil, w.c.End(w.as("owner"), core.EndExit))
	s2 := must(w.c.Start(w.as("owner"), w.u["joe"].ID, "ticket2"))
	if drained(feed, s2.ID) || drained(feed, s.ID) {
		t.Errorf("demoted person's feed still carries others' sessions")
	}
}

// drained empties sub and reports whether a change about session id (a
// session change or an audit event of it) was among what it held.
func drained(sub *core.Subscription, id string) bool {
	found := false
	for {
		select {
		case ch := <-sub.C:
			if id != "" && ((ch.Session != nil && ch.Session.ID == id) || (ch.Event != nil && ch.Event.Session == id)) {
				found = true
			}
		default:
			return found
		}
	}
}

func allAbout(evs []core.Event, id string) bool {
	for _, ev := range evs {
		if ev.Subject.ID != id {
			return false
		}
	}
	return true
}
