package cli

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/actas/actas/internal/alertsink"
)

func TestAlertCommands(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	sink := alertsink.NewHTTP("")
	srv := httptest.NewServer(sink)
	defer srv.Close()

	out := c.ok("alert", "add", "webhook", "--url", srv.URL+"/hooks?token=QUERYSECRET")
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(out)
	if !strings.HasPrefix(out, "added webhook channel ch_00000001 → "+srv.URL+"/hooks?…\n") || secret == "" {
		t.Fatalf("alert add webhook printed:\n%s", out)
	}
	sink.SetSecret(secret)
	c.ok("alert", "add", "slack", "--webhook-url", "http://127.0.0.1:1/services/T1/B1/SLACKSECRET")
	c.ok("alert", "add", "email", "--to", "Sec@Example.test, ops@example.test")
	mustContain(t, "bad url", c.fails("alert", "add", "webhook", "--url", "ftp://x/"), "must be an http:// or https:// URL")
	mustContain(t, "bad address", c.fails("alert", "add", "email", "--to", "nobody"), "not an email address")

	if got := c.ok("alert", "test", "ch_00000001"); got != "test message delivered to ch_00000001\n" {
		t.Errorf("alert test: %q", got)
	}
	hooks := sink.Hooks()
	if len(hooks) != 1 || hooks[0].Verified != nil || !strings.Contains(string(hooks[0].Body), `"type":"alert.test"`) {
		t.Fatalf("the receiver got %+v", hooks)
	}
	errText := c.fails("alert", "test", "ch_00000002")
	mustContain(t, "failed test", errText, "test to ch_00000002 failed: POST http://127.0.0.1:1/…: ", "connection refused")
	mustContain(t, "alert test of a dead channel", c.fails("alert", "test", "ch_00000099"), "no alert channel ch_00000099")

	list := c.ok("alert", "list")
	mustContain(t, "alert list", list, "ch_00000001  webhook", "ch_00000002  slack    http://127.0.0.1:1/…",
		"ch_00000003  email    sec@example.test, ops@example.test", "connection refused", "mail server: no mail server")
	pw := c.write("pw", "SMTPSECRET\n")
	mustContain(t, "smtp set", c.ok("smtp", "set", "--host", "127.0.0.1", "--port", "2525", "--from", "actas@example.test",
		"--user", "actas", "--password-file", pw), "mail server: 127.0.0.1:2525 from actas@example.test, STARTTLS required, login actas (password set)")
	c.env["ACTAS_SMTP_PASSWORD"] = "ENVSECRET"
	mustContain(t, "smtp set from env", c.ok("smtp", "set", "--host", "mail.example.test", "--from", "actas@example.test",
		"--user", "actas2", "--starttls", "opportunistic"), "mail.example.test:587", "STARTTLS opportunistic", "(password set)")
	delete(c.env, "ACTAS_SMTP_PASSWORD")
	mustContain(t, "password without user", c.fails("smtp", "set", "--host", "h", "--from", "a@b.test", "--password-file", pw), "a password needs --user")
	mustContain(t, "bad starttls", c.fails("smtp", "set", "--host", "h", "--from", "a@b.test", "--starttls", "never"), "--starttls is required or opportunistic")
	mustContain(t, "old policy key", c.fails("policy", "set", "alert_channels=#sec"), "actas alert add")
	mustContain(t, "policy set", c.ok("policy", "set", "environment=production", "alerting=false"), "alerting = false", "environment = production")

	mustContain(t, "remove", c.ok("alert", "remove", "ch_00000003"), "removed alert channel ch_00000003")
	mustContain(t, "remove again", c.fails("alert", "remove", "ch_00000003"), "no alert channel ch_00000003")
	// Checkpoints go to webhook channels: the outbox holds them, undelivered
	// (no server runs a worker here).
	mustContain(t, "outbox", c.ok("alert", "outbox"), "ID                STATE    TO           NOTICE", "pending  ch_00000001  audit.checkpoint")

	everything := c.ok("alert", "list") + c.ok("policy", "show") + c.ok("audit", "export") + c.ok("audit", "export", "--format", "csv") + errText
	for _, s := range []string{secret, "SLACKSECRET", "QUERYSECRET", "SMTPSECRET", "ENVSECRET"} {
		if strings.Contains(everything, s) {
			t.Errorf("a secret shows: %s", s)
		}
	}
	for _, ev := range []string{`"type":"alert.added"`, `"type":"alert.removed"`} {
		mustContain(t, "audit", c.ok("audit", "export"), ev)
	}
}
