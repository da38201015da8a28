package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

// osUser is the name the control socket's peer credentials give this
// process, so that local runs act as the same cli:NAME.
func osUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Skip("no OS user name:", err)
	}
	return u.Username
}

// served runs actas serve on dir in-process until the test ends; its SSH
// side is a stub that waits, so only the control socket serves.
func served(t *testing.T, c *cli) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	ready := make(chan struct{})
	srv := *c
	srv.serve = func(ctx context.Context, _ *core.Core, cfg ServeConfig) error {
		cfg.Ready("127.0.0.1:1")
		close(ready)
		<-ctx.Done()
		return nil
	}
	go func() { done <- srv.runCtx(ctx, "serve") }()
	select {
	case <-ready:
	case r := <-done:
		t.Fatalf("serve: exit %d: %s", r.code, r.err)
	}
	t.Cleanup(func() {
		cancel()
		if r := <-done; r.code != 0 {
			t.Errorf("serve: exit %d: %s", r.code, r.err)
		}
		if exists(filepath.Join(c.dir, sockFile)) {
			t.Error("the control socket is left behind")
		}
	})
}

// runCtx runs actas with --data set, under ctx.
func (c *cli) runCtx(ctx context.Context, args ...string) result {
	var out, errb bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(c.stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return c.env[k] }, Operator: c.operator, Clock: c.clock,
		Console: c.console, Serve: c.serve, LockTimeout: 100 * time.Millisecond,
	}
	code := Run(ctx, env, append([]string{"--data", c.dir}, args...))
	return result{out.String(), errb.String(), code}
}

