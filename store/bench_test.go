package store_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// Run with: go test -run '^$' -bench . ./store/
//
// The million-record fixtures are built on first use inside a benchmark, so
// plain `go test` never pays for them; TestMain removes them afterwards.

const fixtureSize = 1_000_000

var (
	fixtureMu   sync.Mutex
	fixtureDirs []string
	auditOnce   sync.Once
	auditDB     *store.DB
	// The same log appended without the Merkle tree's hashes after each
	// record (BenchmarkAuditPageWithoutTree).
	plainOnce sync.Once
	plainDB   *store.DB
	usersOnce sync.Once
	usersDB   *store.DB
)

func fixtureDB(b *testing.B, name string) *store.DB { return fixtureDBWith(b, name, openBench) }

func fixtureDBWith(b *testing.B, name string, open func(path string) (*store.DB, error)) *store.DB {
	dir, err := os.MkdirTemp("", "actas-bench-")
	if err != nil {
		b.Fatal(err)
	}
	fixtureMu.Lock()
	fixtureDirs = append(fixtureDirs, dir)
	fixtureMu.Unlock()
	db, err := open(filepath.Join(dir, name))
	if err != nil {
		b.Fatal(err)
	}
	return db
}

func removeBenchFixtures() {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	for _, db := range []*store.DB{auditDB, plainDB, usersDB} {
		if db != nil {
			db.Close()
		}
	}
	for _, dir := range fixtureDirs {
		os.RemoveAll(dir)
	}
}

// benchStaff makes typical events: support engineer number staff, in their
// current session, acting as one customer. Concurrent writers are different
// engineers, so one commit touches as many index keys as there are writers.
// Like core, which takes IDs from the users it loaded, it builds the ID
// strings of a session or customer once, not once per event.
type benchStaff struct {
	staff              int
	actor, subject     core.Ref
	session            string
	sessionN, subject0 int
}

func newBenchStaff(staff int) *benchStaff {
	return &benchStaff{
		staff:    staff,
		actor:    core.Ref{ID: fmt.Sprintf("usr_%08d", 1+staff), Email: fmt.Sprintf("support%d@operator.example", 1+staff)},
		sessionN: -1, subject0: -1,
	}
}

// event is the staff's i-th event.
func (s *benchStaff) event(i int) core.Event {
	if n := i / 40; n != s.sessionN { // 40 actions per session
		s.sessionN, s.session = n, fmt.Sprintf("ses_%04d%04d", s.staff, n)
	}
	if c := 1000 + s.staff*997 + i/400; c != s.subject0 { // a new customer every 10 sessions
		s.subject0 = c
		s.subject = core.Ref{ID: fmt.Sprintf("usr_%08d", c), Email: fmt.Sprintf("customer%d@acme.example", c)}
	}
	return core.Event{
		Time:    time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		Type:    core.EvActionPerformed,
		Actor:   s.actor,
		Subject: s.subject,
		Org:     "org_00000002",
		Session: s.session,
		Result:  core.ResultOK,
		Details: fmt.Appendf(nil, `{"action":"invoice.view","invoice":"inv_%06d","path":"/billing/invoices/%06d"}`, i%999_999, i%999_999),
	}
}

func auditFixture(b *testing.B) *store.DB {
	auditOnce.Do(func() { auditDB = buildAuditLog(b, openBench) })
	if auditDB == nil {
		b.Fatal("audit fixture failed to build")
	}
	return auditDB
}

// plainAuditFixture is auditFixture's log without the tree's hashes.
func plainAuditFixture(b *testing.B) *store.DB {
	plainOnce.Do(func() { plainDB = buildAuditLog(b, store.OpenWithoutTree) })
	if plainDB == nil {
		b.Fatal("audit fixture failed to build")
	}
	return plainDB
}

// buildAuditLog appends the million events of a day with 64 engineers at
// work to a new file.
func buildAuditLog(b *testing.B, open func(path string) (*store.DB, error)) *store.DB {
	db := fixtureDBWith(b, "audit.db", open)
	const perTx = 50_000
	var staff [64]*benchStaff
	for i := range staff {
		staff[i] = newBenchStaff(i)
	}
	for start := 0; start < fixtureSize; start += perTx {
		if err := db.Update(func(tx core.Tx) error {
			for i := start; i < start+perTx; i++ {
				// The log of a day with 64 engineers at work.
				ev := staff[i%64].event(i / 64)
				if err := core.AppendEvent(tx, &ev); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

func BenchmarkRawBoltUpdate(b *testing.B) {
	bdb, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	if err := bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("events")); return err }); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 256)
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := bdb.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("events")).Put(binary.BigEndian.AppendUint64(nil, uint64(i)), value)
		}); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	reportP99(b, latencies)
}

