package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// TestReadCommandsNeverWrite: with a consent that came due while nothing
// ran, and the file held under a shared lock (as a reader on read-only
// media would see it: no writer can take it), every read-only command
// works and the file's bytes stay as they were.
func TestReadCommandsNeverWrite(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	path := filepath.Join(c.dir, dbFile)

	// Olga grants consent for an hour, two hours ago: it is due now.
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clk := core.NewFakeClock(time.Now().Add(-2 * time.Hour))
	co, err := core.Open(db, core.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	olga, err := co.SystemUserByEmail("olga@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := co.GrantConsent(core.Principal{User: olga}, time.Hour); err != nil {
		t.Fatal(err)
	}
	co.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A shared lock of our own: a writer's exclusive lock cannot be had,
	// other readers' shared locks can.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"audit", "verify"}, {"audit", "export"}, {"audit", "export", "--format", "csv"},
		{"user", "list"}, {"user", "list", "--json"}, {"org", "list"}, {"key", "list"}, {"policy", "show"},
		{"audit", "checkpoint"}, {"audit", "prove", "--seq", "1"}, {"apikey", "list"}, {"alert", "list"},
	} {
		c.ok(args...)
	}
	mustContain(t, "a writer", c.fails("org", "add", "--name", "Other"), "in use")
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("a read-only command changed the database file")
	}
	// A writer applies the expiry.
	c.ok("org", "add", "--name", "Other")
	mustContain(t, "expiry by a writer", c.ok("audit", "export"), `"type":"consent.expired"`)
}
