package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/actas/actas/core"
	"github.com/actas/actas/httpapi"
	"github.com/actas/actas/store"
)

// epoch is the demo's fixed start: core runs on a fake clock.
var epoch = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

const productURL = "https://app.example.test/actas/enter?ticket={ticket}"

// world is a demo database with a product URL, two API keys (billing and
// crm) and the API served on loopback.
type world struct {
	dir     string
	db      *store.DB
	c       *core.Core
	clock   *core.FakeClock
	keys    *httpapi.Keyring
	api     *httpapi.Server
	srv     *httptest.Server
	secrets map[string]string // API key name -> secret
}

type worldOpt struct {
	rate      int
	keepAlive time.Duration
	buffer    int
	members   int
}

func newWorld(t testing.TB, opts ...func(*worldOpt)) *world {
	t.Helper()
	o := worldOpt{rate: 1_000_000, members: 5}
	for _, f := range opts {
		f(&o)
	}
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "actas.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := core.NewFakeClock(epoch)
	c, err := core.Open(db, core.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.SeedDemo(c, clock, o.members); err != nil {
		t.Fatal(err)
	}
	sys := core.SystemPrincipal("test")
	if _, err := c.SetPolicy(sys, map[string]string{"product_url": productURL}); err != nil {
		t.Fatal(err)
	}
	w := &world{dir: dir, db: db, c: c, clock: clock, secrets: map[string]string{}}
	for _, name := range []string{"billing", "crm"} {
		_, secret, err := c.AddAPIKey(sys, name, o.rate)
		if err != nil {
			t.Fatal(err)
		}
		w.secrets[name] = secret
	}
	if w.keys, err = httpapi.OpenKeyring(dir, clock.Now); err != nil {
		t.Fatal(err)
	}
	if w.api, err = httpapi.New(httpapi.Config{Core: c, Keyring: w.keys, KeepAlive: o.keepAlive, StreamBuffer: o.buffer}); err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(w.api)
	t.Cleanup(func() {
		w.srv.CloseClientConnections()
		w.api.Close()
		w.srv.Close()
		c.Close()
		db.Close()
	})
	return w
}

func (w *world) user(t testing.TB, email string) core.User {
	t.Helper()
	u, err := w.c.SystemUserByEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// start begins lead@acme.test's session on jane@globex.test and returns
// it with the ticket of its product link.
func (w *world) start(t testing.TB) (core.Session, string) {
	t.Helper()
	return w.startAs(t, "lead@acme.test")
}

// startAs begins the person's session on jane@globex.test.
func (w *world) startAs(t testing.TB, email string) (core.Session, string) {
	t.Helper()
	lead := core.Principal{User: w.user(t, email), Conn: "test-" + email}
	s, err := w.c.Start(lead, w.user(t, "jane@globex.test").ID, "checking an invoice")
	if err != nil {
		t.Fatal(err)
	}
	link, ok := w.c.ProductLinkOf(lead)
	if !ok {
		t.Fatal("no product link after the session started")
	}
	return s, ticketOf(t, link.URL)
}

func ticketOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://app.example.test/actas/enter?ticket=") {
		t.Fatalf("product link %q does not follow the template", link)
	}
	return u.Query().Get("ticket")
}

// reply is an HTTP answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("reply %d %q is not JSON: %v", r.status, r.body, err)
	}
}

// errorCode is the code of an error reply, checking its shape: exactly
// {"error": {"code", "message"}} with a message.
func (r reply) errorCode(t testing.TB) string {
	t.Helper()
	var body map[string]map[string]any
	r.json(t, &body)
	e, ok := body["error"]
	if !ok || len(body) != 1 || len(e) != 2 || e["message"] == "" {
		t.Fatalf("error reply %d is not {\"error\": {\"code\", \"message\"}}: %s", r.status, r.body)
	}
	code, _ := e["code"].(string)
	return code
}

// call sends a request with the named key ("" = none) and a body (string,
// []byte or a value to encode; nil = none).
func (w *world) call(t testing.TB, method, path, key string, body any, header ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		secret, ok := w.secrets[key]
		if !ok {
			secret = key
		}
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// redeem spends a ticket with the key and returns the session ID and token.
func (w *world) redeem(t testing.TB, key, ticket string) (string, string) {
	t.Helper()
	r := w.call(t, "POST", "/v1/tickets/redeem", key, map[string]string{"ticket": ticket})
	if r.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	var g struct{ Session, Token string }
	r.json(t, &g)
	return g.Session, g.Token
}

// jwks fetches the published key set.
func (w *world) jwks(t testing.TB) jose.JSONWebKeySet {
	t.Helper()
	r := w.call(t, "GET", "/.well-known/jwks.json", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("jwks: %d %s", r.status, r.body)
	}
	var set jose.JSONWebKeySet
	r.json(t, &set)
	return set
}

// verify checks a token against the JWKS as a host product would (EdDSA
// only, the key its kid names) and returns its claims.
func verify(t testing.TB, set jose.JSONWebKeySet, token string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("token does not parse as an EdDSA JWS: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if kid == "" || len(keys) != 1 {
		t.Fatalf("token kid %q is not in the JWKS (%d keys)", kid, len(set.Keys))
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("token does not verify against the JWKS: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// auditCount is the number of events in the log.
func (w *world) auditCount() uint64 { return w.c.AuditCount() }

// sessionEvents reads a session's audit, oldest first.
func (w *world) sessionEvents(t testing.TB, sid string, types ...string) []core.Event {
	t.Helper()
	page, err := w.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Session: sid, Types: types}, 0, false, 5000)
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// events builds a report body of n actions at the clock's time.
func (w *world) events(n int, request map[string]any) map[string]any {
	evs := make([]map[string]any, n)
	for i := range evs {
		evs[i] = map[string]any{"time": w.clock.Now().Format(time.RFC3339Nano), "method": "POST", "path": "/settings/profile",
			"status": 200, "request": request}
	}
	return map[string]any{"events": evs}
}
