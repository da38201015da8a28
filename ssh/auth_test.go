package ssh

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/log"
	gossh "golang.org/x/crypto/ssh"
)

func TestUnknownKeyIsRefused(t *testing.T) {
	w := newWorld(t)
	stranger := newSigner(t)
	_, err := w.dial(stranger)
	if err == nil {
		t.Fatal("an unknown key logged in")
	}
	// Public keys are the only method offered: OpenSSH prints
	// "Permission denied (publickey)" for exactly this.
	if !strings.Contains(err.Error(), "attempted methods [none publickey], no supported methods remain") {
		t.Fatalf("unexpected error: %v", err)
	}
	eventually(t, "a login.failed event", func() bool { return len(w.events(core.EvLoginFailed)) == 1 })
	ev := w.events(core.EvLoginFailed)[0]
	d := details(t, ev)
	if d["fingerprint"] != fingerprint(stranger.PublicKey()) || d["remote"] != "127.0.0.1" || d["count"] != 1.0 {
		t.Fatalf("login.failed details = %v", d)
	}
	if ev.Reason != "unknown key" || ev.Result != core.ResultDenied {
		t.Fatalf("login.failed reason %q result %q", ev.Reason, ev.Result)
	}
	if n := len(w.events(core.EvLogin)); n != 0 {
		t.Fatalf("%d login events for a refused key", n)
	}
}

// unproven offers a key and cannot prove it: its "signature" carries an
// algorithm the server does not accept, like a client whose private key is
// on a missing token. The server answers the offer with "key acceptable"
// (the public key callback accepts it) and then fails the attempt.
type unproven struct{ s gossh.Signer }

func (u unproven) PublicKey() gossh.PublicKey { return u.s.PublicKey() }
func (u unproven) Sign(io.Reader, []byte) (*gossh.Signature, error) {
	return &gossh.Signature{Format: "actas-test-unsigned", Blob: []byte{0}}, nil
}

func TestIdentityIsTheProvenKeyNotTheOffered(t *testing.T) {
	w := newWorld(t)
	owner := w.key(core.DemoOwner)
	approver := w.key(core.DemoApprover)
	// The owner's key is offered first, then the approver's, and only then
	// the owner's is proven. The public key callback therefore saw the
	// approver's key last: a server that took the person from it would
	// log the approver in. The SSH user name names a third person.
	tm := w.openWith(t, []gossh.Signer{unproven{owner}, unproven{approver}, owner},
		func(o *termOpt) { o.user = core.DemoApprover })
	tm.waitText("Olivia Owner · owner") // who is signed in, beside the tabs
	if strings.Contains(tm.scr.Text(), "Avery Approver · admin") {
		t.Fatal("the console shows the approver signed in")
	}
	logins := w.events(core.EvLogin)
	if len(logins) != 1 {
		t.Fatalf("%d login events, want 1", len(logins))
	}
	d := details(t, logins[0])
	if logins[0].Actor.Email != core.DemoOwner || d["fingerprint"] != fingerprint(owner.PublicKey()) {
		t.Fatalf("login event actor %v details %v; want the owner and the owner's key", logins[0].Actor, d)
	}
	if !strings.HasPrefix(d["remote"].(string), "127.0.0.1:") {
		t.Fatalf("login remote %v", d["remote"])
	}
	// A login that succeeded after failed attempts is not a failed login.
	w.shutdown()
	if n := len(w.events(core.EvLoginFailed)); n != 0 {
		t.Fatalf("%d login.failed events for a successful login", n)
	}
}

func TestSSHUserNameDoesNotMatter(t *testing.T) {
	w := newWorld(t)
	tm := w.open(core.DemoJane, func(o *termOpt) { o.user = core.DemoOwner })
	tm.waitText("Jane Doe · member")
	if got := w.events(core.EvLogin)[0].Actor.Email; got != core.DemoJane {
		t.Fatalf("logged in as %s, want jane (the key's owner)", got)
	}
}

func TestNoTerminalGetsOneLineAndStatus1(t *testing.T) {
	w := newWorld(t)
	tm := w.open(core.DemoOwner, func(o *termOpt) { o.noPty = true })
	if code := tm.waitExit(); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if got := strings.TrimSpace(tm.stderr.String()); got != NoTerminalMessage {
		t.Fatalf("stderr %q, want %q", got, NoTerminalMessage)
	}
	if n := len(w.events(core.EvLogin)); n != 0 {
		t.Fatalf("%d login events without a terminal", n)
	}
}

