package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// maxDamage caps how many problems CheckFile lists: a badly damaged file
// would otherwise print one line per page.
const maxDamage = 20

// CheckFile reads every page of the file outside the audit log (whose
// records core's chain walk reads, beside this one: reading them twice
// doubled the cost of audit verify) and every record outside the audit
// chain, and lists what is damaged:
// pages bbolt cannot account for, records that do not decode, index
// entries that point nowhere. Nothing is written. A page whose header lies
// makes bbolt panic; that is reported too, as damage, never as a panic.
func (db *DB) CheckFile() (damage []string) {
	add := func(format string, a ...any) {
		if len(damage) < maxDamage {
			damage = append(damage, fmt.Sprintf(format, a...))
		}
	}
	err := db.View(func(rtx core.ReadTx) error {
		tx := rtx.(readTx).tx
		// Walk every page of every bucket here, in this goroutine, so a
		// page whose header lies panics where it can be recovered
		// (bbolt's own Tx.Check walks in a goroutine of its own).
		release := db.releaseEvery(tx).tick
		walked := map[string]bool{string(bucketAudit): true}
		checkRecords(tx, add, release, walked)
		// The outbox: its messages of their own and the groups in the
		// audit log (from outbox_from on).
		func() {
			defer func() {
				if r := recover(); r != nil {
					add("outbox: a page cannot be read: %v", r)
				}
			}()
			if err := rtx.ScanOutbox(func(core.OutboxMessage) bool { release(); return true }); err != nil {
				add("outbox: %v", err)
			}
		}()
		for _, name := range allBuckets {
			if !walked[string(name)] {
				walkBucket(tx, name, add, release)
			}
		}
		return nil
	})
	if err != nil {
		add("%v", err)
	}
	return damage
}

// walkBucket reads every key and value of one bucket.
func walkBucket(tx *bolt.Tx, name []byte, add func(string, ...any), release func()) {
	defer func() {
		if r := recover(); r != nil {
			add("bucket %s: a page cannot be read: %v", name, r)
		}
	}()
	b := tx.Bucket(name)
	if b == nil {
		add("bucket %s is missing", name)
		return
	}
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		release()
	}
}

