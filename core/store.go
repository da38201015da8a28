package core

import "golang.org/x/mod/sumdb/tlog"

// Store is the persistence core needs. store/ implements it on bbolt.
//
// Every change goes through Update, and every audit event is appended in the
// same transaction as the change it records, so a failed append means the
// change did not happen either (fail closed).
type Store interface {
	// Update runs fn in one durable write transaction: when Update returns
	// nil, the writes are on disk. Implementations may group the fns of
	// concurrent callers into one commit; a fn may then run more than once
	// and must not have effects outside tx.
	Update(fn func(tx Tx) error) error
	// View runs fn in a read-only snapshot.
	View(fn func(tx ReadTx) error) error
	Close() error
}

// ReadTx reads one consistent snapshot. Lookups of a missing record return
// ErrNotFound. Values returned are copies that outlive the transaction,
// except where a method says otherwise.
type ReadTx interface {
	Org(id string) (Org, error)
	OrgByName(name string) (Org, error)
	Orgs() ([]Org, error)

	Policy() (Policy, error) // ErrNotFound before init

	User(id string) (User, error)
	UserByEmail(email string) (User, error)
	// ForEachUser calls fn for every user in ID order until fn returns an error.
	ForEachUser(fn func(User) error) error
	UserCount() (int, error)
	// ScanUserIndex walks users in the Users table's order (lower-case
	// name, then email; from the last when reverse) until fn returns
	// false. The entry's slices are valid only during fn. A write
	// transaction need not see its own changes here.
	ScanUserIndex(reverse bool, fn func(UserIndexEntry) bool) error
	// ConsentUsers returns every user whose consent is set.
	ConsentUsers() ([]User, error)
	// StaffUsers returns every user of a staff role (support and above).
	StaffUsers() ([]User, error)

	Key(fingerprint string) (Key, error)
	Keys(userID string) ([]Key, error) // userID "" = all keys
	Request(id string) (Request, error)
	// Requests lists requests with the status, newest first, at most limit (0 = all).
	Requests(status RequestStatus, limit int) ([]Request, error)

	Session(id string) (Session, error)
	ActiveSessions() ([]Session, error)
	// Sessions lists sessions newest first, starting below the ID before
	// ("" = from the newest), at most limit. target != "" keeps only the
	// sessions on that user.
	Sessions(target, before string, limit int) ([]Session, error)

	// APIKey looks a key up by name; APIKeys lists them all by name.
	APIKey(name string) (APIKey, error)
	APIKeys() ([]APIKey, error)
	// Ticket looks a ticket up by its hash; TicketsOf lists a session's.
	Ticket(hash string) (Ticket, error)
	TicketsOf(session string) ([]Ticket, error)

	// AuditHead is the last appended event's seq and hash (0 and zero hash
	// for an empty log).
	AuditHead() (seq uint64, hash [32]byte, err error)
	// AuditRecord is the stored record of one event.
	AuditRecord(seq uint64) ([]byte, error)
	// ScanAudit walks records from seq from (inclusive; 0 = the start, or the
	// end when reverse) until fn returns false. rec is valid only during fn.
	ScanAudit(from uint64, reverse bool, fn func(seq uint64, rec []byte) bool) error
	// ScanAuditIndex walks the seqs of the events indexed under (index, key),
	// index being "session", "actor" or "subject", like ScanAudit.
	ScanAuditIndex(index, key string, from uint64, reverse bool, fn func(seq uint64) bool) error

	// AuditTree reads stored hashes of the log's Merkle tree by tlog's
	// stored hash index (see merkle.go): a tlog.HashReader. A hash the
	// tree does not hold yet is an error.
	AuditTree(indexes []int64) ([]tlog.Hash, error)
	// ScanAuditWithTree walks records from seq from (inclusive; 0 = the
	// start) with the tree hashes their append stored (nil if none), until
	// fn returns false. rec and tree are valid only during fn.
	ScanAuditWithTree(from uint64, fn func(seq uint64, rec, tree []byte) bool) error
	// LatestCheckpoint is the newest checkpoint kept, or ErrNotFound.
	LatestCheckpoint() (Checkpoint, error)
	Channel(id string) (Channel, error)
	Channels() ([]Channel, error) // in ID order
	SMTP() (SMTPConfig, error)    // ErrNotFound until set
	OutboxMessage(id string) (OutboxMessage, error)
	// ScanOutbox walks the undelivered messages, pending and failed, in
	// the order they were queued, until fn returns false.
	ScanOutbox(fn func(OutboxMessage) bool) error
}

// Tx is a write transaction.
type Tx interface {
	ReadTx
	// NextID returns the next number for an entity kind ("user", "org",
	// "request", "session"); numbers start at 1 and never repeat.
	NextID(kind string) (uint64, error)
	PutOrg(Org) error
	PutPolicy(Policy) error
	// PutUser stores the user and keeps the email index right.
	PutUser(User) error
	PutKey(Key) error
	DeleteKey(fingerprint string) error
	// PutRequest stores the request and keeps the status index right.
	PutRequest(Request) error
	// PutSession stores the session and keeps the active and by-target
	// indexes right.
	PutSession(Session) error
	PutAPIKey(APIKey) error
	// PutTicket stores the ticket and indexes it under its session.
	PutTicket(Ticket) error
	// AppendAudit stores the record under rec.Seq, which must be the head's
	// seq + 1, indexes it and moves the head to (rec.Seq, rec.Hash).
	// It also extends the log's Merkle tree in the same transaction.
	AppendAudit(rec AuditAppend) error
	// PutCheckpoint keeps a signed checkpoint (by its size; one of the
	// same size is replaced).
	PutCheckpoint(Checkpoint) error
	PutChannel(Channel) error
	DeleteChannel(id string) error
	PutSMTP(SMTPConfig) error
	// PutOutbox stores a message under its ID (NextID("outbox") numbers them).
	PutOutbox(OutboxMessage) error
	DeleteOutbox(id string) error
}

// UserIndexEntry is one user in the Users table's order: Key is the
// lower-case name, a NUL and the email. User decodes the whole user, which
// the index holds too.
type UserIndexEntry struct {
	Key, ID, Org []byte
	User         func() (User, error)
}

// AuditAppend is one encoded event with what the store indexes it by.
type AuditAppend struct {
	Seq     uint64
	Hash    [32]byte
	Record  []byte // EncodeEvent output; the store keeps it until commit, so it must not change after the call
	Session string // index keys; "" = not indexed there
	Actor   string
	Subject string
}
