package store_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// testEvent is event n of a small log: actors cycle through three people,
// every third event belongs to a session, and subjects alternate.
func testEvent(n int) core.Event {
	ev := core.Event{
		Time:    t0.Add(time.Duration(n) * time.Second),
		Type:    core.EvActionPerformed,
		Actor:   core.Ref{ID: fmt.Sprintf("usr_%08d", n%3+1), Email: fmt.Sprintf("staff%d@example.com", n%3+1)},
		Subject: core.Ref{ID: fmt.Sprintf("usr_%08d", 100+n%2), Email: "customer@example.com"},
		Result:  core.ResultOK,
		Details: []byte(fmt.Sprintf(`{"n":%d,"page":"billing"}`, n)),
	}
	if n%3 == 0 {
		ev.Session = "ses_00000001"
	}
	return ev
}

// appendEvents appends events 1..n, one Update each, and returns them as
// AppendEvent filled them in.
func appendEvents(t testing.TB, db *store.DB, n int) []core.Event {
	t.Helper()
	evs := make([]core.Event, n)
	for i := range evs {
		ev := testEvent(i + 1)
		update(t, db, func(tx core.Tx) error { return core.AppendEvent(tx, &ev) })
		evs[i] = ev
	}
	return evs
}

func scanSeqs(t *testing.T, db *store.DB, from uint64, reverse bool, max int) []uint64 {
	var seqs []uint64
	view(t, db, func(tx core.ReadTx) error {
		return tx.ScanAudit(from, reverse, func(seq uint64, rec []byte) bool {
			ev, err := core.DecodeEvent(rec)
			if err != nil || ev.Seq != seq {
				t.Errorf("record under seq %d decodes to seq %d, %v", seq, ev.Seq, err)
			}
			seqs = append(seqs, seq)
			return len(seqs) < max
		})
	})
	return seqs
}

func indexSeqs(t *testing.T, db *store.DB, index, key string, from uint64, reverse bool) []uint64 {
	var seqs []uint64
	view(t, db, func(tx core.ReadTx) error {
		return tx.ScanAuditIndex(index, key, from, reverse, func(seq uint64) bool {
			seqs = append(seqs, seq)
			return true
		})
	})
	return seqs
}