// copyDir copies the files of a data folder.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestControlSocketSameAsLocal runs every shared command twice on two
// copies of one folder: once here, once carried out by an in-process
// server holding the folder. Output, errors and exit status must be the
// same, byte for byte (the folder's path aside).
func TestControlSocketSameAsLocal(t *testing.T) {
	name := osUser(t)
	clock := core.NewFakeClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	local := newCLI(t)
	local.operator, local.clock = name, clock
	local.ok("demo", "--no-tui", "--users", "5")
	remote := newCLI(t)
	remote.operator, remote.clock, remote.env = name, clock, local.env
	copyDir(t, local.dir, remote.dir)
	served(t, remote)

	pub, _ := genKey(t, "sam@laptop")
	pub2, _ := genKey(t, "sam@desk")
	keyFile := local.write("sam.pub", pub)
	csv := local.write("people.csv", "email,name,role,org\nnew1@globex.test,New One,member,Globex\nnew2@globex.test,New Two,member,Globex\n")
	bad := local.write("bad.csv", "email,name,role,org\nnot-an-email,X,member,Globex\n")
	proofFile := local.write("event.proof", local.ok("audit", "prove", "--seq", "2"))
	cpFile := local.write("cp.txt", local.ok("audit", "checkpoint"))
	logKey := local.write("log.pub", local.ok("audit", "pubkey"))
	jsonl := "{\"email\":\"new3@globex.test\",\"name\":\"New Three\",\"role\":\"member\",\"org\":\"Globex\"}\n"
	fp := func() string { // the fingerprint of pub, as key add printed it
		r := local.run("key", "list", "--user", "support@acme.test")
		for _, l := range strings.Split(r.out, "\n") {
			if strings.Contains(l, "sam@laptop") {
				return strings.Fields(l)[0]
			}
		}
		return "SHA256:none"
	}
	rows := []struct {
		args  []string
		stdin string
		fp    bool // append the fingerprint of pub (key remove)
	}{
		{args: []string{"whoami"}},
		{args: []string{"demo", "--no-tui"}}, // already seeded, says so
		{args: []string{"org", "list"}},
		{args: []string{"org", "add", "--name", "Initech"}},
		{args: []string{"org", "add", "--name", "Initech"}}, // conflict
		{args: []string{"policy", "show"}},
		{args: []string{"policy", "set", "max_duration=72h", "default_duration=2h"}},
		{args: []string{"policy", "set", "max_duration=nope"}},
		{args: []string{"smtp", "set", "--host", "127.0.0.1", "--port", "1", "--from", "actas@acme.test", "--starttls", "opportunistic"}},
		{args: []string{"smtp", "set", "--host", "127.0.0.1", "--from", "actas@acme.test", "--starttls", "maybe"}},
		{args: []string{"alert", "add", "slack", "--webhook-url", "http://127.0.0.1:1/services/T/B/X"}},
		{args: []string{"alert", "add", "email", "--to", "sec@acme.test,ops@acme.test"}},
		{args: []string{"alert", "add", "webhook", "--url", "ftp://127.0.0.1/"}}, // the secret of a good one differs each time
		{args: []string{"alert", "list"}},
		{args: []string{"alert", "test", "ch_99999999"}},
		{args: []string{"alert", "outbox", "now"}}, // what the server's worker did differs from here
		{args: []string{"alert", "remove", "ch_00000002"}},
		{args: []string{"user", "list"}},
		{args: []string{"user", "list", "--json"}},
		{args: []string{"user", "add", "--email", "kim@acme.test", "--name", "Kim", "--role", "support", "--org", "Acme", "--mode", "request"}},
		{args: []string{"user", "add", "--email", "kim@acme.test", "--name", "Kim", "--role", "support", "--org", "Acme"}},
		{args: []string{"user", "add", "--email", "x@acme.test"}}, // usage error
		{args: []string{"user", "set", "--email", "kim@acme.test", "--approver=true", "--mode", "direct"}},
		{args: []string{"user", "set", "--email", core.DemoJane, "--status", "suspended"}},
		{args: []string{"user", "set", "--email", core.DemoOwner, "--status", "suspended"}},
		{args: []string{"key", "add", "--user", "support@acme.test", "--key-file", keyFile}},
		{args: []string{"key", "add", "--user", core.DemoOwner, "--key-file", "-"}, stdin: pub2},
		{args: []string{"key", "add", "--user", core.DemoOwner, "--key-file", "-"}, stdin: "not a key"},
		{args: []string{"key", "list"}},
		{args: []string{"key", "list", "--user", "support@acme.test"}},
		{args: []string{"key", "remove", "--fingerprint"}, fp: true},
		{args: []string{"key", "remove", "--fingerprint", "SHA256:nope"}},
		{args: []string{"import", "users", csv}},
		{args: []string{"import", "users", bad}},
		{args: []string{"import", "users", "-"}, stdin: jsonl},
		{args: []string{"requests", "list", "--status", "all"}},
		{args: []string{"requests", "approve", "req_00000001"}},
		{args: []string{"sessions", "list"}},
		{args: []string{"sessions", "list", "--json"}},
		{args: []string{"sessions", "terminate", "imp_99999999"}},
		{args: []string{"requests", "deny", "req_00000001", "--note", "no ticket"}},
		{args: []string{"consent", "show"}},
		{args: []string{"consent", "grant", "--for", "24h"}},
		{args: []string{"consent", "revoke"}},
		{args: []string{"audit", "verify"}},
		{args: []string{"audit", "verify", "--checkpoint", cpFile}},
		{args: []string{"audit", "checkpoint"}},
		{args: []string{"audit", "pubkey"}},
		{args: []string{"audit", "prove", "--seq", "3"}},
		{args: []string{"audit", "prove", "--seq", "99999"}},
		{args: []string{"audit", "verify-proof", proofFile, "--key", logKey}},
		{args: []string{"audit", "export"}},
		{args: []string{"audit", "export", "--format", "csv", "--since", "2026-11-01"}},
		{args: []string{"audit", "export", "--format", "xml"}},
		{args: []string{"init", "--owner-email", "a@b.test", "--owner-name", "A"}},
		{args: []string{"apikey", "add", "--name", "Not A Name"}}, // a good one prints a new secret each time
		{args: []string{"apikey", "list"}},
		{args: []string{"apikey", "revoke", "--name", "nope"}},
		{args: []string{"signing-key", "rotate", "now"}}, // a good one prints new key IDs each time
		{args: []string{"frobnicate"}},
		// Groups: alone they print their help; a word that names no
		// subcommand fails with cobra's suggestion.
		{args: []string{"alert"}},
		{args: []string{"alert", "add", "slak"}},
		{args: []string{"audit", "expotr"}},
		{args: []string{"consent"}},
		{args: []string{"import", "user"}},
		{args: []string{"key", "bogus"}},
		{args: []string{"org"}},
		{args: []string{"policy", "sho"}},
		{args: []string{"requests"}},
		{args: []string{"sessions", "lst"}},
		{args: []string{"smtp"}},
		{args: []string{"apikey"}},
		{args: []string{"signing-key", "rotat"}},
		{args: []string{"user", "lst"}},
		{args: []string{"user", "list", "--help"}},
	}
	covered := map[string]bool{}
	for _, row := range rows {
		args := row.args
		if row.fp {
			args = append(append([]string{}, args...), fp())
		}
		if cmd, _, err := newApp(Env{}, nil).root().Find(args); err == nil {
			covered[strings.TrimPrefix(cmd.CommandPath(), "actas ")] = true
		}
		local.stdin, remote.stdin = row.stdin, row.stdin
		want := local.run(args...)
		got := remote.run(args...)
		norm := func(s, dir string) string { return strings.ReplaceAll(s, dir, "DIR") }
		if norm(got.out, remote.dir) != norm(want.out, local.dir) || norm(got.err, remote.dir) != norm(want.err, local.dir) || got.code != want.code {
			t.Errorf("actas %s through the socket differs:\nlocal  exit %d\n%s%s\nserver exit %d\n%s%s",
				strings.Join(args, " "), want.code, want.out, want.err, got.code, got.out, got.err)
		}
	}
	// Every shared command has a row: a command added to the tree gets one.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[whereAnnotation] == "local" || c.Name() == "help" {
			return
		}
		if c.Runnable() && c.HasParent() && !c.HasSubCommands() {
			if p := strings.TrimPrefix(c.CommandPath(), "actas "); !covered[p] {
				t.Errorf("actas %s has no row in TestControlSocketSameAsLocal: add one", p)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newApp(Env{}, nil).root())
}

