package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
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

// auditIndexes are the audit log's index buckets, by session, actor and
// subject (RecordRefs' order).
var auditIndexes = []string{"audit_by_session", "audit_by_actor", "audit_by_subject"}

// emptyAuditIndexes replaces the audit index buckets with empty ones.
func emptyAuditIndexes(tx *bolt.Tx) error {
	for _, name := range auditIndexes {
		if err := tx.DeleteBucket([]byte(name)); err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte(name)); err != nil {
			return err
		}
	}
	return nil
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
		return users.Put([]byte("usr_00000001"), store.EncodeUser(core.User{ID: "usr_00000001", Email: "a@b.test", Name: "A", Org: "org_00000001", Role: core.RoleMember}))
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
	if buckets != 25 {
		t.Errorf("file has %d buckets after migration, want 25", buckets)
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
	if version, buckets := schemaVersion(t, path); version != store.SchemaVersion || buckets != 25 {
		t.Errorf("after migration: version %d, %d buckets; want %d, 25", version, buckets, store.SchemaVersion)
	}
}

// A file of schema version 1 (or 2) holds users but no name or consent index:
// opening it builds both from the users there are.
func TestOpenIndexesUsersOfAVersion1File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	users := []core.User{
		{ID: "usr_00000001", Email: "zed@b.test", Name: "Zed", Org: "org_00000001", Role: core.RoleOwner},
		{ID: "usr_00000002", Email: "amy@b.test", Name: "amy", Org: "org_00000002", Role: core.RoleMember,
			ConsentFrom: now, ConsentUntil: now.Add(time.Hour)},
		{ID: "usr_00000003", Email: "bob@b.test", Name: "Amy", Org: "org_00000002", Role: core.RoleSupport},
	}
	rawBolt(t, path, func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "orgs", "orgs_by_name", "users", "users_by_email", "keys", "keys_by_user",
			"requests", "requests_by_status", "sessions", "sessions_active", "sessions_by_target",
			"audit", "audit_by_session", "audit_by_actor", "audit_by_subject"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 1)); err != nil {
			return err
		}
		if err := meta.Put([]byte("user_count"), binary.BigEndian.AppendUint64(nil, uint64(len(users)))); err != nil {
			return err
		}
		for _, u := range users {
			if err := tx.Bucket([]byte("users")).Put([]byte(u.ID), store.EncodeUser(u)); err != nil {
				return err
			}
			if err := tx.Bucket([]byte("users_by_email")).Put([]byte(u.Email), []byte(u.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	view(t, db, func(tx core.ReadTx) error {
		var got []string
		err := tx.ScanUserIndex(false, func(e core.UserIndexEntry) bool {
			u, _ := e.User()
			got = append(got, string(e.Key)+"|"+string(e.ID)+"|"+string(e.Org)+"|"+string(u.Role))
			return true
		})
		want := []string{"amy\x00amy@b.test|usr_00000002|org_00000002|member", "amy\x00bob@b.test|usr_00000003|org_00000002|support",
			"zed\x00zed@b.test|usr_00000001|org_00000001|owner"}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("name index after migration = %q, %v; want %q", got, err, want)
		}
		c, err := tx.ConsentUsers()
		if err != nil || len(c) != 1 || c[0].ID != "usr_00000002" {
			t.Errorf("ConsentUsers() = %v, %v; want usr_00000002 alone", c, err)
		}
		return nil
	})
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

// A version-5 file (before API keys and tickets, its policy in encoding 3,
// without product_url and issuer) opens as version 6 with its policy intact.
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
		if v[0] != 4 || !bytes.HasSuffix(v, []byte{0, 0}) {
			t.Fatalf("policy record %x is not encoding 4 ending in two empty strings", v)
		}
		v2 := append([]byte{3}, v[1:len(v)-2]...) // encoding 3: no product_url, no issuer
		if err := meta.Put([]byte("policy"), v2); err != nil {
			return err
		}
		return meta.Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 5))
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
	if version, buckets := schemaVersion(t, path); version != store.SchemaVersion || buckets != 25 {
		t.Errorf("after migration: version %d, %d buckets; want %d, 25", version, buckets, store.SchemaVersion)
	}
}

// Versions 4 to 6 kept ID, org and role in the name index; opening such a
// file rebuilds the index with whole records.
func TestOpenRebuildsTheNameIndexOfVersion6(t *testing.T) {
	db, path := openTemp(t)
	u := core.User{ID: "usr_00000001", Email: "a@x.test", Name: "Ann", Org: "org_1", Role: core.RoleSupport}
	update(t, db, func(tx core.Tx) error { return tx.PutUser(u) })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rawBolt(t, path, func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("users_by_name")).Put([]byte("ann\x00a@x.test"), []byte("usr_00000001\x00org_1\x00support")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 6))
	})
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := nameIndex(t, db), []string{"ann/a@x.test|usr_00000001|org_1|support"}; !slices.Equal(got, want) {
		t.Errorf("name index = %q, want %q", got, want)
	}
}

// A name index entry whose user is gone is damage that the file check
// names.
func TestCheckFileFindsAStrayNameEntry(t *testing.T) {
	db, path := openTemp(t)
	update(t, db, func(tx core.Tx) error {
		return tx.PutUser(core.User{ID: "usr_00000001", Email: "a@x.test", Name: "Ann", Role: core.RoleMember})
	})
	if d := db.CheckFile(); len(d) != 0 {
		t.Fatalf("a sound file has damage: %q", d)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rawBolt(t, path, func(tx *bolt.Tx) error {
		ghost := store.EncodeUser(core.User{ID: "usr_00000009", Email: "g@x.test", Name: "Ghost"})
		return tx.Bucket([]byte("users_by_name")).Put([]byte("ghost\x00g@x.test"), ghost)
	})
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if d := db.CheckFile(); len(d) != 1 || !strings.Contains(d[0], "usr_00000009") {
		t.Fatalf("damage = %q, want the stray entry of usr_00000009", d)
	}
}
