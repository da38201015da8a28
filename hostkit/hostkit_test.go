package hostkit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/internal/fakeactas"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newKit(t testing.TB, fake *fakeactas.Server, edit func(*Config)) *Kit {
	t.Helper()
	cfg := Config{
		URL: fake.URL, APIKey: fakeactas.APIKey, Audience: fakeactas.Audience,
		FlushInterval: 10 * time.Millisecond, Logger: quiet(),
		jwksMinInterval: time.Hour, retryMin: 5 * time.Millisecond, retryMax: 50 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

func newFake(t testing.TB) *fakeactas.Server {
	fake := fakeactas.New()
	t.Cleanup(fake.Close)
	return fake
}

// app is a product page that says who it serves.
func app(k *Kit) http.Handler {
	return k.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		if imp, ok := From(r.Context()); ok {
			fmt.Fprintf(w, "as %s by %s in %s", imp.Target.Email, imp.Impersonator.Email, imp.Session)
			return
		}
		fmt.Fprint(w, "own")
	}))
}

type req struct {
	method, path, cookie, body, ctype, host string
}

func do(h http.Handler, q req) *httptest.ResponseRecorder {
	if q.method == "" {
		q.method = http.MethodGet
	}
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, "http://127.0.0.1"+q.path, body)
	if q.host != "" {
		r.Host = q.host
	}
	if q.ctype != "" {
		r.Header.Set("Content-Type", q.ctype)
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: "actas_session", Value: q.cookie})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func cookieOf(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == "actas_session" {
			return c
		}
	}
	return nil
}

// enter redeems a new session's ticket and returns the session and cookie.
func enter(t testing.TB, fake *fakeactas.Server, k *Kit) (*fakeactas.Session, string) {
	t.Helper()
	sess, ticket := fake.Start()
	w := do(k.EnterHandler(), req{path: "/actas/enter?ticket=" + ticket})
	c := cookieOf(w)
	if w.Code != http.StatusSeeOther || c == nil || c.Value == "" {
		t.Fatalf("enter: %d %q, cookie %v", w.Code, w.Body.String(), c)
	}
	return sess, c.Value
}

// eventually polls cond every 5 ms until it holds or limit passes.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestImportsNothingOfActas(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		bad := strings.Contains(pkg, "bbolt") || strings.Contains(pkg, "charmbracelet") ||
			strings.Contains(pkg, "bubbletea") || strings.Contains(pkg, "lipgloss") || strings.Contains(pkg, "wish") ||
			(strings.HasPrefix(pkg, "github.com/actas/actas") && pkg != "github.com/actas/actas/hostkit")
		if bad {
			t.Errorf("hostkit depends on %s; host products must not pull it in", pkg)
		}
	}
}

func TestEnterSetsCookieAndRedirects(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, ticket := fake.Start()

	w := do(k.EnterHandler(), req{path: "/actas/enter?ticket=" + ticket})
	c := cookieOf(w)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("enter: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
		t.Fatalf("cookie on plain-HTTP loopback: %+v", c)
	}
	if got := do(app(k), req{cookie: c.Value}).Body.String(); got != "as jane@globex.test by lead@acme.test in "+sess.ID {
		t.Fatalf("page after enter: %q", got)
	}

	// Used once: the same ticket again is refused with 410.
	if w := do(k.EnterHandler(), req{path: "/actas/enter?ticket=" + ticket}); w.Code != http.StatusGone || cookieOf(w) != nil {
		t.Fatalf("second redeem: %d, cookie %v", w.Code, cookieOf(w))
	}

	// Anywhere but plain-HTTP loopback the cookie is Secure.
	_, ticket = fake.Start()
	w = do(k.EnterHandler(), req{path: "/actas/enter?ticket=" + ticket, host: "app.example.com"})
	if c := cookieOf(w); c == nil || !c.Secure {
		t.Fatalf("cookie for app.example.com: %+v", c)
	}
}

