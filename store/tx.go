package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// readTx implements core.ReadTx over a bolt transaction. bbolt's slices
// point into the memory map and die with the transaction, so every decoder
// copies; only ScanAudit hands out bolt's memory, as its contract allows.
type readTx struct {
	tx *bolt.Tx
	db *DB // for the audit tail (auditindex.go)
}

// writeTx adds core.Tx's writes; the entity indexes are kept in step with
// the entity buckets in the same transaction.
type writeTx struct {
	readTx
	commit *commitAttempt
}

// commitAttempt collects what one bolt transaction appended to the audit
// log, for the committer to add to the audit tail once it has committed.
// The committer reuses one for every attempt (reset clears it), so a busy
// log does not allocate one per commit.
type commitAttempt struct {
	firstSeq uint64
	appended []tailEntry
	// head is the audit head as this transaction last read or appended
	// it. Each event reads it twice (core before encoding, AppendAudit
	// before checking), and the meta bucket is written once, at the end of
	// the transaction (writeHead), not once per event (64 writers: ~95k →
	// ~112k events/s).
	head      uint64
	headHash  [32]byte
	headKnown bool
	headDirty bool
	// tree is the Merkle tree's frontier as this transaction's appends
	// left it (tree.go); the committer keeps it once they commit.
	tree      core.TreeFrontier
	treeKnown bool
	// names are the users_by_name entries the transaction wrote, put in
	// key order when it ends (flushNames): an import's million names in
	// random order would otherwise take minutes in one bolt transaction.
	names []nameEntry
	// groups hold the messages queued by this transaction, encoded as
	// they were put, up to maxOutboxGroup a group (groupFirst: each
	// group's first number; groupLast: the last number put), written when
	// it ends or before the outbox is read (outbox.go). scratch is reused
	// to encode each.
	groups     [][]byte
	groupFirst []uint64
	groupLast  uint64
	groupCount int // members of the last group
	scratch    []byte
	// The outbox's message numbers (meta outbox_seq), once the
	// transaction took one (outboxSeqKnown): the last number it gave
	// (outboxNext), the number before its first (outboxBase), and the
	// highest one written (outboxSeq): messages numbered above it and
	// above groupLast are new.
	// The counter is written once, at the end of the transaction.
	outboxSeq, outboxNext, outboxBase uint64
	outboxSeqKnown                    bool
}

// nameEntry is one pending users_by_name entry of the user id.
type nameEntry struct {
	id         string
	key, value []byte
}

// finish writes what the transaction kept back until its end.
func (t writeTx) finish() error {
	if err := t.flushNames(); err != nil {
		return err
	}
	if err := t.flushOutbox(); err != nil {
		return err
	}
	if t.commit.outboxNext != t.commit.outboxBase {
		if err := t.bucket(bucketMeta).Put(keyOutboxSeq, seqKey(t.commit.outboxNext)); err != nil {
			return err
		}
	}
	return t.writeHead()
}

// flushNames puts the transaction's pending name entries, the last one of
// each user only, in key order.
func (t writeTx) flushNames() error {
	if len(t.commit.names) == 0 {
		return nil
	}
	err := putNames(t.bucket(bucketUsersByName), t.commit.names)
	t.commit.names = t.commit.names[:0]
	return err
}

