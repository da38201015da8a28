package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actas/actas/store"
)

// TestMain runs this test binary as the child that TestImportKilled kills.
func TestMain(m *testing.M) {
	if dir := os.Getenv("ACTAS_TEST_IMPORT_DIR"); dir != "" {
		env := Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(string) string { return "" },
			Operator: "tester", ImportBatch: 50}
		os.Exit(Run(context.Background(), env, []string{"--data", dir, "import", "users", os.Getenv("ACTAS_TEST_IMPORT_FILE")}))
	}
	os.Exit(m.Run())
}

// membersCSV is a CSV of n new members of org Example.
func membersCSV(n int, extra string) string {
	var b strings.Builder
	b.WriteString("email,name,role,org\n")
	for i := range n {
		fmt.Fprintf(&b, "m%05d@example.test,Member %d,member,Example\n", i, i)
	}
	return b.String() + extra
}

// An import larger than a batch goes through a copy: killed with SIGKILL
// at any moment (copying, between batches, renaming), it leaves the
// database as it was before, or, killed after the rename, with every user.
func TestImportKilledLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	c := newCLI(t)
	c.initDB()
	before := strings.Count(c.ok("user", "list", "--json"), "\n")
	const rows = 5000
	file := c.write("people.csv", membersCSV(rows, ""))
	initial, err := os.ReadFile(filepath.Join(c.dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	// The size of the copy an import starts from: it grows past that once
	// batches are committed into it.
	probe := filepath.Join(t.TempDir(), "copy.db")
	sdb, err := store.Open(filepath.Join(c.dir, dbFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sdb.CopyTo(probe); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	fi, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	copySize := fi.Size()
	midway := 0
	// Some kills while the copy is written, the rest once it has grown
	// (batches are being committed into it), after a delay.
	for _, kill := range []struct {
		grown bool
		delay time.Duration
	}{{false, 0}, {false, 2 * time.Millisecond}, {true, 0}, {true, 10 * time.Millisecond},
		{true, 40 * time.Millisecond}, {true, 100 * time.Millisecond}} {
		delay := kill.delay
		k := newCLI(t)
		if err := os.WriteFile(filepath.Join(k.dir, dbFile), initial, 0o600); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(k.dir, dbFile)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ACTAS_TEST_IMPORT_DIR="+k.dir, "ACTAS_TEST_IMPORT_FILE="+file)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		deadline := time.Now().Add(30 * time.Second)
	wait:
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				break wait
			default:
			}
			if fi, err := os.Stat(db + ".import"); err == nil && (!kill.grown || fi.Size() > copySize) {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		got := strings.Count(k.ok("user", "list", "--json"), "\n")
		if got != before && got != before+rows {
			t.Fatalf("killed %+v: %d users, want %d (none) or %d (all)", kill, got, before, before+rows)
		}
		mustContain(t, "audit verify", k.ok("audit", "verify"), "audit chain intact")
		n := importedIn(t, db+".import")
		if n > 0 && n < rows {
			midway++
		}
		if got == before {
			// The next import does the whole file, leftover or not.
			k.importBatch = 100
			mustContain(t, "import", k.ok("import", "users", file), fmt.Sprintf("imported %d users", rows))
			if got := strings.Count(k.ok("user", "list", "--json"), "\n"); got != before+rows {
				t.Fatalf("after a whole import %d users, want %d", got, before+rows)
			}
			if _, err := os.Stat(db + ".import"); err == nil {
				t.Error("the copy is left behind")
			}
		}
	}
	if midway == 0 {
		t.Fatal("no kill landed while batches were committed into the copy")
	}
}

// importedIn counts the imported members in a leftover copy (0 if none).
func importedIn(t *testing.T, path string) int {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	d := t.TempDir()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, dbFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	r := (&cli{t: t, dir: d, env: map[string]string{"HOME": t.TempDir()}}).run("user", "list", "--json")
	return strings.Count(r.out, "@example.test") - 1 // less the owner
}

// A bad line in a large import leaves nothing: no user, no copy.
func TestLargeImportWithABadLine(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.importBatch = 50
	before := c.ok("user", "list", "--json")
	r := c.run("import", "users", c.write("people.csv", membersCSV(300, "bad@example.test,Bad,wizard,Example\n")))
	if r.code == 0 {
		t.Fatal("an import with a bad line succeeded")
	}
	mustContain(t, "import", r.err, "line 302", "nothing was imported")
	if got := c.ok("user", "list", "--json"); got != before {
		t.Error("a failed import changed the users")
	}
	if _, err := os.Stat(filepath.Join(c.dir, dbFile+".import")); err == nil {
		t.Error("the copy is left behind")
	}
	mustContain(t, "import", c.ok("import", "users", c.write("ok.csv", membersCSV(300, ""))), "imported 300 users")
}