func TestEnterErrors(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	if w := do(k.EnterHandler(), req{path: "/actas/enter"}); w.Code != http.StatusBadRequest || cookieOf(w) != nil {
		t.Fatalf("no ticket: %d", w.Code)
	}
	if w := do(k.EnterHandler(), req{path: "/actas/enter?ticket=unknown"}); w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "already used or has expired") {
		t.Fatalf("unknown ticket: %d %s", w.Code, w.Body.String())
	}
	_, ticket := fake.Start()
	fake.Close() // actas is down
	if w := do(k.EnterHandler(), req{path: "/actas/enter?ticket=" + ticket}); w.Code != http.StatusBadGateway || cookieOf(w) != nil {
		t.Fatalf("actas down: %d %s", w.Code, w.Body.String())
	}
}

func TestTokensRejected(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, cookie := enter(t, fake, k)
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)

	good := fake.Token(sess, nil)
	parts := strings.Split(good, ".")
	payload, _ := json.Marshal(map[string]any{"sub": "u_bob", "sid": sess.ID, "aud": fakeactas.Audience,
		"exp": time.Now().Add(time.Hour).Unix(), "act": map[string]string{"sub": "u_lead"}})
	tampered := parts[0] + "." + b64(payload) + "." + parts[2]
	hsHeader := b64([]byte(`{"alg":"HS256","kid":"x","typ":"JWT"}`))
	noneHeader := b64([]byte(`{"alg":"none","typ":"JWT"}`))

	cases := []struct {
		name, token string
	}{
		{"tampered payload", tampered},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"expired", fake.Token(sess, func(c *fakeactas.Claims) {
			c.IssuedAt, c.Expiry = time.Now().Add(-10*time.Minute), time.Now().Add(-5*time.Minute)
		})},
		{"wrong audience", fake.Token(sess, func(c *fakeactas.Claims) { c.Audience = "payroll" })},
		{"nested act", fake.Token(sess, func(c *fakeactas.Claims) { c.NestedAct = true })},
		{"no act", fake.Token(sess, func(c *fakeactas.Claims) { c.NoAct = true })},
		{"foreign key", fakeactas.Sign("k-unknown", foreign, sess, fakeactas.Claims{Audience: fakeactas.Audience, IssuedAt: time.Now(), Expiry: time.Now().Add(time.Minute)})},
		{"HS256", hsHeader + "." + parts[1] + "." + parts[2]},
		{"alg none", noneHeader + "." + parts[1] + "."},
		{"garbage", "not-a-token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newKit(t, fake, nil) // a fresh kit: the session is not known yet
			w := do(app(k), req{cookie: tc.token})
			if w.Body.String() != "own" {
				t.Fatalf("accepted: %q", w.Body.String())
			}
			if c := cookieOf(w); c == nil || c.MaxAge >= 0 {
				t.Fatalf("bad cookie not cleared: %+v", c)
			}
		})
	}
	// The good token and the entered cookie still work.
	if got := do(app(k), req{cookie: good}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("good token: %q", got)
	}
	if got := do(app(k), req{cookie: cookie}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("entered cookie: %q", got)
	}
}

func TestIssuerChecked(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, func(c *Config) { c.Issuer = "https://actas.example" })
	sess, _ := fake.Start()
	if got := do(app(k), req{cookie: fake.Token(sess, nil)}).Body.String(); got != "own" {
		t.Fatalf("token of issuer actas accepted by a kit expecting another: %q", got)
	}
	tok := fake.Token(sess, func(c *fakeactas.Claims) { c.Issuer = "https://actas.example" })
	if got := do(app(k), req{cookie: tok}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("right issuer: %q", got)
	}
}