func TestAuditAppendScanAndVerify(t *testing.T) {
	db, _ := openTemp(t)
	evs := appendEvents(t, db, 10)

	view(t, db, func(tx core.ReadTx) error {
		seq, hash, err := tx.AuditHead()
		if err != nil || seq != 10 || hash != evs[9].Hash {
			t.Errorf("AuditHead() = %d, %x, %v; want 10 and the last event's hash", seq, hash, err)
		}
		rec, err := tx.AuditRecord(4)
		if err != nil {
			return err
		}
		got, err := core.DecodeEvent(rec)
		if err != nil || got.Seq != 4 || got.Actor != evs[3].Actor || string(got.Details) != string(evs[3].Details) || !got.Time.Equal(evs[3].Time) {
			t.Errorf("AuditRecord(4) decodes to %+v, %v; want %+v", got, err, evs[3])
		}
		return nil
	})

	for _, c := range []struct {
		from    uint64
		reverse bool
		max     int
		want    []uint64
	}{
		{0, false, 100, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{0, true, 3, []uint64{10, 9, 8}},
		{7, false, 100, []uint64{7, 8, 9, 10}},
		{4, true, 100, []uint64{4, 3, 2, 1}},
		{11, false, 100, nil},
		{50, true, 2, []uint64{10, 9}},
	} {
		if got := scanSeqs(t, db, c.from, c.reverse, c.max); !slices.Equal(got, c.want) {
			t.Errorf("ScanAudit(from %d, reverse %v) = %v, want %v", c.from, c.reverse, got, c.want)
		}
	}

	for _, c := range []struct {
		index, key string
		from       uint64
		reverse    bool
		want       []uint64
	}{
		{"session", "ses_00000001", 0, false, []uint64{3, 6, 9}},
		{"session", "ses_00000001", 0, true, []uint64{9, 6, 3}},
		{"session", "ses_00000001", 6, true, []uint64{6, 3}},
		{"session", "ses_00000001", 7, true, []uint64{6, 3}},
		{"session", "ses_00000001", 4, false, []uint64{6, 9}},
		{"actor", "usr_00000002", 0, false, []uint64{1, 4, 7, 10}},
		{"actor", "usr_00000002", 0, true, []uint64{10, 7, 4, 1}},
		{"subject", "usr_00000100", 0, false, []uint64{2, 4, 6, 8, 10}},
		{"subject", "usr_0000010", 0, false, nil}, // a prefix of a key is not the key
		{"actor", "", 0, false, nil},
	} {
		if got := indexSeqs(t, db, c.index, c.key, c.from, c.reverse); !slices.Equal(got, c.want) {
			t.Errorf("ScanAuditIndex(%s, %s, from %d, reverse %v) = %v, want %v", c.index, c.key, c.from, c.reverse, got, c.want)
		}
	}
	if err := db.View(func(tx core.ReadTx) error {
		return tx.ScanAuditIndex("org", "org_1", 0, false, func(uint64) bool { return true })
	}); err == nil {
		t.Error("ScanAuditIndex of an unknown index succeeded")
	}

	v, err := core.VerifyChain(db)
	if err != nil || !v.OK() || v.Events != 10 || v.Head != evs[9].Hash {
		t.Errorf("VerifyChain = %v, %v", v, err)
	}
}

func TestAuditAppendRefusesWrongSeq(t *testing.T) {
	db, _ := openTemp(t)
	appendEvents(t, db, 2)
	for _, seq := range []uint64{2, 4} {
		err := db.Update(func(tx core.Tx) error {
			return tx.AppendAudit(core.AuditAppend{Seq: seq, Record: []byte("x")})
		})
		if err == nil {
			t.Errorf("AppendAudit with seq %d after head 2 succeeded", seq)
		}
	}
	// The store indexes an event by what its record says (after a restart
	// it has nothing else), so keys that disagree are refused.
	err := db.Update(func(tx core.Tx) error {
		seq, head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		ev := testEvent(3)
		ev.Seq, ev.Prev = seq+1, head
		rec := core.EncodeEvent(&ev)
		return tx.AppendAudit(core.AuditAppend{Seq: ev.Seq, Hash: ev.Hash, Record: rec, Actor: "usr_someone_else"})
	})
	if err == nil {
		t.Error("AppendAudit with index keys that differ from the record succeeded")
	}
	if v, err := core.VerifyChain(db); err != nil || !v.OK() || v.Events != 2 {
		t.Errorf("VerifyChain = %v, %v", v, err)
	}
}

// A failed Update takes its audit event with it: the change and its record
// commit together or not at all.
func TestAuditEventRolledBackWithFailedUpdate(t *testing.T) {
	db, _ := openTemp(t)
	appendEvents(t, db, 1)
	err := db.Update(func(tx core.Tx) error {
		ev := testEvent(2)
		if err := core.AppendEvent(tx, &ev); err != nil {
			return err
		}
		return fmt.Errorf("the change failed")
	})
	if err == nil {
		t.Fatal("Update succeeded")
	}
	view(t, db, func(tx core.ReadTx) error {
		if seq, _, _ := tx.AuditHead(); seq != 1 {
			t.Errorf("head = %d after a failed update, want 1", seq)
		}
		return nil
	})
	if got := indexSeqs(t, db, "subject", "usr_00000100", 0, false); got != nil {
		t.Errorf("subject index has %v after a failed update", got)
	}
}

// Tampering with the file behind actas's back is found by VerifyChain at the
// seq that was touched.
func TestTamperedLogIsDetected(t *testing.T) {
	const events, victim = 20, 7
	for _, c := range []struct {
		name   string
		tamper func(audit *bolt.Bucket, key, rec []byte) error
		want   core.BreakKind
	}{
		{"body byte flipped", func(audit *bolt.Bucket, key, rec []byte) error {
			// Inside the details: the record ends before the tree hashes
			// that follow it (tree.go).
			rec[len(rec)-32*core.TreeLevels(binary.BigEndian.Uint64(key)-1)-3] ^= 0x20
			return audit.Put(key, rec)
		}, core.BreakHash},
		{"stored hash altered", func(audit *bolt.Bucket, key, rec []byte) error {
			rec[5] ^= 0x01
			return audit.Put(key, rec)
		}, core.BreakHash},
		{"record deleted", func(audit *bolt.Bucket, key, _ []byte) error {
			return audit.Delete(key)
		}, core.BreakGap},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "actas.db")
			db, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			appendEvents(t, db, events)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			rawBolt(t, path, func(tx *bolt.Tx) error {
				audit := tx.Bucket([]byte("audit"))
				key := binary.BigEndian.AppendUint64(nil, victim)
				rec := slices.Clone(audit.Get(key)) // bbolt's memory is read-only
				if rec == nil {
					t.Fatalf("no record under seq %d", victim)
				}
				return c.tamper(audit, key, rec)
			})

			db, err = store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			v, err := core.VerifyChain(db)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK() || v.BadSeq != victim || v.Break != c.want || v.Events != victim-1 {
				t.Errorf("VerifyChain = %+v; want break %q at seq %d after %d good events", v, c.want, victim, victim-1)
			}
			if !strings.Contains(v.String(), fmt.Sprint(victim)) {
				t.Errorf("report %q does not name seq %d", v, victim)
			}
		})
	}
}
