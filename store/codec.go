package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// Entity values are a version byte of their own kind followed by the fields
// in declaration order: strings as uvarint length and bytes, integers and durations as
// varints, bools as one byte, times as varint Unix seconds and uvarint
// nanoseconds (read back in UTC). This is several times faster than
// encoding/json, which matters when ForEachUser walks a million users, and a
// decoded value costs one allocation: every string field is a substring of
// one copy of the stored bytes.
//
// Each kind of entity has its own version, so one can grow without touching
// the others. Adding a field to a core type means appending it to the
// encoder and decoder, raising that kind's version below, and reading the
// field only `if d.since(N)` (N the new version): values written before
// still decode, with the field's zero value. A value of a version above
// this code's is refused, never half-read. The round-trip test fills every
// field by reflection and fails until the codec keeps it.
const (
	orgVersion        = 1
	userVersion       = 1
	keyVersion        = 1
	requestVersion    = 1
	sessionVersion    = 1
	policyVersion     = 4 // 2: alerting and environment replace alert_channels; 3: checkpoint_file; 4: product_url and issuer
	checkpointVersion = 1
	apiKeyVersion     = 1
	ticketVersion     = 1
)

type encoder struct{ b []byte }

func newEncoder(version byte, size int) *encoder {
	e := &encoder{b: make([]byte, 0, size)}
	e.b = append(e.b, version)
	return e
}

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) strs(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) int(v int64) { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// time keeps the instant, not the location. The zero time survives: its Unix
// seconds decode back to exactly time.Time{}.
func (e *encoder) time(t time.Time) {
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

var errTruncated = errors.New("truncated")

// decoder reads from one string copy of the stored value, so string fields
// are substrings of it and cost no allocation of their own.
type decoder struct {
	s       string
	off     int
	err     error
	version byte // of the stored value
}

// newDecoder reads a value of a kind whose newest version is current.
func newDecoder(what string, current byte, v []byte) *decoder {
	d := &decoder{s: string(v)}
	switch {
	case len(v) == 0 || v[0] == 0:
		d.err = fmt.Errorf("stored %s has no encoding version", what)
	case v[0] > current:
		d.err = fmt.Errorf("%w: a stored %s has encoding version %d, this actas reads up to %d",
			ErrSchemaTooNew, what, v[0], current)
	default:
		d.version = v[0]
	}
	if d.err != nil {
		d.off = len(d.s) // read nothing
	} else {
		d.off = 1
	}
	return d
}

// since reports whether the stored value is of version v or later, and so
// holds the fields added in v.
func (d *decoder) since(v byte) bool { return d.err == nil && d.version >= v }

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errTruncated
	}
	d.off = len(d.s)
}

func (d *decoder) uint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.off >= len(d.s) {
			d.fail()
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
	}
	d.fail()
	return 0
}