func TestAudienceLearnedFromRedeem(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, func(c *Config) { c.Audience = "" })
	sess, _ := fake.Start()
	tok := fake.Token(sess, nil)
	w := do(app(k), req{cookie: tok})
	if w.Body.String() != "own" || cookieOf(w) != nil {
		t.Fatalf("before any redeem a token must not be accepted, nor its cookie cleared: %q %v", w.Body.String(), cookieOf(w))
	}
	enter(t, fake, k)
	if got := do(app(k), req{cookie: tok}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("after a redeem: %q", got)
	}
	other := fake.Token(sess, func(c *fakeactas.Claims) { c.Audience = "payroll" })
	if got := do(app(k), req{cookie: other}).Body.String(); got != "own" {
		t.Fatalf("another audience after learning: %q", got)
	}
}

func TestUnknownKidRefetchesJWKS(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, func(c *Config) { c.jwksMinInterval = 200 * time.Millisecond })
	sess, _ := enter(t, fake, k)
	if n := fake.JWKSFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for the first token, want 1", n)
	}
	// Cached: another token of the same key costs no fetch.
	do(app(k), req{cookie: fake.Token(sess, nil)})
	if n := fake.JWKSFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (cached)", n)
	}
	// actas rotates its key: a token with the new kid makes hostkit refetch.
	time.Sleep(250 * time.Millisecond) // past the rate limit of the first fetch
	fake.Rotate()
	if got := do(app(k), req{cookie: fake.Token(sess, nil)}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("token of the rotated key: %q", got)
	}
	if n := fake.JWKSFetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after rotation, want 2", n)
	}
	// Forged kids do not make it fetch again within the rate limit.
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	for i := range 5 {
		tok := fakeactas.Sign(fmt.Sprintf("forged%d", i), foreign, sess, fakeactas.Claims{Audience: fakeactas.Audience, IssuedAt: time.Now(), Expiry: time.Now().Add(time.Minute)})
		if got := do(app(k), req{cookie: tok}).Body.String(); got != "own" {
			t.Fatalf("forged kid accepted: %q", got)
		}
	}
	if n := fake.JWKSFetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after forged kids, want 2 (rate-limited)", n)
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, _ := fake.Start()
	// A token two thirds through its life is renewed at once.
	old := fake.Token(sess, func(c *fakeactas.Claims) {
		c.IssuedAt, c.Expiry = time.Now().Add(-4*time.Minute), time.Now().Add(time.Minute)
	})
	if got := do(app(k), req{cookie: old}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("old token: %q", got)
	}
	eventually(t, 5*time.Second, "token refreshed", func() bool { return fake.Refreshes.Load() > 0 })
	var fresh *http.Cookie
	eventually(t, 5*time.Second, "fresh cookie handed out", func() bool {
		fresh = cookieOf(do(app(k), req{cookie: old}))
		return fresh != nil
	})
	if fresh.Value == old || fresh.MaxAge < 0 || !fresh.HttpOnly {
		t.Fatalf("fresh cookie: %+v", fresh)
	}
	if got := do(app(k), req{cookie: fresh.Value}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("fresh token: %q", got)
	}
	// An already expired cookie of this session still works while hostkit
	// holds a fresh token for it (the browser was idle past the old one).
	expired := fake.Token(sess, func(c *fakeactas.Claims) {
		c.IssuedAt, c.Expiry = time.Now().Add(-10*time.Minute), time.Now().Add(-5*time.Minute)
	})
	w := do(app(k), req{cookie: expired})
	if !strings.HasPrefix(w.Body.String(), "as jane") || cookieOf(w) == nil {
		t.Fatalf("expired cookie of a refreshed session: %q, cookie %v", w.Body.String(), cookieOf(w))
	}
}

func TestRefreshGoneDropsSession(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, _ := fake.Start()
	old := fake.Token(sess, func(c *fakeactas.Claims) {
		c.IssuedAt, c.Expiry = time.Now().Add(-4*time.Minute), time.Now().Add(time.Minute)
	})
	fake.EndSession(sess.ID) // ended before hostkit follows the stream or refreshes
	do(app(k), req{cookie: old})
	eventually(t, 5*time.Second, "session dropped after 410", func() bool {
		return do(app(k), req{cookie: old}).Body.String() == "own"
	})
}