// putNames puts entries in key order, keeping only the last entry of each
// user.
func putNames(b *bolt.Bucket, names []nameEntry) error {
	last := make(map[string]int, len(names))
	for i, e := range names {
		last[e.id] = i
	}
	keep := names[:0:0]
	if len(last) == len(names) {
		keep = names
	} else {
		for i, e := range names {
			if last[e.id] == i {
				keep = append(keep, e)
			}
		}
	}
	slices.SortFunc(keep, func(a, b nameEntry) int { return bytes.Compare(a.key, b.key) })
	for _, e := range keep {
		if err := b.Put(e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}

// writeHead stores the head that the transaction's appends moved.
func (t writeTx) writeHead() error {
	if !t.commit.headDirty {
		return nil
	}
	v := make([]byte, 0, 8+32)
	v = binary.BigEndian.AppendUint64(v, t.commit.head)
	v = append(v, t.commit.headHash[:]...)
	return t.bucket(bucketMeta).Put(keyAuditHead, v)
}

func (a *commitAttempt) reset() {
	clear(a.groups) // handed to bolt: not reused
	*a = commitAttempt{appended: a.appended[:0], groups: a.groups[:0], groupFirst: a.groupFirst[:0], scratch: a.scratch[:0]}
}

// AuditHead is readTx's, remembered for the rest of the transaction: only
// AppendAudit moves the head, and it updates what is remembered (the meta
// bucket catches up at the end of the transaction).
func (t writeTx) AuditHead() (uint64, [32]byte, error) {
	if t.commit.headKnown {
		return t.commit.head, t.commit.headHash, nil
	}
	seq, hash, err := t.readTx.AuditHead()
	if err == nil {
		t.commit.head, t.commit.headHash, t.commit.headKnown = seq, hash, true
	}
	return seq, hash, err
}

var (
	_ core.ReadTx = readTx{}
	_ core.Tx     = writeTx{}
)

var empty = []byte{}

func (t readTx) bucket(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

// get decodes the value under key in bucket, or returns core.ErrNotFound.
func get[T any](t readTx, bucket []byte, key string, decode func([]byte) (T, error)) (T, error) {
	v := t.bucket(bucket).Get([]byte(key))
	if v == nil {
		var zero T
		return zero, core.ErrNotFound
	}
	return decode(v)
}

// all decodes every value of bucket, in key order. A value that does not
// decode ends the walk with its error.
func all[T any](t readTx, bucket []byte, decode func([]byte) (T, error)) ([]T, error) {
	var out []T
	err := t.bucket(bucket).ForEach(func(_, v []byte) error {
		x, err := decode(v)
		out = append(out, x)
		return err
	})
	return out, err
}

func (t readTx) Org(id string) (core.Org, error) {
	return get(t, bucketOrgs, id, decodeOrg)
}

func (t readTx) OrgByName(name string) (core.Org, error) {
	id := t.bucket(bucketOrgsByName).Get([]byte(name))
	if id == nil {
		return core.Org{}, core.ErrNotFound
	}
	return t.Org(string(id))
}

func (t readTx) Orgs() ([]core.Org, error) { return all(t, bucketOrgs, decodeOrg) }

func (t readTx) Policy() (core.Policy, error) {
	v := t.bucket(bucketMeta).Get(keyPolicy)
	if v == nil {
		return core.Policy{}, core.ErrNotFound
	}
	return decodePolicy(v)
}

func (t readTx) User(id string) (core.User, error) {
	return get(t, bucketUsers, id, decodeUser)
}

func (t readTx) UserByEmail(email string) (core.User, error) {
	id := t.bucket(bucketUsersByEmail).Get([]byte(email))
	if id == nil {
		return core.User{}, core.ErrNotFound
	}
	return t.User(string(id))
}

func (t readTx) ForEachUser(fn func(core.User) error) error {
	c := t.bucket(bucketUsers).Cursor()
	release := t.db.releaseEvery(t.tx)
	for k, v := c.First(); k != nil; k, v = c.Next() {
		release.tick()
		u, err := decodeUser(v)
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// ScanUserIndex walks the users in the Users table's order (from the last
// when reverse) until fn returns false. A write transaction does not see
// its own name changes here: they are put when it ends.
func (t readTx) ScanUserIndex(reverse bool, fn func(core.UserIndexEntry) bool) error {
	c := t.bucket(bucketUsersByName).Cursor()
	step := c.Next
	k, v := c.First()
	if reverse {
		step = c.Prev
		k, v = c.Last()
	}
	var cur []byte
	decode := func() (core.User, error) { return decodeUser(cur) }
	release := t.db.releaseEvery(t.tx)
	for ; k != nil; k, v = step() {
		release.tick()
		id, org, err := userIDOrg(v)
		if err != nil {
			return fmt.Errorf("users_by_name %q: %w", k, err)
		}
		cur = v
		if !fn(core.UserIndexEntry{Key: k, ID: id, Org: org, User: decode}) {
			return nil
		}
	}
	return nil
}

// userIDOrg reads the ID and the org of an encoded user without decoding
// the rest (a directory build reads a million of them).
func userIDOrg(v []byte) (id, org []byte, err error) {
	if len(v) == 0 || v[0] == 0 || v[0] > userVersion {
		_, err := decodeUser(v) // says what is wrong with it
		return nil, nil, err
	}
	rest := v[1:]
	var fields [4][]byte // ID, email, name, org
	for i := range fields {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return nil, nil, fmt.Errorf("stored user is cut short")
		}
		fields[i], rest = rest[w:w+int(n)], rest[w+int(n):]
	}
	return fields[0], fields[3], nil
}

// ConsentUsers returns every user whose consent is set.
func (t readTx) ConsentUsers() ([]core.User, error) { return t.usersIn(bucketUsersConsent) }

// StaffUsers returns every user of a staff role, in ID order.
func (t readTx) StaffUsers() ([]core.User, error) { return t.usersIn(bucketUsersStaff) }

// usersIn reads the users an ID set bucket names.
func (t readTx) usersIn(bucket []byte) ([]core.User, error) {
	var out []core.User
	err := t.bucket(bucket).ForEach(func(k, _ []byte) error {
		u, err := t.User(string(k))
		if err != nil {
			return fmt.Errorf("%s index: user %s: %w", bucket, k, err)
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// setMember adds id to an ID set bucket, or takes it out.
func setMember(b *bolt.Bucket, id string, in bool) error {
	if in {
		return b.Put([]byte(id), empty)
	}
	return b.Delete([]byte(id))
}

func (t readTx) UserCount() (int, error) {
	v := t.bucket(bucketMeta).Get(keyUserCount)
	if len(v) != 8 {
		return 0, fmt.Errorf("meta %s is %d bytes long, want 8", keyUserCount, len(v))
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

func (t readTx) Key(fingerprint string) (core.Key, error) {
	return get(t, bucketKeys, fingerprint, decodeKey)
}

func (t readTx) Keys(userID string) ([]core.Key, error) {
	if userID == "" {
		return all(t, bucketKeys, decodeKey)
	}
	return indexed(t, bucketKeysByUser, userID, t.Key, "key")
}

// indexed looks up the records an index of composite keys lists under
// first (first|0x00|record key), in the index's order.
func indexed[T any](t readTx, index []byte, first string, get func(string) (T, error), what string) ([]T, error) {
	var out []T
	prefix := prefixKey(first)
	c := t.bucket(index).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		x, err := get(string(k[len(prefix):]))
		if err != nil {
			return nil, fmt.Errorf("%s index of %s: %w", what, first, err)
		}
		out = append(out, x)
	}
	return out, nil
}

func (t readTx) Request(id string) (core.Request, error) {
	return get(t, bucketRequests, id, decodeRequest)
}

func (t readTx) Requests(status core.RequestStatus, limit int) ([]core.Request, error) {
	var reqs []core.Request
	prefix := prefixKey(string(status))
	c := t.bucket(bucketRequestsByStatus).Cursor()
	for k, _ := seekBefore(c, prefixEnd(string(status))); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if limit > 0 && len(reqs) == limit {
			break
		}
		r, err := t.Request(string(k[len(prefix):]))
		if err != nil {
			return nil, fmt.Errorf("request status index: %w", err)
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

func (t readTx) Session(id string) (core.Session, error) {
	return get(t, bucketSessions, id, decodeSession)
}

func (t readTx) ActiveSessions() ([]core.Session, error) {
	var sessions []core.Session
	c := t.bucket(bucketSessionsActive).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		s, err := t.Session(string(k))
		if err != nil {
			return nil, fmt.Errorf("active session index: %w", err)
		}
		sessions = append(sessions, s)
	}
	return sessions, nil
}

func (t readTx) Sessions(target, before string, limit int) ([]core.Session, error) {
	var sessions []core.Session
	full := func() bool { return limit > 0 && len(sessions) == limit }
	if target == "" {
		c := t.bucket(bucketSessions).Cursor()
		var k, v []byte
		if before == "" {
			k, v = c.Last()
		} else {
			k, v = seekBefore(c, []byte(before))
		}
		for ; k != nil && !full(); k, v = c.Prev() {
			s, err := decodeSession(v)
			if err != nil {
				return nil, err
			}
			sessions = append(sessions, s)
		}
		return sessions, nil
	}
	prefix := prefixKey(target)
	start := prefixEnd(target)
	if before != "" {
		var err error
		if start, err = compositeKey(target, before); err != nil {
			return nil, err
		}
	}
	c := t.bucket(bucketSessionsByTarget).Cursor()
	for k, _ := seekBefore(c, start); k != nil && bytes.HasPrefix(k, prefix) && !full(); k, _ = c.Prev() {
		s, err := t.Session(string(k[len(prefix):]))
		if err != nil {
			return nil, fmt.Errorf("session target index: %w", err)
		}
		sessions = append(sessions, s)
	}
	return sessions, nil
}

// seekBefore puts c on the last key below key and returns it (nil if there
// is none): the start of a newest-first walk that excludes key itself.
func seekBefore(c *bolt.Cursor, key []byte) ([]byte, []byte) {
	if k, _ := c.Seek(key); k == nil {
		return c.Last()
	}
	return c.Prev()
}

func (t readTx) AuditHead() (uint64, [32]byte, error) {
	var hash [32]byte
	v := t.bucket(bucketMeta).Get(keyAuditHead)
	if v == nil {
		return 0, hash, nil
	}
	if len(v) != 8+32 {
		return 0, hash, fmt.Errorf("audit head is %d bytes long, want 40; the database is damaged", len(v))
	}
	copy(hash[:], v[8:])
	return binary.BigEndian.Uint64(v), hash, nil
}

func (t readTx) AuditRecord(seq uint64) ([]byte, error) {
	v := t.bucket(bucketAudit).Get(seqKey(seq))
	if v == nil {
		return nil, core.ErrNotFound
	}
	rec, _ := t.db.splitAudit(seq, v)
	return bytes.Clone(rec), nil
}

func (t readTx) ScanAudit(from uint64, reverse bool, fn func(seq uint64, rec []byte) bool) error {
	return t.walkAudit(from, reverse, func(seq uint64, rec, _ []byte) bool { return fn(seq, rec) })
}

// walkAudit is the one cursor walk of the audit bucket, for ScanAudit and
// ScanAuditWithTree: from seq from (inclusive; 0 = the start, or the end
// when reverse), each value split into its record and its tree hashes, the
// mapped pages handed back on long walks (releaseEvery), until fn returns
// false.
func (t readTx) walkAudit(from uint64, reverse bool, fn func(seq uint64, rec, tree []byte) bool) error {
	c := t.bucket(bucketAudit).Cursor()
	var k, v []byte
	switch {
	case from == 0 && !reverse:
		k, v = c.First()
	case from == 0:
		k, v = c.Last()
	case !reverse:
		k, v = c.Seek(seqKey(from))
	default:
		k, v = seekAtOrBefore(c, seqKey(from))
	}
	step := c.Next
	if reverse {
		step = c.Prev
	}
	release := t.db.releaseEvery(t.tx)
	for ; k != nil; k, v = step() {
		release.tick()
		if isGroupKey(k) {
			continue // outbox messages, not a record
		}
		if len(k) != 8 {
			return fmt.Errorf("audit key %x is not a seq; the database is damaged", k)
		}
		seq := binary.BigEndian.Uint64(k)
		rec, tree := t.db.splitAudit(seq, v)
		if !fn(seq, rec, tree) {
			return nil
		}
	}
	return nil
}

// seekAtOrBefore puts c on key or, if it is absent, the last key below it.
func seekAtOrBefore(c *bolt.Cursor, key []byte) ([]byte, []byte) {
	k, v := c.Seek(key)
	if k == nil {
		return c.Last()
	}
	if !bytes.Equal(k, key) {
		return c.Prev()
	}
	return k, v
}

func (t writeTx) NextID(kind string) (uint64, error) {
	name, ok := idBuckets[kind]
	if !ok && kind != "outbox" {
		return 0, fmt.Errorf("no ID sequence for %q", kind)
	}
	if kind == "outbox" {
		return t.nextMessage()
	}
	return t.bucket(name).NextSequence()
}

// errEmptyID refuses a record that could never be looked up again.
var errEmptyID = errors.New("record has no ID")

func (t writeTx) PutOrg(o core.Org) error {
	if o.ID == "" {
		return fmt.Errorf("put org: %w", errEmptyID)
	}
	orgs, byName := t.bucket(bucketOrgs), t.bucket(bucketOrgsByName)
	if old := orgs.Get([]byte(o.ID)); old != nil {
		prev, err := decodeOrg(old)
		if err != nil {
			return err
		}
		if prev.Name != o.Name {
			if err := deleteIfPointsTo(byName, prev.Name, o.ID); err != nil {
				return err
			}
		}
	}
	if o.Name != "" {
		if err := claim(byName, o.Name, o.ID, "org name"); err != nil {
			return err
		}
	}
	return orgs.Put([]byte(o.ID), encodeOrg(o))
}

func (t writeTx) PutPolicy(p core.Policy) error {
	return t.bucket(bucketMeta).Put(keyPolicy, encodePolicy(p))
}

func (t writeTx) PutUser(u core.User) error {
	if u.ID == "" {
		return fmt.Errorf("put user: %w", errEmptyID)
	}
	users, byEmail, byName := t.bucket(bucketUsers), t.bucket(bucketUsersByEmail), t.bucket(bucketUsersByName)
	key, value := userNameKey(u), userNameValue(u)
	nameChanged, prevMissing := true, true
	if old := users.Get([]byte(u.ID)); old != nil {
		prevMissing = false
		prev, err := decodeUser(old)
		if err != nil {
			return err
		}
		if prev.Email != u.Email {
			if err := deleteIfPointsTo(byEmail, prev.Email, u.ID); err != nil {
				return err
			}
		}
		prevKey := userNameKey(prev)
		if nameChanged = !bytes.Equal(prevKey, key) || !bytes.Equal(userNameValue(prev), value); nameChanged {
			if err := byName.Delete(prevKey); err != nil {
				return err
			}
		}
	} else if err := t.addUserCount(1); err != nil {
		return err
	}
	if u.Email != "" {
		if err := claim(byEmail, u.Email, u.ID, "email"); err != nil {
			return err
		}
	}
	if nameChanged {
		t.commit.names = append(t.commit.names, nameEntry{id: u.ID, key: key, value: value})
	}
	// A new user who is neither consenting nor staff has nothing to take
	// out of these sets (an import of a million members skips 2M seeks).
	if !prevMissing || !u.ConsentFrom.IsZero() || u.Role.IsStaff() {
		if err := setMember(t.bucket(bucketUsersConsent), u.ID, !u.ConsentFrom.IsZero()); err != nil {
			return err
		}
		if err := setMember(t.bucket(bucketUsersStaff), u.ID, u.Role.IsStaff()); err != nil {
			return err
		}
	}
	return users.Put([]byte(u.ID), encodeUser(u))
}

func (t writeTx) addUserCount(delta uint64) error {
	n, err := t.UserCount()
	if err != nil {
		return err
	}
	return t.bucket(bucketMeta).Put(keyUserCount, seqKey(uint64(n)+delta))
}

// claim points a unique index entry at id, refusing if another record holds
// it: core checks uniqueness first, this keeps a bug from silently
// re-pointing someone else's email.
func claim(index *bolt.Bucket, key, id, what string) error {
	if cur := index.Get([]byte(key)); cur != nil {
		if string(cur) == id {
			return nil
		}
		return &core.Error{Code: core.CodeConflict, Field: what,
			Message: fmt.Sprintf("%s %s already belongs to %s", what, key, cur)}
	}
	return index.Put([]byte(key), []byte(id))
}

// deleteIfPointsTo removes a unique index entry the record is leaving, but
// not one that already belongs to another record.
func deleteIfPointsTo(index *bolt.Bucket, key, id string) error {
	if key == "" {
		return nil
	}
	if cur := index.Get([]byte(key)); cur != nil && string(cur) == id {
		return index.Delete([]byte(key))
	}
	return nil
}

func (t writeTx) PutKey(k core.Key) error {
	if k.Fingerprint == "" {
		return fmt.Errorf("put key: %w", errEmptyID)
	}
	keys, byUser := t.bucket(bucketKeys), t.bucket(bucketKeysByUser)
	if old := keys.Get([]byte(k.Fingerprint)); old != nil {
		prev, err := decodeKey(old)
		if err != nil {
			return err
		}
		if prev.UserID != k.UserID {
			if err := deleteComposite(byUser, prev.UserID, prev.Fingerprint); err != nil {
				return err
			}
		}
	}
	ik, err := compositeKey(k.UserID, k.Fingerprint)
	if err != nil {
		return err
	}
	if err := byUser.Put(ik, empty); err != nil {
		return err
	}
	return keys.Put([]byte(k.Fingerprint), encodeKey(k))
}

func (t writeTx) DeleteKey(fingerprint string) error {
	keys := t.bucket(bucketKeys)
	old := keys.Get([]byte(fingerprint))
	if old == nil {
		return core.ErrNotFound
	}
	prev, err := decodeKey(old)
	if err != nil {
		return err
	}
	if err := deleteComposite(t.bucket(bucketKeysByUser), prev.UserID, fingerprint); err != nil {
		return err
	}
	return keys.Delete([]byte(fingerprint))
}

// deleteComposite removes first|0x00|second from index.
func deleteComposite(index *bolt.Bucket, first, second string) error {
	k, err := compositeKey(first, second)
	if err != nil {
		return err
	}
	return index.Delete(k)
}

func (t writeTx) PutRequest(r core.Request) error {
	if r.ID == "" {
		return fmt.Errorf("put request: %w", errEmptyID)
	}
	reqs, byStatus := t.bucket(bucketRequests), t.bucket(bucketRequestsByStatus)
	if old := reqs.Get([]byte(r.ID)); old != nil {
		prev, err := decodeRequest(old)
		if err != nil {
			return err
		}
		if prev.Status != r.Status {
			if err := deleteComposite(byStatus, string(prev.Status), r.ID); err != nil {
				return err
			}
		}
	}
	ik, err := compositeKey(string(r.Status), r.ID)
	if err != nil {
		return err
	}
	if err := byStatus.Put(ik, empty); err != nil {
		return err
	}
	return reqs.Put([]byte(r.ID), encodeRequest(r))
}

func (t writeTx) PutSession(s core.Session) error {
	if s.ID == "" {
		return fmt.Errorf("put session: %w", errEmptyID)
	}
	sessions, byTarget := t.bucket(bucketSessions), t.bucket(bucketSessionsByTarget)
	if old := sessions.Get([]byte(s.ID)); old != nil {
		prev, err := decodeSession(old)
		if err != nil {
			return err
		}
		if prev.Target != s.Target {
			if err := deleteComposite(byTarget, prev.Target, s.ID); err != nil {
				return err
			}
		}
	}
	ik, err := compositeKey(s.Target, s.ID)
	if err != nil {
		return err
	}
	if err := byTarget.Put(ik, empty); err != nil {
		return err
	}
	active := t.bucket(bucketSessionsActive)
	if s.Active() {
		err = active.Put([]byte(s.ID), empty)
	} else {
		err = active.Delete([]byte(s.ID))
	}
	if err != nil {
		return err
	}
	return sessions.Put([]byte(s.ID), encodeSession(s))
}

func (t writeTx) AppendAudit(rec core.AuditAppend) error {
	head, _, err := t.AuditHead()
	if err != nil {
		return err
	}
	if rec.Seq != head+1 {
		return fmt.Errorf("audit event %d does not follow the head %d", rec.Seq, head)
	}
	if len(rec.Record) == 0 {
		return fmt.Errorf("audit event %d has an empty record", rec.Seq)
	}
	keys := tailEntry{rec.Session, rec.Actor, rec.Subject}
	for _, key := range keys {
		if err := checkKeyPart(key); err != nil {
			return fmt.Errorf("audit event %d: %w", rec.Seq, err)
		}
	}
	// The tail is indexed from these keys while this process runs, and from
	// the records after a restart: both must say the same. (The string
	// conversions in the comparison do not allocate.)
	session, actor, subject, err := core.RecordRefs(rec.Record)
	if err != nil {
		return fmt.Errorf("audit event %d: %w", rec.Seq, err)
	}
	if string(session) != keys[0] || string(actor) != keys[1] || string(subject) != keys[2] {
		return fmt.Errorf("audit event %d: index keys %q differ from the record's %q", rec.Seq, keys, tailEntry{string(session), string(actor), string(subject)})
	}
	audit := t.bucket(bucketAudit)
	// Seqs only grow, so pages never receive inserts later: fill them.
	audit.FillPercent = 1.0
	// bbolt keeps the value slice until commit: the record is the store's
	// from here on (core.AuditAppend says so), so it is not copied, and its
	// spare capacity takes the tree hashes that follow it.
	value, err := t.withTree(rec.Seq, rec.Hash, rec.Record)
	if err != nil {
		return err
	}
	if err := audit.Put(seqKey(rec.Seq), value); err != nil {
		return err
	}
	t.commit.head, t.commit.headHash, t.commit.headKnown, t.commit.headDirty = rec.Seq, rec.Hash, true, true
	// Index entries are written later, many events at a time (auditindex.go).
	if len(t.commit.appended) == 0 {
		t.commit.firstSeq = rec.Seq
	}
	t.commit.appended = append(t.commit.appended, keys)
	return nil
}

func (t readTx) APIKey(name string) (core.APIKey, error) {
	return get(t, bucketAPIKeys, name, decodeAPIKey)
}

func (t readTx) APIKeys() ([]core.APIKey, error) { return all(t, bucketAPIKeys, decodeAPIKey) }

func (t readTx) Ticket(hash string) (core.Ticket, error) {
	return get(t, bucketTickets, hash, decodeTicket)
}

func (t readTx) TicketsOf(session string) ([]core.Ticket, error) {
	return indexed(t, bucketTicketsBySession, session, t.Ticket, "ticket")
}

func (t writeTx) PutAPIKey(k core.APIKey) error {
	if k.Name == "" {
		return fmt.Errorf("put API key: %w", errEmptyID)
	}
	return t.bucket(bucketAPIKeys).Put([]byte(k.Name), encodeAPIKey(k))
}

func (t writeTx) PutTicket(tk core.Ticket) error {
	if tk.Hash == "" || tk.Session == "" {
		return fmt.Errorf("put ticket: %w", errEmptyID)
	}
	ik, err := compositeKey(tk.Session, tk.Hash)
	if err != nil {
		return err
	}
	if err := t.bucket(bucketTicketsBySession).Put(ik, empty); err != nil {
		return err
	}
	return t.bucket(bucketTickets).Put([]byte(tk.Hash), encodeTicket(tk))
}

func (t readTx) Channel(id string) (core.Channel, error) {
	return get(t, bucketChannels, id, decodeJSON[core.Channel])
}

func (t readTx) Channels() ([]core.Channel, error) {
	return all(t, bucketChannels, decodeJSON[core.Channel])
}

func (t readTx) SMTP() (core.SMTPConfig, error) {
	v := t.bucket(bucketMeta).Get(keySMTP)
	if v == nil {
		return core.SMTPConfig{}, core.ErrNotFound
	}
	return decodeJSON[core.SMTPConfig](v)
}

func (t writeTx) PutChannel(ch core.Channel) error {
	if ch.ID == "" {
		return fmt.Errorf("put alert channel: %w", errEmptyID)
	}
	return putJSON(t.bucket(bucketChannels), []byte(ch.ID), ch)
}

func (t writeTx) DeleteChannel(id string) error {
	return t.bucket(bucketChannels).Delete([]byte(id))
}

func (t writeTx) PutSMTP(s core.SMTPConfig) error {
	return putJSON(t.bucket(bucketMeta), keySMTP, s)
}
