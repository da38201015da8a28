package tui

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/crypto/ssh"

	"github.com/actas/actas/core"
)

// openMenuOn searches for email and opens the row's menu.
func openMenuOn(t *testing.T, m *Model, email string) {
	t.Helper()
	drive(t, m, keys("esc", "esc")...) // close a menu, clear the filter
	drive(t, m, keyMsg("/"))
	drive(t, m, typing(email)...)
	drive(t, m, keys("enter", "enter")...)
}

func (f *fixture) user(t *testing.T, email string) core.User {
	t.Helper()
	u, err := f.c.SystemUserByEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOwnersMenuSuspendAndReactivate(t *testing.T) {
	f := newFixture(t, 10)
	m := f.newModel(t, core.DemoOwner, 110, 34)
	openMenuOn(t, m, core.DemoSupport)
	mustContain(t, m.View(), "u Suspend user", "x Delete user", "e Edit role, mode, approver", "k Keys")
	drive(t, m, keyMsg("u"))
	mustContain(t, m.View(), "Suspended Sam Support")
	if u := f.user(t, core.DemoSupport); u.Status != core.StatusSuspended {
		t.Fatalf("support is %s", u.Status)
	}
	openMenuOn(t, m, core.DemoSupport)
	mustContain(t, m.View(), "u Reactivate user")
	drive(t, m, keyMsg("u"))
	if u := f.user(t, core.DemoSupport); u.Status != core.StatusActive {
		t.Fatalf("support is %s after reactivating", u.Status)
	}
}

func TestOwnersMenuShowsRefusalsUpFront(t *testing.T) {
	f := newFixture(t, 10)
	m := f.newModel(t, core.DemoOwner, 110, 40)
	// Oneself: no suspending or deleting, with core's reason.
	openMenuOn(t, m, core.DemoOwner)
	mustContain(t, m.View(), "you cannot suspend yourself", "you cannot delete yourself")
	drive(t, m, keyMsg("u"))
	if u := f.user(t, core.DemoOwner); u.Status != core.StatusActive {
		t.Fatal("a disabled item acted")
	}
	// Someone above: the sysadmin.
	openMenuOn(t, m, core.DemoRoot)
	mustContain(t, m.View(), "root@acme.test is a sysadmin, above your role")
	// Staff who are not owners get no owner's items at all.
	s := f.newModel(t, core.DemoSupport, 110, 40)
	openMenuOn(t, s, core.DemoJane)
	mustNotContain(t, s.View(), "Suspend user", "Delete user", "Keys")
}

// An owner may edit their own mode and approver flag, not their role:
// core's sentence shows in the form. (The last active owner rule cannot
// show here: a viewer with the menu is an active owner themself; the
// command line meets it, see core's TestLastOwner.)
func TestOwnersMenuOwnRole(t *testing.T) {
	f := newFixture(t, 10)
	m := f.newModel(t, core.DemoOwner, 110, 40)
	openMenuOn(t, m, core.DemoOwner)
	drive(t, m, keyMsg("e"))
	drive(t, m, keys("left", "ctrl+s")...)
	mustContain(t, m.View(), "you cannot change your own role or status")
	if u := f.user(t, core.DemoOwner); u.Role != core.RoleOwner {
		t.Fatalf("the owner is now %s", u.Role)
	}
	drive(t, m, keys("right", "tab", "left", "ctrl+s")...) // mode direct → request
	mustContain(t, m.View(), "Saved Olivia Owner")
	if u := f.user(t, core.DemoOwner); u.Mode != core.ModeRequest {
		t.Fatalf("the owner's mode is %s", u.Mode)
	}
}

func TestOwnersMenuDeleteAsksFirst(t *testing.T) {
	f := newFixture(t, 10)
	m := f.newModel(t, core.DemoOwner, 110, 34)
	openMenuOn(t, m, core.DemoBob)
	drive(t, m, keyMsg("x"))
	mustContain(t, m.View(), "Delete Bob Brown?", "Cancel", "Delete user")
	drive(t, m, keyMsg("esc"))
	if u := f.user(t, core.DemoBob); u.Status != core.StatusActive {
		t.Fatal("esc deleted")
	}
	openMenuOn(t, m, core.DemoBob)
	drive(t, m, keys("x", "y")...)
	mustContain(t, m.View(), "Deleted Bob Brown")
	if u := f.user(t, core.DemoBob); u.Status != core.StatusDeleted {
		t.Fatalf("bob is %s", u.Status)
	}
}

func TestOwnersMenuEdit(t *testing.T) {
	f := newFixture(t, 10)
	m := f.newModel(t, core.DemoOwner, 110, 34)
	openMenuOn(t, m, core.DemoSupport)
	drive(t, m, keyMsg("e"))
	mustContain(t, m.View(), "Edit Sam Support", "[support]", "[request]", "[no]")
	drive(t, m, keys("right", "tab", "right", "tab", "space")...) // admin, direct, approver
	mustContain(t, m.View(), "[admin]", "[direct]", "[yes]")
	drive(t, m, keyMsg("ctrl+s"))
	mustContain(t, m.View(), "Saved Sam Support")
	u := f.user(t, core.DemoSupport)
	if u.Role != core.RoleAdmin || u.Mode != core.ModeDirect || !u.Approver {
		t.Fatalf("support is now %s, %s, approver %v", u.Role, u.Mode, u.Approver)
	}
	// A member cannot be given a mode: core's sentence shows in the form.
	openMenuOn(t, m, core.DemoJane)
	drive(t, m, keyMsg("e"))
	drive(t, m, keys("tab", "right", "ctrl+s")...)
	mustContain(t, m.View(), "only staff can impersonate")
	drive(t, m, keyMsg("esc"))
	mustNotContain(t, m.View(), "Edit Jane Doe")
}

func TestOwnersMenuKeys(t *testing.T) {
	f := newFixture(t, 10)
	m := f.newModel(t, core.DemoOwner, 120, 34)
	openMenuOn(t, m, core.DemoJane)
	drive(t, m, keyMsg("k"))
	mustContain(t, m.View(), "Keys of Jane Doe", "no login keys")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	pk, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " jane@laptop"
	drive(t, m, keyMsg("a"))
	drive(t, m, typing("not a key")...)
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "not an SSH public key")
	drive(t, m, keyMsg("esc"))
	drive(t, m, keyMsg("a"))
	drive(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(line), Paste: true})
	drive(t, m, keyMsg("enter"))
	fp := ssh.FingerprintSHA256(pk)
	mustContain(t, m.View(), "Keys of Jane Doe", fp[:20], "jane@laptop")
	if keys, _ := f.c.SystemKeys(core.DemoJane); len(keys) != 1 || keys[0].Fingerprint != fp {
		t.Fatalf("jane's keys: %+v", keys)
	}
	drive(t, m, keys("x", "n")...)
	if keys, _ := f.c.SystemKeys(core.DemoJane); len(keys) != 1 {
		t.Fatal("n removed the key")
	}
	drive(t, m, keys("x", "y")...)
	mustContain(t, m.View(), "no login keys")
	if keys, _ := f.c.SystemKeys(core.DemoJane); len(keys) != 0 {
		t.Fatalf("jane still has %d keys", len(keys))
	}
	drive(t, m, keyMsg("esc"))
	mustNotContain(t, m.View(), "Keys of Jane Doe")
}

// A console whose person an owner suspends (or whose login key goes)
// quits with the reason; another person's Logout leaves it alone.
func TestConsoleQuitsWhenLoggedOut(t *testing.T) {
	f := newFixture(t, 10)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	support := f.newModel(t, core.DemoSupport, 100, 30)
	jane := f.newModel(t, core.DemoJane, 100, 30)
	suspended := core.StatusSuspended
	if _, err := f.c.UpdateUser(f.principal(t, core.DemoOwner), core.DemoSupport, core.UserChange{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	var quit bool
	for len(sub.C) > 0 {
		ch := <-sub.C
		_, cmd := support.Update(ChangeMsg{Change: ch})
		if cmd != nil {
			if _, ok := cmd().(tea.QuitMsg); ok {
				quit = true
			}
		}
		drive(t, jane, ChangeMsg{Change: ch})
	}
	if !quit || !strings.Contains(support.LoggedOut(), "your account is now suspended (by owner@acme.test)") {
		t.Errorf("support's console: quit %v, logged out %q", quit, support.LoggedOut())
	}
	if jane.LoggedOut() != "" {
		t.Errorf("jane's console logged out: %q", jane.LoggedOut())
	}
}
