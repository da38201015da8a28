package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
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
// An index maps key|0x00|first seq (8 bytes) to a block of postings: the
// seqs after the first, each a uvarint of its distance from the one before.
// A flush appends a key's new seqs to its last block (or starts a block when
// that one holds maxPostingBytes), so it writes one value per key, not one
// per event: 64 engineers' sessions, actors and subjects are ~600 puts per
// 16k events instead of ~49k, and the index is ~1 byte per entry.
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
	// A fresh array (readers may hold the old one) as large as the old,
	// which is what the tail grows to between flushes.
	a.entries = append(make([]tailEntry, 0, cap(a.entries)), a.entries[n:]...)
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
		if isGroupKey(k) {
			continue // outbox messages (outbox.go)
		}
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
	session, actor, subject, err := core.RecordRefs(rec)
	return tailEntry{string(session), string(actor), string(subject)}, err
}

// auditIndexed is the seq up to which the index buckets are complete.
func (t readTx) auditIndexed() (uint64, error) {
	n, _, err := t.metaNumber(keyAuditIndexed)
	return n, err
}

// metaNumber reads an 8-byte number of the meta bucket; ok is false (and
// the number 0) when the key is absent.
func (t readTx) metaNumber(key []byte) (n uint64, ok bool, err error) {
	v := t.bucket(bucketMeta).Get(key)
	switch {
	case v == nil:
		return 0, false, nil
	case len(v) != 8:
		return 0, false, fmt.Errorf("meta %s is %d bytes long, want 8; the database is damaged", key, len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

func (t readTx) ScanAuditIndex(index, key string, from uint64, reverse bool, fn func(seq uint64) bool) error {
	head, _, err := t.AuditHead()
	if err != nil {
		return err
	}
	return t.scanAuditIndex(head, index, key, from, reverse, fn)
}

// ScanAuditIndex of a write transaction also sees the events it appended:
// its head is writeTx's.
func (t writeTx) ScanAuditIndex(index, key string, from uint64, reverse bool, fn func(seq uint64) bool) error {
	head, _, err := t.AuditHead()
	if err != nil {
		return err
	}
	return t.scanAuditIndex(head, index, key, from, reverse, fn)
}

// scanAuditIndex is ScanAuditIndex in a snapshot whose log ends at head.
func (t readTx) scanAuditIndex(head uint64, index, key string, from uint64, reverse bool, fn func(seq uint64) bool) error {
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

// maxPostingBytes is how long a block of postings grows before a flush
// starts the next one: a reader decodes at most one block (~a few hundred
// seqs) to find where to start.
const maxPostingBytes = 256

// scanIndexBucket walks the flushed entries of key like ScanAuditIndex and
// reports whether fn asked to stop.
func (t readTx) scanIndexBucket(bucket []byte, index, key string, from uint64, reverse bool, fn func(seq uint64) bool) (stopped bool, err error) {
	prefix := prefixKey(key)
	c := t.bucket(bucket).Cursor()
	var k, v []byte
	switch {
	case from == 0 && !reverse:
		k, v = c.Seek(prefix)
	case from == 0:
		k, v = seekBefore(c, prefixEnd(key))
	default:
		start, err := auditIndexKey(key, from)
		if err != nil {
			return false, err
		}
		// The block that holds from starts at or before it.
		k, v = seekAtOrBefore(c, start)
		if !reverse && !bytes.HasPrefix(k, prefix) {
			k, v = c.Seek(prefix)
		}
	}
	step := c.Next
	if reverse {
		step = c.Prev
	}
	var seqs []uint64
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step() {
		if seqs, err = readBlock(index, prefix, k, v, seqs[:0]); err != nil {
			return false, err
		}
		if reverse {
			for i := len(seqs) - 1; i >= 0; i-- {
				if (from == 0 || seqs[i] <= from) && !fn(seqs[i]) {
					return true, nil
				}
			}
			continue
		}
		for _, seq := range seqs {
			if seq >= from && !fn(seq) {
				return true, nil
			}
		}
	}
	return false, nil
}

// readBlock appends to dst the seqs of the block stored under k (which
// starts with prefix) as v; a key or block that does not decode is damage.
func readBlock(index string, prefix, k, v []byte, dst []uint64) ([]uint64, error) {
	if len(k) != len(prefix)+8 {
		return dst, fmt.Errorf("audit %s index key %q has no seq; the database is damaged", index, k)
	}
	dst = append(dst, binary.BigEndian.Uint64(k[len(prefix):]))
	for seq, block := dst[len(dst)-1], v; len(block) > 0; {
		d, n := binary.Uvarint(block)
		if n <= 0 || d == 0 || seq+d < seq {
			return dst, fmt.Errorf("audit %s index block %q: bad posting; the database is damaged", index, k)
		}
		seq += d
		dst = append(dst, seq)
		block = block[n:]
	}
	return dst, nil
}

// appendPostings adds seqs (ascending, all above what key has) to key's
// postings in b.
func appendPostings(b *bolt.Bucket, index, key string, seqs []uint64) error {
	prefix := prefixKey(key)
	var blockKey, block []byte
	var last uint64
	if k, v := seekBefore(b.Cursor(), prefixEnd(key)); bytes.HasPrefix(k, prefix) {
		old, err := readBlock(index, prefix, k, v, nil)
		if err != nil {
			return err
		}
		if last = old[len(old)-1]; seqs[0] <= last {
			return fmt.Errorf("audit %s index of %q already holds seq %d, not below %d", index, key, last, seqs[0])
		}
		// v is the file's memory, valid only in this transaction: copy it.
		blockKey, block = bytes.Clone(k), append(make([]byte, 0, maxPostingBytes+binary.MaxVarintLen64), v...)
	}
	for _, seq := range seqs {
		if blockKey != nil && len(block) < maxPostingBytes {
			block = binary.AppendUvarint(block, seq-last)
			last = seq
			continue
		}
		if blockKey != nil {
			if err := b.Put(blockKey, block); err != nil {
				return err
			}
		}
		var err error
		if blockKey, err = auditIndexKey(key, seq); err != nil {
			return err
		}
		block, last = make([]byte, 0, maxPostingBytes+binary.MaxVarintLen64), seq
	}
	return b.Put(blockKey, block)
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
		// Each index's keys with their new seqs, in seq order.
		var lists [3]map[string][]uint64
		for i := range lists {
			lists[i] = make(map[string][]uint64)
		}
		db.tail.each(btx, from, to, func(seq uint64, e *tailEntry) {
			for i, key := range e {
				if key != "" {
					lists[i][key] = append(lists[i][key], seq)
				}
			}
		})
		for i, name := range auditIndexes {
			b := btx.Bucket(auditIndexBuckets[name])
			// Blocks only grow at the end of their key's range.
			b.FillPercent = 0.9
			// Keys in order, so consecutive puts land on the leaf the
			// previous one left in memory.
			for _, key := range slices.Sorted(maps.Keys(lists[i])) {
				if err := appendPostings(b, name, key, lists[i][key]); err != nil {
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
