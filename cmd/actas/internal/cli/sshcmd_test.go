package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/log"
	gossh "golang.org/x/crypto/ssh"

	"github.com/actas/actas/core"
	actasssh "github.com/actas/actas/ssh"
)

// sshWorld is the demo behind a real SSH server whose commands are this
// package's tree, and a key for each demo person.
type sshWorld struct {
	t    *testing.T
	c    *core.Core
	addr string
	keys map[string]gossh.Signer
}

func newSSHWorld(t *testing.T) *sshWorld {
	t.Helper()
	c := newCLI(t)
	c.ok("demo", "--no-tui", "--users", "3")
	o, err := newApp(Env{}, nil).openCore(c.dir, core.Options{}, true)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := actasssh.New(actasssh.Config{Core: o.core, HostKeyPath: filepath.Join(c.dir, hostKey),
		Logger: log.New(io.Discard), Commands: SSHCommands(o.core), PerIPConnRate: -1, PerIPConnBurst: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); o.Close() })
	w := &sshWorld{t: t, c: o.core, addr: ln.Addr().String(), keys: map[string]gossh.Signer{}}
	for _, email := range []string{core.DemoOwner, core.DemoApprover, core.DemoSupport, core.DemoLead, core.DemoJane} {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		s, _ := gossh.NewSignerFromKey(priv)
		if _, err := o.core.AddKey(core.SystemPrincipal("test"), email, string(gossh.MarshalAuthorizedKey(s.PublicKey()))); err != nil {
			t.Fatal(err)
		}
		w.keys[email] = s
	}
	return w
}

// run runs "ssh HOST cmd" as the person and returns stdout, stderr and the
// exit status.
func (w *sshWorld) run(email, stdin, cmd string) result { return w.runPty(email, stdin, cmd, false) }

