package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/actas/actas/core"
)

// The audit log's Merkle tree (core/merkle.go) is kept in bucketAuditTree:
// each append puts, under the event's seq, the hashes tlog stores for its
// leaf. The committer extends it from a frontier in memory (db.tree), so an
// append reads nothing back; it costs one SHA-256 for the leaf, one more
// per subtree it completes (one on average) and one sequential put.

// appendTree extends the tree with the event just appended, in the same
// transaction.
func (t writeTx) appendTree(seq uint64, hash [32]byte) error {
	if t.db.noTree {
		return nil
	}
	a := t.commit
	if !a.treeKnown {
		if t.db.treeErr != nil {
			return t.db.treeErr
		}
		a.tree, a.treeKnown = t.db.tree, true
	}
	if a.tree.Size() != seq-1 {
		return fmt.Errorf("audit event %d: the Merkle tree holds %d events; the database is damaged (run actas audit verify)", seq, a.tree.Size())
	}
	v := a.tree.Append(hash, make([]byte, 0, 32*core.TreeLevels(seq-1)))
	b := t.bucket(bucketAuditTree)
	b.FillPercent = 1.0
	return b.Put(seqKey(seq), v)
}

// loadTree reads the frontier of the tree at the log's head. A tree that
// does not reach the head is damage: appends fail (saying so) and audit
// verify names the event, but the file still opens for reading.
func (db *DB) loadTree() error {
	return db.bolt.View(func(btx *bolt.Tx) error {
		t := readTx{btx, db}
		head, _, err := t.AuditHead()
		if err != nil {
			return err
		}
		f, err := core.LoadTreeFrontier(head, tlog.HashReaderFunc(t.AuditTree))
		if err != nil {
			db.treeErr = fmt.Errorf("the audit log's Merkle tree is damaged (%v); run actas audit verify", err)
			return nil
		}
		db.tree = f
		return nil
	})
}

func (t readTx) AuditTree(indexes []int64) ([]tlog.Hash, error) {
	b := t.bucket(bucketAuditTree)
	out := make([]tlog.Hash, len(indexes))
	for i, ix := range indexes {
		seq, level := core.TreeHashRef(ix)
		v := b.Get(seqKey(seq))
		if len(v) != 32*core.TreeLevels(seq-1) {
			return nil, fmt.Errorf("audit tree: event %d has %d bytes of hashes, want %d; the database is damaged",
				seq, len(v), 32*core.TreeLevels(seq-1))
		}
		copy(out[i][:], v[32*level:])
	}
	return out, nil
}

func (t readTx) ScanAuditWithTree(from uint64, fn func(seq uint64, rec, tree []byte) bool) error {
	c := t.bucket(bucketAudit).Cursor()
	tc := t.bucket(bucketAuditTree).Cursor()
	start := seqKey(max(from, 1))
	tk, tv := tc.Seek(start)
	for k, v := c.Seek(start); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("audit key %x is not a seq; the database is damaged", k)
		}
		for tk != nil && bytes.Compare(tk, k) < 0 {
			tk, tv = tc.Next()
		}
		var tree []byte
		if bytes.Equal(tk, k) {
			tree = tv
		}
		if !fn(binary.BigEndian.Uint64(k), v, tree) {
			return nil
		}
	}
	return nil
}

func (t readTx) LatestCheckpoint() (core.Checkpoint, error) {
	k, v := t.bucket(bucketCheckpoints).Cursor().Last()
	if k == nil {
		return core.Checkpoint{}, core.ErrNotFound
	}
	return decodeCheckpoint(v)
}

func (t writeTx) PutCheckpoint(cp core.Checkpoint) error {
	if cp.Size == 0 || len(cp.Note) == 0 {
		return fmt.Errorf("put checkpoint: empty checkpoint")
	}
	return t.bucket(bucketCheckpoints).Put(seqKey(cp.Size), encodeCheckpoint(cp))
}

func encodeCheckpoint(cp core.Checkpoint) []byte {
	e := newEncoder(checkpointVersion, 64+len(cp.Origin)+len(cp.Note))
	e.str(cp.Origin)
	e.uint(cp.Size)
	e.str(string(cp.Root[:]))
	e.time(cp.Time)
	e.str(string(cp.Note))
	return e.b
}

func decodeCheckpoint(v []byte) (core.Checkpoint, error) {
	d := newDecoder("checkpoint", checkpointVersion, v)
	cp := core.Checkpoint{Origin: d.str(), Size: d.uint()}
	if root := d.str(); len(root) == len(cp.Root) {
		copy(cp.Root[:], root)
	} else if d.err == nil {
		d.err = fmt.Errorf("root hash is %d bytes", len(root))
	}
	cp.Time = d.time()
	cp.Note = []byte(d.str())
	return cp, d.done("checkpoint")
}
