package core

// The Users search scans the directory's text with bytes.Index, ~43 MB at
// a million users. A query that matches nowhere, or only far down (a typo,
// the wrong name), scanned all of it for every keystroke. So the entries
// are kept in blocks of ~pairBlock, each with the set of byte pairs its
// text holds (pairSet): a block that lacks one of the query's pairs cannot
// hold a match and is not scanned. A set is 512 bytes for ~11 KB of text
// (4.6 %).
//
// Blocks are runs of entries, not of bytes, so a change of one user only
// touches the block it lands in: an insert adds its pairs to that block's
// set; a removal leaves the set as it was (a superset still never skips a
// match). A rebuild, after an import, makes them exact again.

// pairBlock is how many entries a block holds when the index is built.
const pairBlock = 256

// pairSet holds the byte pairs of a block's text, each byte reduced to one
// of 64 classes: one bit per pair of classes. Classes only merge rare
// bytes, which can only make a block scanned that need not be.
type pairSet [64]uint64

// pairClass is the class of a byte: letters, digits and the usual
// punctuation of names and emails each have their own; the others share
// the rest.
func pairClass(c byte) uint {
	switch {
	case 'a' <= c && c <= 'z':
		return uint(c - 'a')
	case '0' <= c && c <= '9':
		return 26 + uint(c-'0')
	}
	switch c {
	case ' ':
		return 36
	case '.':
		return 37
	case '@':
		return 38
	case '-':
		return 39
	case '_':
		return 40
	case '+':
		return 41
	case '\'':
		return 42
	}
	return 43 + uint(c)%21
}

func pairBit(a, b byte) uint { return pairClass(a)<<6 | pairClass(b) }

// addText adds the pairs of one entry's text (name, NUL, email, newline):
// the separators are never part of a query, so pairs with them are not
// kept.
func (s *pairSet) addText(text []byte) {
	for i := 0; i+1 < len(text); i++ {
		a, b := text[i], text[i+1]
		if a == 0 || b == 0 || a == '\n' || b == '\n' {
			continue
		}
		bit := pairBit(a, b)
		s[bit>>6] |= 1 << (bit & 63)
	}
}

func (s *pairSet) hasAll(bits []uint) bool {
	for _, bit := range bits {
		if s[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

// queryPairs are the pairs a match of q holds (none for one byte).
func queryPairs(q []byte) []uint {
	bits := make([]uint, 0, len(q))
	for i := 0; i+1 < len(q); i++ {
		bits = append(bits, pairBit(q[i], q[i+1]))
	}
	return bits
}

// buildBlocks cuts the entries into blocks of pairBlock and sets each
// block's pairs.
func (b *dirData) buildBlocks() {
	n := b.len()
	b.blockEnds = make([]int32, 0, n/pairBlock+1)
	b.pairs = make([]pairSet, 0, n/pairBlock+1)
	for lo := 0; lo < n; lo += pairBlock {
		hi := min(lo+pairBlock, n)
		var s pairSet
		s.addText(b.hay[b.starts[lo]:b.end(hi-1)])
		b.blockEnds = append(b.blockEnds, int32(hi))
		b.pairs = append(b.pairs, s)
	}
}

// blockOf is the block holding entry i (or the last block, for an entry
// added at the end).
func (b *dirData) blockOf(i int) int {
	lo, hi := 0, len(b.blockEnds)
	for lo < hi {
		m := (lo + hi) / 2
		if int(b.blockEnds[m]) > i {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return min(lo, len(b.blockEnds)-1)
}

// blockInserted counts entry i, just inserted with text, in its block.
func (b *dirData) blockInserted(i int, text []byte) {
	if len(b.blockEnds) == 0 {
		b.blockEnds, b.pairs = []int32{0}, []pairSet{{}}
	}
	k := b.blockOf(i)
	b.pairs[k].addText(text)
	for j := k; j < len(b.blockEnds); j++ {
		b.blockEnds[j]++
	}
}

// blockRemoved uncounts entry i, just removed, from its block.
func (b *dirData) blockRemoved(i int) {
	for j := b.blockOf(i); j < len(b.blockEnds); j++ {
		b.blockEnds[j]--
	}
}