// reportP99 reports the 99th percentile of per-call latencies, which the
// disk's fsync tail dominates.
func reportP99(b *testing.B, latencies []time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)*99/100])/float64(time.Millisecond), "p99-ms")
}

func BenchmarkAuditAppend(b *testing.B) { benchAppend(b, []int{1, 64}, false, openBench) }

// BenchmarkAuditAppendWithOutbox is BenchmarkAuditAppend where every event
// also queues a notification in its transaction, as a session start or end
// does for an alert channel: the cost of the transactional outbox. (Its
// notice is rendered from the event when it is delivered, not stored.)
func BenchmarkAuditAppendWithOutbox(b *testing.B) { benchAppend(b, []int{1, 64}, true, openBench) }

// BenchmarkAuditAppendWithoutTree is BenchmarkAuditAppend/writers=64 with
// appends that skip the Merkle tree: the baseline the tree's cost is
// measured against (target: with the tree ≥ 0.9 × this).
func BenchmarkAuditAppendWithoutTree(b *testing.B) {
	benchAppend(b, []int{64}, false, store.OpenWithoutTree)
}

func openBench(path string) (*store.DB, error) { return store.Open(path, store.Options{}) }

func benchAppend(b *testing.B, writerCounts []int, outbox bool, open func(path string) (*store.DB, error)) {
	for _, writers := range writerCounts {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, err := open(filepath.Join(b.TempDir(), "actas.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			latencies := make([][]time.Duration, writers)
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range writers {
				n := b.N / writers
				if w < b.N%writers {
					n++
				}
				wg.Go(func() {
					staff := newBenchStaff(w)
					lat := make([]time.Duration, 0, n)
					for i := range n {
						ev := staff.event(i)
						start := time.Now()
						if err := db.Update(func(tx core.Tx) error { return appendEvent(tx, &ev, outbox) }); err != nil {
							b.Error(err)
							return
						}
						lat = append(lat, time.Since(start))
					}
					latencies[w] = lat
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			reportP99(b, slices.Concat(latencies...))
		})
	}
}

// BenchmarkAuditAppendTreeCost runs 64 writers with and without the
// Merkle tree in alternating rounds of 64×100 events, each on a fresh file,
// and reports both rates and their ratio: a paired comparison that a disk
// whose speed drifts (a shared machine) skews less than two separate
// benchmarks. One op is one pair of rounds.
func BenchmarkAuditAppendTreeCost(b *testing.B) {
	pairedRounds(b, "tree", "notree", func() time.Duration { return appendRound(b, openBench, false) },
		func() time.Duration { return appendRound(b, store.OpenWithoutTree, false) })
}

// BenchmarkAuditAppendOutboxCost is BenchmarkAuditAppendWithOutbox/writers=64
// beside BenchmarkAuditAppend/writers=64 in alternating rounds, as
// BenchmarkAuditAppendTreeCost does for the tree: outbox/plain is the share
// of the append rate left once every event queues a message (target ≥ 0.9).
func BenchmarkAuditAppendOutboxCost(b *testing.B) {
	pairedRounds(b, "outbox", "plain", func() time.Duration { return appendRound(b, openBench, true) },
		func() time.Duration { return appendRound(b, openBench, false) })
}

// pairedRounds alternates rounds of two kinds, which goes first too, and
// reports each one's rate and the ratio of the first's to the second's.
func pairedRounds(b *testing.B, a, c string, roundA, roundC func() time.Duration) {
	var durA, durC time.Duration
	for i := range b.N {
		if i%2 == 0 {
			durA += roundA()
			durC += roundC()
		} else {
			durC += roundC()
			durA += roundA()
		}
	}
	events := float64(b.N * roundWriters * roundEach)
	b.ReportMetric(events/durA.Seconds(), a+"-events/s")
	b.ReportMetric(events/durC.Seconds(), c+"-events/s")
	b.ReportMetric(durC.Seconds()/durA.Seconds(), a+"/"+c)
}

const roundWriters, roundEach = 64, 100

// appendRound has 64 writers append 100 events each to a fresh file, each
// event queueing a message too when outbox is set.
func appendRound(b *testing.B, open func(path string) (*store.DB, error), outbox bool) time.Duration {
	db, err := open(filepath.Join(b.TempDir(), "actas.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range roundWriters {
		wg.Go(func() {
			staff := newBenchStaff(w)
			for i := range roundEach {
				ev := staff.event(i)
				if err := db.Update(func(tx core.Tx) error { return appendEvent(tx, &ev, outbox) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// appendEvent appends ev and, with outbox, queues what a session start
// queues for an alert channel.
func appendEvent(tx core.Tx, ev *core.Event, outbox bool) error {
	if err := core.AppendEvent(tx, ev); err != nil || !outbox {
		return err
	}
	m := core.OutboxMessage{Event: ev.Seq, Channel: "ch_00000001"}
	return core.QueueMessage(tx, &m)
}

// BenchmarkAuditPage is one screen of the audit log: 50 events back from a
// random point of a million-event log, decoded.
func BenchmarkAuditPage(b *testing.B) { auditPage(b, auditFixture(b)) }

// BenchmarkAuditPageWithoutTree is BenchmarkAuditPage on the same log
// stored without the Merkle tree's hashes after each record (as before the
// checkpoints): what the larger values cost a page.
func BenchmarkAuditPageWithoutTree(b *testing.B) { auditPage(b, plainAuditFixture(b)) }

func auditPage(b *testing.B, db *store.DB) {
	const page = 50
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		from := uint64(page + rand.IntN(fixtureSize-page))
		n := 0
		err := db.View(func(tx core.ReadTx) error {
			var derr error
			err := tx.ScanAudit(from, true, func(_ uint64, rec []byte) bool {
				if _, derr = core.DecodeEvent(rec); derr != nil {
					return false
				}
				n++
				return n < page
			})
			if err != nil {
				return err
			}
			return derr
		})
		if err != nil || n != page {
			b.Fatalf("page from %d: %d events, %v", from, n, err)
		}
	}
	b.ReportMetric(page, "events/op")
}

func BenchmarkAuditVerify(b *testing.B) {
	db := auditFixture(b)
	b.ResetTimer()
	for range b.N {
		v, err := core.VerifyChain(db)
		if err != nil || !v.OK() || v.Events != fixtureSize {
			b.Fatalf("VerifyChain = %v, %v", v, err)
		}
	}
	b.ReportMetric(float64(fixtureSize)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAuditProve proves one event, chosen at random, of a
// million-event log in a checkpoint signed for it: what audit prove does
// (the tree's root, the audit path, the ed25519 signature).
func BenchmarkAuditProve(b *testing.B) {
	db := auditFixture(b)
	key, _, err := core.NewLogKey(core.LogOrigin("Acme"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		seq := 1 + rand.Uint64N(fixtureSize)
		proofs, err := core.ProveEvents(db, key.Signer, now, seq)
		if err != nil || len(proofs) != 1 || len(proofs[0].Path) == 0 {
			b.Fatalf("prove %d: %v", seq, err)
		}
	}
}

// BenchmarkCheckpointVerify proves a million-event log consistent with a
// signed checkpoint taken at 500,000 events: the signature, a consistency
// proof read from the stored tree, and its check against both roots — what
// audit verify --checkpoint adds for each checkpoint once the chain and the
// tree are verified (BenchmarkAuditVerify).
func BenchmarkCheckpointVerify(b *testing.B) {
	db := auditFixture(b)
	key, _, err := core.NewLogKey(core.LogOrigin("Acme"))
	if err != nil {
		b.Fatal(err)
	}
	var old, top tlog.Hash
	if err := db.View(func(tx core.ReadTx) error {
		r := tlog.HashReaderFunc(tx.AuditTree)
		if old, err = tlog.TreeHash(fixtureSize/2, r); err != nil {
			return err
		}
		top, err = tlog.TreeHash(fixtureSize, r)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	cp, err := core.SignCheckpoint(key.Signer, fixtureSize/2, old, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// The chain and tree as VerifyChain reports them for this log.
	v := core.Verification{Events: fixtureSize, Root: core.Hash(top)}
	notes := [][]byte{cp.Note}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		checks, err := core.CheckCheckpoints(db, key.Verifier, v, notes)
		if err != nil || checks[0].Err != nil {
			b.Fatalf("CheckCheckpoints = %v, %v", checks, err)
		}
	}
}

// BenchmarkForEachUser walks a million users, as a directory search does.
func BenchmarkForEachUser(b *testing.B) {
	usersOnce.Do(func() {
		db := fixtureDB(b, "users.db")
		const perTx = 50_000
		created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for start := 1; start <= fixtureSize; start += perTx {
			if err := db.Update(func(tx core.Tx) error {
				for i := start; i < start+perTx; i++ {
					if err := tx.PutUser(core.User{
						ID: fmt.Sprintf("usr_%08d", i), Email: fmt.Sprintf("user%07d@acme.example", i),
						Name: fmt.Sprintf("Customer Number %d", i), Org: "org_00000002",
						Role: core.RoleMember, Status: core.StatusActive, Kind: core.KindHuman, Mode: core.ModeNever,
						Created: created.Add(time.Duration(i) * time.Minute),
					}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		usersDB = db
	})
	if usersDB == nil {
		b.Fatal("user fixture failed to build")
	}
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := usersDB.View(func(tx core.ReadTx) error {
			return tx.ForEachUser(func(core.User) error { n++; return nil })
		}); err != nil || n != fixtureSize {
			b.Fatalf("ForEachUser saw %d users, %v", n, err)
		}
	}
	b.ReportMetric(float64(fixtureSize)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
}
