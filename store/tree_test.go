package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// memTree is tlog's own stored-hash layout in memory, built independently
// of the store, to compare the store's tree against.
type memTree []tlog.Hash

func (m memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, ix := range indexes {
		out[i] = m[ix]
	}
	return out, nil
}

func (m *memTree) add(t *testing.T, n int64, eventHash core.Hash) {
	hs, err := tlog.StoredHashes(n, eventHash[:], *m)
	if err != nil {
		t.Fatal(err)
	}
	*m = append(*m, hs...)
}

// TestTreeIsRFC6962OverEventHashes appends events in batches of different
// sizes (several per transaction, one per transaction, across a reopen)
// and checks that every root, inclusion and consistency proof the store's
// tree gives is tlog's for the same leaves.
func TestTreeIsRFC6962OverEventHashes(t *testing.T) {
	db, path := openTemp(t)
	var mem memTree
	n := 0
	appendBatch := func(db *store.DB, k int) {
		var evs []core.Event
		update(t, db, func(tx core.Tx) error {
			evs = evs[:0]
			for range k {
				ev := testEvent(n + len(evs) + 1)
				if err := core.AppendEvent(tx, &ev); err != nil {
					return err
				}
				evs = append(evs, ev)
			}
			return nil
		})
		for _, ev := range evs {
			mem.add(t, int64(ev.Seq-1), ev.Hash)
		}
		n += k
	}
	for _, k := range []int{1, 1, 3, 7, 1, 20} {
		appendBatch(db, k)
	}
	db.Close()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendBatch(db, 5)
	appendBatch(db, 1)

	view(t, db, func(tx core.ReadTx) error {
		r := tlog.HashReaderFunc(tx.AuditTree)
		for size := int64(1); size <= int64(n); size++ {
			got, err := tlog.TreeHash(size, r)
			if err != nil {
				t.Fatalf("TreeHash(%d): %v", size, err)
			}
			want, _ := tlog.TreeHash(size, mem)
			if got != want {
				t.Fatalf("root at size %d = %s, tlog says %s", size, got, want)
			}
			f, err := core.LoadTreeFrontier(uint64(size), r)
			if err != nil || f.Root() != want {
				t.Fatalf("frontier root at size %d = %s, %v; want %s", size, f.Root(), err, want)
			}
		}
		top, _ := tlog.TreeHash(int64(n), mem)
		for i := int64(0); i < int64(n); i++ {
			p, err := tlog.ProveRecord(int64(n), i, r)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := tx.AuditRecord(uint64(i + 1))
			if err := tlog.CheckRecord(p, int64(n), top, i, core.TreeLeaf([32]byte(rec[:32]))); err != nil {
				t.Errorf("inclusion of event %d: %v", i+1, err)
			}
		}
		for old := int64(1); old <= int64(n); old++ {
			p, err := tlog.ProveTree(int64(n), old, r)
			if err != nil {
				t.Fatal(err)
			}
			oldRoot, _ := tlog.TreeHash(old, mem)
			if err := tlog.CheckTree(p, int64(n), top, old, oldRoot); err != nil {
				t.Errorf("consistency of size %d with %d: %v", old, n, err)
			}
		}
		return nil
	})
	if v, err := core.VerifyChain(db); err != nil || !v.OK() || v.Events != uint64(n) {
		t.Fatalf("VerifyChain = %v, %v", v, err)
	} else if want, _ := tlog.TreeHash(int64(n), mem); v.Root != core.Hash(want) {
		t.Errorf("VerifyChain root %s, want %s", v.Root, core.Hash(want))
	}
}

// TestVerifyFindsATamperedTree changes one stored tree hash: the chain is
// intact but the tree no longer speaks for it, and verify says where.
func TestVerifyFindsATamperedTree(t *testing.T) {
	db, path := openTemp(t)
	appendEvents(t, db, 36)
	db.Close()
	rawBolt(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k := binary.BigEndian.AppendUint64(nil, 32)
		v := append([]byte(nil), b.Get(k)...)
		v[len(v)-2*32+40] ^= 1 // level 5 of the 2 tree hashes (levels 4 and 5) after event 32's record
		return b.Put(k, v)
	})
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := core.VerifyChain(db)
	if err != nil || v.OK() || v.BadSeq != 32 || v.Break != core.BreakTree {
		t.Fatalf("VerifyChain = %+v, %v; want a tree mismatch at seq 32", v, err)
	}
}