func TestStreamEndDropsSessionWithinASecond(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, cookie := enter(t, fake, k)
	eventually(t, 5*time.Second, "stream connected", func() bool { return fake.Streams() == 1 })
	if got := do(app(k), req{cookie: cookie}).Body.String(); !strings.HasPrefix(got, "as jane") {
		t.Fatalf("before end: %q", got)
	}
	refreshes := fake.Refreshes.Load()
	fake.EndSession(sess.ID)
	var w *httptest.ResponseRecorder
	eventually(t, time.Second, "session dropped after session.ended", func() bool {
		w = do(app(k), req{cookie: cookie})
		return w.Body.String() == "own"
	})
	if c := cookieOf(w); c == nil || c.MaxAge >= 0 {
		t.Fatalf("cookie of an ended session not cleared: %+v", c)
	}
	if fake.Refreshes.Load() != refreshes {
		t.Fatal("the drop came from a token refresh, not from the stream")
	}
	// A token of the ended session minted before the end is refused too.
	if got := do(app(k), req{cookie: fake.Token(sess, nil)}).Body.String(); got != "own" {
		t.Fatalf("another token of the ended session: %q", got)
	}
}

func TestStreamResumesWithLastEventID(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	first, _ := enter(t, fake, k)
	second, cookie := enter(t, fake, k)
	eventually(t, 5*time.Second, "stream connected", func() bool { return fake.Streams() == 1 })
	fake.EndSession(first.ID) // id 1
	eventually(t, time.Second, "first dropped", func() bool {
		k.mu.RLock()
		defer k.mu.RUnlock()
		_, gone := k.ended[first.ID]
		return gone
	})
	fake.DropStreams()
	eventually(t, 5*time.Second, "stream reconnected", func() bool { return len(fake.LastEventIDs()) == 2 && fake.Streams() == 1 })
	if ids := fake.LastEventIDs(); ids[0] != "" || ids[1] != "1" {
		t.Fatalf("Last-Event-ID per connection: %q, want [\"\" \"1\"]", ids)
	}
	fake.EndSession(second.ID)
	eventually(t, time.Second, "second dropped after reconnect", func() bool {
		return do(app(k), req{cookie: cookie}).Body.String() == "own"
	})
}

func TestReportsRequestsInBatches(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, func(c *Config) { c.FlushInterval = 300 * time.Millisecond })
	sess, cookie := enter(t, fake, k)
	h := app(k)
	do(h, req{path: "/invoices?page=2&access_token=abc"})
	do(h, req{method: "POST", path: "/invoices", cookie: cookie, ctype: "application/json",
		body: `{"amount": 12.5, "customer": {"name": "Initech", "api_key": "k-123"}, "note": "password=hunter2 please"}`})
	do(h, req{method: "POST", path: "/settings", cookie: cookie, ctype: "application/x-www-form-urlencoded", body: "theme=dark&new_password=hunter2"})
	do(h, req{path: "/invoices?page=2&access_token=abc", cookie: cookie})
	do(h, req{method: "PUT", path: "/upload", cookie: cookie, ctype: "application/octet-stream", body: "binary"})

	eventually(t, 5*time.Second, "4 events reported", func() bool { return len(fake.Events(sess.ID)) == 4 })
	if n := len(fake.Batches()); n != 1 {
		t.Errorf("%d batches for 4 requests within one flush interval, want 1", n)
	}
	evs := fake.Events(sess.ID)
	got, _ := json.Marshal(evs)
	for _, want := range []string{
		`"method":"POST","path":"/invoices","request":{"amount":12.5,"customer":{"api_key":"[REDACTED]","name":"Initech"},"note":"password=[REDACTED] please"},"status":200`,
		`"method":"POST","path":"/settings","request":{"new_password":"[REDACTED]","theme":"dark"},"status":200`,
		`"details":{"query":{"access_token":"[REDACTED]","page":"2"}},"method":"GET","path":"/invoices"`,
		`"details":{"body":"not recorded: application/octet-stream"},"method":"PUT","path":"/upload"`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("reported events lack %s\nin %s", want, got)
		}
	}
	if strings.Contains(string(got), "hunter2") || strings.Contains(string(got), "k-123") || strings.Contains(string(got), "abc") {
		t.Errorf("a secret left the product: %s", got)
	}
	for _, ev := range evs {
		if ev["blocked"] != false {
			t.Errorf("event blocked: %v", ev)
		}
	}
}

