package ssh

import (
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/actas/actas/core"
)

// An owner's step that takes someone's access away closes their open
// consoles at once, each with a line saying why, and ends the sessions.

func TestSuspensionClosesConsoles(t *testing.T) {
	w := newWorld(t)
	owner := w.open(core.DemoOwner)
	impersonateJane(owner)
	jane := w.open(core.DemoJane)
	jane.waitText("Jane Doe")
	support := w.open(core.DemoSupport)
	support.waitText("Sam Support")

	cli := core.SystemPrincipal("test")
	suspended := core.StatusSuspended
	if _, err := w.c.UpdateUser(cli, core.DemoJane, core.UserChange{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	// Jane's console closes with the reason; the session on her ends.
	if code := jane.waitExit(); code != 1 {
		t.Errorf("jane's console exit status %d, want 1", code)
	}
	if !strings.Contains(jane.scr.Written(), "actas: your account is now suspended (by an administrator (cli:test))") {
		t.Errorf("jane read:\n%s", jane.scr.Written())
	}
	if s := lastSessionOf(w, core.DemoOwner); s.Active() || s.EndReason != "user_suspended" {
		t.Errorf("the owner's session on Jane: %s %s", s.Status, s.EndReason)
	}
	// The impersonator's console stays, without the banner.
	owner.waitGone(banner)

	// Suspending support closes support's console; the others stay.
	if _, err := w.c.UpdateUser(w.principal(core.DemoOwner), core.DemoSupport, core.UserChange{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	if code := support.waitExit(); code != 1 || !strings.Contains(support.scr.Written(), "your account is now suspended (by owner@acme.test)") {
		t.Errorf("support's console: exit %d, read:\n%s", code, support.scr.Written())
	}
	select {
	case err := <-owner.exit:
		t.Fatalf("the owner's console closed too: %v", err)
	default:
	}
}

func TestKeyRemovalClosesThatKeysConsole(t *testing.T) {
	w := newWorld(t)
	first := w.open(core.DemoOwner)
	impersonateJane(first)
	// The owner's second key, on a second console.
	other := newSigner(t)
	if _, err := w.c.AddKey(core.SystemPrincipal("test"), core.DemoOwner, string(gossh.MarshalAuthorizedKey(other.PublicKey()))); err != nil {
		t.Fatal(err)
	}
	second := w.openWith(t, []gossh.Signer{other})
	second.waitText("Olivia Owner")

	// The owner is impersonating, so cannot change keys now: the command
	// line removes the key.
	if err := w.c.RemoveKey(core.SystemPrincipal("test"), fingerprint(w.key(core.DemoOwner).PublicKey())); err != nil {
		t.Fatal(err)
	}
	if code := first.waitExit(); code != 1 ||
		!strings.Contains(first.scr.Written(), "actas: the key you logged in with was removed by an administrator (cli:test)") {
		t.Errorf("the first console: exit %d, read:\n%s", code, first.scr.Written())
	}
	if s := lastSessionOf(w, core.DemoOwner); s.Active() || s.EndReason != core.EndKeyRemoved {
		t.Errorf("the session the removed key's console started: %s %s", s.Status, s.EndReason)
	}
	// The console of the other key is untouched and still answers.
	second.press("5")
	second.waitText("Impersonation consent")
	select {
	case err := <-second.exit:
		t.Fatalf("the other key's console closed: %v", err)
	default:
	}
}

// principal is a person as core sees them, for steps taken outside any
// console.
func (w *world) principal(email string) core.Principal {
	w.t.Helper()
	u, err := w.c.SystemUserByEmail(email)
	if err != nil {
		w.t.Fatal(err)
	}
	return core.Principal{User: u}
}