// TestMigrationBuildsTheTree takes a file of the schema before the tree
// (events, no tree),
// opens it, and finds the tree every later append extends.
func TestMigrationBuildsTheTree(t *testing.T) {
	db, path := openTemp(t)
	appendEvents(t, db, 37)
	before, err := core.VerifyChain(db)
	if err != nil || !before.OK() {
		t.Fatal(before, err)
	}
	db.Close()
	// The file as schema 7 wrote it: records without their tree hashes.
	rawBolt(t, path, func(tx *bolt.Tx) error {
		audit := tx.Bucket([]byte("audit"))
		var stripped [][2][]byte
		if err := audit.ForEach(func(k, v []byte) error {
			seq := binary.BigEndian.Uint64(k)
			rec := v[:len(v)-32*core.TreeLevels(seq-1)]
			stripped = append(stripped, [2][]byte{append([]byte(nil), k...), append([]byte(nil), rec...)})
			return nil
		}); err != nil {
			return err
		}
		for _, e := range stripped {
			if err := audit.Put(e[0], e[1]); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 7))
	})
	if _, err := store.Open(path, store.Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "must be upgraded") {
		t.Fatalf("read-only open of an older file: %v, want a refusal", err)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := core.VerifyChain(db)
	if err != nil || !after.OK() || after.Root != before.Root {
		t.Fatalf("after migration VerifyChain = %+v, %v; want root %s", after, err, before.Root)
	}
	ev := testEvent(99)
	update(t, db, func(tx core.Tx) error { return core.AppendEvent(tx, &ev) })
	if v, err := core.VerifyChain(db); err != nil || !v.OK() || v.Events != 38 {
		t.Fatalf("append after migration: VerifyChain = %v, %v", v, err)
	}
	db.Close()
	if version, _ := schemaVersion(t, path); version != store.SchemaVersion {
		t.Errorf("schema version %d after migration", version)
	}
}

// TestCheckpointsAreKept stores checkpoints and reads the newest back; a
// read-only open sees them and refuses to write.
func TestCheckpointsAreKept(t *testing.T) {
	db, path := openTemp(t)
	appendEvents(t, db, 5)
	key, _, err := core.NewLogKey(core.LogOrigin("Acme Corp"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, at := range []time.Time{now, now.Add(time.Minute)} {
		cp, err := core.SignedCheckpoint(db, key.Signer, at)
		if err != nil {
			t.Fatal(err)
		}
		update(t, db, func(tx core.Tx) error { return tx.PutCheckpoint(cp) })
		appendEvents(t, db, 2)
	}
	db.Close()
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	view(t, ro, func(tx core.ReadTx) error {
		cp, err := tx.LatestCheckpoint()
		if err != nil || cp.Size != 7 || !cp.Time.Equal(now.Add(time.Minute)) || cp.Origin != "actas/Acme-Corp" {
			t.Errorf("LatestCheckpoint = %+v, %v; want size 7 at %s", cp, err, now.Add(time.Minute))
		}
		opened, err := core.OpenCheckpoint(cp.Note, key.Verifier)
		if err != nil || opened.Size != cp.Size || opened.Root != cp.Root {
			t.Errorf("stored note opens to %+v, %v", opened, err)
		}
		return nil
	})
	if err := ro.Update(func(core.Tx) error { return nil }); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Update on a read-only open: %v", err)
	}
}

// TestCheckFileReadsCheckpoints: a kept checkpoint that does not decode is
// reported as damage by verify.
func TestCheckFileReadsCheckpoints(t *testing.T) {
	db, path := openTemp(t)
	appendEvents(t, db, 3)
	db.Close()
	rawBolt(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("audit_checkpoints")).Put(binary.BigEndian.AppendUint64(nil, 3), []byte{1, 0xff})
	})
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := core.VerifyChain(db)
	if err != nil || v.OK() || !strings.Contains(strings.Join(v.Damage, "\n"), "audit_checkpoints") {
		t.Fatalf("VerifyChain = %+v, %v; want damage in audit_checkpoints", v, err)
	}
}

// A file written without the tree (the benchmark's OpenWithoutTree) holds
// records alone: every read gives each record whole, one by one as in a
// scan, and no tree hashes.
func TestRecordsWithoutTreeReadWhole(t *testing.T) {
	db, err := store.OpenWithoutTree(t.TempDir() + "/actas.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	update(t, db, func(tx core.Tx) error {
		for i := range 4 {
			ev := testEvent(i + 1)
			if err := core.AppendEvent(tx, &ev); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx core.ReadTx) error {
		scanned := 0
		err := tx.ScanAuditWithTree(0, func(seq uint64, rec, tree []byte) bool {
			scanned++
			one, err := tx.AuditRecord(seq)
			if err != nil || string(one) != string(rec) || tree != nil {
				t.Errorf("event %d: AuditRecord gives %d bytes (%v), the scan %d and %d bytes of tree; want the same record and no tree", seq, len(one), err, len(rec), len(tree))
			}
			if ev, err := core.DecodeEvent(one); err != nil || ev.Seq != seq {
				t.Errorf("event %d: AuditRecord's record decodes as %d, %v", seq, ev.Seq, err)
			}
			return true
		})
		if err != nil || scanned != 4 {
			t.Errorf("scanned %d events, %v; want 4", scanned, err)
		}
		if _, err := tx.AuditTree([]int64{0}); err == nil {
			t.Error("AuditTree of a file without the tree: no error")
		}
		return nil
	})
}

