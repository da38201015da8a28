package ssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
	"github.com/charmbracelet/log"
	gossh "golang.org/x/crypto/ssh"
)

// epoch is the demo's fixed start (core runs on a fake clock).
var epoch = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// world is a demo database, a server on 127.0.0.1:0 and keys for people.
type world struct {
	t       *testing.T
	c       *core.Core
	srv     *Server
	addr    string
	dataDir string
	hostKey gossh.PublicKey
	keys    map[string]gossh.Signer
	logs    *syncBuffer
	served  chan error
	once    sync.Once
}

// newWorld seeds the demo (20 generated members) and serves it. tune may
// hold func(*Config) and func(*Server) (run before serving). The
// per-address limit is off unless a test sets it.
func newWorld(t *testing.T, tune ...any) *world {
	t.Helper()
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
	if _, err := core.SeedDemo(c, clock, 20); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, c: c, dataDir: dir, keys: map[string]gossh.Signer{}, logs: &syncBuffer{}, served: make(chan error, 1)}
	cfg := Config{
		Core:          c,
		HostKeyPath:   filepath.Join(dir, "ssh_host_ed25519_key"),
		PerIPConnRate: -1,
		Logger:        log.NewWithOptions(w.logs, log.Options{Level: log.DebugLevel}),
	}
	for _, f := range tune {
		if f, ok := f.(func(*Config)); ok {
			f(&cfg)
		}
	}
	w.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tune {
		if f, ok := f.(func(*Server)); ok {
			f(w.srv)
		}
	}
	w.hostKey = w.srv.srv.HostSigners[0].PublicKey()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	go func() { w.served <- w.srv.Serve(ln) }()
	t.Cleanup(func() {
		w.shutdown()
		c.Close()
		db.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", w.logs.String())
		}
	})
	return w
}

func (w *world) shutdown() error {
	var err error
	w.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = w.srv.Shutdown(ctx)
		select {
		case serr := <-w.served:
			if !errors.Is(serr, ErrServerClosed) {
				w.t.Errorf("Serve returned %v after Shutdown", serr)
			}
		case <-time.After(5 * time.Second):
			w.t.Error("Serve did not return after Shutdown")
		}
	})
	return err
}

// key registers a new ed25519 key for the person and returns its signer.
func (w *world) key(email string) gossh.Signer {
	w.t.Helper()
	if s, ok := w.keys[email]; ok {
		return s
	}
	s := newSigner(w.t)
	if _, err := w.c.AddKey(core.SystemPrincipal("test"), email, string(gossh.MarshalAuthorizedKey(s.PublicKey()))); err != nil {
		w.t.Fatal(err)
	}
	w.keys[email] = s
	return s
}

func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *world) clientConfig(signers ...gossh.Signer) *gossh.ClientConfig {
	return &gossh.ClientConfig{
		User:            "anyone",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signers...)},
		HostKeyCallback: gossh.FixedHostKey(w.hostKey),
		Timeout:         5 * time.Second,
	}
}

func (w *world) dial(signers ...gossh.Signer) (*gossh.Client, error) {
	return gossh.Dial("tcp", w.addr, w.clientConfig(signers...))
}

// command runs "ssh HOST cmd" without a terminal as the person with the
// email and returns its stdout and stderr together, and how it ended.
func (w *world) command(email, cmd string) ([]byte, error) {
	w.t.Helper()
	client, err := w.dial(w.key(email))
	if err != nil {
		w.t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		w.t.Fatal(err)
	}
	return sess.CombinedOutput(cmd)
}

// events returns the audit events of the given type, oldest first.
func (w *world) events(typ string) []core.Event {
	w.t.Helper()
	page, err := w.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Types: []string{typ}}, 0, false, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	return page.Events
}

func details(t testing.TB, ev core.Event) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(ev.Details) > 0 {
		if err := json.Unmarshal(ev.Details, &m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// term is one person at an SSH terminal.
type term struct {
	t      *testing.T
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.WriteCloser
	scr    *screen
	stderr *syncBuffer
	exit   chan error
}

type termOpt struct {
	term          string
	user          string
	width, height int
	// ptyWidth and ptyHeight, when set, are the size the PTY request asks
	// for, while the test's screen stays width×height.
	ptyWidth, ptyHeight int
	env                 map[string]string
	noPty               bool
}

// open connects as email (whose key is registered on first use) with a
// PTY of 100×30 and starts the console.
func (w *world) open(email string, opts ...func(*termOpt)) *term {
	w.t.Helper()
	return w.openWith(w.t, []gossh.Signer{w.key(email)}, opts...)
}

func (w *world) openWith(t *testing.T, signers []gossh.Signer, opts ...func(*termOpt)) *term {
	t.Helper()
	o := termOpt{term: "xterm-256color", width: 100, height: 30}
	for _, f := range opts {
		f(&o)
	}
	cfg := w.clientConfig(signers...)
	if o.user != "" {
		cfg.User = o.user
	}
	client, err := gossh.Dial("tcp", w.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range o.env {
		if err := sess.Setenv(k, v); err != nil {
			t.Fatalf("setenv %s: %v", k, err)
		}
	}
	tm := &term{t: t, client: client, sess: sess, scr: newScreen(o.width, o.height), stderr: &syncBuffer{}, exit: make(chan error, 1)}
	if !o.noPty {
		pw, ph := o.width, o.height
		if o.ptyWidth > 0 {
			pw, ph = o.ptyWidth, o.ptyHeight
		}
		if err := sess.RequestPty(o.term, ph, pw, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
			t.Fatal(err)
		}
	}
	sess.Stdout = tm.scr
	sess.Stderr = tm.stderr
	if tm.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() { tm.exit <- sess.Wait() }()
	t.Cleanup(func() { client.Close() })
	return tm
}

var keyBytes = map[string]string{
	"enter": "\r", "esc": "\x1b", "tab": "\t", "ctrl+s": "\x13", "ctrl+x": "\x18", "ctrl+c": "\x03",
}

// press sends keys one at a time, as a person types them: each arrives in
// its own read, so "." and "r" are two keys, not a paste of ".r".
func (tm *term) press(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		b, ok := keyBytes[k]
		if !ok {
			b = k
		}
		if _, err := io.WriteString(tm.stdin, b); err != nil {
			tm.t.Fatalf("typing %q: %v", k, err)
		}
		time.Sleep(60 * time.Millisecond)
	}
}

// typeText types s as one burst (text into an input).
func (tm *term) typeText(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.stdin, s); err != nil {
		tm.t.Fatalf("typing %q: %v", s, err)
	}
	time.Sleep(60 * time.Millisecond)
}

// waitFor waits until the screen satisfies cond.
func (tm *term) waitFor(what string, cond func(screen string) bool) {
	tm.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		text := tm.scr.Text()
		if cond(text) {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out waiting for %s; the screen shows:\n%s\nstderr: %s", what, text, tm.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *term) waitText(text string) {
	tm.t.Helper()
	tm.waitFor("“"+text+"”", func(s string) bool { return strings.Contains(s, text) })
}

func (tm *term) waitGone(text string) {
	tm.t.Helper()
	tm.waitFor("“"+text+"” to go away", func(s string) bool { return !strings.Contains(s, text) })
}

// waitExit waits for the session to end and returns its exit status.
func (tm *term) waitExit() int {
	tm.t.Helper()
	select {
	case err := <-tm.exit:
		var ee *gossh.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitStatus()
		default:
			return -1
		}
	case <-time.After(10 * time.Second):
		tm.t.Fatalf("session did not end; the screen shows:\n%s", tm.scr.Text())
		return -1
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
