package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/hostkit"
	"github.com/actas/actas/internal/fakeactas"
)

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

func (c *client) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func newProduct(t *testing.T) (*fakeactas.Server, *httptest.Server) {
	fake := fakeactas.New()
	t.Cleanup(fake.Close)
	kit, err := hostkit.New(hostkit.Config{URL: fake.URL, APIKey: fakeactas.APIKey, Audience: fakeactas.Audience,
		FlushInterval: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kit.Close() })
	srv := httptest.NewServer(NewApp(kit).Handler())
	t.Cleanup(srv.Close)
	return fake, srv
}

func TestOwnUser(t *testing.T) {
	_, srv := newProduct(t)
	c := newClient(t, srv.URL)
	if code, body := c.do("GET", "/invoices", nil); code != 200 || !strings.Contains(body, "<h1>Sign in</h1>") {
		t.Fatalf("signed out: %d %s", code, body)
	}
	c.do("POST", "/signin", url.Values{"email": {"bob@globex.test"}})
	code, body := c.do("POST", "/invoices", url.Values{"customer": {"Acme Rockets"}, "amount": {"99.5"}})
	if code != 200 || !strings.Contains(body, "Invoice 1007 for Acme Rockets added.") || !strings.Contains(body, "<td>99.50</td>") ||
		!strings.Contains(body, "Invoices of Bob Brown") || strings.Contains(body, "actas-banner") {
		t.Fatalf("Bob adds an invoice: %d %s", code, body)
	}
	if code, body := c.do("POST", "/invoices", url.Values{"customer": {"X"}, "amount": {"abc"}}); code != 422 || !strings.Contains(body, `id="error"`) {
		t.Fatalf("bad amount: %d", code)
	}
	if code, body := c.do("POST", "/settings/password", url.Values{"new_password": {"correct horse"}}); code != 200 || !strings.Contains(body, "Password changed.") {
		t.Fatalf("Bob changes his password: %d %s", code, body)
	}
}

func TestImpersonated(t *testing.T) {
	fake, srv := newProduct(t)
	sess, ticket := fake.Start()
	c := newClient(t, srv.URL)
	code, body := c.do("GET", "/actas/enter?ticket="+ticket, nil)
	if code != 200 || !strings.Contains(body, "Invoices of Jane Doe") {
		t.Fatalf("after entering: %d %s", code, body)
	}
	// The banner, on every page; the names come from actas a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(body, "You are viewing as <strong>Jane Doe</strong> — Lee Lead is acting · ends in 59m") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %s", body)
		}
		time.Sleep(10 * time.Millisecond)
		_, body = c.do("GET", "/settings", nil)
	}
	code, body = c.do("POST", "/invoices", url.Values{"customer": {"Globex Support"}, "amount": {"12"}})
	if code != 200 || !strings.Contains(body, "<td>lead@acme.test as jane@globex.test</td>") || !strings.Contains(body, "actas-banner") {
		t.Fatalf("impersonator adds an invoice: %d %s", code, body)
	}
	code, body = c.do("POST", "/settings/password", url.Values{"new_password": {"hunter2hunter2"}})
	if code != 403 || !strings.Contains(body, "Not allowed while impersonating") {
		t.Fatalf("impersonator changes the password: %d %s", code, body)
	}

	var evs []map[string]any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if evs = fake.Events(sess.ID); len(evs) >= 3 {
			break
		}
	}
	var all bytes.Buffer
	for _, ev := range evs {
		all.WriteString(ev["method"].(string) + " " + ev["path"].(string) + " ")
	}
	for _, want := range []string{"POST /invoices", "POST /settings/password"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("reported: %s; want %s", all.String(), want)
		}
	}
	if strings.Contains(func() string { b, _ := jsonString(evs); return b }(), "hunter2") {
		t.Error("the password left the product")
	}

	// The session ends in actas: the next page is the product's own again.
	fake.EndSession(sess.ID)
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, body = c.do("GET", "/invoices", nil)
		if strings.Contains(body, "<h1>Sign in</h1>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still impersonated after the end: %s", body)
		}
	}
}

func TestRunNeedsActas(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), nil, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "--actas") {
		t.Fatalf("run without actas: %v", err)
	}
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func TestRunServesUntilCancelled(t *testing.T) {
	fake := fakeactas.New()
	t.Cleanup(fake.Close)
	env := map[string]string{"ACTAS_URL": fake.URL, "ACTAS_API_KEY": fakeactas.APIKey}
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0"}, func(k string) string { return env[k] }, out)
	}()
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hostapp did not start: %s", out.String())
		}
		if _, rest, ok := strings.Cut(out.String(), "hostapp on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	resp, err := http.Get(addr + "/signin")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /signin: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
