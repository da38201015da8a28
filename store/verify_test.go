package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// referenceVerify is VerifyChain written plainly: one walk, one event at a
// time, every check in turn, the tree extended as it goes. VerifyChain
// splits the same checks over goroutines and must agree with it.
func referenceVerify(t *testing.T, db *store.DB) core.Verification {
	t.Helper()
	const offSeq, offPrev, minRecord = 33, 41, 81
	var v core.Verification
	view(t, db, func(tx core.ReadTx) error {
		var tree core.TreeFrontier
		var prev [32]byte
		expect := uint64(1)
		if err := tx.ScanAuditWithTree(0, func(seq uint64, rec, stored []byte) bool {
			switch {
			case seq != expect:
				v.BadSeq, v.Break = expect, core.BreakGap
			case len(rec) < minRecord || rec[32] != 1:
				v.BadSeq, v.Break = seq, core.BreakCorrupt
			case binary.BigEndian.Uint64(rec[offSeq:]) != seq:
				v.BadSeq, v.Break = seq, core.BreakGap
			case sha256.Sum256(rec[32:]) != [32]byte(rec[:32]):
				v.BadSeq, v.Break = seq, core.BreakHash
			case !bytes.Equal(rec[offPrev:offPrev+32], prev[:]):
				v.BadSeq, v.Break = seq, core.BreakLink
			case !bytes.Equal(tree.Append([32]byte(rec[:32]), nil), stored):
				v.BadSeq, v.Break = seq, core.BreakTree
			default:
				copy(prev[:], rec[:32])
				expect++
				return true
			}
			return false
		}); err != nil {
			return err
		}
		v.Events = expect - 1
		if v.Break != "" {
			return nil
		}
		headSeq, headHash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if headSeq != v.Events || headHash != prev {
			v.BadSeq, v.Break = max(headSeq, v.Events), core.BreakHead
			if headSeq > v.Events {
				v.Break = core.BreakGap
			}
		}
		v.Head, v.Root = prev, core.Hash(tree.Root())
		return nil
	})
	return v
}

// A tamper changes the stored value of one event (nil deletes it), or
// returns false when it does not apply to that event.
type tamper struct {
	name string
	fn   func(seq uint64, v []byte) ([]byte, bool)
}

var verifyTampers = []tamper{
	{"details byte", func(seq uint64, v []byte) ([]byte, bool) {
		v[len(v)-32*core.TreeLevels(seq-1)-3] ^= 0x20
		return v, true
	}},
	{"stored hash", func(_ uint64, v []byte) ([]byte, bool) {
		v[5] ^= 1
		return v, true
	}},
	{"link", func(seq uint64, v []byte) ([]byte, bool) {
		// prev changed and the hash made right again: only the link is wrong.
		rec := v[:len(v)-32*core.TreeLevels(seq-1)]
		rec[41] ^= 1
		h := sha256.Sum256(rec[32:])
		copy(rec, h[:])
		return v, true
	}},
	{"version", func(_ uint64, v []byte) ([]byte, bool) {
		v[32] = 9
		return v, true
	}},
	{"seq field", func(_ uint64, v []byte) ([]byte, bool) {
		v[40] ^= 1
		return v, true
	}},
	{"deleted", func(uint64, []byte) ([]byte, bool) { return nil, true }},
	{"lowest tree hash", func(seq uint64, v []byte) ([]byte, bool) {
		n := 32 * core.TreeLevels(seq-1)
		if n == 0 {
			return nil, false
		}
		v[len(v)-n] ^= 1
		return v, true
	}},
	{"highest tree hash", func(seq uint64, v []byte) ([]byte, bool) {
		if core.TreeLevels(seq-1) == 0 {
			return nil, false
		}
		v[len(v)-1] ^= 1
		return v, true
	}},
	{"tree hashes dropped", func(seq uint64, v []byte) ([]byte, bool) {
		// The record alone, too short to hold them: the record is intact,
		// its tree hashes are missing.
		n := 32 * core.TreeLevels(seq-1)
		if n == 0 || len(v)-n >= n+32 {
			return nil, false
		}
		return v[:len(v)-n], true
	}},
}

