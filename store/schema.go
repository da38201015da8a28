package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/actas/actas/core"
)

// This file is the whole on-disk layout: every bucket, every well-known key
// and how composite keys are built. Fixed-width numbers are big-endian so a
// cursor walks them in numeric order; IDs are zero-padded ("usr_00000042"),
// so their bytes sort the same way.

// schemaVersion is the layout this code reads and writes. Raising it needs a
// migration appended to migrations. Every change of the layout raises it
// (a bucket or well-known key added, a key or value format changed), so that
// an older actas refuses a newer file instead of misreading it.
const schemaVersion = 11

var (
	// bucketMeta holds the well-known keys below.
	bucketMeta = []byte("meta")

	bucketOrgs       = []byte("orgs")         // org ID -> org
	bucketOrgsByName = []byte("orgs_by_name") // org name -> org ID

	bucketUsers        = []byte("users")          // user ID -> user
	bucketUsersByEmail = []byte("users_by_email") // email -> user ID
	// bucketUsersByName is the Users table's order on disk: lower-case
	// name|0x00|email -> the user, encoded as in bucketUsers (userNameKey,
	// userNameValue).
	// A console pages through it before its search index is built.
	bucketUsersByName = []byte("users_by_name")
	// bucketUsersConsent holds user ID -> empty for every user whose consent
	// is set, so open schedules consent expiries without walking all users.
	bucketUsersConsent = []byte("users_consent")
	// bucketUsersStaff holds user ID -> empty for every user of a staff
	// role (support and above: the only ones who can approve or own), so
	// routing and the owner checks find them without walking all users.
	bucketUsersStaff = []byte("users_staff")

	bucketKeys       = []byte("keys")         // fingerprint -> key
	bucketKeysByUser = []byte("keys_by_user") // user ID|0x00|fingerprint -> empty

	bucketRequests         = []byte("requests")           // request ID -> request
	bucketRequestsByStatus = []byte("requests_by_status") // status|0x00|request ID -> empty

	bucketSessions         = []byte("sessions")           // session ID -> session
	bucketSessionsActive   = []byte("sessions_active")    // session ID -> empty, iff active
	bucketSessionsByTarget = []byte("sessions_by_target") // target user ID|0x00|session ID -> empty

	// bucketAudit maps seq (8 bytes) to the record core encoded, followed
	// by the Merkle tree hashes that appending the event stored: tlog's
	// stored hashes of leaf seq-1 from level core.TreeStoredFrom up (schema
	// 8–10: from level 0, the leaf), 32 bytes each, lowest level first,
	// 32·core.TreeLevels(seq-1) bytes in all (tree.go). Keeping them in the
	// record's own value means an append writes no page the record does not.
	// Since version 10 it also holds the outbox messages of a commit, after
	// its last record, under 16-byte keys (outbox.go).
	bucketAudit = []byte("audit")
	// The audit indexes map key|0x00|first seq (8 bytes) -> a block of
	// postings. They are complete up to meta's audit_indexed seq
	// (auditindex.go). Files written before blocks held one key per event
	// with an empty value: a block of one seq, so they read as they are.
	bucketAuditBySession = []byte("audit_by_session")
	bucketAuditByActor   = []byte("audit_by_actor")
	bucketAuditBySubject = []byte("audit_by_subject")

	// bucketChannels maps alert channel ID -> channel (JSON, secret
	// included: the webhook secret must stay usable for signing).
	bucketChannels = []byte("alert_channels")
	// bucketOutbox maps message ID (msg_ + 12 digits, so in queue order)
	// -> message (binary codec): the notifications whose delivery failed,
	// waiting for their next try or failed for good. Those not tried yet
	// are in the audit bucket, grouped by commit (outbox.go).
	bucketOutbox = []byte("outbox")
	// bucketAuditTree held the tree hashes of schema 5, a bucket of their
	// own; schema 6 moved them into the audit values and dropped it.
	bucketAuditTree = []byte("audit_tree")
	// bucketCheckpoints maps a checkpoint's tree size (8 bytes) to the
	// signed checkpoint (encodeCheckpoint).
	bucketCheckpoints = []byte("audit_checkpoints")

	// Host products (schema version 6).
	bucketAPIKeys          = []byte("apikeys")            // key name -> API key (hash of the secret only)
	bucketTickets          = []byte("tickets")            // hex SHA-256 of a ticket -> ticket
	bucketTicketsBySession = []byte("tickets_by_session") // session ID|0x00|ticket hash -> empty
)

