package core_test

import (
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func TestExpiryOnTime(t *testing.T) {
	w := newWorld(t)
	w.consent("joe", 90*time.Minute)
	s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket")) // default 1h
	s2 := must(w.c.Start(w.as("owner"), w.u["joe"].ID, "ticket"))
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "x", time.Hour))

	w.clock.Advance(59 * time.Minute)
	if !must(w.c.SystemSession(s.ID)).Active() {
		t.Fatal("session ended early")
	}
	w.clock.Advance(time.Minute)
	got := must(w.c.SystemSession(s.ID))
	if got.Active() || got.EndReason != core.EndExpired || !got.Ended.Equal(s.Ends) {
		t.Fatalf("session at its end: %s %s %v", got.Status, got.EndReason, got.Ended)
	}
	if _, ok := w.c.SystemActiveSessionOf(w.u["lead"].ID); ok {
		t.Fatal("expired session still active in memory")
	}
	// The owner's first session on joe ended at its 1h; a second one is
	// capped by joe's 90m consent and ends with it.
	if got := must(w.c.SystemSession(s2.ID)); got.EndReason != core.EndExpired {
		t.Fatalf("owner's first session: %s", got.EndReason)
	}
	s2 = must(w.c.Start(w.as("owner"), w.u["joe"].ID, "ticket"))
	if !s2.Ends.Equal(t0.Add(90 * time.Minute)) {
		t.Fatalf("session not capped by consent: ends %v", s2.Ends)
	}
	w.clock.Advance(30 * time.Minute)
	if got := must(w.c.SystemSession(s2.ID)); got.Active() || got.EndReason != core.EndConsentExpired {
		t.Fatalf("session past consent: %s %s", got.Status, got.EndReason)
	}
	if len(w.events(core.EvConsentExpired)) != 1 {
		t.Fatalf("consent.expired events: %d", len(w.events(core.EvConsentExpired)))
	}
	if u := must(w.c.SystemUser(w.u["joe"].ID)); u.ConsentActive(w.clock.Now()) {
		t.Fatal("joe's consent still active")
	}
	w.clock.Advance(23 * time.Hour)
	if got := must(w.c.SystemRequest(r.ID)); got.Status != core.RequestExpired {
		t.Fatalf("request after its ttl: %s", got.Status)
	}
	if ev := w.events(core.EvRequestExpired); len(ev) != 1 || ev[0].Request != r.ID {
		t.Fatalf("request.expired events %v", ev)
	}
	w.verify()
}

func TestExpiryWhileDown(t *testing.T) {
	w := newWorld(t)
	s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "x", time.Hour))
	w.consent("bob", time.Hour)
	w.close()
	// Two days pass with the program down: nothing fires.
	w.clock.Advance(48 * time.Hour)
	w.open()
	if got := must(w.c.SystemSession(s.ID)); got.Active() || got.EndReason != core.EndExpired {
		t.Fatalf("session after downtime: %s %s", got.Status, got.EndReason)
	}
	if got := must(w.c.SystemRequest(r.ID)); got.Status != core.RequestExpired {
		t.Fatalf("request after downtime: %s", got.Status)
	}
	// bob's 1h consent lapsed while down; the 72h grants of newWorld run on.
	if ev := w.events(core.EvConsentExpired); len(ev) != 1 || ev[0].Subject.ID != w.u["bob"].ID {
		t.Fatalf("consent.expired after reopen: %+v", ev)
	}
	if len(w.c.SystemActiveSessions()) != 0 {
		t.Fatal("active sessions after reopen")
	}
	w.verify()
}

func TestConsentLimits(t *testing.T) {
	w := newWorld(t)
	for _, d := range []time.Duration{0, 30 * time.Minute, 169 * time.Hour} {
		if _, err := w.c.GrantConsent(w.as("bob"), d); core.CodeOf(err) != core.CodeInvalid {
			t.Errorf("consent for %v: %v", d, err)
		}
	}
	w.must(w.c.SetPolicy(w.cli, map[string]string{"max_duration": "24h", "default_duration": "1h"}))
	if _, err := w.c.GrantConsent(w.as("bob"), 48*time.Hour); core.CodeOf(err) != core.CodeInvalid {
		t.Errorf("consent above policy max: %v", err)
	}
	u := must(w.c.GrantConsent(w.as("bob"), 24*time.Hour))
	if !u.ConsentActive(w.clock.Now()) || !u.ConsentUntil.Equal(w.clock.Now().Add(24*time.Hour)) {
		t.Errorf("consent %+v", u)
	}
	if _, err := w.c.RevokeConsent(w.as("bob")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.c.RevokeConsent(w.as("bob")); core.CodeOf(err) != core.CodeConflict {
		t.Errorf("second revoke: %v", err)
	}
}