func TestRedaction(t *testing.T) {
	in := map[string]any{
		"Password": "a", "user-Token": "b", "X_API.Key": "c", "auth": "d", "author": "Ann",
		"Authorization": "Bearer abc", "headers": map[string]any{"Cookie": []any{"s=1"}, "Accept": "json"},
		"list":  []any{map[string]any{"client_secret": "e"}, "Bearer eyJabc.def", "token: xyz and more"},
		"notes": "pwd='hunter 2' then", "credentials": map[string]any{"x": 1}, "private_key": "f", "nested": []any{[]any{map[string]any{"passwd": "g"}}},
	}
	got, _ := json.Marshal(redact(in))
	want := `{"Authorization":"[REDACTED]","Password":"[REDACTED]","X_API.Key":"[REDACTED]","auth":"[REDACTED]","author":"Ann",` +
		`"credentials":"[REDACTED]","headers":{"Accept":"json","Cookie":"[REDACTED]"},` +
		`"list":[{"client_secret":"[REDACTED]"},"Bearer [REDACTED]","token: [REDACTED] and more"],` +
		`"nested":[[{"passwd":"[REDACTED]"}]],"notes":"pwd=[REDACTED] then","private_key":"[REDACTED]","user-Token":"[REDACTED]"}`
	if string(got) != want {
		t.Fatalf("redact:\n got %s\nwant %s", got, want)
	}
}

func TestProtectBlocksAndReports(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, cookie := enter(t, fake, k)
	changed := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/settings/password", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			changed++
		}
		fmt.Fprint(w, "form")
	})
	h := k.Middleware(k.Protect("POST /settings/password", "/admin/")(mux))

	w := do(h, req{method: "POST", path: "/settings/password", cookie: cookie, ctype: "application/x-www-form-urlencoded", body: "password=x"})
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Not allowed while impersonating") || changed != 0 {
		t.Fatalf("protected POST: %d %q, handler ran %d times", w.Code, w.Body.String(), changed)
	}
	if w := do(h, req{path: "/settings/password", cookie: cookie}); w.Code != http.StatusOK {
		t.Fatalf("GET of a POST-only pattern: %d", w.Code)
	}
	if w := do(h, req{path: "/admin/users/1", cookie: cookie}); w.Code != http.StatusForbidden {
		t.Fatalf("/admin/ subtree: %d", w.Code)
	}
	if w := do(h, req{method: "POST", path: "/settings/password", ctype: "application/x-www-form-urlencoded", body: "password=x"}); w.Code != http.StatusOK || changed != 1 {
		t.Fatalf("the product's own user: %d, changed %d", w.Code, changed)
	}
	eventually(t, 5*time.Second, "3 events", func() bool { return len(fake.Events(sess.ID)) == 3 })
	evs := fake.Events(sess.ID)
	if evs[0]["blocked"] != true || evs[0]["status"] != float64(403) || evs[0]["path"] != "/settings/password" {
		t.Fatalf("blocked event: %v", evs[0])
	}
	if d, _ := evs[0]["details"].(map[string]any); d["protected"] != "POST /settings/password" {
		t.Fatalf("blocked event details: %v", evs[0]["details"])
	}
	if r, _ := evs[0]["request"].(map[string]any); r["password"] != Redacted {
		t.Fatalf("blocked event request: %v", evs[0]["request"])
	}
	if evs[1]["blocked"] != false || evs[2]["blocked"] != true {
		t.Fatalf("events: %v", evs)
	}
}

