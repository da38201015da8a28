// Package store keeps actas's data in one bbolt file and implements
// core.Store on it. schema.go names every bucket and key; this file opens the
// file and runs writes through a group committer, so concurrent callers
// share one fsync'd commit.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/actas/actas/core"
)

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file before giving up with ErrInUse; 0 means 2 s.
	LockTimeout time.Duration
	// ReadOnly opens the file for reading only (a shared lock, O_RDONLY),
	// so a copy on read-only media can be read and nothing is ever
	// written: no migration, no index flush, and Update fails with
	// ErrReadOnly.
	ReadOnly bool
}

const defaultLockTimeout = 2 * time.Second

// flushEvery is how many appended events wait for their index entries.
// Flushing costs about one page per distinct key, however many events share
// it, so the larger the batch the cheaper each event; it also delays the
// callers queued behind the flush, and with 64 writers a flush every 16,384
// events touches well under 1% of calls. The tail costs a few MB of memory.
const flushEvery = 16384

// idleFlush is how long the committer waits for more work before flushing a
// tail that is not yet flushEvery long, so that on a normal day the indexes
// are complete and the tail is empty.
const idleFlush = 100 * time.Millisecond

// maxBatch caps how many update functions share one commit, so one commit
// (and the latency of everyone in it) stays bounded under a flood.
const maxBatch = 1000

// maxLinger bounds how long a batch waits for the callers of the last
// batch to come back. A lone writer never waits: its last batch was one.
const maxLinger = 250 * time.Microsecond

var (
	// ErrInUse means another process holds the database file open.
	ErrInUse = errors.New("database is in use by another actas process")
	// ErrClosed is returned by Update and View after Close.
	ErrClosed = errors.New("database is closed")
	// ErrReadOnly is returned by Update on a database opened ReadOnly.
	ErrReadOnly = errors.New("database is open read-only")
	// ErrDamaged means the file's pages do not hold what bbolt expects:
	// bbolt panicked reading them, or a record or bucket is malformed.
	ErrDamaged = errors.New("database damaged")
)

// damagedError says what in the file is damaged; it matches ErrDamaged.
type damagedError struct {
	path string
	what any
}

func (e *damagedError) Error() string {
	return fmt.Sprintf("database damaged: %s: %v (restore it from a backup; audit verify names what it can still read)", e.path, e.what)
}

func (e *damagedError) Unwrap() error { return ErrDamaged }

// recoverDamage turns a panic of bbolt's page reading into a damagedError
// in *err. bbolt trusts the file's page headers and panics on ones that
// lie (slice bounds, a freelist or branch page of the wrong type); with
// debug.SetPanicOnFault a read past the end of a file cut short panics too.
func recoverDamage(path string, err *error) {
	if r := recover(); r != nil {
		*err = &damagedError{path: path, what: r}
	}
}

// inUseError names the file that is locked; it matches ErrInUse.
type inUseError struct{ path string }

func (e *inUseError) Error() string {
	return fmt.Sprintf("database %s is in use by another actas process; stop that process or use another data directory", e.path)
}

func (e *inUseError) Unwrap() error { return ErrInUse }

// PanicError is what Update returns when the update function panicked. The
// panic is confined to its caller: other callers batched into the same
// commit are retried without it.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("store: update function panicked: %v", e.Value)
}

// DB is the bbolt-backed core.Store.
type DB struct {
	bolt     *bolt.DB
	path     string
	readOnly bool
	// scanned counts records read by long scans, for releaseEvery.
	scanned atomic.Uint64

	// mu orders Update's enqueue against Close's closing of the queue.
	mu        sync.RWMutex
	closed    atomic.Bool
	queue     chan *pendingUpdate
	committed chan struct{} // closed when the committer has drained the queue

	// tail indexes the audit events not yet in the index buckets.
	tail auditTail
	// attempt is the committer's, reused for every commit.
	attempt commitAttempt
	// indexedTo is meta's audit_indexed as the committer last wrote it.
	indexedTo uint64
	// tree is the audit Merkle tree's frontier at the committed head; only
	// the committer (or open, before it starts) touches it. treeErr is set
	// when the stored tree does not reach the head, and fails appends.
	tree    core.TreeFrontier
	treeErr error
	// noTree skips the tree on append, for the benchmark that measures
	// what it costs; the values then hold records alone, which nothing but
	// that benchmark may write.
	noTree bool
	// flushEvery and idleFlush are the constants of the same name, but
	// tests change them.
	flushEvery uint64
	idleFlush  time.Duration
}

var _ core.Store = (*DB)(nil)