// allBuckets is every bucket of the current schema; Open checks they exist.
var allBuckets = [][]byte{
	bucketMeta,
	bucketOrgs, bucketOrgsByName,
	bucketUsers, bucketUsersByEmail, bucketUsersByName, bucketUsersConsent, bucketUsersStaff,
	bucketKeys, bucketKeysByUser,
	bucketRequests, bucketRequestsByStatus,
	bucketSessions, bucketSessionsActive, bucketSessionsByTarget,
	bucketAudit, bucketAuditBySession, bucketAuditByActor, bucketAuditBySubject,
	bucketChannels, bucketOutbox,
	bucketCheckpoints,
	bucketAPIKeys, bucketTickets, bucketTicketsBySession,
}

// Keys of the meta bucket.
var (
	// keySchemaVersion holds the schema version as 8 bytes; absent means 0.
	keySchemaVersion = []byte("schema_version")
	// keyAuditHead holds the last appended event's seq (8 bytes) and hash
	// (32 bytes); absent means an empty log.
	keyAuditHead = []byte("audit_head")
	// keyAuditIndexed holds the seq (8 bytes) up to which the audit index
	// buckets are complete; absent means 0. See auditindex.go.
	keyAuditIndexed = []byte("audit_indexed")
	// keyPolicy holds the encoded core.Policy; absent before init.
	keyPolicy = []byte("policy")
	// keyUserCount holds the number of users (8 bytes), so counting a
	// million users does not walk them.
	keyUserCount = []byte("user_count")
	// keySMTP holds the mail server setting (JSON, password included);
	// absent until actas smtp set.
	keySMTP = []byte("smtp")
	// keyOutboxSeq holds the number (8 bytes) of the last outbox message;
	// absent means none yet. keyOutboxFrom: outbox.go.
	keyOutboxSeq = []byte("outbox_seq")
)

// auditIndexBuckets maps the index names of core.ReadTx.ScanAuditIndex to
// their buckets.
var auditIndexBuckets = map[string][]byte{
	"session": bucketAuditBySession,
	"actor":   bucketAuditByActor,
	"subject": bucketAuditBySubject,
}

// idBuckets maps the entity kinds of core.Tx.NextID to the bucket whose
// sequence numbers them.
var idBuckets = map[string][]byte{
	"org":     bucketOrgs,
	"user":    bucketUsers,
	"request": bucketRequests,
	"session": bucketSessions,
	"channel": bucketChannels,
	// "outbox" counts in meta (outbox_seq), not in a bucket's sequence:
	// the bucket's root would be written by every commit that queues.
}

// keySep ends the first part of a composite key. IDs, statuses and index keys
// never contain it, and it sorts below every byte that can follow, so all
// keys of one prefix are contiguous.
const keySep = 0x00

// errKeyHasSep refuses a key part that would make composite keys ambiguous.
var errKeyHasSep = errors.New("key contains a NUL byte")

// checkKeyPart refuses a first part of a composite key that holds keySep.
func checkKeyPart(first string) error {
	if strings.IndexByte(first, keySep) >= 0 {
		return fmt.Errorf("%w: %q", errKeyHasSep, first)
	}
	return nil
}

// compositeKey returns first|0x00|second.
func compositeKey(first, second string) ([]byte, error) {
	if err := checkKeyPart(first); err != nil {
		return nil, err
	}
	k := make([]byte, 0, len(first)+1+len(second))
	k = append(k, first...)
	k = append(k, keySep)
	return append(k, second...), nil
}

// prefixKey returns first|0x00, the prefix of every composite key under first.
func prefixKey(first string) []byte {
	k := make([]byte, 0, len(first)+1)
	k = append(k, first...)
	return append(k, keySep)
}

// prefixEnd returns the smallest key above every key with prefix first|0x00:
// first|0x01. A reverse walk seeks it and steps back.
func prefixEnd(first string) []byte {
	k := make([]byte, 0, len(first)+1)
	k = append(k, first...)
	return append(k, keySep+1)
}

