package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Beside the hash chain, the audit log is an RFC 6962 Merkle tree whose
// leaves are the 32-byte event hashes (event seq N is leaf N-1). The chain
// proves order; a signed checkpoint of the tree (size and root) kept outside
// the file proves that nothing was cut off or rewritten after it was made:
// a later log must contain the checkpointed tree as a prefix, which a
// consistency proof shows in a few dozen hashes.
//
// The store keeps the tree as tlog's stored hashes: appending leaf n
// completes the subtrees at levels 0..k that end with it, and the store
// keeps their hashes together under the event's seq (TreeFrontier.Append
// gives them in that order). tlog then reads any root, inclusion or
// consistency proof out of them with O(log n) lookups. Only the levels from
// TreeStoredFrom up are kept: the hash of a smaller subtree is computed
// again from its (at most 8) events' hashes when a proof asks for it
// (TreeSubtree).

// TreeLeaf is the leaf hash of an event in the Merkle tree: RFC 6962's
// SHA-256(0x00 || event hash), tlog.RecordHash without its allocation
// (it runs once per event on the append path and in verify).
func TreeLeaf(eventHash [32]byte) tlog.Hash {
	var buf [1 + 32]byte
	copy(buf[1:], eventHash[:])
	return sha256.Sum256(buf[:])
}

// TreeFrontier is the right edge of a Merkle tree: the roots of the
// complete subtrees that make up its first Size leaves. It is all that is
// needed to append a leaf or to compute the root, so the store's writer and
// the verifier keep one in memory instead of reading the tree back.
type TreeFrontier struct {
	size uint64
	// hashes[l] is the root of the complete subtree at level l that ends
	// the tree's first size leaves rounded down to a multiple of 2^(l+1);
	// it is meaningful when bit l of size is set.
	hashes [64]tlog.Hash
}

// Size is the number of leaves.
func (f *TreeFrontier) Size() uint64 { return f.size }

// TreeStoredFrom is the lowest level whose hashes the store keeps. Levels
// 0–3 (the leaf and subtrees of 2, 4 and 8 events) were two hashes an event
// on average, 64 bytes after a ~250-byte record: a fifth more bytes for every
// page of the audit log to read. From level 4 up it is 1/8 of a hash.
const TreeStoredFrom = 4

// TreeLevels is how many hashes appending leaf n (0-based) stores: one per
// subtree it completes at level TreeStoredFrom or above.
func TreeLevels(n uint64) int { return max(0, 1+bits.TrailingZeros64(^n)-TreeStoredFrom) }

// Append adds the leaf of eventHash and appends to dst what the store keeps
// for it: the root of every subtree it completes from level TreeStoredFrom
// up, lowest level first (tlog.StoredHashes in the same order, without
// the levels below).
func (f *TreeFrontier) Append(eventHash [32]byte, dst []byte) []byte {
	return f.AppendFrom(eventHash, dst, TreeStoredFrom)
}

// AppendFrom is Append keeping the levels from level up: 0 for all of
// tlog's stored hashes, the leaf's included.
func (f *TreeFrontier) AppendFrom(eventHash [32]byte, dst []byte, from int) []byte {
	return f.appendSubtree(TreeLeaf(eventHash), 0, from, dst)
}

// appendSubtree adds h, the root of a complete subtree at level (2^level
// leaves; Size must be a multiple of that), and appends to dst the roots
// from level from up: h's and those of the subtrees it completes.
func (f *TreeFrontier) appendSubtree(h tlog.Hash, level, from int, dst []byte) []byte {
	f.size += 1 << level
	if level >= from {
		dst = append(dst, h[:]...)
	}
	for n := (f.size - 1) >> level; n&1 == 1; n >>= 1 {
		h = tlog.NodeHash(f.hashes[level], h)
		if level++; level >= from {
			dst = append(dst, h[:]...)
		}
	}
	f.hashes[level] = h
	return dst
}

// TreeSubtree is the root of the subtree whose leaves are the events of
// eventHashes, a power of two of them: a hash below TreeStoredFrom, which
// the store does not keep.
func TreeSubtree(eventHashes [][32]byte) tlog.Hash {
	var f TreeFrontier
	for _, h := range eventHashes {
		f.AppendFrom(h, nil, 64)
	}
	return f.Root()
}

// Root is the tree's root hash (tlog.TreeHash of Size records).
func (f *TreeFrontier) Root() tlog.Hash {
	if f.size == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return h
	}
	var h tlog.Hash
	first := true
	for l := 0; l < 64; l++ {
		if f.size&(1<<l) == 0 {
			continue
		}
		if first {
			h, first = f.hashes[l], false
		} else {
			h = tlog.NodeHash(f.hashes[l], h)
		}
	}
	return h
}