// Open opens or creates the database file at path, creating its directory
// if needed, and migrates an older file to the current schema in one
// transaction. If another process has the file open, Open fails after
// opts.LockTimeout with an error matching ErrInUse.
func Open(path string, opts Options) (*DB, error) {
	return open(path, opts, flushEvery, idleFlush)
}

func open(path string, opts Options, flushEvery uint64, idleFlush time.Duration) (db *DB, err error) {
	// A file cut short leaves pages that the memory map cannot back: reading
	// them faults (SIGBUS), which kills the process unless this goroutine
	// turns faults into panics, recovered below as damage.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	var bdb *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			if bdb != nil {
				_ = bdb.Close()
			}
			db, err = nil, &damagedError{path: path, what: r}
		}
	}()
	bdb, err = bolt.Open(path, 0o600, boltOptions(opts))
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &inUseError{path: path}
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		return nil, &damagedError{path: path, what: err}
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if opts.ReadOnly {
		err = bdb.View(func(tx *bolt.Tx) error { return checkSchema(tx, path) })
	} else {
		err = bdb.Update(func(tx *bolt.Tx) error {
			_, err := migrate(tx, path)
			return err
		})
	}
	if err != nil {
		bdb.Close()
		return nil, err
	}
	db = &DB{
		bolt:       bdb,
		path:       path,
		readOnly:   opts.ReadOnly,
		queue:      make(chan *pendingUpdate, maxBatch),
		committed:  make(chan struct{}),
		flushEvery: flushEvery,
		idleFlush:  idleFlush,
	}
	if err := db.loadAuditTail(); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if opts.ReadOnly {
		close(db.committed)
		return db, nil
	}
	if err := db.loadTree(); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if db.unindexed() >= db.flushEvery {
		if err := db.flushAuditIndex(); err != nil {
			bdb.Close()
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
	}
	go db.commitLoop()
	return db, nil
}

// boltOptions are the options every open uses. Durability rests on them:
// NoSync must stay false, so that a commit is on disk when Update returns
// (store/sync_test.go holds them to that).
func boltOptions(opts Options) *bolt.Options {
	return &bolt.Options{
		ReadOnly: opts.ReadOnly,
		Timeout:  opts.LockTimeout,
		// The hashmap freelist stays fast when a big file has many free
		// pages; the array one scans them on every allocation.
		FreelistType: bolt.FreelistMapType,
		// The freelist is written with every commit (one more page in the
		// same write, no more syncs), so that Open reads it instead of
		// walking every page of the file to rebuild it: 2.7 s and the
		// whole file resident at a million users, before a console's
		// first frame. A file written without it is walked once.
		NoFreelistSync: false,
		// Mapping 1 GiB of address space up front (not memory) means the
		// file grows without remapping until then, and a remap waits for
		// every open read transaction: a long audit export would
		// otherwise stall the appends behind it.
		InitialMmapSize: 1 << 30,
	}
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close waits for updates already queued to commit, then closes the file.
// Later calls to Update and View return ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed.Load() {
		db.mu.Unlock()
		return nil
	}
	db.closed.Store(true)
	close(db.queue)
	db.mu.Unlock()
	<-db.committed
	return db.bolt.Close()
}

// View runs fn in a read-only snapshot.
// A page that bbolt cannot read is reported as ErrDamaged, not a panic.
func (db *DB) View(fn func(core.ReadTx) error) (err error) {
	if db.closed.Load() {
		return ErrClosed
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverDamage(db.path, &err)
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(readTx{btx, db}) })
}

// pendingUpdate is one Update call waiting for the committer.
type pendingUpdate struct {
	fn   func(core.Tx) error
	done chan error
}

var pendingPool = sync.Pool{New: func() any { return &pendingUpdate{done: make(chan error, 1)} }}

// Update runs fn in a durable write transaction, possibly together with the
// functions of concurrent callers in one commit. When it returns nil, fn's
// writes are on disk. fn may run more than once (when another function in its
// batch fails, the rest are retried without it), so it must have no effects
// outside tx. fn must not call Update or View itself.
func (db *DB) Update(fn func(core.Tx) error) error {
	if db.readOnly {
		return ErrReadOnly
	}
	p := pendingPool.Get().(*pendingUpdate)
	p.fn = fn
	db.mu.RLock()
	if db.closed.Load() {
		db.mu.RUnlock()
		pendingPool.Put(p)
		return ErrClosed
	}
	db.queue <- p
	db.mu.RUnlock()
	err := <-p.done
	p.fn = nil
	pendingPool.Put(p)
	return err
}