// userNameKey is a user's key in bucketUsersByName: the Users table's
// order (lower-case name, then email; emails are unique, so keys are too).
func userNameKey(u core.User) []byte {
	k := make([]byte, 0, len(u.Name)+1+len(u.Email))
	k = append(k, strings.ToLower(u.Name)...)
	k = append(k, keySep)
	return append(k, u.Email...)
}

// userNameValue is what bucketUsersByName holds for a user: the whole
// record, as the users bucket has it, so lists in name order read one
// bucket in order instead of looking every user up by ID.
func userNameValue(u core.User) []byte { return encodeUser(u) }

// seqKey returns seq as 8 big-endian bytes.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// auditIndexKey returns key|0x00|seq.
func auditIndexKey(key string, seq uint64) ([]byte, error) {
	if err := checkKeyPart(key); err != nil {
		return nil, err
	}
	k := make([]byte, 0, len(key)+1+8)
	k = append(k, key...)
	k = append(k, keySep)
	return binary.BigEndian.AppendUint64(k, seq), nil
}

// migration brings a file from schema version to-1 up to version to. All
// pending migrations run in the transaction that opens the file, so a file
// is either fully migrated or left as it was.
type migration struct {
	to    uint64
	what  string
	apply func(tx *bolt.Tx) error
}

// migrations is ordered by to, starting at 1. Version 0 is a file written
// before the schema had a version: no version key, possibly some buckets.
var migrations = []migration{
	{to: 1, what: "create the buckets of the first layout", apply: migrateToV1},
	{to: 2, what: "audit indexes as blocks of postings written behind the log", apply: migrateToV2},
	{to: 3, what: "alert channels and the notification outbox; policy alert_channels becomes alerting and environment", apply: migrateToV3},
	{to: 4, what: "index users by consent and by staff role", apply: migrateToV4},
	{to: 5, what: "buckets for the audit log's Merkle tree and checkpoints", apply: migrateToV5},
	{to: 6, what: "API keys and tickets for host products", apply: migrateToV6},
	{to: 7, what: "index users by name, with their records", apply: migrateToV7},
	{to: 8, what: "build the audit log's Merkle tree, kept after each record", apply: migrateToV8},
	// Nothing to rewrite: a version-8 outbox is a version-9 outbox without
	// groups. The version says that older code cannot read this one.
	{to: 9, what: "outbox keys may hold the messages of one commit as a group", apply: func(*bolt.Tx) error { return nil }},
	{to: 10, what: "a commit's messages kept as a group after its last audit record; the message counter in meta", apply: migrateToV10},
	{to: 11, what: "keep the audit log's tree hashes from level 4 up only", apply: migrateToV11},
}

// createBuckets creates the buckets a migration adds, keeping any the file
// already has.
func createBuckets(tx *bolt.Tx, names ...[]byte) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrateToV3 adds the alert buckets and rewrites the policy in its new
// encoding: the old alert_channels list (names nothing could deliver to) is
// dropped, and alerting starts on, as in a new database (decodePolicy).
func migrateToV3(tx *bolt.Tx) error {
	if err := createBuckets(tx, bucketChannels, bucketOutbox); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	v := meta.Get(keyPolicy)
	if v == nil {
		return nil
	}
	p, err := decodePolicy(v)
	if err != nil {
		return err
	}
	return meta.Put(keyPolicy, encodePolicy(p))
}

// migrateToV6 adds the buckets of the HTTP API for host products. A policy
// stored before it lacks product_url and issuer (policy encoding 3);
// decodePolicy reads them as unset.
func migrateToV6(tx *bolt.Tx) error {
	return createBuckets(tx, bucketAPIKeys, bucketTickets, bucketTicketsBySession)
}

func migrateToV1(tx *bolt.Tx) error {
	err := createBuckets(tx,
		bucketMeta,
		bucketOrgs, bucketOrgsByName,
		bucketUsers, bucketUsersByEmail,
		bucketKeys, bucketKeysByUser,
		bucketRequests, bucketRequestsByStatus,
		bucketSessions, bucketSessionsActive, bucketSessionsByTarget,
		bucketAudit, bucketAuditBySession, bucketAuditByActor, bucketAuditBySubject,
	)
	if err != nil {
		return err
	}
	// Users a version-0 file already holds must be counted once here; from
	// now on PutUser keeps the count.
	n := tx.Bucket(bucketUsers).Stats().KeyN
	return tx.Bucket(bucketMeta).Put(keyUserCount, seqKey(uint64(n)))
}

