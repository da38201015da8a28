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
	midway := 0
	for _, delay := range []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond,
		60 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond} {
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
		// Wait for the copy to appear, then kill after the delay.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(db + ".import"); err == nil {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		got := strings.Count(k.ok("user", "list", "--json"), "\n")
		if got != before && got != before+rows {
			t.Fatalf("killed %v after the copy appeared: %d users, want %d (none) or %d (all)", delay, got, before, before+rows)
		}
		mustContain(t, "audit verify", k.ok("audit", "verify"), "audit chain intact")
		if n := importedIn(t, db+".import"); n > 0 && n < rows {
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
