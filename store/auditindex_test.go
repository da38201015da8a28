package store_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// checkAuditIndexes compares every ScanAuditIndex answer (each index, each
// key, every from, both directions, and stopping early) with what the
// records themselves say.
func checkAuditIndexes(t *testing.T, db *store.DB) { checkAuditIndexesFrom(t, db, 1) }

// checkAuditIndexesFrom is checkAuditIndexes trying from = 0 and every
// stride-th seq after it (stride 0: only 0); stride 1 costs time quadratic
// in the log.
func checkAuditIndexesFrom(t *testing.T, db *store.DB, stride uint64) {
	t.Helper()
	want := map[string]map[string][]uint64{"session": {}, "actor": {}, "subject": {}}
	var head uint64
	view(t, db, func(tx core.ReadTx) error {
		return tx.ScanAudit(0, false, func(seq uint64, rec []byte) bool {
			ev, err := core.DecodeEvent(rec)
			if err != nil {
				t.Fatalf("record %d: %v", seq, err)
			}
			for index, key := range map[string]string{"session": ev.Session, "actor": ev.Actor.ID, "subject": ev.Subject.ID} {
				if key != "" {
					want[index][key] = append(want[index][key], seq)
				}
			}
			head = seq
			return true
		})
	})
	for index, keys := range want {
		keys["usr_nobody"] = nil
		for key, seqs := range keys {
			lastFrom, step := head+1, stride
			if stride == 0 {
				lastFrom, step = 0, 1
			}
			for from := uint64(0); from <= lastFrom; from += step {
				var fwd, rev []uint64
				for _, s := range seqs {
					if s >= from {
						fwd = append(fwd, s)
					}
					if from == 0 || s <= from {
						rev = append(rev, s)
					}
				}
				slices.Reverse(rev)
				if got := indexSeqs(t, db, index, key, from, false); !slices.Equal(got, fwd) {
					t.Fatalf("ScanAuditIndex(%s, %s, from %d) = %v, want %v", index, key, from, got, fwd)
				}
				if got := indexSeqs(t, db, index, key, from, true); !slices.Equal(got, rev) {
					t.Fatalf("ScanAuditIndex(%s, %s, from %d, reverse) = %v, want %v", index, key, from, got, rev)
				}
			}
			var first2 []uint64
			view(t, db, func(tx core.ReadTx) error {
				return tx.ScanAuditIndex(index, key, 0, false, func(seq uint64) bool {
					first2 = append(first2, seq)
					return len(first2) < 2
				})
			})
			if w := seqs[:min(2, len(seqs))]; !slices.Equal(first2, w) {
				t.Fatalf("ScanAuditIndex(%s, %s) stopping after 2 gave %v, want %v", index, key, first2, w)
			}
		}
	}
}

// randomEvent draws keys from small sets, so keys repeat across flushes, and
// leaves some unset.
func randomEvent(r *rand.Rand) core.Event {
	ev := core.Event{
		Time:   t0,
		Type:   core.EvActionPerformed,
		Actor:  core.Ref{ID: fmt.Sprintf("usr_%08d", 1+r.IntN(4))},
		Result: core.ResultOK,
	}
	if r.IntN(3) > 0 {
		ev.Subject = core.Ref{ID: fmt.Sprintf("usr_%08d", 100+r.IntN(3))}
	}
	if r.IntN(2) == 0 {
		ev.Session = fmt.Sprintf("ses_%08d", 1+r.IntN(3))
	}
	return ev
}