// editAudit rewrites the stored values of the given seqs in the file at
// path (nil deletes) and returns the old ones.
func editAudit(t *testing.T, path string, vals map[uint64][]byte) map[uint64][]byte {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	old := map[uint64][]byte{}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		for seq, v := range vals {
			k := binary.BigEndian.AppendUint64(nil, seq)
			old[seq] = bytes.Clone(b.Get(k))
			var err error
			if v == nil {
				err = b.Delete(k)
			} else {
				err = b.Put(k, v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return old
}

// readAudit is the stored value of seq in the file at path.
func readAudit(t *testing.T, path string, seq uint64) []byte {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var v []byte
	if err := bdb.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket([]byte("audit")).Get(binary.BigEndian.AppendUint64(nil, seq)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVerifyAgreesWithASequentialWalk compares VerifyChain's whole answer
// with referenceVerify's on logs around the edges of the blocks the
// workers check, intact and with one event tampered with in every way at
// the edges, and with two tampered events.
func TestVerifyAgreesWithASequentialWalk(t *testing.T) {
	for _, n := range []uint64{1, 4095, 4096, 4097, 8192 + 5, 20_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			db, path := openTemp(t)
			for start := uint64(0); start < n; start += 5000 {
				update(t, db, func(tx core.Tx) error {
					for i := start; i < min(n, start+5000); i++ {
						ev := testEvent(int(i + 1))
						if err := core.AppendEvent(tx, &ev); err != nil {
							return err
						}
					}
					return nil
				})
			}
			// The root is tlog's for the same leaves.
			var mem memTree
			view(t, db, func(tx core.ReadTx) error {
				return tx.ScanAudit(0, false, func(seq uint64, rec []byte) bool {
					mem.add(t, int64(seq-1), core.Hash(rec[:32]))
					return true
				})
			})
			root, _ := tlog.TreeHash(int64(n), mem)
			tlogRoot := core.Hash(root)
			db.Close()
			check := func(what string, wantBreak bool) core.Verification {
				t.Helper()
				db, err := store.Open(path, store.Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				got, err := core.VerifyChain(db)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				got.Damage = nil
				want := referenceVerify(t, db)
				if (want.Break != "") != wantBreak {
					t.Fatalf("%s: the reference says %+v", what, want)
				}
				if got.BadSeq != want.BadSeq || got.Break != want.Break || got.Events != want.Events ||
					got.Head != want.Head || got.Root != want.Root {
					t.Errorf("%s:\n VerifyChain %+v\n reference   %+v", what, got, want)
				}
				return got
			}
			if intact := check("intact", false); intact.Root != tlogRoot {
				t.Errorf("intact: %+v; want tlog's root %s", intact, tlogRoot)
			}
			var seqs []uint64
			for _, s := range []uint64{1, 2, 16, 4095, 4096, 4097, 8192, 8193, 16384, n - 1, n} {
				if s >= 1 && s <= n && (len(seqs) == 0 || s > seqs[len(seqs)-1]) {
					seqs = append(seqs, s)
				}
			}
			for _, seq := range seqs {
				for _, tp := range verifyTampers {
					orig := readAudit(t, path, seq)
					v, ok := tp.fn(seq, bytes.Clone(orig))
					if !ok {
						continue
					}
					editAudit(t, path, map[uint64][]byte{seq: v})
					check(fmt.Sprintf("%s of %d", tp.name, seq), true)
					editAudit(t, path, map[uint64][]byte{seq: orig})
				}
			}
			// Two events tampered with: the first in the log is the break,
			// whichever block each is in and whatever kind.
			if n > 4096 {
				for _, pair := range [][2]uint64{{17, n}, {n, 17}, {4096, 4097}, {4097, 4096}} {
					a, b := pair[0], pair[1]
					origA, origB := readAudit(t, path, a), readAudit(t, path, b)
					ta, _ := verifyTampers[0].fn(a, bytes.Clone(origA))
					tb, _ := verifyTampers[7].fn(b, bytes.Clone(origB)) // highest tree hash
					if core.TreeLevels(b-1) == 0 {
						tb, _ = verifyTampers[2].fn(b, bytes.Clone(origB))
					}
					editAudit(t, path, map[uint64][]byte{a: ta, b: tb})
					check(fmt.Sprintf("details of %d and tree or link of %d", a, b), true)
					editAudit(t, path, map[uint64][]byte{a: origA, b: origB})
				}
			}
			check("restored", false)
		})
	}
}
