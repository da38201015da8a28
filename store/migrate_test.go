package store_test

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// schema1Fixture copies testdata/schema1-demo.db.gz, a demo database (3
// generated users, 25 events) written by the last actas of schema version 1,
// into a temporary file.
func schema1Fixture(t *testing.T) string {
	t.Helper()
	f, err := os.Open("testdata/schema1-demo.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "actas.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if v, _ := schemaVersion(t, path); v != 1 {
		t.Fatalf("fixture has schema version %d, want 1", v)
	}
	return path
}

// indexFromRecords is what the audit indexes must say: for each index and
// key, the seqs of the events naming it, oldest first.
func indexFromRecords(t *testing.T, db *store.DB) map[[2]string][]uint64 {
	want := map[[2]string][]uint64{}
	view(t, db, func(tx core.ReadTx) error {
		return tx.ScanAudit(0, false, func(seq uint64, rec []byte) bool {
			session, actor, subject, err := core.RecordRefs(rec)
			if err != nil {
				t.Fatalf("seq %d: %v", seq, err)
			}
			for i, key := range [][]byte{session, actor, subject} {
				if len(key) > 0 {
					k := [2]string{[]string{"session", "actor", "subject"}[i], string(key)}
					want[k] = append(want[k], seq)
				}
			}
			return true
		})
	})
	return want
}

func checkIndexes(t *testing.T, db *store.DB) {
	t.Helper()
	want := indexFromRecords(t, db)
	if len(want) == 0 {
		t.Fatal("the fixture's events name nobody")
	}
	view(t, db, func(tx core.ReadTx) error {
		for k, seqs := range want {
			var got []uint64
			if err := tx.ScanAuditIndex(k[0], k[1], 0, false, func(seq uint64) bool {
				got = append(got, seq)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, seqs) {
				t.Errorf("index %s %q = %v, want %v", k[0], k[1], got, seqs)
			}
		}
		return nil
	})
}

// A file of the previous layout opens, is migrated to the current version,
// and reads back whole: entities, the audit chain and its indexes.
func TestOpenMigratesSchema1File(t *testing.T) {
	path := schema1Fixture(t)
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	view(t, db, func(tx core.ReadTx) error {
		n := 0
		if err := tx.ForEachUser(func(core.User) error { n++; return nil }); err != nil {
			t.Errorf("users of the old file do not decode: %v", err)
		}
		if n != 12 {
			t.Errorf("%d users, want the fixture's 12", n)
		}
		if _, err := tx.Policy(); err != nil {
			t.Errorf("policy of the old file: %v", err)
		}
		if seq, _, err := tx.AuditHead(); err != nil || seq != 25 {
			t.Errorf("AuditHead() = %d, %v; want 25", seq, err)
		}
		return nil
	})
	checkIndexes(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if v, _ := schemaVersion(t, path); v != store.SchemaVersion {
		t.Errorf("schema version after open = %d, want %d", v, store.SchemaVersion)
	}
}

// Version 1 files were also written with the first index layout: one key
// per event, put in the append transaction, and no audit_indexed mark.
// Reading those keys as they are and indexing the log again would list every
// event twice; the migration rebuilds the indexes from the records instead.
func TestMigrationRebuildsFirstLayoutIndexes(t *testing.T) {
	path := schema1Fixture(t)
	rawBolt(t, path, func(tx *bolt.Tx) error {
		if err := emptyAuditIndexes(tx); err != nil {
			return err
		}
		c := tx.Bucket([]byte("audit")).Cursor()
		for k, rec := c.First(); k != nil; k, rec = c.Next() {
			session, actor, subject, err := core.RecordRefs(rec)
			if err != nil {
				return err
			}
			for i, key := range [][]byte{session, actor, subject} {
				if len(key) == 0 {
					continue
				}
				b := tx.Bucket([]byte(auditIndexes[i]))
				ik := append(append(append([]byte{}, key...), 0), k...)
				if err := b.Put(ik, nil); err != nil {
					return err
				}
			}
		}
		return tx.Bucket([]byte("meta")).Delete([]byte("audit_indexed"))
	})
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkIndexes(t, db)
}

// A value of a newer encoding version than this code reads is refused with
// ErrSchemaTooNew, never half-read.
func TestNewerEntityVersionRefused(t *testing.T) {
	path := schema1Fixture(t)
	var id []byte
	rawBolt(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("users"))
		k, v := b.Cursor().First()
		id = slices.Clone(k)
		v = slices.Clone(v)
		v[0] = 200
		return b.Put(k, v)
	})
	db, err := store.Open(path, store.Options{})
	if err != nil {
		// The migration to version 3 reads every user to index it.
		if !errors.Is(err, store.ErrSchemaTooNew) {
			t.Fatalf("opening a file with a user of encoding version 200: %v, want ErrSchemaTooNew", err)
		}
		return
	}
	defer db.Close()
	err = db.View(func(tx core.ReadTx) error {
		_, err := tx.User(string(id))
		return err
	})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("reading a user of encoding version 200: %v, want ErrSchemaTooNew", err)
	}
}
