package httpapi_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/actas/actas/core"
	"github.com/actas/actas/httpapi"
)

// signClaims signs claims with actas's own key, read from its file, as
// only actas could: the way to present a grant actas would never issue.
func (w *world) signClaims(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, httpapi.SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kid := w.jwks(t).Keys[0].KeyID
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jws.CompactSerialize()
	return tok
}

// newTestSigner signs with a fresh Ed25519 key under the given kid.
func newTestSigner(kid string) (jose.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, nil)
}

// Each bad request gets its status and code, and writes nothing: not one
// audit event, no ticket spent.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	s, ticket := w.start(t)
	sid, token := w.redeem(t, "billing", ticket)
	_, spare := w.startAs(t, "owner@acme.test") // a second session's ticket, kept for the end
	lead, jane := w.user(t, "lead@acme.test"), w.user(t, "jane@globex.test")
	now := w.clock.Now()
	at := now.Format(time.RFC3339)
	good := func(extra map[string]any) string {
		ev := map[string]any{"time": at, "method": "GET", "path": "/x", "status": 200}
		for k, v := range extra {
			ev[k] = v
		}
		b, _ := json.Marshal(map[string]any{"events": []any{ev}})
		return string(b)
	}
	claims := func(change func(map[string]any)) string {
		c := map[string]any{"iss": "actas", "aud": "billing", "sub": jane.ID, "email": jane.Email,
			"act": map[string]any{"sub": lead.ID, "email": lead.Email}, "sid": sid,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "x"}
		change(c)
		return w.signClaims(t, c)
	}
	events := "/v1/sessions/" + sid + "/events"
	tokenPath := "/v1/sessions/" + sid + "/token"
	big := `{"events":[{"time":"` + at + `","method":"GET","path":"/x","details":{"pad":"` + strings.Repeat("a", 1<<20) + `"}}]}`
	many := make([]map[string]any, core.MaxHostActions+1)
	for i := range many {
		many[i] = map[string]any{"time": at, "method": "GET", "path": "/x"}
	}
	manyBody, _ := json.Marshal(map[string]any{"events": many})

	cases := []struct {
		name         string
		method, path string
		key          string
		body         string
		header       []string
		status       int
		code         string
	}{
		{"no key", "GET", "/v1/sessions/" + sid, "", "", nil, 401, "unauthenticated"},
		{"unknown key", "GET", "/v1/sessions/" + sid, "actas_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", nil, 401, "unauthenticated"},
		{"not a bearer", "GET", "/v1/sessions/" + sid, "", "", []string{"Authorization", "Basic YTpi"}, 401, "unauthenticated"},
		{"malformed JSON", "POST", events, "billing", `{"events": [`, nil, 422, "invalid"},
		{"not JSON", "POST", events, "billing", `events=1`, nil, 422, "invalid"},
		{"empty body", "POST", events, "billing", ``, nil, 422, "invalid"},
		{"trailing data", "POST", events, "billing", good(nil) + `{}`, nil, 422, "invalid"},
		{"unknown field", "POST", events, "billing", `{"events": [], "extra": 1}`, nil, 422, "invalid"},
		{"unknown event field", "POST", events, "billing", good(map[string]any{"actor": "mallory"}), nil, 422, "invalid"},
		{"no events", "POST", events, "billing", `{}`, nil, 422, "invalid"},
		{"empty events", "POST", events, "billing", `{"events": []}`, nil, 422, "invalid"},
		{"events not a list", "POST", events, "billing", `{"events": {"a": 1}}`, nil, 422, "invalid"},
		{"status a string", "POST", events, "billing", good(map[string]any{"status": "200"}), nil, 422, "invalid"},
		{"blocked a string", "POST", events, "billing", good(map[string]any{"blocked": "yes"}), nil, 422, "invalid"},
		{"request not an object", "POST", events, "billing", good(map[string]any{"request": []int{1}}), nil, 422, "invalid"},
		{"time not RFC 3339", "POST", events, "billing", good(map[string]any{"time": "yesterday"}), nil, 422, "invalid"},
		{"time missing", "POST", events, "billing", `{"events":[{"method":"GET","path":"/x"}]}`, nil, 422, "invalid"},
		{"method lower case", "POST", events, "billing", good(map[string]any{"method": "get"}), nil, 422, "invalid"},
		{"path without slash", "POST", events, "billing", good(map[string]any{"path": "x"}), nil, 422, "invalid"},
		{"path with escape", "POST", events, "billing", good(map[string]any{"path": "/x\u001b[2J"}), nil, 422, "invalid"},
		{"status out of range", "POST", events, "billing", good(map[string]any{"status": 999}), nil, 422, "invalid"},
		{"before the session", "POST", events, "billing", good(map[string]any{"time": s.Started.Add(-time.Second).Format(time.RFC3339)}), nil, 422, "invalid"},
		{"in the future", "POST", events, "billing", good(map[string]any{"time": now.Add(2 * time.Minute).Format(time.RFC3339)}), nil, 422, "invalid"},
		{"body over 1 MB", "POST", events, "billing", big, nil, 413, "too_large"},
		{"over 1000 events", "POST", events, "billing", string(manyBody), nil, 413, "too_large"},
		{"events by another key", "POST", events, "crm", good(nil), nil, 403, "not_permitted"},
		{"events of no session", "POST", "/v1/sessions/imp_99999999/events", "billing", good(nil), nil, 404, "not_found"},
		{"redeem: no ticket", "POST", "/v1/tickets/redeem", "billing", `{}`, nil, 422, "invalid"},
		{"redeem: ticket a number", "POST", "/v1/tickets/redeem", "billing", `{"ticket": 5}`, nil, 422, "invalid"},
		{"redeem: unknown ticket", "POST", "/v1/tickets/redeem", "billing", `{"ticket": "nope"}`, nil, 404, "not_found"},
		{"redeem: control characters", "POST", "/v1/tickets/redeem", "billing", `{"ticket": "a\u0007b"}`, nil, 422, "invalid"},
		{"redeem: used ticket by another key", "POST", "/v1/tickets/redeem", "crm", `{"ticket": "` + ticket + `"}`, nil, 410, "ticket_used"},
		{"refresh: another key's session", "POST", tokenPath, "crm", ``, nil, 403, "not_permitted"},
		{"refresh: token of another audience", "POST", tokenPath, "billing",
			`{"token": "` + claims(func(c map[string]any) { c["aud"] = "crm" }) + `"}`, nil, 403, "not_permitted"},
		{"refresh: nested act", "POST", tokenPath, "billing",
			`{"token": "` + claims(func(c map[string]any) {
				c["act"] = map[string]any{"sub": lead.ID, "email": lead.Email, "act": map[string]any{"sub": "usr_x"}}
			}) + `"}`, nil, 422, "invalid"},
		{"refresh: another session's token", "POST", tokenPath, "billing",
			`{"token": "` + claims(func(c map[string]any) { c["sid"] = "imp_00000001" }) + `"}`, nil, 422, "invalid"},
		{"refresh: token not signed by actas", "POST", tokenPath, "billing", `{"token": "` + forge(t, token) + `"}`, nil, 422, "invalid"},
		{"refresh: not a token", "POST", tokenPath, "billing", `{"token": "abc"}`, nil, 422, "invalid"},
		{"refresh: alg none", "POST", tokenPath, "billing", `{"token": "` + algNone(token) + `"}`, nil, 422, "invalid"},
		{"stream: Last-Event-ID not a number", "GET", "/v1/stream", "billing", "", []string{"Last-Event-ID", "5 event: injected"}, 422, "invalid"},
		{"stream: Last-Event-ID negative", "GET", "/v1/stream", "billing", "", []string{"Last-Event-ID", "-1"}, 422, "invalid"},
		{"stream: Last-Event-ID past the log", "GET", "/v1/stream", "billing", "", []string{"Last-Event-ID", "99999999"}, 422, "invalid"},
		{"stream: Last-Event-ID overflow", "GET", "/v1/stream", "billing", "", []string{"Last-Event-ID", "99999999999999999999"}, 422, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := w.auditCount()
			var body any
			if c.body != "" || c.method == "POST" {
				body = c.body
			}
			r := w.call(t, c.method, c.path, c.key, body, c.header...)
			if r.status != c.status || r.errorCode(t) != c.code {
				t.Errorf("%d %s, want %d %s", r.status, r.body, c.status, c.code)
			}
			if strings.Contains(string(r.body), "goroutine ") || strings.Contains(string(r.body), ".go:") {
				t.Errorf("the answer shows internals: %s", r.body)
			}
			if n := w.auditCount() - before; n != 0 {
				t.Errorf("%d audit events written", n)
			}
		})
	}
	// The spare ticket was not touched by any of it.
	if _, err := w.c.SystemSession(sid); err != nil {
		t.Fatal(err)
	}
	w.redeem(t, "billing", spare)
	// A revoked key is refused at its next request, and writes nothing.
	if _, err := w.c.RevokeAPIKey(core.SystemPrincipal("test"), "billing"); err != nil {
		t.Fatal(err)
	}
	before := w.auditCount()
	r := w.call(t, "POST", events, "billing", good(nil))
	if r.status != 401 || r.errorCode(t) != "unauthenticated" || w.auditCount() != before {
		t.Errorf("revoked key: %d %s, %d events written", r.status, r.body, w.auditCount()-before)
	}
}

// Header injection in Last-Event-ID, sent raw: a CR LF smuggled into the
// header never reaches the stream as an event.
func TestLastEventIDInjectionRaw(t *testing.T) {
	w := newWorld(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nLast-Event-ID: 1\rdata: injected\r\n\r\n", w.secrets["billing"])
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("a Last-Event-ID with a bare CR was accepted: %d", resp.StatusCode)
	}
}

// forge re-signs a grant's payload with a key actas never had.
func forge(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	payload := jws.UnsafePayloadWithoutVerification()
	other, err := newTestSigner(jws.Signatures[0].Header.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := other.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := out.CompactSerialize()
	return s
}

// algNone is the grant with its header replaced by {"alg":"none"} and no
// signature.
func algNone(token string) string {
	parts := strings.Split(token, ".")
	return "eyJhbGciOiJub25lIn0." + parts[1] + "."
}