// migrateToV2 drops the audit indexes of a version-1 file. Version 1 was
// written with three index layouts in turn (one key per event in the append
// transaction; then behind the log up to meta's audit_indexed; then blocks
// of postings), none of which the file says, so the indexes are rebuilt from
// the records, which are the source of truth: with audit_indexed gone, Open
// indexes every event again (loadAuditTail, then a flush).
func migrateToV2(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketAuditBySession, bucketAuditByActor, bucketAuditBySubject} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("drop bucket %s: %w", name, err)
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return tx.Bucket(bucketMeta).Delete(keyAuditIndexed)
}

// migrateToV4 builds the consent and staff indexes of the users there
// are. (Schema 4 also made the name index, which migrateToV7 makes again
// and fills; every file that reaches 4 goes on to 7 in the same
// transaction.)
func migrateToV4(tx *bolt.Tx) error {
	consent, err := tx.CreateBucketIfNotExists(bucketUsersConsent)
	if err != nil {
		return err
	}
	staff, err := tx.CreateBucketIfNotExists(bucketUsersStaff)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
		u, err := decodeUser(v)
		if err != nil {
			return err
		}
		if err := setMember(staff, u.ID, u.Role.IsStaff()); err != nil {
			return err
		}
		return setMember(consent, u.ID, !u.ConsentFrom.IsZero())
	})
}

// migrateToV7 (re)builds the name index with whole user records (versions
// 4 to 6 held ID, org and role). The keys are put in order: bolt splits nodes
// only at commit, so a million keys put in random order into one
// transaction take minutes.
func migrateToV7(tx *bolt.Tx) error {
	if err := tx.DeleteBucket(bucketUsersByName); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
		return err
	}
	byName, err := tx.CreateBucket(bucketUsersByName)
	if err != nil {
		return err
	}
	var names []nameEntry
	err = tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
		u, err := decodeUser(v)
		if err != nil {
			return err
		}
		names = append(names, nameEntry{id: u.ID, key: userNameKey(u), value: userNameValue(u)})
		return nil
	})
	if err != nil {
		return err
	}
	return putNames(byName, names)
}

// migrateToV5 added the audit Merkle tree in a bucket of its own and a
// bucket for checkpoints. Schema 8 keeps the tree in the audit values and
// builds it from the events itself, and every file that reaches 5 goes on
// to 8 in the same transaction, so this only makes the buckets.
func migrateToV5(tx *bolt.Tx) error {
	return createBuckets(tx, bucketAuditTree, bucketCheckpoints)
}

// migrateToV8 builds the Merkle tree over the events in the log and puts
// each event's tree hashes after its record, then drops the schema-5 tree
// bucket. The tree covers the events from seq 1 as long as they follow each
// other; after a gap or a record too short to hold a hash it stops, and
// audit verify reports the damage there.
func migrateToV8(tx *bolt.Tx) error {
	if tx.Bucket(bucketAuditTree) != nil {
		if err := tx.DeleteBucket(bucketAuditTree); err != nil {
			return err
		}
	}
	var f core.TreeFrontier
	return rewriteAudit(tx, func(seq uint64, v []byte) ([]byte, bool) {
		if seq != f.Size()+1 || len(v) < 32 {
			return nil, false
		}
		value := make([]byte, len(v), len(v)+v8Suffix(seq))
		copy(value, v)
		return f.AppendFrom([32]byte(v[:32]), value, 0), true
	})
}

