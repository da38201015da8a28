package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// The audit indexes (by session, actor and subject) are written behind the
// log, not with each event.
//
// Every index entry lands on a different B+tree leaf than the event itself,
// and a commit's cost on disk grows with the number of distinct pages it
// writes: indexing each event in its own commit tripled the pages of a
// single append, and 64 concurrent engineers (64 sessions, actors and
// subjects) made a batch write ~200 scattered pages instead of ~10. So an
// append stores only the record and the chain head; the committer writes the
// index entries of many events in one transaction later ("flushes"), where
// entries of the same key share leaves.
//
// meta's audit_indexed key says up to which seq the index buckets are
// complete. The events after it (the "tail") are indexed in memory by
// auditTail, so ScanAuditIndex answers from the buckets plus the tail and
// sees exactly what its snapshot holds. The records stay the source of
// truth: after a crash the tail is rebuilt from them at Open.

// auditIndexes are the index names of core.ReadTx.ScanAuditIndex, in the
// order of tailEntry's keys.
var auditIndexes = [3]string{"session", "actor", "subject"}

// tailEntry holds one event's index keys, "" where it is not indexed.
type tailEntry [3]string

// auditTail is the in-memory index of events (base, base+len(entries)].
// entries is only ever appended to or replaced by a fresh slice, so a reader
// may keep using a slice it took under the lock after releasing it.
type auditTail struct {
	mu      sync.RWMutex
	base    uint64
	entries []tailEntry
}

// add records the index keys of the events first, first+1, … just committed.
func (a *auditTail) add(first uint64, entries []tailEntry) {
	if len(entries) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.base+uint64(len(a.entries))+1 != first {
		// Not contiguous (cannot happen while the committer is the only
		// writer); start over, readers fall back to the records.
		a.base, a.entries = first-1, nil
	}
	a.entries = append(a.entries, entries...)
}

// top is the seq of the last event in the tail.
func (a *auditTail) top() uint64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.base + uint64(len(a.entries))
}

// reset makes the tail hold exactly entries, for the events after base.
func (a *auditTail) reset(base uint64, entries []tailEntry) {
	a.mu.Lock()
	a.base, a.entries = base, entries
	a.mu.Unlock()
}

// forget drops the entries of events up to seq.
func (a *auditTail) forget(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq <= a.base {
		return
	}
	n := min(seq-a.base, uint64(len(a.entries)))
	a.entries = append([]tailEntry(nil), a.entries[n:]...)
	a.base += n
}

// each calls fn with the index keys of every event in (lo, hi], in seq
// order: from memory where it has them, else decoded from the records in tx
// (a snapshot older than the last flushes, or newer than the memory).
func (a *auditTail) each(tx *bolt.Tx, lo, hi uint64, fn func(seq uint64, keys *tailEntry)) {
	if hi <= lo {
		return
	}
	a.mu.RLock()
	base, entries := a.base, a.entries
	a.mu.RUnlock()
	top := base + uint64(len(entries))
	memLo, memHi := max(lo, base), min(hi, top)
	if memLo >= memHi {
		keysFromRecords(tx, lo, hi, fn)
		return
	}
	keysFromRecords(tx, lo, memLo, fn)
	for seq := memLo + 1; seq <= memHi; seq++ {
		fn(seq, &entries[seq-base-1])
	}
	keysFromRecords(tx, memHi, hi, fn)
}

// keysFromRecords calls fn for the events in (lo, hi] with the keys their
// records hold. A record that does not decode is skipped: it is indexed
// nowhere, and VerifyChain reports it.
func keysFromRecords(tx *bolt.Tx, lo, hi uint64, fn func(seq uint64, keys *tailEntry)) {
	if hi <= lo {
		return
	}
	c := tx.Bucket(bucketAudit).Cursor()
	for k, v := c.Seek(seqKey(lo + 1)); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		if seq > hi {
			return
		}
		if keys, err := recordKeys(v); err == nil {
			fn(seq, &keys)
		}
	}
}

// recordKeys is what an event is indexed under.
func recordKeys(rec []byte) (tailEntry, error) {
	ev, err := core.DecodeEvent(rec)
	return tailEntry{ev.Session, ev.Actor.ID, ev.Subject.ID}, err
}

