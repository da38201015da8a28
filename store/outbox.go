package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// The outbox lives in two places (schema version 10).
//
// A message is queued in the transaction of the audit event that causes
// it, and a busy log queues one in nearly every commit (64 engineers at
// work commit ~64 events at once). Writing it to a bucket of its own added
// that bucket's pages to every fsync'd commit: 8–13 % of the append rate
// (BenchmarkAuditAppendWithOutbox). So the messages one transaction queues
// are written at its end as one group in the audit bucket, right after the
// transaction's last record, in the page the append writes anyway: key the
// record's seq (8 bytes) and the first member's number (8 bytes), 16 bytes
// where a record's is 8. Every reader of the audit bucket skips such keys
// (walkAudit, keysFromRecords). Meta's outbox_from is the lowest seq that
// has a group, absent when none has, so a scan of the pending messages
// starts there, not at the start of the log.
//
// A group only shrinks: a delivered member leaves it, and a member whose
// delivery failed moves to the outbox bucket with its retry state, under
// its own ID. So groups hold messages not tried yet, which the worker takes
// within a second; a dead endpoint's messages wait in the outbox bucket,
// and the scan from outbox_from stays short.

// outboxGroup is the version byte of a group value. Its members follow,
// each the step from the previous member's number (msg_ + number: the
// group's messages were numbered by one transaction, so the steps are
// small) and its encoding as a single message (encodeOutbox): ~21 bytes
// for an alert channel's message instead of ~38 with whole IDs.
const outboxGroup = outboxVersion + 1

// maxOutboxGroup bounds a group, so that rewriting one for a delivered
// member stays cheap even when a transaction queued thousands.
const maxOutboxGroup = 128

// groupKeyLen is the length of a group's key in the audit bucket.
const groupKeyLen = 16

// isGroupKey reports whether a key of the audit bucket is a group's.
func isGroupKey(k []byte) bool { return len(k) == groupKeyLen }

// groupKey is the key of a group after record seq whose first member is
// message number n.
func groupKey(seq, n uint64) []byte {
	return binary.BigEndian.AppendUint64(seqKey(seq), n)
}

// keyOutboxFrom (meta) holds the lowest seq (8 bytes) that has a group.
var keyOutboxFrom = []byte("outbox_from")

// outboxMember is one member of a group as stored: its number and its
// encoding.
type outboxMember struct {
	n   uint64
	enc string
}

func (m outboxMember) id() string { return core.MessageID(m.n) }

func (m outboxMember) message() (core.OutboxMessage, error) {
	id := m.id()
	msg, err := decodeOutbox([]byte(id), []byte(m.enc))
	if err != nil {
		return msg, fmt.Errorf("outbox message %s: %w", id, err)
	}
	return msg, nil
}

func decodeOutboxGroup(v []byte) ([]outboxMember, error) {
	d := newDecoder("outbox group", outboxGroup, v)
	var members []outboxMember
	n := uint64(0)
	for d.err == nil && d.off < len(d.s) {
		n += d.uint()
		members = append(members, outboxMember{n: n, enc: d.str()})
	}
	return members, d.done("outbox group")
}

func encodeOutboxGroup(members []outboxMember) []byte {
	size := 1
	for _, m := range members {
		size += len(m.enc) + 6
	}
	g := append(make([]byte, 0, size), outboxGroup)
	prev := uint64(0)
	for _, m := range members {
		g = appendMember(g, m.n-prev, m.enc)
		prev = m.n
	}
	return g
}

// appendMember appends a member to an encoded group: the step from the
// previous member's number (from 0 for the first), and the message's
// encoding.
func appendMember[T string | []byte](g []byte, step uint64, enc T) []byte {
	g = binary.AppendUvarint(g, step)
	g = binary.AppendUvarint(g, uint64(len(enc)))
	return append(g, enc...)
}

