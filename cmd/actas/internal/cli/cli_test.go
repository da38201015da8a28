package cli

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/ssh"

	"github.com/actas/actas/core"
)

// cli runs the command line in-process against one data directory.
type cli struct {
	t       *testing.T
	dir     string
	env     map[string]string
	stdin   string
	console ConsoleFunc
	serve   ServeFunc
	// operator names the command line's person (default "tester");
	// clock is core's (default the system clock).
	operator string
	clock    core.Clock
	// importBatch is Env.ImportBatch.
	importBatch int
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, dir: t.TempDir(), env: map[string]string{"HOME": t.TempDir()}}
}

type result struct {
	out, err string
	code     int
}

// run runs actas with --data set to the test's directory.
func (c *cli) run(args ...string) result {
	return c.runRaw(append([]string{"--data", c.dir}, args...)...)
}

// runRaw runs actas with exactly args.
func (c *cli) runRaw(args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(c.stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return c.env[k] }, Operator: cmp.Or(c.operator, "tester"), Clock: c.clock,
		Console: c.console, Serve: c.serve, LockTimeout: 100 * time.Millisecond, ImportBatch: c.importBatch,
	}
	code := Run(context.Background(), env, args)
	return result{out.String(), errb.String(), code}
}

// ok runs actas and fails the test unless it succeeds.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("actas %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.err)
	}
	return r.out
}

// fails runs actas, expects it to fail, and returns stderr.
func (c *cli) fails(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code == 0 {
		c.t.Fatalf("actas %s succeeded, want an error\nstdout: %s", strings.Join(args, " "), r.out)
	}
	if r.err == "" {
		c.t.Fatalf("actas %s failed with nothing on stderr", strings.Join(args, " "))
	}
	return r.err
}

func (c *cli) initDB() {
	c.t.Helper()
	c.ok("init", "--owner-email", "olga@example.test", "--owner-name", "Olga Owner", "--org", "Example")
}

func (c *cli) write(name, content string) string {
	c.t.Helper()
	p := filepath.Join(c.t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not mention %q:\n%s", what, w, got)
		}
	}
}

