package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// TestVerifySeesDamageOutsideTheChain: a user record that does not decode
// and an email index entry pointing at no user leave the chain intact, but
// verify reports them.
func TestVerifySeesDamageOutsideTheChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.Open(db, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Init(core.SystemPrincipal("t"), "olga@example.test", "Olga", "Example"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Verify(); err != nil || !v.OK() {
		t.Fatalf("fresh file: %v %v", v, err)
	}
	c.Close()
	db.Close()

	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketUsers).Put([]byte("usr_99999999"), []byte{0xff, 0x01, 0x02}); err != nil {
			return err
		}
		return tx.Bucket(bucketUsersByEmail).Put([]byte("ghost@example.test"), []byte("usr_404"))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := core.VerifyChain(db)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() {
		t.Fatalf("verify missed the damage: %v", v)
	}
	for _, want := range []string{"users record", "usr_99999999", "users_by_email", "ghost@example.test"} {
		if !strings.Contains(v.String(), want) {
			t.Errorf("verify report lacks %q:\n%s", want, v)
		}
	}
}

// TestFileCutShortIsDamageNotACrash: a file cut short (a copy killed while
// it was written) has pages the memory map cannot back; reading them
// faults. That is reported as damage, never a crash of the process.
func TestFileCutShortIsDamageNotACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("filler"))
		if err != nil {
			return err
		}
		for i := range 400 { // ~1.6 MB over many pages
			if err := b.Put(fmt.Appendf(nil, "k%05d", i), make([]byte, 4000)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.bolt.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	db.Close()
	page := int64(os.Getpagesize())
	if err := os.Truncate(path, used/2/page*page); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{ReadOnly: true})
	if err == nil {
		err = db.View(func(rtx core.ReadTx) error {
			return rtx.(readTx).tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error { return nil })
			})
		})
		db.Close()
	}
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("reading a file cut short: %v, want ErrDamaged", err)
	}
}
