package core

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Event types of the audit log.
const (
	EvRequestCreated   = "request.created"
	EvRequestApproved  = "request.approved"
	EvRequestDenied    = "request.denied"
	EvRequestCancelled = "request.cancelled"
	EvRequestExpired   = "request.expired"
	EvSessionStarted   = "session.started"
	EvSessionEnded     = "session.ended"
	EvSessionDenied    = "session.denied"
	EvSessionEntered   = "session.entered"
	EvConsentGranted   = "consent.granted"
	EvConsentRevoked   = "consent.revoked"
	EvConsentExpired   = "consent.expired"
	EvActionPerformed  = "action.performed"
	EvActionBlocked    = "action.blocked"
	EvPolicyChanged    = "policy.changed"
	EvUserCreated      = "user.created"
	EvUserUpdated      = "user.updated"
	EvKeyAdded         = "key.added"
	EvKeyRemoved       = "key.removed"
	EvLogin            = "login"
	EvLoginFailed      = "login.failed"
	EvOrgCreated       = "org.created"
	EvAlertAdded       = "alert.added"
	EvAlertRemoved     = "alert.removed"
	EvAlertFailed      = "alert.failed"
	EvAPIKeyAdded      = "apikey.added"
	EvAPIKeyRevoked    = "apikey.revoked"
)

// EventTypes lists every audit event type, for filters.
var EventTypes = []string{
	EvRequestCreated, EvRequestApproved, EvRequestDenied, EvRequestCancelled, EvRequestExpired,
	EvSessionStarted, EvSessionEnded, EvSessionDenied, EvSessionEntered,
	EvConsentGranted, EvConsentRevoked, EvConsentExpired,
	EvActionPerformed, EvActionBlocked, EvPolicyChanged, EvUserCreated, EvUserUpdated,
	EvKeyAdded, EvKeyRemoved, EvLogin, EvLoginFailed, EvOrgCreated,
	EvAlertAdded, EvAlertRemoved, EvAlertFailed, EvAPIKeyAdded, EvAPIKeyRevoked,
}

// Result of an audited step.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
	ResultError  = "error"
)