// A version-10 file kept every level of the tree after each record; the
// upgrade keeps levels 4 and up only, and the tree, its proofs and the
// chain read as before. An outbox group in the log is left alone.
func TestOpenDropsTheLowTreeLevelsOfVersion10(t *testing.T) {
	db, path := openTemp(t)
	appendEvents(t, db, 40)
	before, err := core.VerifyChain(db)
	if err != nil || !before.OK() {
		t.Fatal(before, err)
	}
	var want [][]byte // the values as this version writes them
	view(t, db, func(tx core.ReadTx) error {
		return tx.ScanAuditWithTree(0, func(_ uint64, rec, tree []byte) bool {
			want = append(want, append(append([]byte(nil), rec...), tree...))
			return true
		})
	})
	db.Close()
	group := append(binary.BigEndian.AppendUint64(nil, 40), binary.BigEndian.AppendUint64(nil, 1)...)
	rawBolt(t, path, func(tx *bolt.Tx) error {
		audit := tx.Bucket([]byte("audit"))
		var f core.TreeFrontier
		for i, v := range want {
			seq := uint64(i + 1)
			rec := v[:len(v)-32*core.TreeLevels(seq-1)]
			full := f.AppendFrom([32]byte(rec[:32]), append([]byte(nil), rec...), 0)
			if err := audit.Put(binary.BigEndian.AppendUint64(nil, seq), full); err != nil {
				return err
			}
		}
		// An outbox group after the last record (its value is not read).
		if err := audit.Put(group, []byte{4}); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 10))
	})
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got [][]byte
	view(t, db, func(tx core.ReadTx) error {
		return tx.ScanAuditWithTree(0, func(_ uint64, rec, tree []byte) bool {
			got = append(got, append(append([]byte(nil), rec...), tree...))
			return true
		})
	})
	if len(got) != len(want) {
		t.Fatalf("%d events after the upgrade, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("event %d: %d bytes after the upgrade, want %d as written now", i+1, len(got[i]), len(want[i]))
		}
	}
	after, err := core.VerifyChain(db)
	if err != nil || !after.OK() || after.Root != before.Root || after.Events != 40 {
		t.Fatalf("after the upgrade VerifyChain = %+v, %v; want root %s", after, err, before.Root)
	}
	view(t, db, func(tx core.ReadTx) error {
		r := tlog.HashReaderFunc(tx.AuditTree)
		for _, size := range []int64{1, 15, 16, 17, 32, 40} {
			if h, err := tlog.TreeHash(size, r); err != nil || (size == 40 && core.Hash(h) != before.Root) {
				t.Errorf("TreeHash(%d) = %s, %v", size, core.Hash(h), err)
			}
		}
		return nil
	})
	db.Close()
	rawBolt(t, path, func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("audit")).Get(group); !bytes.Equal(v, []byte{4}) {
			t.Errorf("the outbox group after the upgrade: %v", v)
		}
		return nil
	})
}

// Verify checks the chain and the tree on two goroutines, a batch of
// events at a time: whichever breaks first in the log is reported, across
// batches, with the events before it.
func TestVerifyReportsTheFirstBreakOfChainOrTree(t *testing.T) {
	db, path := openTemp(t)
	const n = 9000 // three of the tree checker's batches
	update(t, db, func(tx core.Tx) error {
		for i := range n {
			ev := testEvent(i + 1)
			if err := core.AppendEvent(tx, &ev); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	tamper := func(seq uint64, tree bool) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("audit"))
			k := binary.BigEndian.AppendUint64(nil, seq)
			v := append([]byte(nil), b.Get(k)...)
			if tree {
				v[len(v)-1] ^= 1 // the last stored tree hash
			} else {
				v[len(v)-32*core.TreeLevels(seq-1)-3] ^= 0x20 // a byte of the record's details
			}
			return b.Put(k, v)
		}
	}
	verify := func() core.Verification {
		db, err := store.Open(path, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		v, err := core.VerifyChain(db)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Events 8192 and 6144 complete subtrees of levels 0–12 and 0–10.
	rawBolt(t, path, tamper(8192, false))
	if v := verify(); v.BadSeq != 8192 || v.Break != core.BreakHash || v.Events != 8191 {
		t.Errorf("a changed record: %v", v)
	}
	rawBolt(t, path, tamper(6144, true))
	if v := verify(); v.BadSeq != 6144 || v.Break != core.BreakTree || v.Events != 6143 {
		t.Errorf("a changed tree hash before a changed record: %v", v)
	}
	rawBolt(t, path, tamper(5000, false))
	if v := verify(); v.BadSeq != 5000 || v.Break != core.BreakHash || v.Events != 4999 {
		t.Errorf("a changed record before a changed tree hash: %v", v)
	}
}