func TestInitOrgUserList(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	mustContain(t, "second init", c.fails("init", "--owner-email", "x@example.test", "--owner-name", "X"), "already")

	mustContain(t, "org add", c.ok("org", "add", "--name", "Globex"), "Globex")
	mustContain(t, "org list", c.ok("org", "list"), "Example", "Globex")
	mustContain(t, "duplicate org", c.fails("org", "add", "--name", "Globex"), "already exists")

	c.ok("user", "add", "--email", "jane@globex.test", "--name", "Jane Doe", "--role", "member", "--org", "Globex")
	c.ok("user", "add", "--email", "sam@example.test", "--name", "Sam Support", "--role", "support",
		"--org", "Example", "--mode", "request", "--approver")
	out := c.ok("user", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 { // header, Jane, Olga, Sam
		t.Fatalf("user list has %d lines, want 4:\n%s", len(lines), out)
	}
	mustContain(t, "header", lines[0], "EMAIL", "NAME", "ORG", "ROLE", "STATUS", "KIND", "MODE", "APPROVER", "CONSENT UNTIL")
	for _, want := range [][]string{
		{"jane@globex.test", "Jane Doe", "Globex", "member", "active", "human", "never", "false"},
		{"olga@example.test", "Olga Owner", "Example", "owner", "active", "human", "never", "true"},
		{"sam@example.test", "Sam Support", "Example", "support", "active", "human", "request", "true"},
	} {
		found := false
		for _, l := range lines[1:] {
			if strings.Fields(l)[0] == want[0] {
				found = true
				mustContain(t, "row of "+want[0], l, want[1:]...)
			}
		}
		if !found {
			t.Errorf("user list lacks %s:\n%s", want[0], out)
		}
	}

	c.ok("user", "set", "--email", "jane@globex.test", "--status", "suspended")
	var recs []userRecord
	for _, l := range strings.Split(strings.TrimSpace(c.ok("user", "list", "--json")), "\n") {
		var r userRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("user list --json line %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 || recs[0].Email != "jane@globex.test" || recs[0].Status != "suspended" || recs[0].Org != "Globex" {
		t.Errorf("user list --json = %+v", recs)
	}

	mustContain(t, "bad role", c.fails("user", "add", "--email", "x@globex.test", "--name", "X", "--role", "boss", "--org", "Globex"), "boss", "role")
	mustContain(t, "member approver", c.fails("user", "set", "--email", "jane@globex.test", "--approver"), "only staff")
	mustContain(t, "nothing to set", c.fails("user", "set", "--email", "jane@globex.test"), "nothing to change")
	mustContain(t, "unknown user", c.fails("user", "set", "--email", "nobody@globex.test", "--status", "active"), "nobody@globex.test")
	mustContain(t, "missing flag", c.fails("user", "add", "--email", "x@globex.test"), "required", "--help")
}

func TestPolicySetAllOrNothing(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	before := c.ok("policy", "show")
	lines := strings.Split(strings.TrimSuffix(before, "\n"), "\n")
	if len(lines) != len(core.PolicyKeys) {
		t.Fatalf("policy show has %d lines, want %d:\n%s", len(lines), len(core.PolicyKeys), before)
	}
	for i, k := range core.PolicyKeys {
		if !strings.HasPrefix(lines[i], k+" = ") {
			t.Errorf("policy show line %d = %q, want key %s", i+1, lines[i], k)
		}
	}
	mustContain(t, "bad key", c.fails("policy", "set", "enabled=true", "bogus_key=1"), "bogus_key", "nothing changed")
	mustContain(t, "bad value", c.fails("policy", "set", "enabled=true", "max_duration=999h"), "max_duration")
	if after := c.ok("policy", "show"); after != before {
		t.Errorf("policy changed by a failed set:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	out := c.ok("policy", "set", "enabled=true", "max_duration=72h")
	mustContain(t, "policy set", out, "enabled = true", "max_duration = 72h")
	mustContain(t, "malformed", c.fails("policy", "set", "enabled"), "KEY=VALUE")
}

func TestImportCSVBadLineImportsNothing(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.ok("org", "add", "--name", "Globex")
	file := c.write("people.csv", "email,name,role,org\n"+
		"ann@globex.test,Ann,member,Globex\n"+
		"ben@globex.test,Ben,boss,Globex\n"+
		"cat@globex.test,Cat,member,Globex\n")
	stderr := c.fails("import", "users", file)
	mustContain(t, "import error", stderr, "line 3", "boss", "nothing was imported")
	if strings.Contains(stderr, "line 2:") || strings.Contains(stderr, "line 4:") {
		t.Errorf("good lines reported as bad:\n%s", stderr)
	}
	list := c.ok("user", "list")
	for _, e := range []string{"ann@", "ben@", "cat@"} {
		if strings.Contains(list, e) {
			t.Errorf("%s landed although the import failed:\n%s", e, list)
		}
	}

	// Every bad line is reported, and an unknown org is one too.
	file = c.write("more.csv", "email,name,role,org\nann@globex.test,Ann,member,Nowhere\n\nben@globex.test,,member,Globex\n")
	mustContain(t, "import errors", c.fails("import", "users", file), "line 2", "Nowhere", "line 4", "name")

	file = c.write("ok.csv", "email,name,role,org,status,kind\nann@globex.test,Ann,member,Globex,inactive,guest\n")
	mustContain(t, "import ok", c.ok("import", "users", file), "imported 1")
	mustContain(t, "user list", c.ok("user", "list"), "ann@globex.test")
}

func TestImportJSONL(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.ok("org", "add", "--name", "Globex")
	file := c.write("people.jsonl",
		`{"email":"ann@globex.test","name":"Ann","role":"member","org":"Globex"}`+"\n"+
			`{"email":"sue@example.test","name":"Sue","role":"support","org":"Example","mode":"direct","approver":true}`+"\n")
	mustContain(t, "import", c.ok("import", "users", file), "imported 2")
	list := c.ok("user", "list", "--json")
	mustContain(t, "user list", list, `"email":"ann@globex.test"`, `"email":"sue@example.test"`, `"mode":"direct"`)

	mustContain(t, "empty file", c.fails("import", "users", c.write("empty.jsonl", "\n  \n")), "no users")
	mustContain(t, "missing file", c.fails("import", "users", filepath.Join(c.dir, "nope.csv")), "cannot read")
}

func genKey(t *testing.T, comment string) (string, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment + "\n"
	return line, ssh.FingerprintSHA256(pk)
}

func TestKeys(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	line, fp := genKey(t, "olga@laptop")
	out := c.ok("key", "add", "--user", "olga@example.test", "--key-file", c.write("id.pub", line))
	mustContain(t, "key add", out, fp)
	list := c.ok("key", "list")
	mustContain(t, "key list", list, "FINGERPRINT", fp, "olga@example.test", "ssh-ed25519", "olga@laptop")
	mustContain(t, "key list --user", c.ok("key", "list", "--user", "olga@example.test"), fp)
	mustContain(t, "same key twice", c.fails("key", "add", "--user", "olga@example.test", "--key-file", c.write("id.pub", line)), "already belongs")

	line2, fp2 := genKey(t, "from-stdin")
	c.stdin = line2
	mustContain(t, "key add -", c.ok("key", "add", "--user", "olga@example.test", "--key-file", "-"), fp2)
	c.stdin = ""

	mustContain(t, "private key", c.fails("key", "add", "--user", "olga@example.test", "--key-file",
		c.write("id", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n")), "private key")
	mustContain(t, "garbage", c.fails("key", "add", "--user", "olga@example.test", "--key-file", c.write("x.pub", "hello\n")), "not an SSH public key")

	c.ok("key", "remove", "--fingerprint", fp)
	if list := c.ok("key", "list"); strings.Contains(list, fp) || !strings.Contains(list, fp2) {
		t.Errorf("after remove:\n%s", list)
	}
	mustContain(t, "remove twice", c.fails("key", "remove", "--fingerprint", fp), "no key")
}

func TestAuditVerifyAndExport(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.ok("org", "add", "--name", "Globex")
	c.ok("user", "add", "--email", "jane@globex.test", "--name", "Jane Doe", "--role", "member", "--org", "Globex")
	mustContain(t, "verify", c.ok("audit", "verify"), "intact", "4 events")

	out := c.ok("audit", "export", "--format", "jsonl")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("export has %d lines, want 4:\n%s", len(lines), out)
	}
	var sawJane bool
	for i, l := range lines {
		var ev core.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if ev.Seq != uint64(i+1) || ev.Actor.ID != "cli:tester" {
			t.Errorf("line %d: seq %d actor %+v", i+1, ev.Seq, ev.Actor)
		}
		if ev.Type == core.EvUserCreated && ev.Subject.Email == "jane@globex.test" {
			sawJane = true
		}
	}
	if !sawJane {
		t.Errorf("no user.created event with subject jane:\n%s", out)
	}

	csvOut := c.ok("audit", "export", "--format", "csv")
	if n := strings.Count(csvOut, "\n"); n != 5 || !strings.HasPrefix(csvOut, "seq,time,type,actor_id") {
		t.Errorf("csv export (%d lines):\n%s", n, csvOut)
	}
	if out := c.ok("audit", "export", "--since", "2000-01-01", "--until", "2000-01-01"); out != "" {
		t.Errorf("export of a day long ago = %q", out)
	}
	if out := c.ok("audit", "export", "--since", time.Now().Add(-time.Hour).Format(time.RFC3339)); strings.Count(out, "\n") != 4 {
		t.Errorf("export since an hour ago:\n%s", out)
	}
	mustContain(t, "bad format", c.fails("audit", "export", "--format", "xml"), "jsonl or csv")
	mustContain(t, "bad time", c.fails("audit", "export", "--since", "yesterday"), "--since", "RFC 3339")
	mustContain(t, "unknown session", c.fails("audit", "export", "--session", "imp_99"), "no session imp_99")
}

func TestAuditVerifyNamesTamperedSeq(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.ok("org", "add", "--name", "Globex")
	db, err := bolt.Open(filepath.Join(c.dir, dbFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		key := binary.BigEndian.AppendUint64(nil, 2)
		rec := append([]byte(nil), b.Get(key)...)
		// The last byte of the record, before the tree hashes the store
		// keeps after it (event 2 has two).
		rec[len(rec)-2*32-1] ^= 1
		return b.Put(key, rec)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := c.run("audit", "verify")
	if r.code != 1 {
		t.Fatalf("verify of a tampered log: exit %d, want 1", r.code)
	}
	mustContain(t, "verify", r.err, "seq 2", string(core.BreakHash))
}

func TestDemoIdempotent(t *testing.T) {
	c := newCLI(t)
	r := c.run("demo", "--no-tui", "--users", "30")
	if r.code != 0 {
		t.Fatalf("demo: %s", r.err)
	}
	mustContain(t, "demo stderr", r.err, "demo data in "+c.dir)
	first := c.ok("user", "list")
	events := c.ok("audit", "export")
	r = c.run("demo", "--no-tui", "--users", "30")
	if r.code != 0 {
		t.Fatalf("second demo: %s", r.err)
	}
	mustContain(t, "second demo", r.err, "already seeded")
	if again := c.ok("user", "list"); again != first {
		t.Errorf("second demo changed the users")
	}
	if again := c.ok("audit", "export"); again != events {
		t.Errorf("second demo changed the audit log")
	}
	if n := strings.Count(first, "\n"); n != 1+9+30 {
		t.Errorf("user list has %d lines, want header + 9 people + 30 members", n)
	}
	mustContain(t, "demo people", first, core.DemoOwner, core.DemoJane, core.DemoSupport)
	mustContain(t, "demo export", events, `"subject":{"id"`, core.EvSessionStarted, core.EvRequestCreated)
	c.ok("audit", "verify")
}

func TestDemoKeepsItsOwnFolder(t *testing.T) {
	c := newCLI(t)
	home := c.env["HOME"]
	demo := filepath.Join(home, ".local", "share", "actas", "demo")
	r := c.runRaw("demo", "--no-tui", "--users", "3")
	if r.code != 0 {
		t.Fatalf("demo: %s", r.err)
	}
	mustContain(t, "demo stderr", r.err, "demo data in "+demo)
	if !exists(filepath.Join(demo, dbFile)) || exists(filepath.Join(filepath.Dir(demo), dbFile)) {
		t.Fatalf("demo did not keep to %s", demo)
	}
	// With no real database, the other commands use the demo's, and say so.
	r = c.runRaw("user", "list")
	if r.code != 0 {
		t.Fatalf("user list: %s", r.err)
	}
	mustContain(t, "user list", r.out, core.DemoJane)
	mustContain(t, "user list stderr", r.err, "using the demo data")
	// Commands that write never fall back: a change meant for a real
	// database must not land in the demo.
	before := c.runRaw("--data", demo, "audit", "export").out
	for _, args := range [][]string{
		{"user", "add", "--email", "x@acme.test", "--name", "X", "--role", "member", "--org", "Acme"},
		{"policy", "set", "enabled=false"},
		{"user", "set", "--email", core.DemoJane, "--status", "suspended"},
	} {
		r = c.runRaw(args...)
		if r.code == 0 {
			t.Errorf("%s wrote into the demo", strings.Join(args, " "))
		}
		mustContain(t, strings.Join(args, " "), r.err, "no database at "+filepath.Dir(demo), "--data "+demo)
	}
	if after := c.runRaw("--data", demo, "audit", "export").out; after != before {
		t.Error("a refused write changed the demo's audit log")
	}

	// init makes the real one, which wins from then on.
	c.runRaw("init", "--owner-email", "olga@example.test", "--owner-name", "Olga")
	if out := c.runRaw("user", "list").out; strings.Contains(out, core.DemoJane) || !strings.Contains(out, "olga@example.test") {
		t.Errorf("after init, user list shows:\n%s", out)
	}

	// XDG_DATA_HOME moves the default.
	c.env["XDG_DATA_HOME"] = t.TempDir()
	mustContain(t, "xdg", c.runRaw("user", "list").err, "no database at "+filepath.Join(c.env["XDG_DATA_HOME"], "actas"))
	// ACTAS_DATA names a directory like --data does.
	c.env["ACTAS_DATA"] = c.dir
	mustContain(t, "ACTAS_DATA", c.runRaw("user", "list").err, "no database at "+c.dir)
}

func TestNoDatabase(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"user", "list"}, {"policy", "show"}, {"audit", "verify"}, {"org", "list"}} {
		mustContain(t, strings.Join(args, " "), c.fails(args...), "no database at "+c.dir, "actas init")
	}
	if exists(filepath.Join(c.dir, dbFile)) {
		t.Error("a read command created the database file")
	}
}

func TestServerHoldsTheDirectory(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	si, _ := json.Marshal(serveInfo{PID: os.Getpid(), Listen: "[::]:23234"})
	if err := os.WriteFile(filepath.Join(c.dir, serveFile), si, 0o600); err != nil {
		t.Fatal(err)
	}
	want := "actas serve (pid " + strconv.Itoa(os.Getpid()) + ") is serving " + c.dir + "; open the console over SSH: ssh -p 23234 localhost"
	for _, args := range [][]string{{"user", "list"}, {"demo", "--no-tui"}, {"tui", "--as", "olga@example.test"}} {
		mustContain(t, strings.Join(args, " "), c.fails(args...), want)
	}

	// A server that is gone leaves a stale file, which does not matter.
	si, _ = json.Marshal(serveInfo{PID: 1 << 30, Listen: ":23234"})
	if err := os.WriteFile(filepath.Join(c.dir, serveFile), si, 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("user", "list")
}

func TestDatabaseInUse(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	// Another handle on the file (flock is per open file, so this works
	// within one process) stands in for another actas process.
	db, err := bolt.Open(filepath.Join(c.dir, dbFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustContain(t, "in use", c.fails("user", "list"), "the database "+filepath.Join(c.dir, dbFile)+" is in use by another actas process")
}

func TestServeWritesServeJSON(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	info := filepath.Join(c.dir, serveFile)
	var during []byte
	var got ServeConfig
	c.serve = func(ctx context.Context, core *core.Core, cfg ServeConfig) error {
		got = cfg
		cfg.Ready("127.0.0.1:2222")
		during, _ = os.ReadFile(info)
		return nil
	}
	r := c.run("serve", "--listen", "127.0.0.1:0", "--idle-timeout", "5m")
	if r.code != 0 {
		t.Fatalf("serve: %s", r.err)
	}
	var si serveInfo
	if err := json.Unmarshal(during, &si); err != nil || si.PID != os.Getpid() || si.Listen != "127.0.0.1:2222" {
		t.Errorf("serve.json while serving = %q (%v)", during, err)
	}
	if exists(info) {
		t.Error("serve.json is left behind")
	}
	if got.Listen != "127.0.0.1:0" || got.IdleTimeout != 5*time.Minute || got.MaxSession != 12*time.Hour ||
		got.HandshakeTimeout != 30*time.Second || got.HostKeyPath != filepath.Join(c.dir, hostKey) {
		t.Errorf("server config = %+v", got)
	}
	mustContain(t, "serve log", r.err, "ssh -p 2222 127.0.0.1")
	mustContain(t, "bad timeout", c.fails("serve", "--idle-timeout", "0s"), "--idle-timeout must be positive")

	c.serve = nil
	mustContain(t, "no server", c.fails("serve"), "not built yet")
}

func TestConsoleAs(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	var who core.Principal
	var plain bool
	c.console = func(ctx context.Context, _ *core.Core, p core.Principal, opt ConsoleOptions) error {
		who, plain = p, opt.Plain
		return nil
	}
	c.env["NO_COLOR"] = "1"
	c.ok("tui", "--as", "olga@example.test")
	if who.User.Email != "olga@example.test" || !strings.HasPrefix(who.Conn, "local_") || who.System != "" || !plain {
		t.Errorf("console ran as %+v (plain %v)", who, plain)
	}
	// Every console has its own connection ID, so one quitting never ends
	// another's sessions.
	first := who.Conn
	c.ok("tui", "--as", "olga@example.test")
	if who.Conn == first {
		t.Errorf("two local consoles share the connection ID %q", first)
	}
	mustContain(t, "login event", c.ok("audit", "export"), `"type":"login"`)
	mustContain(t, "unknown", c.fails("tui", "--as", "nobody@example.test"), "no user with email nobody@example.test")
	mustContain(t, "no --as", c.fails("tui"), `"as" not set`)

	c.ok("user", "add", "--email", "ina@example.test", "--name", "Ina", "--role", "support", "--org", "Example")
	c.ok("user", "set", "--email", "ina@example.test", "--status", "inactive")
	mustContain(t, "inactive", c.fails("tui", "--as", "ina@example.test"), "inactive")

	c.console = nil
	mustContain(t, "no console", c.fails("tui", "--as", "olga@example.test"), "not built yet")
}

func TestHelpEverywhere(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{}, {"demo"}, {"init"}, {"tui"}, {"serve"}, {"org"}, {"org", "add"}, {"org", "list"},
		{"policy"}, {"policy", "show"}, {"policy", "set"}, {"user"}, {"user", "add"}, {"user", "list"}, {"user", "set"},
		{"key"}, {"key", "add"}, {"key", "list"}, {"key", "remove"}, {"import"}, {"import", "users"},
		{"audit"}, {"audit", "verify"}, {"audit", "export"},
		{"whoami"}, {"consent"}, {"consent", "show"}, {"consent", "grant"}, {"consent", "revoke"},
		{"requests"}, {"requests", "list"}, {"requests", "approve"}, {"requests", "deny"}, {"sessions"}, {"sessions", "list"}, {"sessions", "terminate"}} {
		r := c.runRaw(append(args, "--help")...)
		if r.code != 0 || !strings.Contains(r.out, "Usage:") {
			t.Errorf("actas %s --help: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.err)
		}
	}
	r := c.runRaw("frobnicate")
	if r.code == 0 || !strings.Contains(r.err, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", r.code, r.err)
	}
}

// A typo at any level fails with cobra's suggestion, never prints help
// and exits 0; a group alone still prints its help.
func TestUnknownCommandsAndFlagsFailAtEveryLevel(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"audti"}, []string{`unknown command "audti" for "actas"`, "Did you mean this?", "audit"}},
		{[]string{"audit", "bogus"}, []string{`unknown command "bogus" for "actas audit"`, "Run 'actas audit --help' for usage."}},
		{[]string{"audit", "expotr"}, []string{`unknown command "expotr" for "actas audit"`, "Did you mean this?\n\texport"}},
		{[]string{"user", "lst"}, []string{`unknown command "lst" for "actas user"`, "\tlist"}},
		{[]string{"alert", "add", "slak"}, []string{`for "actas alert add"`, "\tslack"}},
		{[]string{"policy", "show", "extra"}, []string{`unknown command "extra" for "actas policy show"`}},
		{[]string{"audit", "--bogus"}, []string{"unknown flag: --bogus", "Run 'actas audit --help' for usage."}},
		{[]string{"policy", "show", "--bogus"}, []string{"unknown flag: --bogus", "Run 'actas policy show --help' for usage."}},
	} {
		r := c.runRaw(tc.args...)
		if r.code == 0 || r.out != "" {
			t.Errorf("actas %s: exit %d, stdout %q", strings.Join(tc.args, " "), r.code, r.out)
		}
		mustContain(t, strings.Join(tc.args, " "), r.err, tc.want...)
	}
	if r := c.runRaw("audit"); r.code != 0 || !strings.Contains(r.out, "Available Commands:") {
		t.Errorf("actas audit: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// Making a staff member a member says which staff setting to give up too,
// as the flag to pass.
func TestUserSetRoleMemberNamesTheFlag(t *testing.T) {
	c := newCLI(t)
	c.ok("demo", "--no-tui")
	mustContain(t, "role member on a direct-mode lead", c.fails("user", "set", "--email", core.DemoLead, "--role", "member"),
		"only staff can impersonate", "(pass --mode never too)")
	mustContain(t, "role member on an approver", c.fails("user", "set", "--email", core.DemoApprover, "--role", "member"),
		"only staff can approve", "(pass --approver=false too)")
	out := c.ok("user", "set", "--email", core.DemoLead, "--role", "member", "--mode", "never")
	mustContain(t, "with --mode never", out, "member, active, mode never")
}

// actas serve logs each impersonation's start and end, with the reason,
// in the one-line form ITSM tools read.
func TestServeLogsImpersonations(t *testing.T) {
	c := newCLI(t)
	c.ok("demo", "--no-tui")
	c.serve = func(ctx context.Context, co *core.Core, cfg ServeConfig) error {
		lead, _ := co.SystemUserByEmail(core.DemoLead)
		jane, _ := co.SystemUserByEmail(core.DemoJane)
		p := core.Principal{User: lead, Conn: "test"}
		if _, err := co.Start(p, jane.ID, "ticket"); err != nil {
			return err
		}
		if err := co.End(p, core.EndExit); err != nil {
			return err
		}
		_, err := co.Start(p, jane.ID, "ticket") // left running: the shutdown ends it
		return err
	}
	r := c.run("serve", "--listen", "127.0.0.1:0")
	if r.code != 0 {
		t.Fatalf("serve: %s", r.err)
	}
	start := "impersonation start: Jane Doe (jane@globex.test) by: Lee Lead (lead@acme.test)"
	mustContain(t, "serve log", r.err, start,
		"impersonation end: Jane Doe (jane@globex.test) by: Lee Lead (lead@acme.test) reason: exit",
		"impersonation end: Jane Doe (jane@globex.test) by: Lee Lead (lead@acme.test) reason: server_shutdown")
	if n := strings.Count(r.err, start); n != 2 {
		t.Errorf("%d start lines, want 2:\n%s", n, r.err)
	}
}

// Every row of sessions list names its people by email, also a person on
// several rows (emailsOf remembers whom it looked up).
func TestSessionsListNamesEveryRowsPeople(t *testing.T) {
	c := newCLI(t)
	c.ok("demo", "--no-tui", "--users", "3")
	lines := strings.Split(strings.TrimSpace(c.ok("sessions", "list")), "\n")
	if len(lines) < 3 {
		t.Fatalf("want at least two sessions in the demo, got:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) < 3 || !strings.Contains(f[1], "@") || !strings.Contains(f[2], "@") {
			t.Errorf("row without emails: %s", l)
		}
	}
}
