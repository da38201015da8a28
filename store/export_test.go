package store

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// OpenWithAuditFlush opens like Open but flushes the audit indexes every
// every events, or after idle without updates.
func OpenWithAuditFlush(path string, every uint64, idle time.Duration) (*DB, error) {
	return open(path, Options{}, every, idle)
}

// DropAuditTail empties the in-memory audit tail, as if every reader's
// snapshot were older than it, so reads fall back to the records.
func DropAuditTail(db *DB) {
	db.tail.reset(db.tail.top(), nil)
}

// TrimAuditTail keeps only the first n events of the in-memory audit tail,
// as if the last commits had not reached it yet when a reader looks.
func TrimAuditTail(db *DB, n int) {
	db.tail.mu.Lock()
	db.tail.entries = db.tail.entries[:min(n, len(db.tail.entries)):min(n, len(db.tail.entries))]
	db.tail.mu.Unlock()
}

// AuditIndexed is the seq up to which the index buckets are complete.
func AuditIndexed(db *DB) (seq uint64, err error) {
	err = db.View(func(tx core.ReadTx) error {
		seq, err = tx.(readTx).auditIndexed()
		return err
	})
	return seq, err
}

// RawView runs fn in a read-only bolt transaction of the open db.
func RawView(db *DB, fn func(tx *bolt.Tx) error) error { return db.bolt.View(fn) }

// EncodeUser is the stored form of a user.
func EncodeUser(u core.User) []byte { return encodeUser(u) }

// SchemaVersion is the layout this code writes.
const SchemaVersion = schemaVersion

// ReleaseMapped releases what db has mapped, inside a read transaction.
func ReleaseMapped(db *DB) error {
	return db.bolt.View(func(tx *bolt.Tx) error { releaseMapped(tx); return nil })
}

// OpenWithoutTree opens like Open but appends skip the Merkle tree, for
// the benchmark that measures what the tree costs.
func OpenWithoutTree(path string) (*DB, error) {
	db, err := Open(path, Options{})
	if err == nil {
		db.noTree = true
	}
	return db, err
}