func (d *decoder) int() int64 {
	u := d.uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) str() string {
	n := d.uint()
	if n > uint64(len(d.s)-d.off) {
		d.fail()
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) bool() bool {
	if d.off >= len(d.s) {
		d.fail()
		return false
	}
	b := d.s[d.off]
	d.off++
	return b != 0
}

func (d *decoder) time() time.Time {
	sec := d.int()
	nsec := d.uint()
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) strs() []string {
	n := d.uint()
	if n == 0 || n > uint64(len(d.s)-d.off) { // each string takes at least a byte
		if n != 0 {
			d.fail()
		}
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

// done reports the first error, naming what was being decoded.
func (d *decoder) done(what string) error {
	if d.err == nil && d.off != len(d.s) {
		d.err = fmt.Errorf("%d bytes left over", len(d.s)-d.off)
	}
	if d.err != nil {
		return fmt.Errorf("decode stored %s: %w", what, d.err)
	}
	return nil
}

func encodeOrg(o core.Org) []byte {
	e := newEncoder(orgVersion, 32+len(o.ID)+len(o.Name)+len(o.Parent))
	e.str(o.ID)
	e.str(o.Name)
	e.str(o.Parent)
	e.time(o.Created)
	return e.b
}

func decodeOrg(v []byte) (core.Org, error) {
	d := newDecoder("org", orgVersion, v)
	o := core.Org{
		ID:      d.str(),
		Name:    d.str(),
		Parent:  d.str(),
		Created: d.time(),
	}
	return o, d.done("org")
}

func encodeUser(u core.User) []byte {
	e := newEncoder(userVersion, 64+len(u.ID)+len(u.Email)+len(u.Name)+len(u.Org)+len(u.Theme))
	e.str(u.ID)
	e.str(u.Email)
	e.str(u.Name)
	e.str(u.Org)
	e.str(string(u.Role))
	e.str(string(u.Status))
	e.str(string(u.Kind))
	e.str(string(u.Mode))
	e.bool(u.Approver)
	e.str(u.Theme)
	e.time(u.Created)
	e.time(u.ConsentFrom)
	e.time(u.ConsentUntil)
	return e.b
}

func decodeUser(v []byte) (core.User, error) {
	d := newDecoder("user", userVersion, v)
	u := core.User{
		ID:           d.str(),
		Email:        d.str(),
		Name:         d.str(),
		Org:          d.str(),
		Role:         core.Role(d.str()),
		Status:       core.Status(d.str()),
		Kind:         core.Kind(d.str()),
		Mode:         core.Mode(d.str()),
		Approver:     d.bool(),
		Theme:        d.str(),
		Created:      d.time(),
		ConsentFrom:  d.time(),
		ConsentUntil: d.time(),
	}
	return u, d.done("user")
}

func encodeKey(k core.Key) []byte {
	e := newEncoder(keyVersion, 32+len(k.Fingerprint)+len(k.UserID)+len(k.Type)+len(k.Comment)+len(k.Authorized))
	e.str(k.Fingerprint)
	e.str(k.UserID)
	e.str(k.Type)
	e.str(k.Comment)
	e.str(k.Authorized)
	e.time(k.Added)
	return e.b
}

func decodeKey(v []byte) (core.Key, error) {
	d := newDecoder("key", keyVersion, v)
	k := core.Key{
		Fingerprint: d.str(),
		UserID:      d.str(),
		Type:        d.str(),
		Comment:     d.str(),
		Authorized:  d.str(),
		Added:       d.time(),
	}
	return k, d.done("key")
}

func encodeRequest(r core.Request) []byte {
	e := newEncoder(requestVersion, 128+len(r.Reason)+96*len(r.Decisions))
	e.str(r.ID)
	e.str(r.Requester)
	e.str(r.Target)
	e.str(r.Org)
	e.str(r.Reason)
	e.int(int64(r.Duration))
	e.str(string(r.Status))
	e.time(r.Created)
	e.time(r.Expires)
	e.time(r.Decided)
	e.uint(uint64(len(r.Decisions)))
	for _, dc := range r.Decisions {
		e.str(dc.Approver)
		e.str(dc.Email)
		e.bool(dc.Approved)
		e.int(int64(dc.Duration))
		e.str(dc.Note)
		e.str(dc.Fingerprint)
		e.time(dc.Time)
	}
	e.str(r.UsedBy)
	return e.b
}

func decodeRequest(v []byte) (core.Request, error) {
	d := newDecoder("request", requestVersion, v)
	r := core.Request{
		ID:        d.str(),
		Requester: d.str(),
		Target:    d.str(),
		Org:       d.str(),
		Reason:    d.str(),
		Duration:  time.Duration(d.int()),
		Status:    core.RequestStatus(d.str()),
		Created:   d.time(),
		Expires:   d.time(),
		Decided:   d.time(),
	}
	// Each decision takes at least a few bytes, which bounds n by the value
	// length before anything is allocated.
	if n := d.uint(); n > uint64(len(d.s)-d.off) {
		d.fail()
	} else if n > 0 {
		r.Decisions = make([]core.Decision, n)
		for i := range r.Decisions {
			r.Decisions[i] = core.Decision{
				Approver:    d.str(),
				Email:       d.str(),
				Approved:    d.bool(),
				Duration:    time.Duration(d.int()),
				Note:        d.str(),
				Fingerprint: d.str(),
				Time:        d.time(),
			}
		}
	}
	r.UsedBy = d.str()
	return r, d.done("request")
}

func encodeSession(s core.Session) []byte {
	e := newEncoder(sessionVersion, 128+len(s.Reason)+len(s.Conn))
	e.str(s.ID)
	e.str(s.Impersonator)
	e.str(s.Target)
	e.str(s.Org)
	e.str(s.Request)
	e.str(s.Reason)
	e.str(s.Conn)
	e.time(s.Started)
	e.time(s.Ends)
	e.time(s.Ended)
	e.str(string(s.Status))
	e.str(string(s.EndReason))
	e.int(int64(s.Events))
	return e.b
}

func decodeSession(v []byte) (core.Session, error) {
	d := newDecoder("session", sessionVersion, v)
	s := core.Session{
		ID:           d.str(),
		Impersonator: d.str(),
		Target:       d.str(),
		Org:          d.str(),
		Request:      d.str(),
		Reason:       d.str(),
		Conn:         d.str(),
		Started:      d.time(),
		Ends:         d.time(),
		Ended:        d.time(),
		Status:       core.SessionStatus(d.str()),
		EndReason:    core.EndReason(d.str()),
		Events:       int(d.int()),
	}
	return s, d.done("session")
}

func encodePolicy(p core.Policy) []byte {
	e := newEncoder(policyVersion, 64)
	e.bool(p.Enabled)
	e.bool(p.RequireConsent)
	e.int(int64(p.MaxDuration))
	e.int(int64(p.DefaultDuration))
	e.bool(p.RequireReason)
	e.int(int64(p.RequestTTL))
	e.int(int64(p.ApprovalsRequired))
	e.bool(p.EndOnDisconnect)
	e.bool(p.NotifyTarget)
	e.bool(p.Alerting)
	e.str(p.Environment)
	e.str(p.CheckpointFile)
	e.str(p.ProductURL)
	e.str(p.Issuer)
	return e.b
}

func decodePolicy(v []byte) (core.Policy, error) {
	d := newDecoder("policy", policyVersion, v)
	p := core.Policy{
		Enabled:           d.bool(),
		RequireConsent:    d.bool(),
		MaxDuration:       time.Duration(d.int()),
		DefaultDuration:   time.Duration(d.int()),
		RequireReason:     d.bool(),
		RequestTTL:        time.Duration(d.int()),
		ApprovalsRequired: int(d.int()),
		EndOnDisconnect:   d.bool(),
		NotifyTarget:      d.bool(),
	}
	if d.since(2) {
		p.Alerting = d.bool()
		p.Environment = d.str()
	} else {
		// Version 1 ended in alert_channels, names nothing could deliver
		// to: dropped. Alerting starts on, as in a new database.
		_ = d.strs()
		p.Alerting = true
	}
	if d.since(3) {
		p.CheckpointFile = d.str()
	}
	if d.since(4) {
		p.ProductURL = d.str()
		p.Issuer = d.str()
	}
	return p, d.done("policy")
}

func encodeAPIKey(k core.APIKey) []byte {
	e := newEncoder(apiKeyVersion, 128)
	e.str(k.Name)
	e.str(k.Hash)
	e.int(int64(k.Rate))
	e.time(k.Created)
	e.str(k.CreatedBy)
	e.time(k.Revoked)
	return e.b
}

func decodeAPIKey(v []byte) (core.APIKey, error) {
	d := newDecoder("API key", apiKeyVersion, v)
	k := core.APIKey{
		Name:      d.str(),
		Hash:      d.str(),
		Rate:      int(d.int()),
		Created:   d.time(),
		CreatedBy: d.str(),
		Revoked:   d.time(),
	}
	return k, d.done("API key")
}

func encodeTicket(t core.Ticket) []byte {
	e := newEncoder(ticketVersion, 128)
	e.str(t.Hash)
	e.str(t.Session)
	e.time(t.Expires)
	e.time(t.Used)
	e.str(t.UsedBy)
	return e.b
}

func decodeTicket(v []byte) (core.Ticket, error) {
	d := newDecoder("ticket", ticketVersion, v)
	t := core.Ticket{
		Hash:    d.str(),
		Session: d.str(),
		Expires: d.time(),
		Used:    d.time(),
		UsedBy:  d.str(),
	}
	return t, d.done("ticket")
}

// The alert records (channels, the SMTP setting, outbox messages) are few
// and small, and their shape may grow: they are stored as JSON.

func decodeJSON[T any](v []byte) (T, error) {
	var x T
	if err := json.Unmarshal(v, &x); err != nil {
		return x, fmt.Errorf("decode stored %T: %w", x, err)
	}
	return x, nil
}

func putJSON(b *bolt.Bucket, key []byte, x any) error {
	v, err := json.Marshal(x)
	if err != nil {
		return err
	}
	return b.Put(key, v)
}

// Outbox messages are written in the transaction of every event that
// notifies someone, on the committer's one goroutine, so they are small and
// binary. Version 3: a message about an audit event holds only the event,
// its destination and variant (core renders the rest from the event), and
// retry state once it has some; its ID is its key. Versions 1 and 2 (and
// JSON, from builds before the codec) stored the whole message; they are
// still read.
const outboxVersion = 3

// Flags of a version-3 outbox value.
const (
	outboxHasState  = 1 << iota // created, next try, attempts, last error, failed
	outboxHasNotice             // the notice itself (messages about no event)
)

func encodeOutbox(m core.OutboxMessage) []byte { return appendOutbox(nil, m) }

// appendOutbox appends the encoding of m to dst (grown when it lacks room).
func appendOutbox(dst []byte, m core.OutboxMessage) []byte {
	n := m.Notice
	var flags uint64
	if m.Event == 0 || m.Attempts > 0 || m.Failed || m.LastError != "" {
		flags |= outboxHasState
	}
	size := 16 + len(m.Channel) + len(m.Variant)
	for _, to := range m.To {
		size += len(to) + 1
	}
	if m.Event == 0 {
		flags |= outboxHasNotice
		size += 64 + len(n.Subject) + len(n.Who) + len(n.Whom) + len(n.Why) + len(n.Checkpoint)
		for _, l := range n.Lines {
			size += len(l) + 2
		}
	}
	if flags&outboxHasState != 0 {
		size += 32 + len(m.LastError)
	}
	e := &encoder{b: append(slices.Grow(dst, size), outboxVersion)}
	e.uint(m.Event)
	e.str(m.Channel)
	e.strs(m.To)
	e.str(m.Variant)
	e.uint(flags)
	if flags&outboxHasState != 0 {
		e.time(m.Created)
		e.time(m.NextAt)
		e.int(int64(m.Attempts))
		e.str(m.LastError)
		e.bool(m.Failed)
	}
	if flags&outboxHasNotice != 0 {
		e.str(n.Type)
		e.str(n.Environment)
		e.str(n.Subject)
		e.str(n.Who)
		e.str(n.Whom)
		e.str(n.Why)
		e.time(n.Until)
		e.strs(n.Lines)
		e.str(n.Request)
		e.str(n.Session)
		e.time(n.Time)
		e.str(n.Checkpoint)
	}
	return e.b
}

func decodeOutbox(key, v []byte) (core.OutboxMessage, error) {
	if len(v) > 0 && v[0] == '{' {
		return decodeJSON[core.OutboxMessage](v)
	}
	d := newDecoder("outbox message", outboxVersion, v)
	if d.since(3) {
		m := core.OutboxMessage{ID: string(key), Event: d.uint(), Channel: d.str(), To: d.strs(), Variant: d.str()}
		flags := d.uint()
		if flags&outboxHasState != 0 {
			m.Created, m.NextAt = d.time(), d.time()
			m.Attempts = int(d.int())
			m.LastError = d.str()
			m.Failed = d.bool()
		}
		if flags&outboxHasNotice != 0 {
			m.Notice = core.Notice{Type: d.str(), Environment: d.str(), Subject: d.str(), Who: d.str(), Whom: d.str(),
				Why: d.str(), Until: d.time(), Lines: d.strs(), Request: d.str(), Session: d.str(), Time: d.time(),
				Checkpoint: d.str()}
		}
		return m, d.done("outbox message")
	}
	m := core.OutboxMessage{ID: d.str(), Event: d.uint(), Channel: d.str(), To: d.strs()}
	m.Notice = core.Notice{Type: d.str(), Environment: d.str(), Subject: d.str(), Who: d.str(), Whom: d.str(),
		Why: d.str(), Until: d.time(), Lines: d.strs(), Request: d.str(), Session: d.str(), Time: d.time()}
	m.Created, m.NextAt = d.time(), d.time()
	m.Attempts = int(d.int())
	m.LastError = d.str()
	m.Failed = d.bool()
	if d.since(2) {
		m.Notice.Checkpoint = d.str()
	}
	if m.Event != 0 {
		// Rendered from the event now, like a version-3 message.
		m.Notice = core.Notice{}
	}
	return m, d.done("outbox message")
}
