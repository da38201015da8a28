package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/actas/actas/core"
)

// The audit log's Merkle tree (core/merkle.go) is kept in the audit values:
// each event's value is its record followed by the hashes tlog stores for
// its leaf (treeSuffix bytes, known from the seq alone). An append thus
// writes no page the record does not, and the committer extends the tree
// from a frontier in memory (db.tree), reading nothing back: one SHA-256
// for the leaf and one more per subtree it completes (one on average).

// treeSuffix is how many bytes of tree hashes follow the record of seq.
func treeSuffix(seq uint64) int { return 32 * core.TreeLevels(seq-1) }

// splitAudit splits the stored value of event seq into its record and its
// tree hashes (nil, and the whole value as record, if it is too short, or
// if db was opened to write records alone: noTree).
func (db *DB) splitAudit(seq uint64, v []byte) (rec, tree []byte) {
	n := treeSuffix(seq)
	if db.noTree || len(v) < n+32 {
		return v, nil
	}
	return v[:len(v)-n], v[len(v)-n:]
}

// withTree extends the tree with the event being appended and returns the
// value to store: the record and the tree hashes. The record's spare
// capacity (EncodeEvent leaves some) usually holds them without a copy.
func (t writeTx) withTree(seq uint64, hash [32]byte, record []byte) ([]byte, error) {
	if t.db.noTree {
		return record, nil
	}
	a := t.commit
	if !a.treeKnown {
		if t.db.treeErr != nil {
			return nil, t.db.treeErr
		}
		a.tree, a.treeKnown = t.db.tree, true
	}
	if a.tree.Size() != seq-1 {
		return nil, fmt.Errorf("audit event %d: the Merkle tree holds %d events; the database is damaged (run actas audit verify)", seq, a.tree.Size())
	}
	return a.tree.Append(hash, record), nil
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
	if t.db.noTree {
		return nil, errors.New("audit tree: the log was opened without its Merkle tree")
	}
	b := t.bucket(bucketAudit)
	out := make([]tlog.Hash, len(indexes))
	for i, ix := range indexes {
		seq, level := core.TreeHashRef(ix)
		if level < core.TreeStoredFrom {
			h, err := subtree(b, seq, level)
			if err != nil {
				return nil, err
			}
			out[i] = h
			continue
		}
		_, tree := t.db.splitAudit(seq, b.Get(seqKey(seq)))
		at := 32 * (level - core.TreeStoredFrom)
		if len(tree) < at+32 {
			return nil, fmt.Errorf("audit tree: event %d holds no tree hashes; the database is damaged", seq)
		}
		copy(out[i][:], tree[at:])
	}
	return out, nil
}

// subtree computes the hash, not stored, of the subtree at level that
// event seq completes, from its events' hashes.
func subtree(b *bolt.Bucket, seq uint64, level int) (tlog.Hash, error) {
	n := uint64(1) << level
	hashes := make([][32]byte, 0, n)
	for s := seq - n + 1; s <= seq; s++ {
		v := b.Get(seqKey(s))
		if len(v) < 32 {
			return tlog.Hash{}, fmt.Errorf("audit tree: event %d is missing or too short; the database is damaged", s)
		}
		hashes = append(hashes, [32]byte(v))
	}
	return core.TreeSubtree(hashes), nil
}

// ScanAuditWithTree seeks seq 1 when from is 0, as it always did: a
// damaged key below it is not read.
func (t readTx) ScanAuditWithTree(from uint64, fn func(seq uint64, rec, tree []byte) bool) error {
	return t.walkAudit(max(from, 1), false, fn)
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
