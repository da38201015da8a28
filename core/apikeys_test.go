package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func TestAPIKeysAreForOwners(t *testing.T) {
	w := newWorld(t)
	for _, name := range []string{"support", "approver", "jane"} {
		p := w.as(name)
		if _, _, err := w.c.AddAPIKey(p, "billing", 0); core.CodeOf(err) != core.CodeNotPermitted {
			t.Errorf("%s adds an API key: %v, want not_permitted", name, err)
		}
		if _, err := w.c.APIKeys(p); core.CodeOf(err) != core.CodeNotPermitted {
			t.Errorf("%s lists API keys: %v", name, err)
		}
	}
	if n := len(w.events(core.EvAPIKeyAdded)); n != 0 {
		t.Fatalf("%d apikey.added after refusals", n)
	}
	k, secret, err := w.c.AddAPIKey(w.as("owner"), "billing", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, core.APIKeyPrefix) || k.Hash == "" || strings.Contains(k.Hash, secret[len(core.APIKeyPrefix):]) || k.Rate != core.DefaultAPIRate {
		t.Errorf("key %+v, secret %q", k, secret)
	}
	added := w.events(core.EvAPIKeyAdded)
	if len(added) != 1 || added[0].Actor.Email != "owner@acme.test" || strings.Contains(string(added[0].Details), secret) {
		t.Errorf("apikey.added = %+v", added)
	}
	p, err := w.c.AuthenticateAPIKey(secret, "10.0.0.1:5")
	if err != nil || p.APIKey != "billing" {
		t.Fatalf("AuthenticateAPIKey = %+v, %v", p, err)
	}
	if _, err := w.c.RevokeAPIKey(w.as("support"), "billing"); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("support revokes: %v", err)
	}
	if _, err := w.c.RevokeAPIKey(w.as("owner"), "billing"); err != nil {
		t.Fatal(err)
	}
	if revoked := w.events(core.EvAPIKeyRevoked); len(revoked) != 1 {
		t.Errorf("apikey.revoked events: %d", len(revoked))
	}
	if _, err := w.c.AuthenticateAPIKey(secret, ""); core.CodeOf(err) != core.CodeUnauthenticated {
		t.Errorf("revoked key authenticates: %v", err)
	}
	// The name of a revoked key is not given out again.
	if _, _, err := w.c.AddAPIKey(w.as("owner"), "billing", 0); core.CodeOf(err) != core.CodeConflict {
		t.Errorf("re-adding a revoked name: %v, want conflict", err)
	}
	// Revocation survives a restart: the key is looked up from the store.
	w.close()
	w.open()
	if _, err := w.c.AuthenticateAPIKey(secret, ""); core.CodeOf(err) != core.CodeUnauthenticated {
		t.Errorf("revoked key authenticates after a restart: %v", err)
	}
}

func TestProductURLAndIssuerAreChecked(t *testing.T) {
	w := newWorld(t)
	for _, bad := range []map[string]string{
		{"product_url": "https://app.example.com/enter"},               // no {ticket}
		{"product_url": "https://app.example.com/{ticket}?t={ticket}"}, // twice
		{"product_url": "ftp://app.example.com/?t={ticket}"},           // not http(s)
		{"product_url": "javascript:alert(1)//{ticket}"},               // not http(s)
		{"product_url": "https:///enter?t={ticket}"},                   // no host
		{"product_url": "https://user:pw@app.example.com/?t={ticket}"}, // user info
		{"product_url": "https://app.example.com/?t={ticket}\x1b[2J"},  // control characters
		{"product_url": "https://app.example.com/ enter?t={ticket}"},   // a space
		{"issuer": ""}, {"issuer": "act as"}, {"issuer": strings.Repeat("i", 257)},
	} {
		before := len(w.events(core.EvPolicyChanged))
		if _, err := w.c.SetPolicy(w.cli, bad); core.CodeOf(err) != core.CodeInvalid {
			t.Errorf("policy %q: %v, want invalid", bad, err)
		}
		if len(w.events(core.EvPolicyChanged)) != before {
			t.Errorf("policy %q was recorded as changed", bad)
		}
	}
	p, err := w.c.SetPolicy(w.cli, map[string]string{"product_url": "https://app.example.com/actas/enter?ticket={ticket}", "issuer": "https://actas.example.com"})
	if err != nil || p.ProductURL == "" || core.PolicyValues(p)["issuer"] != "https://actas.example.com" {
		t.Fatalf("good policy: %+v, %v", p, err)
	}
	// A session now starts with a link into the product, its ticket 120 s.
	lead := w.as("lead")
	s, err := w.c.Start(lead, w.u["jane"].ID, "r")
	if err != nil {
		t.Fatal(err)
	}
	link, ok := w.c.ProductLinkOf(lead)
	if !ok || !strings.HasPrefix(link.URL, "https://app.example.com/actas/enter?ticket=") || link.Session != s.ID ||
		!link.Expires.Equal(w.clock.Now().Add(core.TicketTTL)) {
		t.Errorf("link %+v", link)
	}
	// Switched off, sessions get none.
	if err := w.c.End(lead, core.EndExit); err != nil {
		t.Fatal(err)
	}
	w.must(w.c.SetPolicy(w.cli, map[string]string{"product_url": ""}))
	w.clock.Advance(time.Minute)
	if _, err := w.c.Start(lead, w.u["jane"].ID, "r"); err != nil {
		t.Fatal(err)
	}
	if l, ok := w.c.ProductLinkOf(lead); ok {
		t.Errorf("a link without product_url: %+v", l)
	}
}
