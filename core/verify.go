package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"
)

// VerifyChain walks the whole log in one snapshot and reports the first
// break. It reads records in place, without decoding them, and rebuilds the
// Merkle tree beside them: every hash the store kept for the tree must be
// the one the events give, so that proofs and checkpoint consistency read
// from the stored tree speak for the events themselves.
//
// The checks run on every core. The walk checks what needs the order of
// the log (seq continuity, the record header and seq field, how many tree
// hashes each event has) and copies the records, an aligned block of
// verifyBlock events at a time, for a pool of workers (verifyWorker). A
// worker checks each record's hash and its link to the record before
// (the walk hands over the stored hash of the block's previous event), and
// rebuilds the block's own subtree: every stored tree hash below level
// verifyBlockLevel depends only on the leaves of its block. The levels
// above, one node per block, are combined in block order at the end. The break is the lowest bad seq any of them found; at one
// seq the kinds rank as the walk of one event meets them: gap, corrupt
// record, gap (seq field), hash mismatch, broken link, tree mismatch.
func VerifyChain(st Store) (Verification, error) {
	// The file check reads everything else, beside the chain.
	var damage []string
	checked := make(chan struct{})
	if fc, ok := st.(FileChecker); ok {
		go func() {
			defer close(checked)
			damage = fc.CheckFile()
		}()
	} else {
		close(checked)
	}
	var v Verification
	err := st.View(func(tx ReadTx) error {
		var err error
		v, err = verifyInTx(tx)
		return err
	})
	<-checked
	if err == nil {
		v.Damage = damage
	}
	return v, err
}

// An aligned block of verifyBlock leaves (leaf index = seq-1) is the unit
// of work: its subtree is level verifyBlockLevel of the tree.
const (
	verifyBlockLevel = 12
	verifyBlock      = 1 << verifyBlockLevel
)

// verifyBatch is one block's records, copied out of the walk (a record's
// bytes are valid only during the scan's callback).
type verifyBatch struct {
	first uint64   // seq of the first event
	prev  [32]byte // stored hash of the event before first (zero for seq 1)
	recs  []byte   // the records, one after the other
	ends  []int    // where each record ends in recs
	// stored holds the events' stored tree hashes, one after the other
	// (an event's share is known from its seq); the event at treeBad has
	// none, and its count was wrong (0 = every count was right).
	stored  []byte
	treeBad uint64
	res     *blockResult
}

// blockResult is what a worker found in a block.
type blockResult struct {
	bad  uint64 // first bad seq in the block, 0 if none
	kind BreakKind
	// A full block's subtree root, and the stored hashes of the levels
	// above it after the block's last event, checked in block order.
	full  bool
	root  tlog.Hash
	above []byte
	// tail is the subtree of a block that is not full (the last one).
	tail *TreeFrontier
}

// verifyRun is the shared state of one verification.
type verifyRun struct {
	work chan *verifyBatch
	free chan *verifyBatch
	wg   sync.WaitGroup
	// bad is the lowest bad seq found so far (MaxUint64 while none): a
	// block after it need not be checked, and the walk can stop past it.
	bad atomic.Uint64
}

