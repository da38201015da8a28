package core_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// world is a small database with people for every rule.
type world struct {
	t     testing.TB
	path  string
	db    *store.DB
	c     *core.Core
	clock *core.FakeClock
	cli   core.Principal
	u     map[string]core.User // by short name
	opt   core.Options         // for open; the clock is always clock
}

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, path: filepath.Join(t.TempDir(), "actas.db"), clock: core.NewFakeClock(t0),
		cli: core.SystemPrincipal("test"), u: map[string]core.User{}}
	w.open()
	t.Cleanup(w.close)
	w.must(w.c.Init(w.cli, "owner@acme.test", "Olivia Owner", "Acme"))
	w.must(w.c.CreateOrg(w.cli, "Globex", ""))
	w.must(w.c.CreateOrg(w.cli, "Initech", ""))
	w.must(w.c.SetPolicy(w.cli, map[string]string{"enabled": "true"}))
	direct, request := core.ModeDirect, core.ModeRequest
	yes := true
	w.must(w.c.UpdateUser(w.cli, "owner@acme.test", core.UserChange{Mode: &direct}))
	for name, nu := range map[string]core.NewUser{
		"approver":  {Email: "approver@acme.test", Name: "Avery", Role: core.RoleAdmin, Org: "Acme", Approver: true},
		"approver2": {Email: "approver2@acme.test", Name: "Abe", Role: core.RoleAdmin, Org: "Acme", Approver: true},
		"support":   {Email: "support@acme.test", Name: "Sam", Role: core.RoleSupport, Org: "Acme", Mode: request, Approver: yes},
		"lead":      {Email: "lead@acme.test", Name: "Lee", Role: core.RoleSupport, Org: "Acme", Mode: direct},
		"root":      {Email: "root@acme.test", Name: "Root", Role: core.RoleSysadmin, Org: "Acme"},
		"gstaff":    {Email: "staff@globex.test", Name: "Gail", Role: core.RoleSupport, Org: "Globex", Mode: direct},
		"jane":      {Email: "jane@globex.test", Name: "Jane Doe", Role: core.RoleMember, Org: "Globex"},
		"joe":       {Email: "joe@globex.test", Name: "Joe", Role: core.RoleMember, Org: "Globex"},
		"bob":       {Email: "bob@globex.test", Name: "Bob", Role: core.RoleMember, Org: "Globex"},
		"ina":       {Email: "ina@globex.test", Name: "Ina", Role: core.RoleMember, Org: "Globex", Status: core.StatusInactive},
		"guest":     {Email: "guest@globex.test", Name: "Gus", Role: core.RoleMember, Org: "Globex", Kind: core.KindGuest},
		"ivan":      {Email: "ivan@initech.test", Name: "Ivan", Role: core.RoleMember, Org: "Initech"},
	} {
		u, err := w.c.CreateUser(w.cli, nu)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		w.u[name] = u
	}
	w.u["owner"], _ = w.c.SystemUserByEmail("owner@acme.test")
	for _, n := range []string{"jane", "joe", "ivan", "approver", "ina", "guest", "root", "owner"} {
		w.consent(n, 72*time.Hour)
	}
	return w
}

func (w *world) open() {
	w.t.Helper()
	db, err := store.Open(w.path, store.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	opt := w.opt
	opt.Clock = w.clock
	c, err := core.Open(db, opt)
	if err != nil {
		w.t.Fatal(err)
	}
	w.db, w.c = db, c
}

func (w *world) close() {
	if w.c != nil {
		w.c.Close()
		w.db.Close()
		w.c = nil
	}
}

// must returns v, and fails the test (by panicking) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (w *world) must(_ any, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// as is the principal of a person, as a console connection would have it.
func (w *world) as(name string) core.Principal {
	u, err := w.c.SystemUser(w.u[name].ID)
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	return core.Principal{User: u, Conn: "conn-" + name, Fingerprint: "SHA256:" + name}
}

// consent makes the person grant consent even if their status would not
// let them log in (the rule matrix needs consenting inactive users too).
func (w *world) consent(name string, d time.Duration) {
	w.t.Helper()
	w.must(w.c.GrantConsent(w.as(name), d))
}

// lastEvent is the newest audit event.
func (w *world) lastEvent() core.Event {
	w.t.Helper()
	page, err := w.c.Audit(w.cli, core.AuditQuery{}, 0, true, 1)
	if err != nil || len(page.Events) != 1 {
		w.t.Fatalf("last event: %v %v", page, err)
	}
	return page.Events[0]
}

// events returns every event of a type, oldest first.
func (w *world) events(typ string) []core.Event {
	w.t.Helper()
	page, err := w.c.Audit(w.cli, core.AuditQuery{Types: []string{typ}}, 0, false, 10000)
	if err != nil {
		w.t.Fatal(err)
	}
	return page.Events
}

func (w *world) verify() {
	w.t.Helper()
	v, err := w.c.Verify()
	if err != nil || !v.OK() {
		w.t.Fatalf("verify: %v %v", v, err)
	}
}

// newWorldEmpty opens an empty database.
func newWorldEmpty(t *testing.T) *world {
	w := &world{t: t, path: filepath.Join(t.TempDir(), "actas.db"), clock: core.NewFakeClock(t0),
		cli: core.SystemPrincipal("test"), u: map[string]core.User{}}
	w.open()
	t.Cleanup(w.close)
	return w
}

// actionsOn is what p may do with the user (ActionsOn); a failure to
// answer fails the test.
func (w *world) actionsOn(p core.Principal, userID string) core.UserActions {
	w.t.Helper()
	a, err := w.c.ActionsOn(p, userID)
	if err != nil {
		w.t.Fatalf("ActionsOn: %v", err)
	}
	return a
}