// auditIndexed is the seq up to which the index buckets are complete.
func (t readTx) auditIndexed() (uint64, error) {
	v := t.bucket(bucketMeta).Get(keyAuditIndexed)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("meta %s is %d bytes long, want 8; the database is damaged", keyAuditIndexed, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (t readTx) ScanAuditIndex(index, key string, from uint64, reverse bool, fn func(seq uint64) bool) error {
	ix := -1
	for i, name := range auditIndexes {
		if name == index {
			ix = i
		}
	}
	if ix < 0 {
		return fmt.Errorf("no audit index %q; use session, actor or subject", index)
	}
	if key == "" {
		return nil
	}
	indexed, err := t.auditIndexed()
	if err != nil {
		return err
	}
	head, _, err := t.AuditHead()
	if err != nil {
		return err
	}
	var recent []uint64
	t.db.tail.each(t.tx, indexed, head, func(seq uint64, keys *tailEntry) {
		if keys[ix] == key {
			recent = append(recent, seq)
		}
	})

	// Bucket entries all come before the tail's.
	if reverse {
		for i := len(recent) - 1; i >= 0; i-- {
			if from != 0 && recent[i] > from {
				continue
			}
			if !fn(recent[i]) {
				return nil
			}
		}
	}
	done, err := t.scanIndexBucket(auditIndexBuckets[index], index, key, from, reverse, fn)
	if err != nil || done || reverse {
		return err
	}
	for _, seq := range recent {
		if seq >= from && !fn(seq) {
			return nil
		}
	}
	return nil
}

// scanIndexBucket walks the flushed entries of key like ScanAuditIndex and
// reports whether fn asked to stop.
func (t readTx) scanIndexBucket(bucket []byte, index, key string, from uint64, reverse bool, fn func(seq uint64) bool) (stopped bool, err error) {
	prefix := prefixKey(key)
	c := t.bucket(bucket).Cursor()
	var k []byte
	switch {
	case from == 0 && !reverse:
		k, _ = c.Seek(prefix)
	case from == 0:
		k, _ = seekBefore(c, prefixEnd(key))
	default:
		start, err := auditIndexKey(key, from)
		if err != nil {
			return false, err
		}
		if reverse {
			k, _ = seekAtOrBefore(c, start)
		} else {
			k, _ = c.Seek(start)
		}
	}
	step := c.Next
	if reverse {
		step = c.Prev
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = step() {
		if len(k) != len(prefix)+8 {
			return false, fmt.Errorf("audit %s index key %q has no seq; the database is damaged", index, k)
		}
		if !fn(binary.BigEndian.Uint64(k[len(prefix):])) {
			return true, nil
		}
	}
	return false, nil
}

// flushAuditIndex writes the index entries of the tail into the index
// buckets in one transaction and moves audit_indexed to the head. Only the
// committer (or Open, before it starts) calls it.
func (db *DB) flushAuditIndex() error {
	var from, to uint64
	err := db.bolt.Update(func(btx *bolt.Tx) error {
		t := readTx{btx, db}
		var err error
		if from, err = t.auditIndexed(); err != nil {
			return err
		}
		if to, _, err = t.AuditHead(); err != nil {
			return err
		}
		if to <= from {
			return nil
		}
		var buckets [3]*bolt.Bucket
		for i, name := range auditIndexes {
			buckets[i] = btx.Bucket(auditIndexBuckets[name])
			// Entries arrive at the end of their key's range, so a split
			// leaf rarely gets inserts below its split point: fill them.
			buckets[i].FillPercent = 0.9
		}
		// Sorted keys go into each B+tree in order, so consecutive puts land
		// on the leaf the previous one left in memory: several times faster
		// than putting in seq order, which hops between keys.
		var keys [3][][]byte
		db.tail.each(btx, from, to, func(seq uint64, e *tailEntry) {
			for i, key := range e {
				if key == "" || err != nil {
					continue
				}
				var k []byte
				if k, err = auditIndexKey(key, seq); err == nil {
					keys[i] = append(keys[i], k)
				}
			}
		})
		if err != nil {
			return err
		}
		for i, ks := range keys {
			slices.SortFunc(ks, bytes.Compare)
			for _, k := range ks {
				if err := buckets[i].Put(k, empty); err != nil {
					return err
				}
			}
		}
		return btx.Bucket(bucketMeta).Put(keyAuditIndexed, seqKey(to))
	})
	if err != nil {
		return fmt.Errorf("write audit indexes: %w", err)
	}
	if to > from {
		db.indexedTo = to
		// Readers whose snapshot predates this flush still read the events
		// after the previous watermark from memory.
		db.tail.forget(from)
	}
	return nil
}

// loadAuditTail rebuilds the in-memory index of the events the last process
// appended but did not flush.
func (db *DB) loadAuditTail() error {
	return db.bolt.View(func(btx *bolt.Tx) error {
		t := readTx{btx, db}
		indexed, err := t.auditIndexed()
		if err != nil {
			return err
		}
		head, _, err := t.AuditHead()
		if err != nil {
			return err
		}
		var entries []tailEntry
		next := indexed + 1
		keysFromRecords(btx, indexed, head, func(seq uint64, keys *tailEntry) {
			for ; next < seq; next++ { // an undecodable record is indexed nowhere
				entries = append(entries, tailEntry{})
			}
			entries = append(entries, *keys)
			next++
		})
		for ; next <= head; next++ {
			entries = append(entries, tailEntry{})
		}
		db.indexedTo = indexed
		db.tail.reset(indexed, entries)
		return nil
	})
}
