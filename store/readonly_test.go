package store

import (
	"path/filepath"
	"testing"

	"github.com/actas/actas/core"
)

// TestReadOnlyNeverWrites: a read-only store refuses updates.
func TestReadOnlyNeverWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Update(func(core.Tx) error { return nil }); err != ErrReadOnly {
		t.Fatalf("update on a read-only store: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.db"), Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open created a file")
	}
}