func (r *verifyRun) found(seq uint64) {
	for {
		cur := r.bad.Load()
		if seq >= cur || r.bad.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// verifyInTx is VerifyChain's check of the chain and the tree in tx.
func verifyInTx(tx ReadTx) (Verification, error) {
	workers := runtime.GOMAXPROCS(0)
	r := &verifyRun{
		work: make(chan *verifyBatch, workers),
		free: make(chan *verifyBatch, workers+2),
	}
	r.bad.Store(^uint64(0))
	for range workers + 2 {
		// Room for a block of records of the usual size (about 250
		// bytes), so that a batch seldom grows.
		r.free <- &verifyBatch{recs: make([]byte, 0, verifyBlock*320), ends: make([]int, 0, verifyBlock),
			stored: make([]byte, 0, verifyBlock/8*32+64*32)}
	}
	for range workers {
		r.wg.Add(1)
		go r.worker()
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(r.work)
			r.wg.Wait()
		}
	}
	// On a panic too (a page that cannot be read): the workers end.
	defer func() {
		if !stopped {
			r.found(0) // the blocks still queued are not wanted
			stop()
		}
	}()

	var results []*blockResult
	var walkBad uint64 // a gap or a corrupt record the walk found
	var walkKind BreakKind
	expect := uint64(1)
	var last [32]byte // stored hash of the last event read
	var b *verifyBatch
	take := func() {
		b = <-r.free
		b.first, b.prev, b.treeBad = expect, last, 0
		b.recs, b.ends, b.stored = b.recs[:0], b.ends[:0], b.stored[:0]
		b.res = &blockResult{}
		results = append(results, b.res)
	}
	send := func() {
		if len(b.ends) > 0 || b.treeBad != 0 {
			r.work <- b
		} else {
			results = results[:len(results)-1]
			r.free <- b
		}
		b = nil
	}
	take()
	err := tx.ScanAuditWithTree(0, func(seq uint64, rec, stored []byte) bool {
		switch {
		case seq != expect:
			walkBad, walkKind = expect, BreakGap
		case len(rec) < minRecord || rec[32] != recordVersion:
			walkBad, walkKind = seq, BreakCorrupt
		case binary.BigEndian.Uint64(rec[offSeq:]) != seq:
			walkBad, walkKind = seq, BreakGap
		case len(stored) != 32*TreeLevels(seq-1):
			// The hash and the link of this event rank before its tree:
			// the worker checks them and then reports the tree.
			b.recs = append(b.recs, rec...)
			b.ends = append(b.ends, len(b.recs))
			b.treeBad = seq
			walkBad = seq
		default:
			b.recs = append(b.recs, rec...)
			b.ends = append(b.ends, len(b.recs))
			b.stored = append(b.stored, stored...)
			copy(last[:], rec[:32])
			expect++
			if expect%verifyBlock == 1 {
				send()
				if expect > r.bad.Load() {
					return false // a break is known and everything before it is read
				}
				take()
			}
			return true
		}
		r.found(walkBad)
		return false
	})
	if b != nil {
		send()
	}
	stop()
	if err != nil {
		return Verification{}, err
	}

	// The blocks in log order: the first bad seq of the first block with
	// one, or of the levels above the blocks.
	var v Verification
	var above TreeFrontier // the full blocks' subtrees
	var tail TreeFrontier  // the last block's subtree, when it is not full
	var want []byte
	for _, res := range results {
		if res.bad == 0 && res.full {
			// The levels above the block that its last event completes
			// must be the ones stored after it.
			if want = above.appendSubtree(res.root, verifyBlockLevel, verifyBlockLevel+1, want[:0]); !bytes.Equal(want, res.above) {
				res.bad, res.kind = above.Size(), BreakTree
			}
		}
		if res.bad != 0 {
			v.BadSeq, v.Break, v.Events = res.bad, res.kind, res.bad-1
			return v, nil
		}
		if res.tail != nil {
			tail = *res.tail
		}
	}
	if walkBad != 0 && walkKind != "" {
		v.BadSeq, v.Break, v.Events = walkBad, walkKind, walkBad-1
		return v, nil
	}
	v.Events = expect - 1
	headSeq, headHash, err := tx.AuditHead()
	if err != nil {
		return Verification{}, err
	}
	if headSeq != v.Events || headHash != last {
		v.BadSeq, v.Break = max(headSeq, v.Events), BreakHead
		if headSeq > v.Events {
			v.Break = BreakGap // events the head promises are missing
		}
	}
	tree := above
	tree.size = v.Events
	copy(tree.hashes[:verifyBlockLevel], tail.hashes[:verifyBlockLevel])
	v.Head, v.Root = last, Hash(tree.Root())
	return v, nil
}

// worker checks the blocks handed to it until the walk ends.
func (r *verifyRun) worker() {
	defer r.wg.Done()
	want := make([]byte, 0, 64*32)
	for b := range r.work {
		if b.first <= r.bad.Load() {
			want = b.check(want)
			if b.res.bad != 0 {
				r.found(b.res.bad)
			}
		}
		r.free <- b
	}
}

// check checks b's records and tree hashes into b.res; want is a buffer.
func (b *verifyBatch) check(want []byte) []byte {
	res := b.res
	var tree TreeFrontier
	defer func() {
		if !res.full {
			res.tail = &tree
		}
	}()
	prev := b.prev[:]
	stored := b.stored
	start := 0
	for i, end := range b.ends {
		seq := b.first + uint64(i)
		rec := b.recs[start:end:end]
		start = end
		switch {
		case sha256.Sum256(rec[32:]) != [32]byte(rec[:32]):
			res.bad, res.kind = seq, BreakHash
		case !bytes.Equal(rec[offPrev:offPrev+32], prev):
			res.bad, res.kind = seq, BreakLink
		case seq == b.treeBad:
			res.bad, res.kind = seq, BreakTree
		default:
			// The block's subtree gives the levels of the block; a full
			// block's last event also stores levels above it.
			n := 32 * TreeLevels(seq-1)
			want = tree.Append([32]byte(rec[:32]), want[:0])
			if !bytes.Equal(want, stored[:len(want)]) {
				res.bad, res.kind = seq, BreakTree
				return want
			}
			if tree.Size() == verifyBlock {
				res.full, res.root = true, tree.hashes[verifyBlockLevel]
				res.above = append(res.above[:0], stored[len(want):n]...)
			}
			stored = stored[n:]
			prev = rec[:32]
			continue
		}
		return want
	}
	return want
}