// commitLoop is the group committer. It blocks for the first pending update,
// takes every other one already waiting (no waiting window: a lone writer is
// committed at once), and commits them together. Callers that arrive during
// a commit queue up and form the next batch, so the batch size follows the
// load and one fsync serves many callers. Between batches it flushes the
// audit indexes when enough events wait for them or when it has been idle.
func (db *DB) commitLoop() {
	defer close(db.committed)
	// A flush that fails leaves the tail in memory, where readers still
	// find it; the next flush retries.
	defer db.flushAuditIndex()
	idle := time.NewTimer(db.idleFlush)
	idle.Stop()
	batch := make([]*pendingUpdate, 0, maxBatch)
	linger := time.NewTimer(maxLinger)
	linger.Stop()
	last := 1 // callers in the last batch
	for {
		var first *pendingUpdate
		var open bool
		if db.unindexed() == 0 {
			first, open = <-db.queue
		} else {
			idle.Reset(db.idleFlush)
			select {
			case first, open = <-db.queue:
				idle.Stop()
			case <-idle.C:
				db.flushAuditIndex()
				continue
			}
		}
		if !open {
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case p, ok := <-db.queue:
				if !ok {
					break fill
				}
				batch = append(batch, p)
				continue
			default:
			}
			if len(batch) >= last {
				break
			}
			// The callers answered together last time come back together:
			// wait a moment for them rather than commit the first alone and
			// make the rest wait a whole commit behind it.
			linger.Reset(maxLinger)
			select {
			case p, ok := <-db.queue:
				linger.Stop()
				if !ok {
					break fill
				}
				batch = append(batch, p)
			case <-linger.C:
				break fill
			}
		}
		last = len(batch)
		db.commitBatch(batch)
		if db.unindexed() >= db.flushEvery {
			db.flushAuditIndex()
		}
	}
}

// unindexed is how many appended events are not in the index buckets yet.
func (db *DB) unindexed() uint64 {
	top := db.tail.top()
	if top < db.indexedTo { // a damaged file whose head is below the watermark
		return 0
	}
	return top - db.indexedTo
}

// commitIn runs fns in one bolt transaction: all commit, or none when one
// fails (failed is its index, failErr its error). A committed attempt's
// audit events join the tail.
func (db *DB) commitIn(fns []*pendingUpdate) (failed int, failErr, err error) {
	attempt := &db.attempt
	attempt.reset()
	failed = -1
	err = db.bolt.Update(func(btx *bolt.Tx) error {
		tx := writeTx{readTx{btx, db}, attempt}
		for i, p := range fns {
			if err := runUpdate(p.fn, tx); err != nil {
				failed, failErr = i, err
				return errBatchFailed
			}
		}
		return tx.finish()
	})
	if failed >= 0 {
		return failed, failErr, nil
	}
	if err == nil {
		db.tail.add(attempt.firstSeq, attempt.appended)
		if attempt.treeKnown {
			db.tree = attempt.tree
		}
	}
	return -1, nil, err
}

// errBatchFailed makes bolt roll back a batch in which one function failed.
var errBatchFailed = errors.New("store: a function of the batch failed")

// commitBatch commits batch in one bolt transaction and answers every
// caller. When a function fails, the whole transaction is rolled back so none
// of the batch's writes land; the failing function is answered on its own and
// the others are retried as a new batch.
func (db *DB) commitBatch(batch []*pendingUpdate) {
	for len(batch) > 0 {
		failed, failErr, err := db.commitIn(batch)
		if failed < 0 {
			for _, p := range batch {
				p.done <- err
			}
			return
		}
		p := batch[failed]
		if failed == 0 {
			// It saw the same state it would have seen alone.
			p.done <- failErr
		} else {
			// Its error may come from what earlier functions of the batch
			// wrote, and they are not going to commit now: its own answer
			// is what it does alone.
			_, failErr, err := db.commitIn(batch[failed : failed+1])
			if failErr != nil {
				err = failErr
			}
			p.done <- err
		}
		batch = append(batch[:failed], batch[failed+1:]...)
	}
}

// runUpdate runs fn, turning a panic into a PanicError for its caller alone.
func runUpdate(fn func(core.Tx) error, tx writeTx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn(tx)
}

// CopyTo writes a consistent copy of the database to a new file at path
// and syncs it to disk: the command line imports a large file into such a
// copy and puts it in place at the end, so an import that fails or is
// killed leaves the database as it was.
func (db *DB) CopyTo(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(f)
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// ReleaseMemory hands the file's pages that this process has read back to
// the page cache (see releaseMapped): a long job on a big file, such as a
// large import between its batches, calls it so that what it has read
// does not stay resident.
func (db *DB) ReleaseMemory() {
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		releaseMapped(tx)
		return nil
	})
}
