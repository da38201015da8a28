package store

import (
	"path/filepath"
	"testing"
)

// TestDurableBoltOptions holds the options durability rests on: a commit
// is fsync'd (NoSync off) and so is the file's growth (NoGrowSync off).
func TestDurableBoltOptions(t *testing.T) {
	if o := boltOptions(Options{}); o.NoSync || o.NoGrowSync {
		t.Fatalf("bolt options give up durability: NoSync=%v NoGrowSync=%v", o.NoSync, o.NoGrowSync)
	}
	db, err := Open(filepath.Join(t.TempDir(), "actas.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.bolt.NoSync || db.bolt.NoGrowSync {
		t.Fatalf("the open database gives up durability: NoSync=%v NoGrowSync=%v", db.bolt.NoSync, db.bolt.NoGrowSync)
	}
}