// LoadTreeFrontier reads the frontier of a tree of size leaves from its
// stored hashes.
func LoadTreeFrontier(size uint64, r tlog.HashReader) (TreeFrontier, error) {
	f := TreeFrontier{size: size}
	var levels []int
	var indexes []int64
	for l := 0; l < 64; l++ {
		if size&(1<<l) != 0 {
			levels = append(levels, l)
			indexes = append(indexes, tlog.StoredHashIndex(l, int64(size>>l)-1))
		}
	}
	if len(indexes) == 0 {
		return f, nil
	}
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return f, err
	}
	if len(hashes) != len(indexes) {
		return f, fmt.Errorf("audit tree: read %d hashes, want %d", len(hashes), len(indexes))
	}
	for i, l := range levels {
		f.hashes[l] = hashes[i]
	}
	return f, nil
}

// TreeHashRef locates tlog's stored hash index: the seq of the event whose
// append stored it, and its level (its position among that event's stored
// hashes).
func TreeHashRef(index int64) (seq uint64, level int) {
	level, n := tlog.SplitStoredHashIndex(index)
	// Leaf (n+1)·2^level - 1 completes that subtree; its seq is one more.
	return uint64(n+1) << level, level
}

// --- checkpoints ----------------------------------------------------------

// Checkpoint is a signed statement of the log's size and tree root, as a
// C2SP tlog-checkpoint note:
//
//	actas/Acme
//	1234
//	<base64 root hash>
//
//	— actas/Acme <base64 signature>
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
	Time   time.Time // when it was made (not signed; the store keeps it)
	Note   []byte    // the signed note, as published
}

// ShortRoot is the first 16 hex digits of the root, for screens.
func (cp Checkpoint) ShortRoot() string { return Hash(cp.Root).String()[:16] }

// LogOrigin is the checkpoint origin and log key name of a root org:
// "actas/" and its name, with characters a note key name cannot hold
// (spaces, '+') turned into '-'.
func LogOrigin(rootOrgName string) string {
	name := strings.Map(func(r rune) rune {
		if r == '+' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r < 0x20 || r == 0x7f ||
			(r > 0x7f && strings.ContainsRune("\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000", r)) {
			return '-'
		}
		return r
	}, strings.TrimSpace(rootOrgName))
	if name == "" {
		name = "log"
	}
	return "actas/" + name
}

// checkpointText is the unsigned body of a checkpoint.
func checkpointText(origin string, size uint64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// SignCheckpoint signs the checkpoint of a tree of size leaves with root.
func SignCheckpoint(signer note.Signer, size uint64, root tlog.Hash, now time.Time) (Checkpoint, error) {
	msg, err := note.Sign(&note.Note{Text: checkpointText(signer.Name(), size, root)}, signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	return Checkpoint{Origin: signer.Name(), Size: size, Root: root, Time: now.UTC(), Note: msg}, nil
}

// OpenCheckpoint checks a signed checkpoint against the log's verifier and
// reads it. Its origin must be the key's name.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unknown *note.UnknownVerifierError
		switch {
		case errors.As(err, &unknown):
			return Checkpoint{}, fmt.Errorf("it is not signed by the log key %s (signed by %s)", v.Name(), unknown.Name)
		case err.Error() == "malformed note":
			return Checkpoint{}, errors.New("it is not a signed note")
		}
		var inv *note.InvalidSignatureError
		if errors.As(err, &inv) {
			return Checkpoint{}, errors.New("its signature does not match its text (altered, or signed by another key of the same name)")
		}
		return Checkpoint{}, err
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, errors.New("its text is not origin, size and root hash on three lines")
	}
	cp := Checkpoint{Origin: lines[0], Note: msg}
	if cp.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("its origin %q is not the log key's name %q", cp.Origin, v.Name())
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return Checkpoint{}, fmt.Errorf("its size %q is not a number", lines[1])
	}
	cp.Size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != len(cp.Root) {
		return Checkpoint{}, fmt.Errorf("its root hash %q is not 32 bytes of base64", lines[2])
	}
	copy(cp.Root[:], root)
	return cp, nil
}

// SplitNotes splits text holding one or more signed notes, one after the
// other (as checkpoint_file collects them, or `cat a b`), into the notes.
// Blank lines between notes are allowed.
func SplitNotes(data []byte) [][]byte {
	var notes [][]byte
	var cur []byte
	inSigs := false
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		line = append(line[:len(line):len(line)], '\n')
		data = rest
		switch {
		case len(cur) == 0 && len(bytes.TrimSpace(line)) == 0:
			// between notes
		case inSigs && bytes.HasPrefix(line, []byte("— ")):
			cur = append(cur, line...)
		case inSigs:
			notes = append(notes, cur)
			cur, inSigs = nil, false
			if len(bytes.TrimSpace(line)) > 0 {
				cur = append(cur, line...)
			}
		default:
			cur = append(cur, line...)
			if len(bytes.TrimSpace(line)) == 0 {
				inSigs = true
			}
		}
	}
	if len(cur) > 0 {
		notes = append(notes, cur)
	}
	return notes
}

// NewLogVerifier reads a note verifier key ("NAME+HASH+KEY").
func NewLogVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("%q is not a log verifier key (actas audit pubkey prints it: NAME+HASH+KEY)", strings.TrimSpace(vkey))
	}
	return v, nil
}