func TestControlSocketFiles(t *testing.T) {
	c := newCLI(t)
	c.operator = osUser(t)
	c.initDB()
	served(t, c)
	sock := filepath.Join(c.dir, sockFile)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v %v", fi.Mode(), err)
	}
	// A relative file name is read from the caller's working directory.
	pub, _ := genKey(t, "rel")
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "k.pub"), []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	mustContain(t, "relative key file", c.ok("key", "add", "--user", "olga@example.test", "--key-file", "k.pub"), "added ssh-ed25519 key")
	// The audit log names the OS user from the peer credentials.
	mustContain(t, "actor", c.ok("audit", "export"), `"actor":{"id":"cli:`+c.operator+`"}`)
}

func TestStaleAndForeignSocket(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	sock := filepath.Join(c.dir, sockFile)
	// A socket nobody listens on (its server was killed) is removed.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if !exists(sock) {
		t.Fatal("setup: the socket file is gone")
	}
	c.ok("user", "list")
	if exists(sock) {
		t.Error("a stale socket was left in place")
	}
	// A file that is not a socket is refused, not talked to or removed.
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "not a socket", c.fails("user", "list"), "not a socket")
	os.Remove(sock)
	// A socket of another user is refused: it could be anyone's server.
	if os.Getuid() == 0 {
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(sock, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		mustContain(t, "foreign socket", c.fails("user", "list"), "belongs to uid 4242, not to you")
		ln.Close()
	}
	// A server starts over a stale socket.
	ln, _ = net.Listen("unix", sock)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	c.operator = osUser(t)
	served(t, c)
	mustContain(t, "served", c.ok("whoami"), "cli:"+c.operator)
}

// TestControlSocketStdinOnlyWhenRead: a command that reads no input
// leaves standard input alone; one that does gets all of it, even the part
// read before the command knew a server holds the folder.
func TestControlSocketStdinOnlyWhenRead(t *testing.T) {
	c := newCLI(t)
	c.operator = osUser(t)
	c.initDB()
	served(t, c)
	pub, _ := genKey(t, "stdin")
	in := &countingReader{r: strings.NewReader(pub)}
	var out, errb bytes.Buffer
	env := Env{Stdin: in, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := Run(context.Background(), env, []string{"--data", c.dir, "org", "list"}); code != 0 || in.n != 0 {
		t.Fatalf("org list: exit %d, read %d bytes of stdin: %s", code, in.n, errb.String())
	}
	if code := Run(context.Background(), env, []string{"--data", c.dir, "key", "add", "--user", "olga@example.test", "--key-file", "-"}); code != 0 {
		t.Fatalf("key add -: exit %d: %s", code, errb.String())
	}
	mustContain(t, "key add", out.String(), "added ssh-ed25519 key")
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