// rewriteAudit puts the value fn gives for each record of the audit log
// (outbox groups are left alone), in seq order, until fn returns false.
// A cursor is not to be trusted across puts that change values (pages
// split), so the values are read in chunks, then written, and the cursor
// is placed again.
func rewriteAudit(tx *bolt.Tx, fn func(seq uint64, v []byte) ([]byte, bool)) error {
	audit := tx.Bucket(bucketAudit)
	audit.FillPercent = 1.0
	type entry struct{ key, value []byte }
	chunk := make([]entry, 0, 4096)
	from := seqKey(1)
	for {
		chunk = chunk[:0]
		c := audit.Cursor()
		k, v := c.Seek(from)
		for ; k != nil && len(chunk) < cap(chunk); k, v = c.Next() {
			if len(k) != 8 {
				continue // an outbox group (schema 10)
			}
			value, more := fn(binary.BigEndian.Uint64(k), v)
			if !more {
				k = nil
				break
			}
			chunk = append(chunk, entry{bytes.Clone(k), value})
		}
		for _, e := range chunk {
			if err := audit.Put(e.key, e.value); err != nil {
				return err
			}
		}
		if k == nil {
			return nil
		}
		from = bytes.Clone(k)
	}
}

// ErrSchemaTooNew refuses a file written by a newer actas: this one would
// not know how to keep its newer indexes right.
var ErrSchemaTooNew = errors.New("database was written by a newer version of actas")

// tooNew refuses a file of a schema version above this code's, for
// readers (checkSchema) and writers (migrate) alike.
func tooNew(path string, version uint64) error {
	return fmt.Errorf("%w: %s has schema version %d, this actas understands up to %d; upgrade actas to open it",
		ErrSchemaTooNew, path, version, schemaVersion)
}

// checkSchema accepts a file for reading as it is: at this version, with
// every bucket. A reader never migrates; an older file is upgraded by the
// next command that writes.
func checkSchema(tx *bolt.Tx, path string) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("database %s is not initialised — run actas init (or actas demo)", path)
	}
	var version uint64
	if v := meta.Get(keySchemaVersion); len(v) == 8 {
		version = binary.BigEndian.Uint64(v)
	} else if v != nil {
		return &damagedError{path: path, what: fmt.Sprintf("schema version is %d bytes long, want 8", len(v))}
	}
	switch {
	case version > schemaVersion:
		return tooNew(path, version)
	case version < schemaVersion:
		return fmt.Errorf("database %s has schema version %d and must be upgraded to %d before it can be read: run any command that changes it (e.g. actas policy set) with write access", path, version, schemaVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return &damagedError{path: path, what: fmt.Sprintf("bucket %s is missing", name)}
		}
	}
	return nil
}

// migrate creates or upgrades the layout inside tx and reports the version
// the file had before.
func migrate(tx *bolt.Tx, path string) (from uint64, err error) {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return 0, err
	}
	if v := meta.Get(keySchemaVersion); v != nil {
		if len(v) != 8 {
			return 0, fmt.Errorf("database %s: schema version is %d bytes long, want 8; the file is damaged", path, len(v))
		}
		from = binary.BigEndian.Uint64(v)
	}
	if from > schemaVersion {
		return from, tooNew(path, from)
	}
	version := from
	for _, m := range migrations {
		if m.to <= version {
			continue
		}
		if err := m.apply(tx); err != nil {
			return from, fmt.Errorf("database %s: migrate to schema version %d (%s): %w", path, m.to, m.what, err)
		}
		version = m.to
	}
	if version != from {
		if err := tx.Bucket(bucketMeta).Put(keySchemaVersion, seqKey(version)); err != nil {
			return from, err
		}
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return from, fmt.Errorf("database %s: bucket %s is missing at schema version %d; the file is damaged", path, name, version)
		}
	}
	return from, nil
}

// v8Suffix is how many bytes of tree hashes schemas 8–10 kept after the
// record of seq: all of tlog's stored hashes of its leaf.
func v8Suffix(seq uint64) int { return 32 * (1 + bits.TrailingZeros64(^(seq - 1))) }

// migrateToV11 drops the tree hashes below core.TreeStoredFrom from every
// audit value (a value too short to hold them is left as it is, for audit
// verify to report).
func migrateToV11(tx *bolt.Tx) error {
	drop := 32 * core.TreeStoredFrom
	return rewriteAudit(tx, func(seq uint64, v []byte) ([]byte, bool) {
		n := v8Suffix(seq)
		if len(v) < n+32 {
			return v, true
		}
		rec, tree := v[:len(v)-n], v[len(v)-n:]
		value := make([]byte, 0, len(rec)+max(len(tree)-drop, 0))
		return append(append(value, rec...), tree[min(drop, len(tree)):]...), true
	})
}