func TestCommandsAreRefused(t *testing.T) {
	w := newWorld(t)
	out, err := w.command(core.DemoOwner, "cat /etc/passwd")
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 {
		t.Fatalf("err %v, want exit status 1", err)
	}
	if got := strings.TrimSpace(string(out)); got != NoCommandMessage {
		t.Fatalf("output %q", got)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{15 * time.Minute: "15m", 12 * time.Hour: "12h", 30 * time.Second: "30s",
		90 * time.Minute: "1h30m", 700 * time.Millisecond: "700ms", 36 * time.Hour: "36h"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestInactiveAccountIsTurnedAway(t *testing.T) {
	w := newWorld(t)
	tm := w.open(core.DemoIna)
	if code := tm.waitExit(); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if got := tm.scr.Written(); !strings.Contains(got, "your account is inactive") {
		t.Fatalf("client read %q", got)
	}
	eventually(t, "a login.failed event", func() bool { return len(w.events(core.EvLoginFailed)) == 1 })
}

func TestHostKeyIsCreatedOnceWithMode0600(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.dataDir, "ssh_host_ed25519_key")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key mode %04o, want 0600", fi.Mode().Perm())
	}
	if w.hostKey.Type() != gossh.KeyAlgoED25519 {
		t.Fatalf("host key type %s", w.hostKey.Type())
	}
	again, err := New(Config{Core: w.c, HostKeyPath: path, Logger: log.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	if again.HostKeyFingerprint() != fingerprint(w.hostKey) {
		t.Fatal("a second start made a new host key")
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil || fingerprint(pk) != fingerprint(w.hostKey) {
		t.Fatalf(".pub does not match the host key: %v", err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Core: w.c, HostKeyPath: path, Logger: log.New(io.Discard)}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable host key was accepted (err %v)", err)
	}
}

func TestOnlyModernAlgorithms(t *testing.T) {
	w := newWorld(t)
	key := w.key(core.DemoOwner)
	cases := map[string]func(*gossh.ClientConfig){
		"cbc/ctr cipher":  func(c *gossh.ClientConfig) { c.Ciphers = []string{gossh.CipherAES128CTR} },
		"nist kex":        func(c *gossh.ClientConfig) { c.KeyExchanges = []string{gossh.KeyExchangeECDHP256} },
		"dh group14 sha1": func(c *gossh.ClientConfig) { c.KeyExchanges = []string{gossh.InsecureKeyExchangeDH14SHA1} },
		"rsa host key":    func(c *gossh.ClientConfig) { c.HostKeyAlgorithms = []string{gossh.KeyAlgoRSASHA256} },
		"ecdsa host key":  func(c *gossh.ClientConfig) { c.HostKeyAlgorithms = []string{gossh.KeyAlgoECDSA256} },
		"sha1 mac and ctr": func(c *gossh.ClientConfig) {
			c.Ciphers = []string{gossh.CipherAES256CTR}
			c.MACs = []string{gossh.HMACSHA1}
		},
	}
	for name, tweak := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := w.clientConfig(key)
			tweak(cfg)
			if c, err := gossh.Dial("tcp", w.addr, cfg); err == nil {
				c.Close()
				t.Fatal("the server agreed")
			}
		})
	}
	for _, kex := range kexAlgorithms() {
		for _, cipher := range cipherAlgos() {
			cfg := w.clientConfig(key)
			cfg.KeyExchanges, cfg.Ciphers = []string{kex}, []string{cipher}
			c, err := gossh.Dial("tcp", w.addr, cfg)
			if err != nil {
				t.Fatalf("%s with %s: %v", kex, cipher, err)
			}
			c.Close()
		}
	}
}

func TestFailedLoginsAreSummedPerAddress(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.FailedLoginWindow = 2 * time.Second })
	for range 6 {
		if _, err := w.dial(newSigner(t)); err == nil {
			t.Fatal("an unknown key logged in")
		}
	}
	// The first is recorded at once, the other five when the window ends.
	eventually(t, "the window's sum", func() bool { return len(w.events(core.EvLoginFailed)) == 2 })
	evs := w.events(core.EvLoginFailed)
	if c0, c1 := details(t, evs[0])["count"], details(t, evs[1])["count"]; c0 != 1.0 || c1 != 5.0 {
		t.Fatalf("counts %v and %v, want 1 and 5", c0, c1)
	}
}

func TestFailedLoginWindows(t *testing.T) {
	type rec struct {
		remote string
		count  int
	}
	var got []rec
	f := newFailedLogins(time.Hour, func(_, remote, _ string, n int) { got = append(got, rec{remote, n}) })
	f.add("a", "fp1", "unknown key")
	f.add("a", "fp2", "unknown key")
	f.add("a", "fp3", "unknown key")
	f.add("b", "fp4", "unknown key")
	f.tick("a") // a's window ends with two pending
	f.tick("a") // a quiet window: nothing, and a is forgotten
	f.add("a", "fp5", "unknown key")
	f.add("b", "fp6", "unknown key")
	f.flush()
	want := []rec{{"a", 1}, {"b", 1}, {"a", 2}, {"a", 1}, {"b", 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("recorded %v, want %v", got, want)
	}
}