// putSingles writes the members of an encoded group under their own IDs
// in the outbox bucket b.
func putSingles(b *bolt.Bucket, group []byte) error {
	members, err := decodeOutboxGroup(group)
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := b.Put([]byte(m.id()), []byte(m.enc)); err != nil {
			return err
		}
	}
	return nil
}

// messageNumber is the number in a message ID that core.MessageID made
// (msg_ and the number in at least 12 digits, no more zeros in front than
// that takes), or false for any other ID (those are stored under their own
// key).
func messageNumber(id string) (uint64, bool) {
	digits, ok := strings.CutPrefix(id, "msg_")
	if !ok || len(digits) < 12 || (len(digits) > 12 && digits[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// groupCursor walks the groups in the audit bucket, in queue order.
type groupCursor struct {
	c *bolt.Cursor
}

// groups returns a cursor over the groups and the first one (nil keys when
// there are none).
func (t readTx) groups() (groupCursor, []byte, []byte, error) {
	from, ok, err := t.metaNumber(keyOutboxFrom)
	if err != nil || !ok {
		return groupCursor{}, nil, nil, err
	}
	g := groupCursor{t.bucket(bucketAudit).Cursor()}
	k, v := g.skip(g.c.Seek(seqKey(from)))
	return g, k, v, nil
}

func (g groupCursor) next() ([]byte, []byte) { return g.skip(g.c.Next()) }

// skip moves past the records to the next group.
func (g groupCursor) skip(k, v []byte) ([]byte, []byte) {
	for k != nil && !isGroupKey(k) {
		k, v = g.c.Next()
	}
	return k, v
}

// outboxSlot is where a message is stored: a member of the group under
// key, or (members nil) a message of its own in the outbox bucket.
type outboxSlot struct {
	key     []byte
	members []outboxMember
	index   int
	single  []byte // the value of a message of its own
}

// findOutbox locates message id, or reports ErrNotFound.
func (t readTx) findOutbox(id string) (outboxSlot, error) {
	if v := t.bucket(bucketOutbox).Get([]byte(id)); v != nil {
		return outboxSlot{key: []byte(id), single: v}, nil
	}
	n, ok := messageNumber(id)
	if !ok {
		return outboxSlot{}, core.ErrNotFound
	}
	g, k, v, err := t.groups()
	if err != nil {
		return outboxSlot{}, err
	}
	// The group holding n is the last one whose first member is at or
	// before it.
	var key, value []byte
	for ; k != nil && binary.BigEndian.Uint64(k[8:]) <= n; k, v = g.next() {
		key, value = k, v
	}
	if key == nil {
		return outboxSlot{}, core.ErrNotFound
	}
	members, err := decodeOutboxGroup(value)
	if err != nil {
		return outboxSlot{}, fmt.Errorf("outbox group %x: %w", key, err)
	}
	for i, m := range members {
		if m.n == n {
			return outboxSlot{key: bytes.Clone(key), members: members, index: i}, nil
		}
	}
	return outboxSlot{}, core.ErrNotFound
}

func (t readTx) OutboxMessage(id string) (core.OutboxMessage, error) {
	s, err := t.findOutbox(id)
	switch {
	case err != nil:
		return core.OutboxMessage{}, err
	case s.members != nil:
		return s.members[s.index].message()
	}
	return decodeOutbox([]byte(id), s.single)
}

// ScanOutbox merges the messages of their own (in ID order) with the
// groups' members (in number order, which is ID order too).
func (t readTx) ScanOutbox(fn func(core.OutboxMessage) bool) error {
	g, gk, gv, err := t.groups()
	if err != nil {
		return err
	}
	var members []outboxMember // of the group at gk not walked yet
	loadGroup := func() error {
		members = nil
		if gk == nil {
			return nil
		}
		var err error
		if members, err = decodeOutboxGroup(gv); err != nil {
			return fmt.Errorf("outbox group %x: %w", gk, err)
		}
		return nil
	}
	if err := loadGroup(); err != nil {
		return err
	}
	c := t.bucket(bucketOutbox).Cursor()
	k, v := c.First()
	for k != nil || len(members) > 0 {
		var m core.OutboxMessage
		var err error
		if len(members) > 0 && (k == nil || members[0].id() < string(k)) {
			m, err = members[0].message()
			if members = members[1:]; len(members) == 0 {
				gk, gv = g.next()
				if lerr := loadGroup(); err == nil {
					err = lerr
				}
			}
		} else {
			if m, err = decodeOutbox(k, v); err != nil {
				err = fmt.Errorf("outbox message %s: %w", k, err)
			}
			k, v = c.Next()
		}
		if err != nil {
			return err
		}
		if !fn(m) {
			return nil
		}
	}
	return nil
}

// A write transaction reads the outbox as it will commit: what it queued
// is written first.

func (t writeTx) OutboxMessage(id string) (core.OutboxMessage, error) {
	if err := t.flushOutbox(); err != nil {
		return core.OutboxMessage{}, err
	}
	return t.readTx.OutboxMessage(id)
}

func (t writeTx) ScanOutbox(fn func(core.OutboxMessage) bool) error {
	if err := t.flushOutbox(); err != nil {
		return err
	}
	return t.readTx.ScanOutbox(fn)
}

// PutOutbox queues a new message (numbered by this transaction's
// NextID("outbox")) to be written with the others at the end of the
// transaction. Any other is written under its own ID in the outbox
// bucket; one that was in a group (its first try failed) leaves it.
func (t writeTx) PutOutbox(m core.OutboxMessage) error {
	if m.ID == "" {
		return fmt.Errorf("put outbox message: %w", errEmptyID)
	}
	if n, ok := t.newMessage(m.ID); ok {
		t.bufferMessage(n, m)
		return nil
	}
	s, err := t.slotOf(m.ID)
	if err != nil {
		return err
	}
	if s.members != nil {
		if err := t.leaveGroup(s); err != nil {
			return err
		}
	}
	return t.bucket(bucketOutbox).Put([]byte(m.ID), encodeOutbox(m))
}

func (t writeTx) DeleteOutbox(id string) error {
	s, err := t.slotOf(id)
	switch {
	case err != nil || s.key == nil:
		return err
	case s.members == nil:
		return t.bucket(bucketOutbox).Delete(s.key)
	}
	return t.leaveGroup(s)
}

// slotOf is where message id is once what the transaction queued is
// written: an empty slot when it is nowhere.
func (t writeTx) slotOf(id string) (outboxSlot, error) {
	if err := t.flushOutbox(); err != nil {
		return outboxSlot{}, err
	}
	s, err := t.findOutbox(id)
	if err == core.ErrNotFound {
		return outboxSlot{}, nil
	}
	return s, err
}

// leaveGroup takes the member at s out of its group. A group whose last
// member left is deleted, and outbox_from moves on if it was the first.
func (t writeTx) leaveGroup(s outboxSlot) error {
	audit := t.bucket(bucketAudit)
	if len(s.members) > 1 {
		return audit.Put(s.key, encodeOutboxGroup(slices.Delete(s.members, s.index, s.index+1)))
	}
	if err := audit.Delete(s.key); err != nil {
		return err
	}
	from, _, err := t.metaNumber(keyOutboxFrom)
	if err != nil || binary.BigEndian.Uint64(s.key) != from {
		return err
	}
	meta := t.bucket(bucketMeta)
	g := groupCursor{audit.Cursor()}
	if k, _ := g.skip(g.c.Seek(s.key)); k != nil {
		return meta.Put(keyOutboxFrom, bytes.Clone(k[:8]))
	}
	return meta.Delete(keyOutboxFrom)
}

// nextMessage numbers a new message: meta's outbox_seq, counted here and
// written once when the transaction ends (finish).
func (t writeTx) nextMessage() (uint64, error) {
	a := t.commit
	if !a.outboxSeqKnown {
		n, _, err := t.metaNumber(keyOutboxSeq)
		if err != nil {
			return 0, err
		}
		a.outboxSeq, a.outboxNext, a.outboxBase, a.outboxSeqKnown = n, n, n, true
	}
	a.outboxNext++
	return a.outboxNext, nil
}

// newMessage reports whether id was numbered by this transaction and is
// not written or put yet, and its number: above the sequence the
// transaction started from and every message it already wrote
// (flushOutbox moves outboxSeq up), and above the last one it put (a
// second put of a message rewrites it as a message of its own).
func (t writeTx) newMessage(id string) (uint64, bool) {
	a := t.commit
	if !a.outboxSeqKnown {
		return 0, false
	}
	n, ok := messageNumber(id)
	return n, ok && n > a.outboxSeq && n > a.groupLast && n <= a.outboxNext
}

// bufferMessage encodes new message n into the transaction's last group,
// or a new group when that one is full.
func (t writeTx) bufferMessage(n uint64, m core.OutboxMessage) {
	a := t.commit
	prev := a.groupLast
	if len(a.groups) == 0 || a.groupCount == maxOutboxGroup {
		a.groups = append(a.groups, append(make([]byte, 0, 512), outboxGroup))
		a.groupFirst = append(a.groupFirst, n)
		a.groupCount, prev = 0, 0
	}
	a.scratch = appendOutbox(a.scratch[:0], m)
	a.groups[len(a.groups)-1] = appendMember(a.groups[len(a.groups)-1], n-prev, a.scratch)
	a.groupLast = n
	a.groupCount++
}

// flushOutbox writes the groups of messages this transaction queued after
// the audit log's last record (a log with no record yet keeps them in the
// outbox bucket, each under its own ID).
func (t writeTx) flushOutbox() error {
	a := t.commit
	if len(a.groups) == 0 {
		return nil
	}
	head, _, err := t.AuditHead()
	if err != nil {
		return err
	}
	if head == 0 {
		for _, g := range a.groups {
			if err := putSingles(t.bucket(bucketOutbox), g); err != nil {
				return err
			}
		}
	} else if err := t.putGroups(head); err != nil {
		return err
	}
	// What is written now is no longer new: a later put of it rewrites it
	// as a message of its own.
	a.outboxSeq = a.outboxNext
	clear(a.groups)
	a.groups, a.groupFirst = a.groups[:0], a.groupFirst[:0]
	return nil
}

// putGroups writes the transaction's groups after record head.
func (t writeTx) putGroups(head uint64) error {
	audit := t.bucket(bucketAudit)
	// Nothing is ever inserted before the head: fill pages (as AppendAudit).
	audit.FillPercent = 1.0
	for i, g := range t.commit.groups {
		if err := audit.Put(groupKey(head, t.commit.groupFirst[i]), g); err != nil {
			return err
		}
	}
	meta := t.bucket(bucketMeta)
	if meta.Get(keyOutboxFrom) != nil {
		return nil // an earlier group is pending: it is the lowest
	}
	return meta.Put(keyOutboxFrom, seqKey(head))
}

// migrateToV10 moves the groups that schema 9 kept in the outbox bucket
// to messages of their own there: the outbox bucket holds no groups any
// more (a version-10 group is in the audit bucket). The message counter
// moves from the bucket's sequence to meta.
func migrateToV10(tx *bolt.Tx) error {
	b := tx.Bucket(bucketOutbox)
	if err := tx.Bucket(bucketMeta).Put(keyOutboxSeq, seqKey(b.Sequence())); err != nil {
		return err
	}
	type entry struct{ key, value []byte }
	var groups []entry
	err := b.ForEach(func(k, v []byte) error {
		if len(v) > 0 && v[0] == outboxGroup {
			groups = append(groups, entry{bytes.Clone(k), bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := b.Delete(g.key); err != nil {
			return err
		}
		if err := putSingles(b, g.value); err != nil {
			return fmt.Errorf("outbox group %s: %w", g.key, err)
		}
	}
	return nil
}