func TestQueueNeverBlocksAndCountsDrops(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, func(c *Config) { c.QueueSize = 8 })
	sess, cookie := enter(t, fake, k)
	h := app(k)
	fake.Stall()
	do(h, req{path: "/first", cookie: cookie})
	eventually(t, 5*time.Second, "the reporter waits on actas", func() bool { return fake.Stalled() == 1 })

	const n = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			if got := do(h, req{path: "/invoices", cookie: cookie}); !strings.HasPrefix(got.Body.String(), "as jane") {
				t.Errorf("request while actas stalls: %q", got.Body.String())
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("requests waited for a stalled actas")
	}
	k.dropMu.Lock()
	dropped := k.dropped[sess.ID].n
	k.dropMu.Unlock()
	if dropped != n-8 {
		t.Fatalf("%d requests dropped with a queue of 8 and the reporter stuck, want %d", dropped, n-8)
	}

	fake.Release()
	var recorded, reportedDrops int
	eventually(t, 5*time.Second, "every request accounted for", func() bool {
		recorded, reportedDrops = 0, 0
		for _, ev := range fake.Events(sess.ID) {
			if d, _ := ev["details"].(map[string]any); d["dropped"] != nil {
				reportedDrops += int(d["dropped"].(float64))
			} else {
				recorded++
			}
		}
		return recorded+reportedDrops == n+1
	})
	if reportedDrops != dropped {
		t.Fatalf("reported %d drops, counted %d", reportedDrops, dropped)
	}
}

func TestRefusedEventDoesNotTakeItsBatchAlong(t *testing.T) {
	fake := newFake(t)
	fake.RejectPath.Store("/late")
	k := newKit(t, fake, func(c *Config) { c.FlushInterval = 50 * time.Millisecond })
	sess, cookie := enter(t, fake, k)
	fake.Stall()
	do(app(k), req{path: "/first", cookie: cookie})
	eventually(t, 5*time.Second, "the reporter waits on actas", func() bool { return fake.Stalled() == 1 })
	for _, p := range []string{"/a", "/late", "/b", "/c", "/d"} {
		do(app(k), req{path: p, cookie: cookie})
	}
	fake.Release()
	var got []string
	eventually(t, 5*time.Second, "the good events", func() bool {
		got = got[:0]
		for _, ev := range fake.Events(sess.ID) {
			got = append(got, ev["path"].(string))
		}
		return len(got) == 5
	})
	if strings.Join(got, " ") != "/first /a /b /c /d" {
		t.Fatalf("recorded %v", got)
	}
}

func TestRetriesWhileActasIsDown(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, cookie := enter(t, fake, k)
	fake.FailNext(5)
	for range 3 {
		do(app(k), req{path: "/invoices", cookie: cookie})
	}
	eventually(t, 5*time.Second, "3 events after actas came back", func() bool { return len(fake.Events(sess.ID)) == 3 })
}

