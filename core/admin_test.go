package core_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/actas/actas/core"
)

func TestActionsOnAdmin(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		who, target string
		action      core.AdminAction
		want        core.Code // "" = allowed
	}{
		{"support", "jane", core.AdminSuspend, core.CodeNotPermitted},
		{"approver", "jane", core.AdminDelete, core.CodeNotPermitted},
		{"jane", "bob", core.AdminKeys, core.CodeNotPermitted},
		{"owner", "owner", core.AdminSuspend, core.CodeSelf},
		{"owner", "owner", core.AdminDelete, core.CodeSelf},
		{"owner", "owner", core.AdminEdit, ""},
		{"owner", "owner", core.AdminKeys, ""},
		{"owner", "root", core.AdminSuspend, core.CodeHigherPrivilege},
		{"owner", "root", core.AdminEdit, core.CodeHigherPrivilege},
		{"owner", "jane", core.AdminSuspend, ""},
		{"owner", "ina", core.AdminDelete, ""},
		{"owner", "support", core.AdminEdit, ""},
		{"owner", "jane", core.AdminKeys, ""},
		{"root", "owner", core.AdminSuspend, ""}, // root stays an active owner
	} {
		err := w.actionsOn(w.as(tc.who), w.u[tc.target].ID).Admin[tc.action]
		if got := core.CodeOf(err); got != tc.want || (err != nil && err.Error() == "") {
			t.Errorf("%s %s %s: %v (code %q), want %q", tc.who, tc.action, tc.target, err, got, tc.want)
		}
	}
	// Nothing was recorded by asking.
	if n := len(w.events(core.EvActionBlocked)); n != 0 {
		t.Errorf("ActionsOn recorded %d events", n)
	}
}

func TestLastOwner(t *testing.T) {
	w := newWorld(t)
	suspended, deleted, member, active := core.StatusSuspended, core.StatusDeleted, core.RoleAdmin, core.StatusActive
	// root (a sysadmin) administers too; with root gone, owner is the last.
	w.must(w.c.UpdateUser(w.cli, "root@acme.test", core.UserChange{Status: &suspended}))
	for _, ch := range []core.UserChange{{Status: &suspended}, {Status: &deleted}, {Role: &member}} {
		_, err := w.c.UpdateUser(w.cli, "owner@acme.test", ch)
		if core.CodeOf(err) != core.CodeLastOwner || !strings.Contains(err.Error(), "last active owner") {
			t.Errorf("change %+v of the last owner: %v", ch, err)
		}
	}
	if err := w.actionsOn(w.as("root"), w.u["owner"].ID).Admin[core.AdminSuspend]; err == nil {
		// root is suspended: not permitted at all; still, not allowed.
		t.Error("a suspended sysadmin may suspend the last owner")
	}
	if u := must(w.c.SystemUserByEmail("owner@acme.test")); u.Status != core.StatusActive || u.Role != core.RoleOwner {
		t.Fatalf("refused changes left the owner %s %s", u.Role, u.Status)
	}
	// A second owner makes it possible.
	w.must(w.c.UpdateUser(w.cli, "root@acme.test", core.UserChange{Status: &active}))
	w.must(w.c.UpdateUser(w.cli, "owner@acme.test", core.UserChange{Status: &suspended}))
	w.verify()
}

func TestRefusalIsAudited(t *testing.T) {
	w := newWorld(t)
	_, err := w.c.CreateUser(w.as("support"), core.NewUser{Email: "x@acme.test", Name: "X", Org: "Acme"})
	if core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("support added a user: %v", err)
	}
	ev := w.lastEvent()
	if ev.Type != core.EvActionBlocked || ev.Actor.Email != "support@acme.test" || ev.Result != core.ResultDenied ||
		ev.Reason != string(core.CodeNotPermitted) || !strings.Contains(ev.DetailsText(), "adding a user") {
		t.Errorf("refusal recorded as %+v %s", ev, ev.DetailsText())
	}
	if err := w.c.Authorize(w.as("jane"), core.CapAdmin, "listing users"); core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("jane may list users: %v", err)
	}
	if ev := w.lastEvent(); ev.Type != core.EvActionBlocked || ev.Actor.Email != "jane@globex.test" {
		t.Errorf("Authorize refusal recorded as %+v", ev)
	}
	if err := w.c.Authorize(w.as("owner"), core.CapAdmin, "listing users"); err != nil {
		t.Errorf("owner may not list users: %v", err)
	}
}

// logouts collects the Logout changes published on the hub.
func logouts(w *world) func() []core.Logout {
	sub := w.c.Hub().Subscribe(256)
	w.t.Cleanup(sub.Close)
	return func() []core.Logout {
		var out []core.Logout
		for {
			select {
			case ch := <-sub.C:
				if ch.Kind == core.ChangeLogout {
					out = append(out, *ch.Logout)
				}
			default:
				return out
			}
		}
	}
}

