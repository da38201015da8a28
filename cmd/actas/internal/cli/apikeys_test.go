package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/actas/actas/core"
)

func TestAPIKeys(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	r := c.run("apikey", "add", "--name", "billing")
	if r.code != 0 {
		t.Fatalf("apikey add: %s", r.err)
	}
	secret := strings.TrimSpace(r.out)
	if !regexp.MustCompile(`^actas_[A-Za-z0-9_-]{43}$`).MatchString(secret) || strings.Count(r.out, "\n") != 1 {
		t.Fatalf("apikey add printed %q, want one line actas_ and 32 bytes in base64url", r.out)
	}
	mustContain(t, "add says once", r.err, "shown only now")
	list := c.ok("apikey", "list")
	mustContain(t, "list", list, "billing")
	mustContain(t, "list", list, "active")
	if strings.Contains(list, secret) || strings.Contains(list, secret[6:20]) {
		t.Errorf("apikey list shows the key:\n%s", list)
	}
	mustContain(t, "same name", c.fails("apikey", "add", "--name", "billing"), "exists already")
	mustContain(t, "bad name", c.fails("apikey", "add", "--name", "Bad Name"), "API key name")
	mustContain(t, "bad rate", c.fails("apikey", "add", "--name", "x", "--rate", "-3"), "rate")
	if out := c.ok("apikey", "revoke", "--name", "billing"); !strings.Contains(out, "revoked API key billing") {
		t.Errorf("revoke printed %q", out)
	}
	mustContain(t, "revoke twice", c.fails("apikey", "revoke", "--name", "billing"), "revoked already")
	mustContain(t, "revoke unknown", c.fails("apikey", "revoke", "--name", "nope"), "no API key named nope")
	mustContain(t, "list after revoke", c.ok("apikey", "list"), "revoked ")

	export := c.ok("audit", "export")
	for _, typ := range []string{`"type":"apikey.added"`, `"type":"apikey.revoked"`} {
		mustContain(t, "audit", export, typ)
	}
	db, err := os.ReadFile(filepath.Join(c.dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(export, secret) || strings.Contains(string(db), secret) {
		t.Error("the key itself is stored or exported; only its hash may be")
	}
}

func TestSigningKeyRotate(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	first := c.ok("signing-key", "rotate") // creates the first key, then rotates it
	path := filepath.Join(c.dir, "signing_ed25519")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("signing key %v, mode %v; want 0600", err, st.Mode())
	}
	second := c.ok("signing-key", "rotate")
	kid := regexp.MustCompile(`new kid (\S+); the old one \((\S+)\)`)
	m1, m2 := kid.FindStringSubmatch(first), kid.FindStringSubmatch(second)
	if m1 == nil || m2 == nil || m2[2] != m1[1] || m2[1] == m1[1] {
		t.Errorf("rotations printed %q and %q: the second should retire the first's new kid", first, second)
	}
	// With a server on the folder, the server rotates (control socket).
	c.operator = osUser(t)
	served(t, c)
	third := kid.FindStringSubmatch(c.ok("signing-key", "rotate"))
	if third == nil || third[2] != m2[1] {
		t.Errorf("rotation through the server: %v, want it to retire %s", third, m2[1])
	}
}

func TestServeHTTP(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	var jwks map[string]any
	var status int
	c.serve = func(ctx context.Context, _ *core.Core, cfg ServeConfig) error {
		cfg.Ready("127.0.0.1:2222")
		b, _ := os.ReadFile(filepath.Join(c.dir, serveFile))
		var si serveInfo
		if err := json.Unmarshal(b, &si); err != nil || si.HTTP == "" {
			t.Errorf("serve.json = %s, want the HTTP address", b)
			return nil
		}
		resp, err := http.Get("http://" + si.HTTP + "/.well-known/jwks.json")
		if err != nil {
			t.Error(err)
			return nil
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &jwks)
		return nil
	}
	r := c.run("serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
	if r.code != 0 {
		t.Fatalf("serve --http: %s", r.err)
	}
	if keys, _ := jwks["keys"].([]any); status != 200 || len(keys) != 1 {
		t.Errorf("JWKS while serving: %d %v", status, jwks)
	}
	mustContain(t, "serve log", r.err, "http ready")
	mustContain(t, "busy port", c.fails("serve", "--http", "256.0.0.1:1"), "cannot serve the HTTP API")
}
