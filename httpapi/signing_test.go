package httpapi_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/httpapi"
)

// A rotated-out key stays in the JWKS until its grants have expired, then
// leaves it; grants are signed with the new key from the rotation on.
func TestSigningKeyRotation(t *testing.T) {
	w := newWorld(t)
	_, ticket := w.start(t)
	sid, old := w.redeem(t, "billing", ticket)
	st, err := os.Stat(filepath.Join(w.dir, httpapi.SigningKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", st, err)
	}
	oldKID, newKID, err := w.keys.Rotate()
	if err != nil || oldKID == newKID {
		t.Fatalf("Rotate = %q %q %v", oldKID, newKID, err)
	}
	set := w.jwks(t)
	if len(set.Keys) != 2 || set.Keys[0].KeyID != newKID || set.Keys[1].KeyID != oldKID {
		t.Fatalf("JWKS after the rotation: %d keys", len(set.Keys))
	}
	verify(t, set, old) // grants signed before still verify
	r := w.call(t, "POST", "/v1/sessions/"+sid+"/token", "billing", map[string]string{"token": old})
	var g struct{ Token string }
	r.json(t, &g)
	if r.status != 200 {
		t.Fatalf("refresh with the old key's grant: %d %s", r.status, r.body)
	}
	verify(t, set, g.Token)
	if kid := w.keys.CurrentKID(); kid != newKID {
		t.Errorf("signing with %s, want %s", kid, newKID)
	}
	// Once every grant of the old key has expired, it is gone.
	w.clock.Advance(core.GrantTTL + time.Minute + time.Second)
	if set := w.jwks(t); len(set.Keys) != 1 || set.Keys[0].KeyID != newKID {
		t.Errorf("JWKS %s after the old grants expired: %d keys", time.Duration(core.GrantTTL), len(set.Keys))
	}
	r = w.call(t, "POST", "/v1/sessions/"+sid+"/token", "billing", map[string]string{"token": old})
	if r.status != 422 || r.errorCode(t) != "invalid" {
		t.Errorf("a grant of a retired key: %d %s", r.status, r.body)
	}
	// A second keyring on the same folder (another process) follows.
	other, err := httpapi.OpenKeyring(w.dir, w.clock.Now)
	if err != nil || other.CurrentKID() != newKID {
		t.Errorf("another keyring signs with %q (%v), want %s", other.CurrentKID(), err, newKID)
	}
	if _, _, err := other.Rotate(); err != nil {
		t.Fatal(err)
	}
	if w.keys.CurrentKID() == newKID {
		t.Error("the server's keyring did not notice the rotation made by another")
	}
	// A key file readable by others is refused.
	if err := os.Chmod(filepath.Join(w.dir, httpapi.SigningKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := httpapi.OpenKeyring(w.dir, w.clock.Now); err == nil {
		t.Error("a signing key of mode 0644 was accepted")
	}
}
