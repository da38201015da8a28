package ssh

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/actas/actas/core"
	"github.com/actas/actas/httpapi"
)

// The "Done when", in process: a console over SSH starts a
// session and shows the product link; a product redeems it over HTTP,
// verifies the grant against the JWKS, reports actions with a password in
// them and they read back redacted; the target revokes consent and the
// session reads ended, the refresh is gone and the stream delivered
// session.ended.
func TestHostProductEndToEnd(t *testing.T) {
	w := newWorld(t)
	sys := core.SystemPrincipal("test")
	if _, err := w.c.SetPolicy(sys, map[string]string{"product_url": "https://billing.example.test/actas/enter?ticket={ticket}"}); err != nil {
		t.Fatal(err)
	}
	_, key, err := w.c.AddAPIKey(sys, "billing", 0)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := httpapi.OpenKeyring(w.dataDir, w.c.Now)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Core: w.c, Keyring: keys})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer api.Close()
	call := func(method, path string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// The product follows the stream from the start.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan [2]string, 16) // event, data
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{ev, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()

	// The owner starts impersonating Jane over SSH and reads the link.
	owner := w.open(core.DemoOwner, func(o *termOpt) { o.width = 160 })
	impersonateJane(owner)
	const prefix = "Open as Jane Doe: "
	owner.waitText(prefix + "https://billing.example.test/actas/enter?ticket=")
	var link string
	for _, line := range strings.Split(owner.scr.Text(), "\n") {
		if i := strings.Index(line, prefix); i >= 0 {
			link, _, _ = strings.Cut(line[i+len(prefix):], " ")
		}
	}
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("ticket") == "" {
		t.Fatalf("the screen's link %q holds no ticket", link)
	}
	// o copies it with OSC 52.
	owner.press("o")
	owner.waitText("Copied the link")
	copied := false
	for _, osc := range owner.scr.OSCs() {
		if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(osc, "52;c;")); err == nil && string(b) == link {
			copied = true
		}
	}
	if !copied {
		t.Errorf("no OSC 52 with the link among %q", owner.scr.OSCs())
	}

	// The product redeems the ticket and checks the grant offline.
	status, body := call("POST", "/v1/tickets/redeem", map[string]string{"ticket": u.Query().Get("ticket")})
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %s", status, body)
	}
	var grant struct{ Session, Token string }
	_ = json.Unmarshal(body, &grant)
	_, jwksBody := call("GET", "/.well-known/jwks.json", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwksBody, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(grant.Token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	pub := set.Key(jws.Signatures[0].Header.KeyID)
	if len(pub) != 1 {
		t.Fatalf("the grant's kid is not in the JWKS")
	}
	payload, err := jws.Verify(pub[0].Key)
	if err != nil {
		t.Fatalf("the grant does not verify against the JWKS: %v", err)
	}
	var claims struct {
		Sub, Sid string
		Act      struct{ Sub, Email string }
	}
	_ = json.Unmarshal(payload, &claims)
	jane, _ := w.c.SystemUserByEmail(core.DemoJane)
	if claims.Sub != jane.ID || claims.Act.Email != core.DemoOwner || claims.Sid != grant.Session {
		t.Errorf("grant claims %s", payload)
	}

	// Jane watches the session's audit in her Account while it runs.
	janeTerm := w.open(core.DemoJane, func(o *termOpt) { o.width = 160 })
	janeTerm.waitText("Jane Doe")
	janeTerm.press("5")
	janeTerm.waitText("Impersonation consent")
	janeTerm.press("enter")
	janeTerm.waitText("session.entered")

	// Actions with a password in them read back redacted.
	now := w.c.Now().Format(time.RFC3339)
	status, body = call("POST", "/v1/sessions/"+grant.Session+"/events", map[string]any{"events": []any{
		map[string]any{"time": now, "method": "POST", "path": "/settings/password", "status": 403, "blocked": true,
			"request": map[string]any{"password": "correct horse battery staple"}},
		map[string]any{"time": now, "method": "GET", "path": "/invoices", "status": 200},
	}})
	if status != http.StatusAccepted {
		t.Fatalf("events: %d %s", status, body)
	}
	page, err := w.c.Audit(core.Principal{User: jane}, core.AuditQuery{Session: grant.Session,
		Types: []string{core.EvActionPerformed, core.EvActionBlocked}}, 0, false, 10)
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("the session's audit, as Jane reads it: %d actions, %v", len(page.Events), err)
	}
	if d := string(page.Events[0].Details); strings.Contains(d, "correct horse") || !strings.Contains(d, `"password":"[REDACTED]"`) {
		t.Errorf("the blocked action reads back as %s", d)
	}

	// They arrived live in Jane's view of the session, redacted.
	janeTerm.waitText("action.blocked")
	janeTerm.waitText("path=/invoices")
	if strings.Contains(janeTerm.scr.Text(), "correct horse") {
		t.Errorf("Jane's screen shows the password:\n%s", janeTerm.scr.Text())
	}

	// Jane revokes her consent in her own console.
	janeTerm.press("esc")
	janeTerm.waitText("Impersonation consent")
	janeTerm.press("r")
	janeTerm.waitText("Revoke your consent?")
	janeTerm.press("y")
	janeTerm.waitText("Consent revoked")
	// The revoke has committed: the session reads ended, the refresh is gone.
	var st struct{ State, EndReason string }
	_, body = call("GET", "/v1/sessions/"+grant.Session, nil)
	_ = json.Unmarshal(body, &st)
	if st.State != "ended" {
		t.Errorf("session after the revoke: %s", body)
	}
	if status, body = call("POST", "/v1/sessions/"+grant.Session+"/token", map[string]string{"token": grant.Token}); status != http.StatusGone {
		t.Errorf("refresh after the revoke: %d %s, want 410", status, body)
	}
	// The stream delivered session.ended (session.started came first).
	deadline := time.After(time.Second)
	for {
		select {
		case ev := <-events:
			if ev[0] == core.EvSessionEnded && strings.Contains(ev[1], grant.Session) && strings.Contains(ev[1], `"end_reason":"consent_revoked"`) {
				owner.waitGone(banner)
				return
			}
		case <-deadline:
			t.Fatal("the stream did not deliver session.ended within a second of the revoke")
		}
	}
}
