package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// queue queues one message per channel in tx and returns their IDs.
func queue(t *testing.T, tx core.Tx, channels ...string) []string {
	t.Helper()
	var ids []string
	for _, ch := range channels {
		m := core.OutboxMessage{Event: 1, Channel: ch}
		if err := core.QueueMessage(tx, &m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// outboxLayout is where the outbox is kept: the audit bucket's keys (seqs
// of records, seq+number of groups), the outbox bucket's keys, and meta's
// outbox_from (0 when absent).
type outboxLayout struct {
	audit, own []string
	from       uint64
}

func layoutOf(t *testing.T, db *DB) outboxLayout {
	t.Helper()
	var l outboxLayout
	err := db.bolt.View(func(tx *bolt.Tx) error {
		_ = tx.Bucket(bucketAudit).ForEach(func(k, _ []byte) error {
			s := string(rune('0' + binary.BigEndian.Uint64(k)))
			if isGroupKey(k) {
				s += "+" + core.MessageID(binary.BigEndian.Uint64(k[8:]))
			}
			l.audit = append(l.audit, s)
			return nil
		})
		_ = tx.Bucket(bucketOutbox).ForEach(func(k, _ []byte) error { l.own = append(l.own, string(k)); return nil })
		if v := tx.Bucket(bucketMeta).Get(keyOutboxFrom); v != nil {
			l.from = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func scanOutbox(t *testing.T, db *DB) []string {
	t.Helper()
	var ids []string
	if err := db.View(func(tx core.ReadTx) error {
		return tx.ScanOutbox(func(m core.OutboxMessage) bool { ids = append(ids, m.ID); return true })
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func mustUpdate(t *testing.T, db *DB, fn func(tx core.Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// The messages a commit queues are kept after its last audit record (in
// the page the append writes anyway), never seen by a reader of the log;
// one whose first try failed moves to the outbox bucket; outbox_from
// follows the first group.
func TestOutboxRidesWithTheAuditLog(t *testing.T) {
	db := openForBatching(t)
	var ids []string
	mustUpdate(t, db, func(tx core.Tx) error {
		if err := appendTestEvent(tx, "usr_a"); err != nil {
			return err
		}
		ids = append(ids, queue(t, tx, "ch_a", "ch_b", "ch_c")...)
		return nil
	})
	mustUpdate(t, db, func(tx core.Tx) error {
		err := errors.Join(appendTestEvent(tx, "usr_b"), appendTestEvent(tx, "usr_c"))
		ids = append(ids, queue(t, tx, "ch_d", "ch_e")...)
		return err
	})
	// A transaction that appends nothing queues after the last record.
	mustUpdate(t, db, func(tx core.Tx) error { ids = append(ids, queue(t, tx, "ch_f")...); return nil })

	want := outboxLayout{audit: []string{"1", "1+" + ids[0], "2", "3", "3+" + ids[3], "3+" + ids[5]}, from: 1}
	if got := layoutOf(t, db); !slices.Equal(got.audit, want.audit) || len(got.own) != 0 || got.from != 1 {
		t.Fatalf("layout %+v, want %+v", got, want)
	}
	if got := scanOutbox(t, db); !slices.Equal(got, ids) {
		t.Errorf("outbox %v, want %v", got, ids)
	}
	// Readers of the log see records only, from either end.
	for _, c := range []struct {
		from    uint64
		reverse bool
		want    []uint64
	}{{0, false, []uint64{1, 2, 3}}, {0, true, []uint64{3, 2, 1}}, {2, true, []uint64{2, 1}}, {4, true, []uint64{3, 2, 1}}, {2, false, []uint64{2, 3}}} {
		var seqs []uint64
		if err := db.View(func(tx core.ReadTx) error {
			return tx.ScanAudit(c.from, c.reverse, func(seq uint64, rec []byte) bool {
				if _, err := core.DecodeEvent(rec); err != nil {
					t.Errorf("seq %d: %v", seq, err)
				}
				seqs = append(seqs, seq)
				return true
			})
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs, c.want) {
			t.Errorf("ScanAudit(%d, %v) = %v, want %v", c.from, c.reverse, seqs, c.want)
		}
	}
	if got := auditActors(t, db); !slices.Equal(got, []string{"usr_a", "usr_b", "usr_c"}) {
		t.Errorf("actors %v", got)
	}

	// The first try of b failed: it moves to the outbox bucket, and the
	// outbox still reads in queue order.
	mustUpdate(t, db, func(tx core.Tx) error {
		m, err := tx.OutboxMessage(ids[1])
		if err != nil {
			return err
		}
		m.Attempts, m.LastError = 1, "HTTP 500"
		return tx.PutOutbox(m)
	})
	if got := layoutOf(t, db); !slices.Equal(got.own, []string{ids[1]}) || got.from != 1 || len(got.audit) != 6 {
		t.Errorf("after a failed try: %+v", got)
	}
	if got := scanOutbox(t, db); !slices.Equal(got, ids) {
		t.Errorf("outbox %v, want %v", got, ids)
	}
	// The first group empties: outbox_from moves to the next one.
	mustUpdate(t, db, func(tx core.Tx) error { return errors.Join(tx.DeleteOutbox(ids[0]), tx.DeleteOutbox(ids[2])) })
	if got := layoutOf(t, db); got.from != 3 || !slices.Equal(got.audit, []string{"1", "2", "3", "3+" + ids[3], "3+" + ids[5]}) {
		t.Errorf("after the first group was delivered: %+v", got)
	}
	// The second group loses its first member and keeps its key.
	mustUpdate(t, db, func(tx core.Tx) error { return tx.DeleteOutbox(ids[3]) })
	if got := scanOutbox(t, db); !slices.Equal(got, []string{ids[1], ids[4], ids[5]}) {
		t.Errorf("outbox %v", got)
	}
	mustUpdate(t, db, func(tx core.Tx) error { return errors.Join(tx.DeleteOutbox(ids[4]), tx.DeleteOutbox(ids[5])) })
	if got := layoutOf(t, db); got.from != 0 || !slices.Equal(got.audit, []string{"1", "2", "3"}) || len(got.own) != 1 {
		t.Errorf("after every group was delivered: %+v", got)
	}
	m, err := readMessage(db, ids[1])
	if err != nil || m.Attempts != 1 || m.Channel != "ch_b" {
		t.Errorf("the failed message reads %+v, %v", m, err)
	}

	// A reopened file numbers on, and indexes its tail from the records.
	path := db.bolt.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var next []string
	mustUpdate(t, db, func(tx core.Tx) error {
		next = queue(t, tx, "ch_g")
		return appendTestEvent(tx, "usr_b")
	})
	if next[0] != core.MessageID(7) {
		t.Errorf("after reopening the next message is %s, want %s", next[0], core.MessageID(7))
	}
	var seqs []uint64
	if err := db.View(func(tx core.ReadTx) error {
		return tx.ScanAuditIndex("actor", "usr_b", 0, false, func(seq uint64) bool { seqs = append(seqs, seq); return true })
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint64{2, 4}) {
		t.Errorf("usr_b's events %v, want [2 4]", seqs)
	}
}

func readMessage(db *DB, id string) (m core.OutboxMessage, err error) {
	err = db.View(func(tx core.ReadTx) error { m, err = tx.OutboxMessage(id); return err })
	return m, err
}

// A version-9 file's groups in the outbox bucket become messages of their
// own, and its message counter carries on from the bucket's sequence.
func TestOpenMigratesV9Outbox(t *testing.T) {
	db := openForBatching(t)
	path := db.bolt.Path()
	mustUpdate(t, db, func(tx core.Tx) error { return appendTestEvent(tx, "usr_a") })
	db.Close()
	members := []outboxMember{
		{n: 4, enc: string(encodeOutbox(core.OutboxMessage{Event: 1, Channel: "ch_a"}))},
		{n: 5, enc: string(encodeOutbox(core.OutboxMessage{Event: 1, Channel: "ch_b"}))},
	}
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta, b := tx.Bucket(bucketMeta), tx.Bucket(bucketOutbox)
		return errors.Join(meta.Put(keySchemaVersion, seqKey(9)), meta.Delete(keyOutboxSeq),
			b.Put([]byte(core.MessageID(4)), encodeOutboxGroup(members)),
			b.Put([]byte(core.MessageID(6)), encodeOutbox(core.OutboxMessage{Event: 1, Channel: "ch_c", Attempts: 2})),
			b.SetSequence(6))
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
	want := []string{core.MessageID(4), core.MessageID(5), core.MessageID(6)}
	if got := layoutOf(t, db); !slices.Equal(got.own, want) {
		t.Errorf("outbox bucket after the migration: %v, want %v", got.own, want)
	}
	for i, id := range want {
		m, err := readMessage(db, id)
		if err != nil || m.Channel != "ch_"+string(rune('a'+i)) {
			t.Errorf("%s reads %+v, %v", id, m, err)
		}
	}
	var next []string
	mustUpdate(t, db, func(tx core.Tx) error { next = queue(t, tx, "ch_d"); return nil })
	if next[0] != core.MessageID(7) {
		t.Errorf("the next message is %s, want %s", next[0], core.MessageID(7))
	}
	var v []byte
	_ = db.bolt.View(func(tx *bolt.Tx) error { v = bytes.Clone(tx.Bucket(bucketMeta).Get(keySchemaVersion)); return nil })
	if binary.BigEndian.Uint64(v) != schemaVersion {
		t.Errorf("schema version %d after the migration", binary.BigEndian.Uint64(v))
	}
}

// A transaction queuing more than a group holds writes several groups; a
// message put twice in its transaction keeps the later put.
func TestOutboxManyInOneTransaction(t *testing.T) {
	db := openForBatching(t)
	var ids []string
	mustUpdate(t, db, func(tx core.Tx) error {
		if err := appendTestEvent(tx, "usr_a"); err != nil {
			return err
		}
		for range 300 {
			ids = append(ids, queue(t, tx, "ch_a")...)
		}
		// Put again in the same transaction, not read in between.
		return tx.PutOutbox(core.OutboxMessage{ID: ids[5], Event: 1, Channel: "ch_b"})
	})
	l := layoutOf(t, db)
	var groups []string
	for _, k := range l.audit {
		if len(k) > 1 {
			groups = append(groups, k)
		}
	}
	want := []string{"1+" + ids[0], "1+" + ids[128], "1+" + ids[256]}
	if !slices.Equal(groups, want) || !slices.Equal(l.own, []string{ids[5]}) {
		t.Errorf("groups %v and own %v, want %v and [%s]", groups, l.own, want, ids[5])
	}
	if got := scanOutbox(t, db); !slices.Equal(got, ids) {
		t.Errorf("outbox holds %d messages, want the %d in order", len(got), len(ids))
	}
	for i, id := range []string{ids[5], ids[127], ids[128], ids[299]} {
		m, err := readMessage(db, id)
		if err != nil || m.ID != id || m.Channel != map[bool]string{true: "ch_b", false: "ch_a"}[i == 0] {
			t.Errorf("%s reads %+v, %v", id, m, err)
		}
	}
}
