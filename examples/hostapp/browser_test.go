package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/log"
	"github.com/chromedp/chromedp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/actas/actas/core"
	"github.com/actas/actas/hostkit"
	"github.com/actas/actas/httpapi"
	actasssh "github.com/actas/actas/ssh"
	"github.com/actas/actas/store"
)

// findChromium looks for a Chromium or Chrome to drive: $ACTAS_CHROMIUM,
// then the usual names on PATH.
func findChromium() string {
	if p := os.Getenv("ACTAS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// stack is actas (core, the SSH console, the HTTP API) and hostapp on
// loopback, as `actas serve --http` and `go run ./examples/hostapp` run them.
type stack struct {
	c        *core.Core
	sshAddr  string
	hostKey  gossh.PublicKey
	hostapp  string
	keyFiles map[string]gossh.Signer
}

func newStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "actas.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The demo is seeded on a clock three hours back (as `actas demo`
	// does), then served on the real clock: tokens are checked against it.
	clk := core.NewFakeClock(time.Now().Add(-3 * time.Hour))
	seed, err := core.Open(db, core.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.SeedDemo(seed, clk, 5); err != nil {
		t.Fatal(err)
	}
	seed.Close()
	c, err := core.Open(db, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &stack{c: c, keyFiles: map[string]gossh.Signer{}}

	// hostapp's address goes into policy product_url before it serves.
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.hostapp = "http://" + hostLn.Addr().String()
	sys := core.SystemPrincipal("test")
	if _, err := c.SetPolicy(sys, map[string]string{"product_url": s.hostapp + "/actas/enter?ticket={ticket}"}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := c.AddAPIKey(sys, "hostapp", 0)
	if err != nil {
		t.Fatal(err)
	}

	keys, err := httpapi.OpenKeyring(dir, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Core: c, Keyring: keys})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(api)
	t.Cleanup(func() { apiSrv.CloseClientConnections(); api.Close(); apiSrv.Close() })

	kit, err := hostkit.New(hostkit.Config{URL: apiSrv.URL, APIKey: secret, Audience: "hostapp",
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hostSrv := &http.Server{Handler: NewApp(kit).Handler()}
	go func() { _ = hostSrv.Serve(hostLn) }()
	t.Cleanup(func() { _ = hostSrv.Close(); _ = kit.Close() })

	hostKeyPath := filepath.Join(dir, "ssh_host_ed25519_key")
	sshSrv, err := actasssh.New(actasssh.Config{Core: c, HostKeyPath: hostKeyPath, PerIPConnRate: -1,
		Logger: log.NewWithOptions(testWriter{t}, log.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	sshLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.sshAddr = sshLn.Addr().String()
	go func() { _ = sshSrv.Serve(sshLn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sshSrv.Shutdown(ctx)
	})
	pem, err := os.ReadFile(hostKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	s.hostKey = hk.PublicKey()
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// console is a person's console over SSH with a wide PTY.
type console struct {
	t            *testing.T
	stdin        io.WriteCloser
	lockedBuffer // what the console wrote
}

var escapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHM])`)

// text is everything the console wrote, with escape sequences removed.
func (c *console) text() string {
	return escapes.ReplaceAllString(c.String(), " ")
}

func (c *console) waitFor(re *regexp.Regexp) []string {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := re.FindStringSubmatch(c.text()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the console never showed %s; it wrote:\n%s", re, c.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *console) press(keys ...string) {
	for _, k := range keys {
		if _, err := io.WriteString(c.stdin, k); err != nil {
			c.t.Fatal(err)
		}
		time.Sleep(80 * time.Millisecond)
	}
}

func (s *stack) console(t *testing.T, email string) *console {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	if _, err := s.c.AddKey(core.SystemPrincipal("test"), email, string(gossh.MarshalAuthorizedKey(signer.PublicKey()))); err != nil {
		t.Fatal(err)
	}
	client, err := gossh.Dial("tcp", s.sshAddr, &gossh.ClientConfig{
		User: "anyone", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.FixedHostKey(s.hostKey), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	con := &console{t: t}
	if err := sess.RequestPty("xterm-256color", 40, 250, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	sess.Stdout = con
	if con.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return con
}

// TestBrowser walks the whole story in a real browser: lead@acme.test
// impersonates Jane from the console (with a reason when policy asks one), opens the console's "Open as" link in
// Chromium, sees the banner, adds an invoice, is refused the password
// change; Jane revokes her consent and the next page is hostapp's own; the
// session's audit holds both actions.
func TestBrowser(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (chromium, chromium-browser, google-chrome on PATH, or $ACTAS_CHROMIUM): CI must run the browser test; .ci/run installs it with apt-get")
		}
		t.Skip("no Chromium found (chromium, chromium-browser, google-chrome on PATH, or $ACTAS_CHROMIUM): skipping the browser test of hostapp; install it with `apt-get install chromium`")
	}
	s := newStack(t)

	// The console: Users, search Jane, her menu, Impersonate user, confirm.
	lead := s.console(t, "lead@acme.test")
	lead.waitFor(regexp.MustCompile(`Lee Lead`))
	lead.press("/")
	lead.press("jane")
	lead.press("\r")
	lead.waitFor(regexp.MustCompile(`jane@globex\.test`))
	lead.press(".")
	lead.waitFor(regexp.MustCompile(`Impersonate user`))
	lead.press("i")
	lead.waitFor(regexp.MustCompile(`You will temporarily act as user Jane Doe`))
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(lead.text(), "Reason:") { // policy require_reason
		lead.press("ticket 4711: Jane cannot find an invoice", "\r")
	} else {
		lead.press("y")
	}
	lead.waitFor(regexp.MustCompile(`You are impersonating Jane Doe`))
	link := lead.waitFor(regexp.MustCompile(`Open as Jane Doe: (http://\S+/actas/enter\?ticket=[A-Za-z0-9_-]+)`))[1]
	t.Logf("the console shows Open as Jane Doe: %s", link)
	jane, err := s.c.SystemUserByEmail("jane@globex.test")
	if err != nil {
		t.Fatal(err)
	}
	leadUser, _ := s.c.SystemUserByEmail("lead@acme.test")
	sess, ok := s.c.SystemActiveSessionOf(leadUser.ID)
	if !ok {
		t.Fatal("no active session after the console started one")
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-first-run", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser; no timeout on this first call
		t.Fatalf("starting %s: %v", chromium, err)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		v, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}

	do("opening the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".actas-banner")))
	if banner := text(".actas-banner"); !regexp.MustCompile(`You are viewing as Jane Doe — Lee Lead is acting · ends in \d+m · End`).MatchString(banner) {
		t.Fatalf("banner: %q", banner)
	}
	do("adding an invoice",
		chromedp.SendKeys(chromedp.CSS("#customer"), "Globex Support Desk"),
		chromedp.SendKeys(chromedp.CSS("#amount"), "12.50"),
		chromedp.Click(chromedp.CSS("#add")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	if notice := text("#notice"); !strings.Contains(notice, "for Globex Support Desk added") {
		t.Fatalf("after adding an invoice: %q", notice)
	}
	if banner := text(".actas-banner"); !strings.Contains(banner, "You are viewing as Jane Doe") {
		t.Fatalf("banner after adding: %q", banner)
	}
	do("changing the password",
		chromedp.Navigate(s.hostapp+"/settings"),
		chromedp.WaitVisible(chromedp.CSS(".actas-banner")),
		chromedp.SendKeys(chromedp.CSS("#new_password"), "hunter2hunter2"),
		chromedp.Click(chromedp.CSS("#change-password")),
		chromedp.WaitNotPresent(chromedp.CSS("#password-form")))
	if heading := text("h1"); heading != "Not allowed while impersonating" {
		t.Fatalf("the password form answered %q", heading)
	}

	// Jane revokes her consent: the session ends, and the next page load is
	// hostapp's own (the browser has no user of its own: the sign-in page).
	if _, err := s.c.RevokeConsent(core.Principal{User: jane, Conn: "test"}); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	var page string
	for {
		c, cancelStep := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(c, chromedp.Navigate(s.hostapp+"/invoices"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if err == nil {
			page, err = chromedp.Run(c, chromedp.OuterHTML(chromedp.CSS("body")))
		}
		cancelStep()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(page, "actas-banner") {
			break
		}
		if time.Since(revoked) > 10*time.Second {
			t.Fatalf("still impersonated 10 s after the consent was revoked:\n%s", page)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("not impersonated any more %v after the revoke", time.Since(revoked).Round(time.Millisecond))
	if !strings.Contains(page, "<h1>Sign in</h1>") {
		t.Fatalf("after the end: %s", page)
	}

	// The session's audit: entered, the invoice, the refused password change.
	var types []string
	want := map[string]bool{"session.entered": false, "action.performed POST /invoices": false, "action.blocked POST /settings/password": false}
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := s.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Session: sess.ID}, 0, false, 1000)
		if err != nil {
			t.Fatal(err)
		}
		types = types[:0]
		for _, ev := range page.Events {
			d := map[string]any{}
			_ = json.Unmarshal(ev.Details, &d)
			key := ev.Type
			if strings.HasPrefix(ev.Type, "action.") {
				key += " " + str(d["method"]) + " " + str(d["path"])
				if strings.Contains(string(ev.Details), "hunter2") {
					t.Errorf("the password reached the audit log: %s", ev.Details)
				}
				if ev.Actor.ID != leadUser.ID || ev.Subject.ID != jane.ID {
					t.Errorf("%s: actor %s subject %s, want lead as Jane", key, ev.Actor.Email, ev.Subject.Email)
				}
			}
			if _, ok := want[key]; ok {
				want[key] = true
			}
			types = append(types, key)
		}
		all := true
		for _, seen := range want {
			all = all && seen
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session's audit holds %q; want %v", types, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the session's audit: %q", types)

	// Jane consents again and Lee starts another session; this time the
	// banner's End button ends it, in hostapp and in actas.
	if _, err := s.c.GrantConsent(core.Principal{User: jane, Conn: "test"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	leadP := core.Principal{User: leadUser, Conn: "test"}
	again, err := s.c.Start(leadP, jane.ID, "ticket 4712: one more look")
	if err != nil {
		t.Fatal(err)
	}
	pl, ok := s.c.ProductLinkOf(leadP)
	if !ok {
		t.Fatal("no product link for the second session")
	}
	do("ending from the banner",
		chromedp.Navigate(pl.URL),
		chromedp.WaitVisible(chromedp.CSS(".actas-banner")),
		chromedp.Click(chromedp.CSS(".actas-end")),
		chromedp.WaitNotPresent(chromedp.CSS(".actas-banner")))
	if heading := text("h1"); heading != "Sign in" {
		t.Fatalf("after End: %q", heading)
	}
	if _, ok := s.c.SystemActiveSessionOf(leadUser.ID); ok {
		t.Fatalf("session %s still runs in actas after End", again.ID)
	}
	ended, err := s.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Session: again.ID, Types: []string{"session.ended"}}, 0, false, 10)
	if err != nil || len(ended.Events) != 1 || ended.Events[0].Reason != "exit" {
		t.Fatalf("the second session's end: %+v %v", ended.Events, err)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
