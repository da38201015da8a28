package core_test

import (
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// TestCrashLeftoversEnd: a session found active when a writer opens the
// database belonged to a process that is gone; it ends server_crash before
// anyone can use it, and the impersonator starts out as themselves.
func TestCrashLeftoversEnd(t *testing.T) {
	w := newWorld(t)
	s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket")) // ends in 1h
	w.close()                                                    // as after kill -9: the session is still active on disk
	w.clock.Advance(time.Minute)
	w.open()
	got := must(w.c.SystemSession(s.ID))
	if got.Active() || got.EndReason != "server_crash" {
		t.Fatalf("session after restart: %s %s", got.Status, got.EndReason)
	}
	if _, ok := w.c.SystemActiveSessionOf(w.u["lead"].ID); ok {
		t.Fatal("the impersonator's session resumed after a restart")
	}
	if ev := w.lastEvent(); ev.Type != core.EvSessionEnded || ev.Session != s.ID || ev.Reason != "server_crash" {
		t.Fatalf("last event %s %s %s", ev.Type, ev.Session, ev.Reason)
	}
	w.verify()
}

// TestKillSwitches: each change that takes away the right to impersonate
// ends the running sessions at once, in the transaction of the change.
func TestKillSwitches(t *testing.T) {
	never, member := core.ModeNever, core.RoleMember
	suspended, inactive := core.StatusSuspended, core.StatusInactive
	for _, tc := range []struct {
		name   string
		change func(w *world)
		want   core.EndReason
	}{
		{"policy disabled", func(w *world) {
			w.must(w.c.SetPolicy(w.cli, map[string]string{"enabled": "false"}))
		}, "policy_disabled"},
		{"mode never", func(w *world) {
			w.must(w.c.UpdateUser(w.cli, "lead@acme.test", core.UserChange{Mode: &never}))
		}, "permission_removed"},
		{"role below support", func(w *world) {
			w.must(w.c.UpdateUser(w.cli, "lead@acme.test", core.UserChange{Role: &member, Mode: &never}))
		}, "permission_removed"},
		{"suspended", func(w *world) {
			w.must(w.c.UpdateUser(w.cli, "lead@acme.test", core.UserChange{Status: &suspended}))
		}, "user_suspended"},
		{"inactive", func(w *world) {
			w.must(w.c.UpdateUser(w.cli, "lead@acme.test", core.UserChange{Status: &inactive}))
		}, "user_inactive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
			n := len(w.events(core.EvSessionEnded))
			tc.change(w)
			got := must(w.c.SystemSession(s.ID))
			if got.Active() || got.EndReason != tc.want {
				t.Fatalf("session after %s: %s %s, want ended %s", tc.name, got.Status, got.EndReason, tc.want)
			}
			if _, ok := w.c.SystemActiveSessionOf(w.u["lead"].ID); ok {
				t.Fatal("still active in memory")
			}
			if ev := w.events(core.EvSessionEnded); len(ev) != n+1 || ev[len(ev)-1].Reason != string(tc.want) {
				t.Fatalf("session.ended events: %d (had %d)", len(ev), n)
			}
			w.verify()
		})
	}
}

// TestLowerMaxDurationShortensSessions: a lower max_duration brings the end
// of running sessions forward; one that already ran longer ends now.
func TestLowerMaxDurationShortensSessions(t *testing.T) {
	w := newWorld(t)
	w.must(w.c.SetPolicy(w.cli, map[string]string{"default_duration": "72h"}))
	long := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
	w.clock.Advance(3 * time.Hour)
	fresh := must(w.c.Start(w.as("owner"), w.u["joe"].ID, "ticket"))
	w.clock.Advance(30 * time.Minute)
	w.must(w.c.SetPolicy(w.cli, map[string]string{"max_duration": "2h", "default_duration": "1h"}))

	if got := must(w.c.SystemSession(long.ID)); got.Active() || got.EndReason != core.EndExpired {
		t.Fatalf("a session older than the new max: %s %s", got.Status, got.EndReason)
	}
	got := must(w.c.SystemSession(fresh.ID))
	if !got.Active() || !got.Ends.Equal(fresh.Started.Add(2*time.Hour)) {
		t.Fatalf("a younger session: %s, ends %v, want %v", got.Status, got.Ends, fresh.Started.Add(2*time.Hour))
	}
	w.clock.Advance(90 * time.Minute)
	if got := must(w.c.SystemSession(fresh.ID)); got.Active() || got.EndReason != core.EndExpired {
		t.Fatalf("at its new end: %s %s", got.Status, got.EndReason)
	}
	w.verify()
}

// TestNoChainingEitherWay: someone impersonating cannot be impersonated.
func TestNoChainingEitherWay(t *testing.T) {
	w := newWorld(t)
	w.consent("lead", 72*time.Hour)
	must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
	_, err := w.c.Start(w.as("owner"), w.u["lead"].ID, "ticket")
	if core.CodeOf(err) != "target_impersonating" {
		t.Fatalf("owner → lead while lead → jane: %v", err)
	}
	if ev := w.lastEvent(); ev.Type != core.EvSessionDenied || ev.Reason != "target_impersonating" {
		t.Fatalf("last event %s %s", ev.Type, ev.Reason)
	}
	if err := w.actionsOn(w.as("owner"), w.u["lead"].ID).Impersonate; core.CodeOf(err) != "target_impersonating" {
		t.Fatalf("ActionsOn.Impersonate: %v", err)
	}
}