func TestSuspendEndsSessionsOnBothSides(t *testing.T) {
	w := newWorld(t)
	got := logouts(w)
	s1 := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket 1"))
	s2 := must(w.c.Start(w.as("gstaff"), w.u["joe"].ID, "ticket 2"))
	suspended, deleted := core.StatusSuspended, core.StatusDeleted
	// The target side: suspending Jane ends the session on Jane.
	w.must(w.c.UpdateUser(w.as("owner"), "jane@globex.test", core.UserChange{Status: &suspended}))
	if s := must(w.c.SystemSession(s1.ID)); s.Active() || s.EndReason != "user_suspended" {
		t.Errorf("session on suspended Jane: %s %s", s.Status, s.EndReason)
	}
	// The impersonator side: deleting Gail ends her session on Joe.
	w.must(w.c.UpdateUser(w.cli, "staff@globex.test", core.UserChange{Status: &deleted}))
	if s := must(w.c.SystemSession(s2.ID)); s.Active() || s.EndReason != "user_deleted" {
		t.Errorf("session of deleted Gail: %s %s", s.Status, s.EndReason)
	}
	lo := got()
	if len(lo) != 2 || lo[0].User != w.u["jane"].ID || lo[0].Reason != "user_suspended" || lo[0].Fingerprint != "" ||
		!strings.Contains(lo[0].Message, "suspended") || !strings.Contains(lo[0].Message, "owner@acme.test") ||
		lo[1].User != w.u["gstaff"].ID || lo[1].Reason != "user_deleted" || !strings.Contains(lo[1].Message, "cli:test") {
		t.Errorf("logouts = %+v", lo)
	}
}

func TestSuspendImpersonatorEndsTheirSession(t *testing.T) {
	w := newWorld(t)
	got := logouts(w)
	s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
	suspended := core.StatusSuspended
	w.must(w.c.UpdateUser(w.as("owner"), "lead@acme.test", core.UserChange{Status: &suspended}))
	if s := must(w.c.SystemSession(s.ID)); s.Active() || s.EndReason != "user_suspended" {
		t.Errorf("session of suspended lead: %s %s", s.Status, s.EndReason)
	}
	if lo := got(); len(lo) != 1 || lo[0].User != w.u["lead"].ID {
		t.Errorf("logouts = %+v", lo)
	}
}

func TestRemovingTheLoginKey(t *testing.T) {
	w := newWorld(t)
	got := logouts(w)
	line := func() string {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		pk, _ := ssh.NewPublicKey(pub)
		return string(ssh.MarshalAuthorizedKey(pk))
	}
	k1 := must(w.c.AddKey(w.cli, "lead@acme.test", line()))
	k2 := must(w.c.AddKey(w.cli, "lead@acme.test", line()))
	lead := must(w.c.SystemUserByEmail("lead@acme.test"))
	p1 := must(w.c.Login(lead, k1.Fingerprint, "remote", "conn-1"))
	p2 := must(w.c.Login(lead, k2.Fingerprint, "remote", "conn-2"))
	s := must(w.c.Start(p1, w.u["jane"].ID, "ticket"))
	// Removing the other key leaves the session alone.
	if err := w.c.RemoveKey(w.as("owner"), k2.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if s := must(w.c.SystemSession(s.ID)); !s.Active() {
		t.Errorf("removing another key ended the session: %s", s.EndReason)
	}
	_ = p2
	if err := w.c.RemoveKey(w.as("owner"), k1.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if s := must(w.c.SystemSession(s.ID)); s.Active() || s.EndReason != core.EndKeyRemoved {
		t.Errorf("session after its key was removed: %s %s", s.Status, s.EndReason)
	}
	lo := got()
	if len(lo) != 2 || lo[1].Fingerprint != k1.Fingerprint || lo[1].Reason != core.EndKeyRemoved ||
		!strings.Contains(lo[1].Message, "key you logged in with was removed") {
		t.Errorf("logouts = %+v", lo)
	}
	// Someone else's key is refused to a non-owner, and the attempt is on record.
	k3 := must(w.c.AddKey(w.cli, "jane@globex.test", line()))
	if err := w.c.RemoveKey(w.as("support"), k3.Fingerprint); core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("support removed Jane's key: %v", err)
	}
	if ev := w.lastEvent(); ev.Type != core.EvActionBlocked || ev.Actor.Email != "support@acme.test" {
		t.Errorf("refusal recorded as %+v", ev)
	}
	w.clock.Advance(time.Minute)
	w.verify()
}