// appendRandom appends n random events in one update.
func appendRandom(t *testing.T, db *store.DB, r *rand.Rand, n int) {
	t.Helper()
	update(t, db, func(tx core.Tx) error {
		for range n {
			ev := randomEvent(r)
			if err := core.AppendEvent(tx, &ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// The indexes are written behind the log; what ScanAuditIndex answers must
// not depend on how much of it has been flushed, on whether the in-memory
// tail is there, or on a restart in between.
func TestAuditIndexesMatchTheLogAcrossFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.OpenWithAuditFlush(path, 7, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	appendSome := func(n int) { appendRandom(t, db, r, n) }
	indexed := func() uint64 {
		seq, err := store.AuditIndexed(db)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}

	for range 3 {
		appendSome(1)
	}
	if got := indexed(); got != 0 {
		t.Errorf("indexed up to %d after 3 events with a flush every 7", got)
	}
	checkAuditIndexes(t, db) // all in the tail

	for range 10 {
		appendSome(1 + r.IntN(3))
	}
	if got := indexed(); got < 7 {
		t.Errorf("indexed up to %d after more than 7 events", got)
	}
	checkAuditIndexes(t, db) // buckets and tail

	store.DropAuditTail(db)
	checkAuditIndexes(t, db) // buckets and records
	appendSome(2)
	checkAuditIndexes(t, db) // buckets, records and a new tail
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A crash before any flush leaves the events only in the records; Open
	// rebuilds the tail from them, or flushes it when it is long.
	rawBolt(t, path, func(tx *bolt.Tx) error {
		if err := emptyAuditIndexes(tx); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Delete([]byte("audit_indexed"))
	})
	db, err = store.OpenWithAuditFlush(path, 1000, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkAuditIndexes(t, db)
	appendSome(3)
	checkAuditIndexes(t, db)
	store.TrimAuditTail(db, 2)
	checkAuditIndexes(t, db) // tail, then records after it
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.OpenWithAuditFlush(path, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var head uint64
	view(t, db, func(tx core.ReadTx) error { head, _, err = tx.AuditHead(); return err })
	if got := indexed(); got != head {
		t.Errorf("indexed up to %d of %d after opening with a flush every event", got, head)
	}
	checkAuditIndexes(t, db)
}

// A key with many events spreads over several blocks of postings; scans
// from any point find the block that holds it and cross into the next.
func TestAuditIndexBlocksSplit(t *testing.T) {
	db, err := store.OpenWithAuditFlush(filepath.Join(t.TempDir(), "actas.db"), 50, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(3, 4))
	for range 60 {
		appendRandom(t, db, r, 50)
	}
	// 3000 events over 4 actors: ~750 seqs each, several blocks per actor.
	blocks := 0
	if err := store.RawView(db, func(tx *bolt.Tx) error {
		blocks = tx.Bucket([]byte("audit_by_actor")).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if blocks <= 4 || blocks > 40 {
		t.Errorf("actor index has %d blocks for 4 actors and 3000 events; want a few per actor", blocks)
	}
	checkAuditIndexesFrom(t, db, 7)
}

// Files written before blocks held one key per event with an empty value;
// they read as blocks of one seq, and new seqs are appended after them.
func TestAuditIndexReadsOneKeyPerEventLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.OpenWithAuditFlush(path, 1<<20, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	appendSome := func(n int) { appendRandom(t, db, r, n) }
	appendSome(40)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Write the index as the old layout did, straight from the records.
	rawBolt(t, path, func(tx *bolt.Tx) error {
		var head uint64
		err := tx.Bucket([]byte("audit")).ForEach(func(k, v []byte) error {
			session, actor, subject, err := core.RecordRefs(v)
			if err != nil {
				return err
			}
			head = binary.BigEndian.Uint64(k)
			for name, key := range map[string][]byte{"audit_by_session": session, "audit_by_actor": actor, "audit_by_subject": subject} {
				if len(key) == 0 {
					continue
				}
				old := binary.BigEndian.AppendUint64(append(append([]byte(nil), key...), 0), head)
				if err := tx.Bucket([]byte(name)).Put(old, []byte{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("audit_indexed"), binary.BigEndian.AppendUint64(nil, head))
	})
	db, err = store.OpenWithAuditFlush(path, 5, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkAuditIndexes(t, db)
	appendSome(12)
	if err := db.Close(); err != nil { // flushes onto the old entries
		t.Fatal(err)
	}
	db, err = store.OpenWithAuditFlush(path, 1<<20, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := store.AuditIndexed(db); err != nil || got != 52 {
		t.Fatalf("indexed up to %d, %v after 52 events and a close", got, err)
	}
	checkAuditIndexes(t, db)
}

// A block that does not decode is reported as damage, not skipped.
func TestAuditIndexDamagedBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.OpenWithAuditFlush(path, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ev := core.Event{Time: t0, Type: core.EvActionPerformed, Actor: core.Ref{ID: "usr_00000001"}, Result: core.ResultOK}
	update(t, db, func(tx core.Tx) error { return core.AppendEvent(tx, &ev) })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rawBolt(t, path, func(tx *bolt.Tx) error {
		key := binary.BigEndian.AppendUint64([]byte("usr_00000001\x00"), 1)
		return tx.Bucket([]byte("audit_by_actor")).Put(key, []byte{0x80}) // a uvarint cut short
	})
	db, err = store.OpenWithAuditFlush(path, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx core.ReadTx) error {
		return tx.ScanAuditIndex("actor", "usr_00000001", 0, false, func(uint64) bool { return true })
	})
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("scan of a damaged block: %v, want an error saying the database is damaged", err)
	}
}

// Inside a write transaction, the head and the indexes include the events
// it appended itself, before it commits (the meta bucket's head is
// written only at its end).
func TestWriteTxSeesItsOwnAppends(t *testing.T) {
	db, _ := openTemp(t)
	r := rand.New(rand.NewPCG(9, 10))
	appendRandom(t, db, r, 5)
	update(t, db, func(tx core.Tx) error {
		var appended []uint64
		for range 3 {
			ev := core.Event{Time: t0, Type: core.EvActionPerformed, Actor: core.Ref{ID: "usr_00000077"}, Result: core.ResultOK}
			if err := core.AppendEvent(tx, &ev); err != nil {
				return err
			}
			appended = append(appended, ev.Seq)
		}
		if head, _, err := tx.AuditHead(); err != nil || head != 8 {
			t.Errorf("AuditHead in the transaction = %d, %v; want 8", head, err)
		}
		var got []uint64
		if err := tx.ScanAuditIndex("actor", "usr_00000077", 0, false, func(seq uint64) bool {
			got = append(got, seq)
			return true
		}); err != nil {
			return err
		}
		if !slices.Equal(got, appended) {
			t.Errorf("ScanAuditIndex in the transaction = %v, want its own appends %v", got, appended)
		}
		return nil
	})
	view(t, db, func(tx core.ReadTx) error {
		if head, _, err := tx.AuditHead(); err != nil || head != 8 {
			t.Errorf("AuditHead after the commit = %d, %v; want 8", head, err)
		}
		return nil
	})
	checkAuditIndexes(t, db)
}
