package ssh

import (
	"strings"
	"testing"

	"github.com/actas/actas/core"
)

// These are the acceptance tests of the SSH console: real clients with a
// PTY, typing the console's keys, against the real tui.

const banner = "You are impersonating Jane Doe"

// impersonateJane drives the owner's console: Users, search jane, the
// row's menu, Impersonate user, a reason, confirm.
func impersonateJane(tm *term) {
	tm.t.Helper()
	tm.waitText("Olivia Owner")
	tm.press("/")
	tm.typeText("jane")
	tm.press("enter")
	tm.waitText("jane@globex.test")
	tm.press(".")
	tm.waitText("Impersonate user")
	tm.press("i")
	tm.waitText("You will temporarily act as user Jane Doe")
	tm.waitText("Reason:") // the demo's policy requires a reason
	tm.typeText("ticket 42")
	tm.press("enter")
	tm.waitText(banner)
}

func activeSessionOf(w *world, email string) (core.Session, bool) {
	u, err := w.c.SystemUserByEmail(email)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.c.SystemActiveSessionOf(u.ID)
}

// lastSessionOf is the newest session the person started.
func lastSessionOf(w *world, email string) core.Session {
	w.t.Helper()
	u, err := w.c.SystemUserByEmail(email)
	if err != nil {
		w.t.Fatal(err)
	}
	list, err := w.c.Sessions(core.SystemPrincipal("test"), "", "", 100)
	if err != nil {
		w.t.Fatal(err)
	}
	var last core.Session
	for _, s := range list {
		if s.Impersonator == u.ID && s.Started.After(last.Started) || s.Impersonator == u.ID && last.ID == "" {
			last = s
		}
	}
	if last.ID == "" {
		w.t.Fatalf("%s has no session", email)
	}
	return last
}

func TestRequestAppearsLiveInApproversConsole(t *testing.T) {
	w := newWorld(t)
	approver := w.open(core.DemoApprover)
	approver.waitText("Avery Approver")
	approver.press("2")
	approver.waitText("Sam Support") // the demo's pending request

	support := w.open(core.DemoSupport)
	support.waitText("Sam Support")
	support.press("/")
	support.typeText("bob")
	support.press("enter")
	support.waitText("bob@globex.test")
	support.press(".")
	support.waitText("Request impersonation")
	support.press("r")
	support.waitText("Request impersonation of Bob Brown")
	support.typeText("ticket 4711 billing address")
	support.press("ctrl+s")
	support.waitText("sent to the approvers")

	// Nothing is pressed in the approver's console from here on.
	approver.waitText("ticket 4711 billing address")
}

func TestRevokedConsentRemovesTheBannerLive(t *testing.T) {
	w := newWorld(t)
	owner := w.open(core.DemoOwner)
	impersonateJane(owner)

	// A third person watches: the approver's console stays up meanwhile.
	approver := w.open(core.DemoApprover)
	approver.waitText("Avery Approver")

	jane := w.open(core.DemoJane)
	jane.waitText("Jane Doe")
	jane.press("5")
	jane.waitText("Impersonation consent")
	jane.press("r")
	jane.waitText("Revoke your consent?")
	jane.press("y")
	jane.waitText("Consent revoked")

	owner.waitGone(banner)
	s := lastSessionOf(w, core.DemoOwner)
	if s.Active() || s.EndReason != core.EndConsentRevoked {
		t.Fatalf("session %s: status %s, end reason %q; want ended with consent_revoked", s.ID, s.Status, s.EndReason)
	}
}

func TestDroppedConnectionEndsItsImpersonation(t *testing.T) {
	w := newWorld(t)
	owner := w.open(core.DemoOwner)
	impersonateJane(owner)
	if _, ok := activeSessionOf(w, core.DemoOwner); !ok {
		t.Fatal("no active session after impersonating")
	}
	owner.client.Close() // the network goes away; no key is pressed

	eventually(t, "the session to end", func() bool {
		_, ok := activeSessionOf(w, core.DemoOwner)
		return !ok
	})
	s := lastSessionOf(w, core.DemoOwner)
	if s.EndReason != core.EndDisconnect {
		t.Fatalf("end reason %q, want %q", s.EndReason, core.EndDisconnect)
	}
	var found bool
	for _, ev := range w.events(core.EvSessionEnded) {
		if ev.Session == s.ID && ev.Reason == string(core.EndDisconnect) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no session.ended event with reason disconnect for %s", s.ID)
	}
}

func TestShutdownEndsSessionsAndTellsClients(t *testing.T) {
	w := newWorld(t)
	owner := w.open(core.DemoOwner)
	impersonateJane(owner)
	other := w.open(core.DemoApprover)
	other.waitText("Avery Approver")

	if err := w.shutdown(); err != nil {
		t.Fatal(err)
	}
	s := lastSessionOf(w, core.DemoOwner)
	if s.Active() || s.EndReason != core.EndShutdown {
		t.Fatalf("session %s: status %s, end reason %q; want ended with server_shutdown", s.ID, s.Status, s.EndReason)
	}
	for _, tm := range []*term{owner, other} {
		if code := tm.waitExit(); code != 1 {
			t.Errorf("exit status %d, want 1", code)
		}
		if !strings.Contains(tm.scr.Written(), ShutdownMessage) {
			t.Errorf("client did not read %q; it read:\n%s", ShutdownMessage, tm.scr.Written())
		}
	}
}

func TestQuitEndsOwnImpersonationAsExit(t *testing.T) {
	w := newWorld(t)
	owner := w.open(core.DemoOwner)
	impersonateJane(owner)
	owner.press("ctrl+c")
	if code := owner.waitExit(); code != 0 {
		t.Fatalf("exit status %d after quitting, want 0", code)
	}
	eventually(t, "the session to end", func() bool {
		_, ok := activeSessionOf(w, core.DemoOwner)
		return !ok
	})
	if s := lastSessionOf(w, core.DemoOwner); s.EndReason != core.EndExit {
		t.Fatalf("end reason %q, want exit", s.EndReason)
	}
}