// checkRecords decodes every entity record and follows every index entry.
// It marks in walked each bucket it read in full, so CheckFile does not
// read its pages again.
func checkRecords(tx *bolt.Tx, add func(string, ...any), release func(), walked map[string]bool) {
	defer func() {
		if r := recover(); r != nil {
			add("a page cannot be read: %v", r)
		}
	}()
	decoders := []struct {
		bucket []byte
		decode func([]byte) error
	}{
		{bucketOrgs, func(v []byte) error { _, err := decodeOrg(v); return err }},
		{bucketUsers, func(v []byte) error { _, err := decodeUser(v); return err }},
		{bucketKeys, func(v []byte) error { _, err := decodeKey(v); return err }},
		{bucketRequests, func(v []byte) error { _, err := decodeRequest(v); return err }},
		{bucketSessions, func(v []byte) error { _, err := decodeSession(v); return err }},
		{bucketCheckpoints, func(v []byte) error { _, err := decodeCheckpoint(v); return err }},
	}
	users := newIDSet() // the IDs of the users bucket, for its indexes
	for _, d := range decoders {
		b := tx.Bucket(d.bucket)
		if b == nil {
			add("bucket %s is missing", d.bucket)
			continue
		}
		walked[string(d.bucket)] = true
		_ = b.ForEach(func(k, v []byte) error {
			release()
			if bytes.Equal(d.bucket, bucketUsers) {
				users.add(k)
			}
			if err := d.decode(v); err != nil {
				add("%s record %q: %v", d.bucket, k, err)
			}
			return nil
		})
	}
	// The users' name index holds whole records: their ID and org must
	// read, and the user must exist (the rest was decoded in bucketUsers).
	if byName := tx.Bucket(bucketUsersByName); byName != nil {
		walked[string(bucketUsersByName)] = true
		_ = byName.ForEach(func(k, v []byte) error {
			release()
			id, _, err := userIDOrg(v)
			switch {
			case err != nil:
				add("%s record %q: %v", bucketUsersByName, k, err)
			case !users.has(id):
				add("%s entry %q is user %q, which %s does not hold", bucketUsersByName, k, id, bucketUsers)
			}
			return nil
		})
	}
	// Each index entry names a record that must exist: a name index by its
	// value (the record's ID), a key index by its key's last part.
	for _, ix := range []struct {
		index, records []byte
		byValue        bool
	}{
		{bucketUsersByEmail, bucketUsers, true},
		{bucketOrgsByName, bucketOrgs, true},
		{bucketKeysByUser, bucketKeys, false},
		{bucketSessionsActive, bucketSessions, false},
		{bucketSessionsByTarget, bucketSessions, false},
		{bucketRequestsByStatus, bucketRequests, false},
		{bucketUsersConsent, bucketUsers, false},
		{bucketUsersStaff, bucketUsers, false},
	} {
		index, records := tx.Bucket(ix.index), tx.Bucket(ix.records)
		if index == nil || records == nil {
			continue
		}
		walked[string(ix.index)] = true
		_ = index.ForEach(func(k, v []byte) error {
			release()
			id := v
			if !ix.byValue {
				id = k
				if i := bytes.LastIndexByte(k, keySep); i >= 0 {
					id = k[i+1:]
				}
			}
			if !holds(records, ix.records, users, id) {
				add("%s entry %q points to %q, which %s does not hold", ix.index, k, id, ix.records)
			}
			return nil
		})
	}
	for _, name := range [][]byte{bucketAuditBySession, bucketAuditByActor, bucketAuditBySubject} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		walked[string(name)] = true
		_ = b.ForEach(func(k, v []byte) error {
			release()
			i := bytes.IndexByte(k, keySep)
			if i < 0 {
				add("%s entry %q has no separator", name, k)
				return nil
			}
			if _, err := readBlock(string(name), k[:i+1], k, v, nil); err != nil {
				add("%v", err)
			}
			return nil
		})
	}
}

// holds reports whether records (bucket name) holds id; the users bucket
// is asked through its ID set, a million random lookups being the slow
// part of a check.
func holds(records *bolt.Bucket, name []byte, users *idSet, id []byte) bool {
	if bytes.Equal(name, bucketUsers) {
		return users.has(id)
	}
	return records.Get(id) != nil
}

// idSet is a set of IDs: those of the form prefix_NNNNNNNN as one bit a
// number (a million users: 125 KB), any other in a map.
type idSet struct {
	bits  map[string][]uint64 // by prefix
	other map[string]bool
}

func newIDSet() *idSet { return &idSet{bits: map[string][]uint64{}, other: map[string]bool{}} }

// split reads prefix_NNNNNNNN; ok is false for any other form.
func splitID(id []byte) (prefix string, n uint64, ok bool) {
	i := bytes.LastIndexByte(id, '_')
	if i < 0 || len(id)-i-1 != 8 {
		return "", 0, false
	}
	for _, c := range id[i+1:] {
		if c < '0' || c > '9' {
			return "", 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return string(id[:i]), n, true
}

func (s *idSet) add(id []byte) {
	prefix, n, ok := splitID(id)
	if !ok {
		s.other[string(id)] = true
		return
	}
	b := s.bits[prefix]
	for uint64(len(b)) <= n/64 {
		b = append(b, 0)
	}
	b[n/64] |= 1 << (n % 64)
	s.bits[prefix] = b
}

func (s *idSet) has(id []byte) bool {
	prefix, n, ok := splitID(id)
	if !ok {
		return s.other[string(id)]
	}
	b := s.bits[prefix]
	return n/64 < uint64(len(b)) && b[n/64]&(1<<(n%64)) != 0
}
