package store

import (
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// The outbox bucket maps a message ID (msg_ + 12 digits, so in queue order)
// to one message, or, since schema version 9, to a group: the messages one
// transaction queued, under the ID of the first of them. A busy log queues
// a message in the commit of nearly every session event, and 64 engineers
// at work commit ~64 events at once: one key per commit instead of one per
// message is what keeps the outbox's cost within a tenth of the append
// rate (BenchmarkAuditAppendWithOutbox).
//
// Messages only leave or change one at a time (delivered, failed, retried),
// and rarely compared with how many are queued, so a group is rewritten
// when one of its members does; a group whose members are all gone is
// deleted. A group keeps its key after its first member left: every member
// still sorts at or after it and before the next key, which is how a
// member is found (findOutbox).

// outboxGroup is the version byte of a group value. Its members follow,
// each the step from the previous member's number (msg_ + number: the
// group's messages were numbered by one transaction, so the steps are
// small) and its encoding as a single message (encodeOutbox): ~21 bytes
// for an alert channel's message instead of ~38 with whole IDs.
const outboxGroup = outboxVersion + 1

// maxOutboxGroup bounds a group, so that rewriting one for a delivered
// member stays cheap even when a transaction queued thousands.
const maxOutboxGroup = 128

// isOutboxGroup reports whether a stored outbox value is a group.
func isOutboxGroup(v []byte) bool { return len(v) > 0 && v[0] == outboxGroup }

// outboxMember is one member of a group as stored: its number and its
// encoding.
type outboxMember struct {
	n   uint64
	enc string
}

func (m outboxMember) id() string { return core.MessageID(m.n) }

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
	e := newEncoder(outboxGroup, size)
	prev := uint64(0)
	for _, m := range members {
		e.uint(m.n - prev)
		e.str(m.enc)
		prev = m.n
	}
	return e.b
}

// messageNumber is the number in a message ID that core.MessageID made,
// or false for any other ID (those are stored under their own key).
func messageNumber(id string) (uint64, bool) {
	digits, ok := strings.CutPrefix(id, "msg_")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || core.MessageID(n) != id {
		return 0, false
	}
	return n, true
}

func (m outboxMember) message() (core.OutboxMessage, error) {
	id := m.id()
	msg, err := decodeOutbox([]byte(id), []byte(m.enc))
	if err != nil {
		return msg, fmt.Errorf("outbox message %s: %w", id, err)
	}
	return msg, nil
}

// outboxSlot is where a message is stored: its own key, or a member of the
// group under key.
type outboxSlot struct {
	key     []byte
	members []outboxMember // nil for a message under its own key
	index   int
	single  []byte // the value of a message under its own key
}

// findOutbox locates message id, or reports ErrNotFound.
func findOutbox(b *bolt.Bucket, id string) (outboxSlot, error) {
	c := b.Cursor()
	k, v := c.Seek([]byte(id))
	if k == nil || string(k) != id {
		// Only a group under an earlier key can hold it.
		k, v = c.Prev()
	}
	if k == nil {
		return outboxSlot{}, core.ErrNotFound
	}
	if !isOutboxGroup(v) {
		if string(k) != id {
			return outboxSlot{}, core.ErrNotFound
		}
		return outboxSlot{key: k, single: v}, nil
	}
	n, ok := messageNumber(id)
	if !ok {
		return outboxSlot{}, core.ErrNotFound
	}
	members, err := decodeOutboxGroup(v)
	if err != nil {
		return outboxSlot{}, fmt.Errorf("outbox group %s: %w", k, err)
	}
	for i, m := range members {
		if m.n == n {
			return outboxSlot{key: k, members: members, index: i}, nil
		}
	}
	return outboxSlot{}, core.ErrNotFound
}

func (t readTx) OutboxMessage(id string) (core.OutboxMessage, error) {
	s, err := findOutbox(t.bucket(bucketOutbox), id)
	switch {
	case err != nil:
		return core.OutboxMessage{}, err
	case s.members != nil:
		return s.members[s.index].message()
	}
	return decodeOutbox([]byte(id), s.single)
}

func (t readTx) ScanOutbox(fn func(core.OutboxMessage) bool) error {
	c := t.bucket(bucketOutbox).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if isOutboxGroup(v) {
			members, err := decodeOutboxGroup(v)
			if err != nil {
				return fmt.Errorf("outbox group %s: %w", k, err)
			}
			for _, mm := range members {
				m, err := mm.message()
				if err != nil {
					return err
				}
				if !fn(m) {
					return nil
				}
			}
			continue
		}
		m, err := decodeOutbox(k, v)
		if err != nil {
			return fmt.Errorf("outbox message %s: %w", k, err)
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
// transaction, and writes any other in place.
func (t writeTx) PutOutbox(m core.OutboxMessage) error {
	if m.ID == "" {
		return fmt.Errorf("put outbox message: %w", errEmptyID)
	}
	if t.isNewMessage(m.ID) {
		t.commit.outbox = append(t.commit.outbox, m)
		return nil
	}
	if err := t.flushOutbox(); err != nil {
		return err
	}
	b := t.bucket(bucketOutbox)
	s, err := findOutbox(b, m.ID)
	if err == nil && s.members != nil {
		s.members[s.index].enc = string(encodeOutbox(m))
		return b.Put(s.key, encodeOutboxGroup(s.members))
	}
	if err != nil && err != core.ErrNotFound {
		return err
	}
	return b.Put([]byte(m.ID), encodeOutbox(m))
}

func (t writeTx) DeleteOutbox(id string) error {
	if err := t.flushOutbox(); err != nil {
		return err
	}
	b := t.bucket(bucketOutbox)
	s, err := findOutbox(b, id)
	switch {
	case err == core.ErrNotFound:
		return nil
	case err != nil:
		return err
	case s.members == nil || len(s.members) == 1:
		return b.Delete(s.key)
	}
	return b.Put(s.key, encodeOutboxGroup(append(s.members[:s.index], s.members[s.index+1:]...)))
}

// isNewMessage reports whether id was numbered by this transaction and is
// not written yet: above the sequence the transaction started from, and
// above every message it already wrote (flushOutbox moves outboxSeq up).
func (t writeTx) isNewMessage(id string) bool {
	if !t.commit.outboxSeqKnown {
		return false
	}
	if n, ok := messageNumber(id); !ok || n <= t.commit.outboxSeq {
		return false
	}
	for _, m := range t.commit.outbox {
		if m.ID == id { // put twice before the end: the later one counts
			return false
		}
	}
	return true
}

// flushOutbox writes the messages this transaction queued, as groups of up
// to maxOutboxGroup under their first one's ID.
func (t writeTx) flushOutbox() error {
	queued := t.commit.outbox
	if len(queued) == 0 {
		return nil
	}
	b := t.bucket(bucketOutbox)
	// IDs only grow: new messages go at the end.
	b.FillPercent = 0.9
	for len(queued) > 0 {
		n := min(len(queued), maxOutboxGroup)
		members := make([]outboxMember, n)
		for i, m := range queued[:n] {
			num, _ := messageNumber(m.ID) // new messages have numbered IDs
			members[i] = outboxMember{n: num, enc: string(encodeOutbox(m))}
		}
		if err := b.Put([]byte(queued[0].ID), encodeOutboxGroup(members)); err != nil {
			return err
		}
		queued = queued[n:]
	}
	// What is written now is no longer new: a later put of it rewrites it
	// in place.
	t.commit.outboxSeq = b.Sequence()
	clear(t.commit.outbox)
	t.commit.outbox = t.commit.outbox[:0]
	return nil
}