// runPty is run, with a PTY asked for when pty is set (ssh -t).
func (w *sshWorld) runPty(email, stdin, cmd string, pty bool) result {
	w.t.Helper()
	client, err := gossh.Dial("tcp", w.addr, &gossh.ClientConfig{User: "x", Auth: []gossh.AuthMethod{gossh.PublicKeys(w.keys[email])},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	if err != nil {
		w.t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		w.t.Fatal(err)
	}
	if pty {
		if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
			w.t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errb, strings.NewReader(stdin)
	err = sess.Run(cmd)
	code := 0
	var ee *gossh.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitStatus()
	case err != nil:
		w.t.Fatalf("ssh %s: %v", cmd, err)
	}
	return result{out.String(), errb.String(), code}
}

func TestSSHCommandsPerRole(t *testing.T) {
	w := newSSHWorld(t)
	owner, approver, support, lead, jane := core.DemoOwner, core.DemoApprover, core.DemoSupport, core.DemoLead, core.DemoJane
	for _, tc := range []struct {
		who, cmd string
		code     int
		out, err string // substrings expected
	}{
		{owner, "user list --json", 0, `"email":"jane@globex.test"`, ""},
		{owner, "user list", 0, "EMAIL", ""},
		{support, "user list --json", 1, "", "actas: only owners"},
		{jane, "user list", 1, "", "actas: only owners"},
		{owner, "org list", 0, "Globex", ""},
		{owner, "policy show", 0, "enabled = true", ""},
		{support, "policy set enabled=false", 1, "", "actas: only owners can change settings"},
		{owner, "whoami", 0, "Olivia Owner <owner@acme.test>: owner", ""},
		{jane, "whoami --json", 0, `"email":"jane@globex.test"`, ""},
		{approver, "requests list", 0, "support@acme.test", ""},
		{support, "requests list", 0, "support@acme.test", ""}, // their own
		{jane, "requests list", 1, "", "actas: only approvers"},
		{support, "requests approve req_00000001", 1, "", "actas: only approvers can decide requests"},
		{approver, "requests deny req_00000001", 1, "", `required flag(s) "note" not set`},
		{owner, "sessions list", 0, "IMPERSONATOR", ""},
		{support, "sessions list --json", 0, `"impersonator"`, ""},
		{jane, "sessions list", 1, "", "actas: only staff can see sessions"},
		{support, "sessions terminate imp_00000001", 1, "", "actas: only owners"},
		{jane, "consent show", 0, "consent active until", ""},
		{lead, "consent grant --for 2h", 0, "consent granted until", ""},
		{lead, "consent grant --for 2000h", 1, "", "consent must be between 1h"},
		{lead, "consent revoke", 0, "consent revoked", ""},
		{support, "audit export", 1, "", "actas: only admins, owners and approvers"},
		{approver, "audit verify", 0, "audit chain intact", ""},
		{owner, "user list --help", 0, "Usage:", ""},
		{owner, "--help", 0, "whoami", ""},
		{owner, "serve", 1, "", `unknown command "serve"`},
		{owner, "user list --data /tmp", 1, "", "unknown flag: --data"},
		{owner, "import users /etc/passwd", 1, "", "send the file on standard input"},
		{owner, "frobnicate", 1, "", `unknown command "frobnicate"`},
	} {
		r := w.run(tc.who, "", tc.cmd)
		if r.code != tc.code || !strings.Contains(r.out, tc.out) || !strings.Contains(r.err, tc.err) {
			t.Errorf("%s: ssh HOST %s: exit %d\nstdout: %s\nstderr: %s", tc.who, tc.cmd, r.code, r.out, r.err)
		}
		if tc.code == 0 && r.err != "" {
			t.Errorf("%s: ssh HOST %s wrote to stderr: %s", tc.who, tc.cmd, r.err)
		}
	}
	// Each refusal by core is on record, with who and what.
	page, err := w.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Types: []string{core.EvActionBlocked}}, 0, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range page.Events {
		got = append(got, ev.Actor.Email+": "+ev.DetailsMap()["action"].(string))
	}
	mustContain(t, "refusals on record", strings.Join(got, "\n"), "support@acme.test: listing users", "jane@globex.test: listing users",
		"support@acme.test: changing the policy", "support@acme.test: deciding a request", "support@acme.test: terminating a session",
		"support@acme.test: exporting the audit log", "jane@globex.test: listing requests", "jane@globex.test: listing sessions")
}

func TestSSHCommandsDecideAndStdin(t *testing.T) {
	w := newSSHWorld(t)
	r := w.run(core.DemoApprover, "", "requests approve req_00000001 --duration 2h --note 'ticket 7'")
	if r.code != 0 || !strings.Contains(r.out, "req_00000001 approved: support@acme.test may act as jane@globex.test for 2h") {
		t.Fatalf("approve: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := w.run(core.DemoApprover, "", "requests approve req_00000001"); r.code != 1 || !strings.Contains(r.err, "already approved") {
		t.Errorf("second approve: exit %d %s", r.code, r.err)
	}
	// A denial says so, and grants nothing.
	support, _ := w.c.SystemUserByEmail(core.DemoSupport)
	bob, _ := w.c.SystemUserByEmail(core.DemoBob)
	req, err := w.c.CreateRequest(core.Principal{User: support, Conn: "test"}, bob.ID, "ticket 8", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := w.run(core.DemoApprover, "", "requests deny "+req.ID+" --note 'no ticket'"); r.code != 0 ||
		r.out != req.ID+" denied: support@acme.test may not act as bob@globex.test\n" {
		t.Errorf("deny: exit %d %q %s", r.code, r.out, r.err)
	}
	// stdin feeds import users - and key add --key-file -.
	csv := "email,name,role,org\nnina@globex.test,Nina New,member,Globex\n"
	if r := w.run(core.DemoOwner, csv, "import users -"); r.code != 0 || r.out != "imported 1 users from standard input\n" {
		t.Fatalf("import users -: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := w.run(core.DemoSupport, csv, "import users -"); r.code != 1 || !strings.Contains(r.err, "only owners") {
		t.Errorf("support imported: exit %d %s", r.code, r.err)
	}
	pub, fp := genKey(t, "nina@laptop")
	if r := w.run(core.DemoOwner, pub, "key add --user nina@globex.test --key-file -"); r.code != 0 || !strings.Contains(r.out, fp) {
		t.Fatalf("key add -: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// A person adds a key for themself; for someone else only an owner.
	pub2, _ := genKey(t, "jane@phone")
	if r := w.run(core.DemoJane, pub2, "key add --user jane@globex.test"); r.code != 0 { // stdin without --key-file
		t.Errorf("jane adds her own key: exit %d %s", r.code, r.err)
	}
	if r := w.run(core.DemoJane, pub2, "key add --user bob@globex.test --key-file -"); r.code != 1 || !strings.Contains(r.err, "only owners") {
		t.Errorf("jane adds bob's key: exit %d %s", r.code, r.err)
	}
	if r := w.run(core.DemoJane, "", "key list --user jane@globex.test"); r.code != 0 || !strings.Contains(r.out, "jane@phone") {
		t.Errorf("jane lists her keys: exit %d %s%s", r.code, r.out, r.err)
	}
	var rec userRecord
	r = w.run(core.DemoOwner, "", "user list --json")
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("user list --json line %q: %v", l, err)
		}
	}
	mustContain(t, "user list", r.out, "nina@globex.test")
	// Whoever runs a command is recorded as a login.
	if ev, err := w.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Types: []string{core.EvLogin}}, 0, true, 1); err != nil ||
		len(ev.Events) != 1 || ev.Events[0].Actor.Email != core.DemoOwner {
		t.Errorf("last login: %+v %v", ev, err)
	}
}

func TestSafeWriter(t *testing.T) {
	for _, tc := range []struct {
		in   []string // written in these pieces
		want string
	}{
		{[]string{"plain text\n"}, "plain text\n"},
		{[]string{"tab\tand\r\n"}, "tab\tand\r\n"},
		{[]string{"esc\x1b[2J"}, `esc\x1b[2J`},
		{[]string{"del\x7f"}, `del\x7f`},
		{[]string{"csi \u009b1m"}, `csi \u009b1m`},
		{[]string{"split \xc2", "\x9b!"}, `split \u009b!`},
		{[]string{"é ok \xc2", "\xa0"}, "é ok \u00a0"},
		{[]string{"end \xc2"}, "end \xc2"},
	} {
		var b bytes.Buffer
		w := &safeWriter{w: &b}
		for _, p := range tc.in {
			if n, err := w.Write([]byte(p)); err != nil || n != len(p) {
				t.Fatalf("Write(%q) = %d, %v", p, n, err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%q: wrote %q, want %q", tc.in, b.String(), tc.want)
		}
	}
}

// Stored text with terminal control sequences never reaches the person's
// terminal raw, whichever output it goes through.
func TestSSHOutputHasNoControlBytes(t *testing.T) {
	w := newSSHWorld(t)
	owner, err := w.c.SystemUserByEmail(core.DemoOwner)
	if err != nil {
		t.Fatal(err)
	}
	evil := "evil\x1b[2J\x1b]0;pwned\x07 \u009b31m text"
	if _, err := w.c.RecordAction(core.Principal{User: owner}, "paste", map[string]any{"note": evil}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"audit export", "audit export --format csv", "user list", "user list --json", "sessions list", "whoami"} {
		r := w.run(core.DemoOwner, "", cmd)
		if r.code != 0 {
			t.Fatalf("%s: exit %d %s", cmd, r.code, r.err)
		}
		for _, b := range []string{"\x1b", "\x07", "\u009b"} {
			if strings.Contains(r.out+r.err, b) {
				t.Errorf("ssh HOST %s wrote %q raw", cmd, b)
			}
		}
	}
	if r := w.run(core.DemoOwner, "", "audit export"); !strings.Contains(r.out, "pwned") {
		t.Error("the event is not in the export at all")
	}
}

// With ssh -t the client's terminal is raw: lines end in \r\n.
func TestSSHCommandWithPty(t *testing.T) {
	w := newSSHWorld(t)
	r := w.runPty(core.DemoOwner, "", "org list", true)
	if r.code != 0 || !strings.Contains(r.out, "Acme") || strings.Count(r.out, "\r\n") != strings.Count(r.out, "\n") {
		t.Errorf("org list with a PTY: exit %d %q %s", r.code, r.out, r.err)
	}
}
