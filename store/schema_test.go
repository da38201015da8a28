package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// rawBolt opens the file with bbolt alone, as a tool (or an attacker) would.
func rawBolt(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := bdb.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func schemaVersion(t *testing.T, path string) (version uint64, buckets int) {
	rawBolt(t, path, func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("meta")).Get([]byte("schema_version")); len(v) == 8 {
			version = binary.BigEndian.Uint64(v)
		}
		return tx.ForEach(func([]byte, *bolt.Bucket) error { buckets++; return nil })
	})
	return version, buckets
}

// A file from before the schema had a version (no version key, only some
// buckets) is migrated to the current version when opened.
func TestOpenMigratesUnversionedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	rawBolt(t, path, func(tx *bolt.Tx) error {
		users, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte("meta")); err != nil {
			return err
		}
		return users.Put([]byte("usr_00000001"), []byte("written before versioning"))
	})

	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	view(t, db, func(tx core.ReadTx) error {
		if n, err := tx.UserCount(); err != nil || n != 1 {
			t.Errorf("UserCount() after migration = %d, %v; want the 1 user already there", n, err)
		}
		if seq, _, err := tx.AuditHead(); err != nil || seq != 0 {
			t.Errorf("AuditHead() = %d, %v", seq, err)
		}
		return nil
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	version, buckets := schemaVersion(t, path)
	if version != store.SchemaVersion {
		t.Errorf("schema version after open = %d, want %d", version, store.SchemaVersion)
	}
	if buckets != 21 {
		t.Errorf("file has %d buckets after migration, want 21", buckets)
	}
}

// A version-2 file kept a policy ending in the alert_channels list. Opening
// it drops the list, turns alerting on and adds the alert buckets.
func TestOpenMigratesV1Policy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The version-2 encoding: version byte, then enabled, require_consent,
	// max_duration, default_duration, require_reason, request_ttl,
	// approvals_required, end_on_disconnect, notify_target, alert_channels.
	v1 := []byte{1, 1, 1}
	v1 = binary.AppendVarint(v1, int64(72*time.Hour))
	v1 = binary.AppendVarint(v1, int64(time.Hour))
	v1 = append(v1, 0)
	v1 = binary.AppendVarint(v1, int64(24*time.Hour))
	v1 = binary.AppendVarint(v1, 2)
	v1 = append(v1, 1, 0)
	v1 = binary.AppendUvarint(v1, 1)
	v1 = binary.AppendUvarint(v1, uint64(len("#security")))
	v1 = append(v1, "#security"...)
	rawBolt(t, path, func(tx *bolt.Tx) error {
		for _, b := range []string{"alert_channels", "outbox"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Put([]byte("policy"), v1); err != nil {
			return err
		}
		return meta.Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 2))
	})
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	view(t, db, func(tx core.ReadTx) error {
		p, err := tx.Policy()
		want := core.Policy{Enabled: true, RequireConsent: true, MaxDuration: 72 * time.Hour, DefaultDuration: time.Hour,
			RequestTTL: 24 * time.Hour, ApprovalsRequired: 2, EndOnDisconnect: true, Alerting: true}
		if err != nil || !reflect.DeepEqual(p, want) {
			t.Errorf("migrated policy = %+v, %v; want %+v", p, err, want)
		}
		if chs, err := tx.Channels(); err != nil || len(chs) != 0 {
			t.Errorf("Channels() after migration = %v, %v", chs, err)
		}
		return nil
	})
	db.Close()
	if version, buckets := schemaVersion(t, path); version != store.SchemaVersion || buckets != 21 {
		t.Errorf("after migration: version %d, %d buckets; want %d, 21", version, buckets, store.SchemaVersion)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	rawBolt(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 99))
	})
	_, err = store.Open(path, store.Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("Open of a version-99 file: %v, want ErrSchemaTooNew naming the version", err)
	}
	if version, _ := schemaVersion(t, path); version != 99 {
		t.Errorf("refused open changed the version to %d", version)
	}
}

// A version-3 file (before API keys and tickets, its policy in encoding 2,
// without product_url and issuer) opens as version 4 with its policy intact.
func TestOpenMigratesV3ToHostProducts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pol := core.DefaultPolicy()
	pol.Enabled, pol.Environment = true, "production"
	update(t, db, func(tx core.Tx) error { return tx.PutPolicy(pol) })
	db.Close()
	rawBolt(t, path, func(tx *bolt.Tx) error {
		for _, b := range []string{"apikeys", "tickets", "tickets_by_session"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		v := meta.Get([]byte("policy"))
		if v[0] != 3 || !bytes.HasSuffix(v, []byte{0, 0}) {
			t.Fatalf("policy record %x is not encoding 3 ending in two empty strings", v)
		}
		v2 := append([]byte{2}, v[1:len(v)-2]...) // encoding 2: no product_url, no issuer
		if err := meta.Put([]byte("policy"), v2); err != nil {
			return err
		}
		return meta.Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 3))
	})
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	view(t, db, func(tx core.ReadTx) error {
		got, err := tx.Policy()
		if err != nil || !reflect.DeepEqual(got, pol) {
			t.Errorf("policy after migration = %+v, %v; want %+v", got, err, pol)
		}
		if keys, err := tx.APIKeys(); err != nil || len(keys) != 0 {
			t.Errorf("APIKeys() = %v, %v", keys, err)
		}
		return nil
	})
	db.Close()
	if version, buckets := schemaVersion(t, path); version != 4 || buckets != 21 {
		t.Errorf("after migration: version %d, %d buckets; want 4, 21", version, buckets)
	}
}