// Event is one entry of the audit log. Details holds canonical JSON (object
// keys sorted), already redacted.
type Event struct {
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Type    string          `json:"type"`
	Actor   Ref             `json:"actor"`
	Subject Ref             `json:"subject,omitzero"`
	Org     string          `json:"org,omitempty"`
	Session string          `json:"session,omitempty"`
	Request string          `json:"request,omitempty"`
	Result  string          `json:"result"`
	Reason  string          `json:"reason,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
	Prev    Hash            `json:"prev"`
	Hash    Hash            `json:"hash"`
}

// Hash is a SHA-256 digest, shown as hex.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText shows the hash as hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads a hex hash.
func (h *Hash) UnmarshalText(b []byte) error {
	n, err := hex.Decode(h[:], b)
	if err != nil || n != len(h) {
		return fmt.Errorf("bad hash %q", b)
	}
	return nil
}

// The stored record of an event is hash(32) | body, and
//
//	body = version(1) | seq(8, big-endian) | prev(32) | time(8, unix ns) |
//	       type | actor.id | actor.email | subject.id | subject.email |
//	       org | session | request | result | reason | details
//
// each string a uvarint length and its bytes. body is the canonical encoding:
// one event has exactly one, and it contains prev, so hash = SHA-256(body)
// covers the event and its link to the one before. Seq and prev sit at fixed
// offsets so verification needs no decoding.
const (
	recordVersion = 1
	offSeq        = 32 + 1
	offPrev       = offSeq + 8
	offTime       = offPrev + 32
	minRecord     = offTime + 8
)

// EncodeEvent returns the record of ev with ev.Hash filled in from ev.Prev.
// It allocates the record and nothing else: it runs inside the audit
// path's write transaction, once per event.
func EncodeEvent(ev *Event) []byte {
	fields := [...]string{ev.Type, ev.Actor.ID, ev.Actor.Email, ev.Subject.ID, ev.Subject.Email,
		ev.Org, ev.Session, ev.Request, ev.Result, ev.Reason}
	n := minRecord + binary.MaxVarintLen64 + len(ev.Details)
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	rec := make([]byte, minRecord, n)
	rec[32] = recordVersion
	binary.BigEndian.PutUint64(rec[offSeq:], ev.Seq)
	copy(rec[offPrev:], ev.Prev[:])
	binary.BigEndian.PutUint64(rec[offTime:], uint64(ev.Time.UnixNano()))
	for _, f := range fields {
		rec = binary.AppendUvarint(rec, uint64(len(f)))
		rec = append(rec, f...)
	}
	rec = binary.AppendUvarint(rec, uint64(len(ev.Details)))
	rec = append(rec, ev.Details...)
	ev.Hash = sha256.Sum256(rec[32:])
	copy(rec, ev.Hash[:])
	return rec
}

// RecordRefs returns what a stored record is indexed by — its session,
// actor ID and subject ID — without decoding the rest. The slices alias rec.
func RecordRefs(rec []byte) (session, actor, subject []byte, err error) {
	body, start, end, err := recordFields(rec, 7) // type … session
	if err != nil {
		return nil, nil, nil, err
	}
	return body[start[6]:end[6]], body[start[1]:end[1]], body[start[3]:end[3]], nil
}

// eventFields is how many length-prefixed fields follow a record's fixed
// header: ten texts (type … reason), then the details.
const eventFields = 11

// recordFields checks a stored record's header and finds its first n
// length-prefixed fields: field i is body[start[i]:end[i]], body being
// what follows the header.
func recordFields(rec []byte, n int) (body []byte, start, end [eventFields]int, err error) {
	if err := checkHeader(rec); err != nil {
		return nil, start, end, err
	}
	body = rec[minRecord:]
	off := 0
	for i := range n {
		l, k := binary.Uvarint(body[off:])
		if k <= 0 || uint64(len(body)-off-k) < l {
			return nil, start, end, fmt.Errorf("audit record %d is truncated", binary.BigEndian.Uint64(rec[offSeq:]))
		}
		start[i], end[i] = off+k, off+k+int(l)
		off = end[i]
	}
	return body, start, end, nil
}

func checkHeader(rec []byte) error {
	if len(rec) < minRecord || rec[32] != recordVersion {
		return fmt.Errorf("audit record too short or of unknown version")
	}
	return nil
}

// DecodeEvent reads a stored record. It does not check the hash; Verify does.
func DecodeEvent(rec []byte) (Event, error) {
	var ev Event
	if err := checkHeader(rec); err != nil {
		return ev, err
	}
	copy(ev.Hash[:], rec[:32])
	ev.Seq = binary.BigEndian.Uint64(rec[offSeq:])
	copy(ev.Prev[:], rec[offPrev:])
	ev.Time = time.Unix(0, int64(binary.BigEndian.Uint64(rec[offTime:]))).UTC()
	// One string for all fields, each a slice of it, copied in one pass
	// before any is read and then parsed from the cache: reading the
	// length prefixes in the file's map, one after the other, waited on the
	// memory once per field (a page of the audit tab decodes 50 in a row,
	// ~12 % slower that way). The details are copied again, from the cache.
	rest := string(rec[minRecord:])
	ok := true
	next := func() string {
		l, k := uvarintString(rest)
		if k <= 0 || uint64(len(rest)-k) < l {
			ok = false
			return ""
		}
		s := rest[k : k+int(l)]
		rest = rest[k+int(l):]
		return s
	}
	ev.Type = next()
	ev.Actor.ID, ev.Actor.Email = next(), next()
	ev.Subject.ID, ev.Subject.Email = next(), next()
	ev.Org, ev.Session, ev.Request, ev.Result, ev.Reason = next(), next(), next(), next(), next()
	if d := next(); d != "" {
		ev.Details = json.RawMessage(d)
	}
	if !ok {
		return Event{}, fmt.Errorf("audit record %d is truncated", ev.Seq)
	}
	return ev, nil
}

// uvarintString is binary.Uvarint over a string.
func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

// BreakKind names how the chain is broken.
type BreakKind string

const (
	BreakHash    BreakKind = "hash mismatch" // the event's bytes changed
	BreakLink    BreakKind = "broken link"   // prev is not the previous event's hash
	BreakGap     BreakKind = "gap"           // a seq is missing or out of place
	BreakCorrupt BreakKind = "corrupt record"
	BreakHead    BreakKind = "head mismatch" // meta's chain head disagrees with the last event
	BreakTree    BreakKind = "tree mismatch" // the stored Merkle tree disagrees with the event
)

// Verification is the outcome of walking the chain.
type Verification struct {
	Events uint64    // events checked
	Head   Hash      // hash of the last good event
	Root   Hash      // Merkle tree root of the events checked
	BadSeq uint64    // first bad seq, 0 if the chain is intact
	Break  BreakKind // what is wrong at BadSeq
	// Damage lists what the store found wrong outside the chain (pages,
	// user and index records), when it can check its file.
	Damage []string
}

// FileChecker is a store that can check its file beyond the audit chain:
// pages, records and indexes. Verify asks it when the store is one.
type FileChecker interface {
	CheckFile() []string
}

// OK reports whether the chain is intact and the file undamaged.
func (v Verification) OK() bool { return v.Break == "" && len(v.Damage) == 0 }

func (v Verification) String() string {
	var b strings.Builder
	switch {
	case v.Break == "":
		fmt.Fprintf(&b, "audit chain intact: %d events, head %s", v.Events, v.Head)
	default:
		fmt.Fprintf(&b, "audit chain broken at seq %d: %s (%d events before it are intact)", v.BadSeq, v.Break, v.Events)
	}
	if len(v.Damage) > 0 {
		fmt.Fprintf(&b, "\ndatabase damaged outside the audit chain:")
		for _, d := range v.Damage {
			b.WriteString("\n  " + d)
		}
	}
	return b.String()
}

// canonicalDetails redacts details and encodes them as JSON with sorted keys.
func canonicalDetails(details map[string]any) (json.RawMessage, error) {
	if len(details) == 0 {
		return nil, nil
	}
	clean := Redact(details)
	for k, v := range clean {
		clean[k] = boundDetails(v)
		if v == "" { // an unknown value (no SSH key on a local console) says nothing
			delete(clean, k)
		}
	}
	if len(clean) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(clean) // encoding/json sorts map keys
	if err != nil {
		return nil, fmt.Errorf("audit details: %w", err)
	}
	return b, nil
}

// DetailsMap decodes an event's details (nil when there are none).
func (e Event) DetailsMap() map[string]any {
	if len(e.Details) == 0 {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(e.Details, &m)
	return m
}

// DetailsText renders details as "k=v k=v" in key order, for one-line views.
func (e Event) DetailsText() string {
	m := e.DetailsMap()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := m[k]
		if s, ok := v.(string); ok {
			fmt.Fprintf(&b, "%s=%s", k, s)
		} else {
			j, _ := json.Marshal(v)
			fmt.Fprintf(&b, "%s=%s", k, j)
		}
	}
	return b.String()
}

// AppendEvent links ev to the chain head inside tx and appends it: it sets
// ev.Seq, ev.Prev and ev.Hash. ev.Details must already be canonical and
// redacted (see Core.record, which every audited step goes through).
func AppendEvent(tx Tx, ev *Event) error {
	seq, head, err := tx.AuditHead()
	if err != nil {
		return err
	}
	ev.Seq, ev.Prev = seq+1, head
	ev.Time = ev.Time.UTC()
	rec := EncodeEvent(ev)
	if err := tx.AppendAudit(AuditAppend{
		Seq: ev.Seq, Hash: ev.Hash, Record: rec,
		Session: ev.Session, Actor: ev.Actor.ID, Subject: ev.Subject.ID,
	}); err != nil {
		return &Error{Code: CodeAuditFailed, Message: "the audit log could not be written, so nothing was changed: " + err.Error(), Err: err}
	}
	return nil
}