func TestBanner(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	sess, ticket := fake.Start()
	fake.SetEndsAt(sess.ID, time.Now().Add(42*time.Minute+30*time.Second))
	cookie := cookieOf(do(k.EnterHandler(), req{path: "/actas/enter?ticket=" + ticket})).Value
	page := k.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, k.Banner(r.Context()))
	}))
	if got := do(page, req{}).Body.String(); got != "" {
		t.Fatalf("banner for the product's own user: %q", got)
	}
	var got string
	eventually(t, 5*time.Second, "banner with names and end", func() bool {
		got = do(page, req{cookie: cookie}).Body.String()
		return strings.Contains(got, "ends in")
	})
	for _, want := range []string{
		"You are viewing as <strong>Jane Doe</strong> — Lee Lead is acting · ends in 42m · ",
		`<form method="post" action="/actas/end"`, `>End</button>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("banner lacks %q: %s", want, got)
		}
	}
}

func TestLeft(t *testing.T) {
	now := time.Now()
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30s", 42*time.Minute + 59*time.Second: "42m", 2*time.Hour + 5*time.Minute: "2h 5m", -time.Second: "0m",
	} {
		if got := left(now.Add(d), now); got != want {
			t.Errorf("left(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestEndHandler(t *testing.T) {
	for _, missing := range []bool{false, true} {
		t.Run(fmt.Sprintf("endpoint missing=%v", missing), func(t *testing.T) {
			fake := newFake(t)
			fake.EndMissing.Store(missing)
			k := newKit(t, fake, nil)
			sess, cookie := enter(t, fake, k)
			if w := do(k.EndHandler(), req{path: "/actas/end", cookie: cookie}); w.Code != http.StatusMethodNotAllowed {
				t.Fatalf("GET /actas/end: %d", w.Code)
			}
			w := do(k.EndHandler(), req{method: "POST", path: "/actas/end", cookie: cookie})
			if w.Code != http.StatusSeeOther || cookieOf(w) == nil || cookieOf(w).MaxAge >= 0 {
				t.Fatalf("end: %d, cookie %+v", w.Code, cookieOf(w))
			}
			if want := int64(1); !missing && fake.Ends.Load() != want {
				t.Fatalf("actas asked to end %d times", fake.Ends.Load())
			}
			if got := do(app(k), req{cookie: cookie}).Body.String(); got != "own" {
				t.Fatalf("after End: %q", got)
			}
			if missing {
				// actas still runs the session: a new ticket for it enters again.
				ticket := fake.Ticket(sess.ID)
				c := cookieOf(do(k.EnterHandler(), req{path: "/actas/enter?ticket=" + ticket}))
				if got := do(app(k), req{cookie: c.Value}).Body.String(); !strings.HasPrefix(got, "as jane") {
					t.Fatalf("entering again after an End actas did not take: %q", got)
				}
				if got := do(app(k), req{cookie: fake.Token(sess, nil)}).Body.String(); !strings.HasPrefix(got, "as jane") {
					t.Fatalf("another token of the entered-again session: %q", got)
				}
			}
		})
	}
}

func TestCloseStopsAndFlushes(t *testing.T) {
	fake := newFake(t)
	before := runtime.NumGoroutine()
	k := newKit(t, fake, func(c *Config) { c.FlushInterval = time.Hour })
	sess, cookie := enter(t, fake, k)
	do(app(k), req{path: "/a", cookie: cookie})
	eventually(t, 5*time.Second, "stream connected", func() bool { return fake.Streams() == 1 })
	_ = k.Close()
	if n := len(fake.Events(sess.ID)); n != 1 {
		t.Fatalf("%d events after Close, want the queued one", n)
	}
	_ = k.Close()
	fake.Server.CloseClientConnections()
	eventually(t, 5*time.Second, "hostkit's goroutines gone", func() bool { return runtime.NumGoroutine() <= before })
}

func TestBodyStillReadable(t *testing.T) {
	fake := newFake(t)
	k := newKit(t, fake, nil)
	_, cookie := enter(t, fake, k)
	big := `{"x":"` + strings.Repeat("a", 20000) + `"}`
	for _, body := range []string{`{"a":1}`, big} {
		var got string
		h := k.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got = string(b)
		}))
		r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
		r.ContentLength = -1 // unknown length: capture reads up to the limit
		r.Header.Set("Content-Type", "application/json")
		r.AddCookie(&http.Cookie{Name: "actas_session", Value: cookie})
		h.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.Background()))
		if got != body {
			t.Fatalf("handler read %d bytes of %d", len(got), len(body))
		}
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func flip(s string) string {
	b := []byte(s)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}
