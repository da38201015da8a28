package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// These tests look at the committer's queue to line functions up in one
// batch deterministically, so they live inside the package.

func openForBatching(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "actas.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// batchOf holds the committer inside one update while fns queue up behind
// it, then releases it so they all run as one batch. It returns each fn's
// error, in order.
func batchOf(t *testing.T, db *DB, fns ...func(core.Tx) error) []error {
	t.Helper()
	inside, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := db.Update(func(core.Tx) error {
			close(inside)
			<-release
			return nil
		}); err != nil {
			t.Errorf("holding update: %v", err)
		}
	})
	<-inside
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Go(func() { errs[i] = db.Update(fn) })
		deadline := time.Now().Add(5 * time.Second)
		for len(db.queue) < i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("update %d never queued", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(release)
	wg.Wait()
	return errs
}

func appendTestEvent(tx core.Tx, actor string) error {
	ev := core.Event{Time: time.Unix(1_700_000_000, 0), Type: core.EvLogin, Actor: core.Ref{ID: actor}, Result: core.ResultOK}
	return core.AppendEvent(tx, &ev)
}

func putUser(tx core.Tx, id string) error {
	return tx.PutUser(core.User{ID: id, Email: id + "@example.com"})
}

func exists(t *testing.T, db *DB, id string) bool {
	t.Helper()
	err := db.View(func(tx core.ReadTx) error { _, err := tx.User(id); return err })
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func auditActors(t *testing.T, db *DB) []string {
	t.Helper()
	v, err := core.VerifyChain(db)
	if err != nil || !v.OK() {
		t.Fatalf("VerifyChain = %v, %v", v, err)
	}
	var actors []string
	if err := db.View(func(tx core.ReadTx) error {
		return tx.ScanAudit(0, false, func(_ uint64, rec []byte) bool {
			ev, err := core.DecodeEvent(rec)
			if err != nil {
				t.Error(err)
			}
			actors = append(actors, ev.Actor.ID)
			return true
		})
	}); err != nil {
		t.Fatal(err)
	}
	return actors
}

func TestFailingFunctionFailsOnlyItsCaller(t *testing.T) {
	db := openForBatching(t)
	errBoom := errors.New("boom")
	errs := batchOf(t, db,
		func(tx core.Tx) error { return errors.Join(putUser(tx, "usr_a"), appendTestEvent(tx, "usr_a")) },
		// Fails only after usr_a's update in the same batch: alone, before
		// it, it succeeds, and that is what its caller must be told.
		func(tx core.Tx) error {
			if _, err := tx.User("usr_a"); err == nil {
				return errors.New("usr_a exists")
			}
			return errors.Join(putUser(tx, "usr_b"), appendTestEvent(tx, "usr_b"))
		},
		func(tx core.Tx) error { return errors.Join(putUser(tx, "usr_c"), appendTestEvent(tx, "usr_c")) },
		// Fails whatever it sees, after writing: the write must not land.
		func(tx core.Tx) error {
			if err := errors.Join(putUser(tx, "usr_d"), appendTestEvent(tx, "usr_d")); err != nil {
				return err
			}
			return errBoom
		},
		func(tx core.Tx) error { return errors.Join(putUser(tx, "usr_e"), appendTestEvent(tx, "usr_e")) },
	)
	for i, want := range []error{nil, nil, nil, errBoom, nil} {
		if !errors.Is(errs[i], want) || (want == nil && errs[i] != nil) {
			t.Errorf("update %d returned %v, want %v", i, errs[i], want)
		}
	}
	for id, want := range map[string]bool{"usr_a": true, "usr_b": true, "usr_c": true, "usr_d": false, "usr_e": true} {
		if got := exists(t, db, id); got != want {
			t.Errorf("%s stored = %v, want %v", id, got, want)
		}
	}
	// usr_b's update committed alone first; the rest followed in order.
	if got, want := fmt.Sprint(auditActors(t, db)), "[usr_b usr_a usr_c usr_e]"; got != want {
		t.Errorf("audit actors %s, want %s", got, want)
	}
}

func TestPanicFailsOnlyItsCaller(t *testing.T) {
	db := openForBatching(t)
	errs := batchOf(t, db,
		func(tx core.Tx) error { return appendTestEvent(tx, "usr_a") },
		func(tx core.Tx) error {
			if err := appendTestEvent(tx, "usr_panic"); err != nil {
				return err
			}
			var m map[string]int
			//lint:ignore SA5000 a nil-map write is the real bug's panic this test needs
			m["boom"]++
			return nil
		},
		func(tx core.Tx) error { return appendTestEvent(tx, "usr_c") },
	)
	var pe *PanicError
	if !errors.As(errs[1], &pe) || len(pe.Stack) == 0 {
		t.Errorf("panicking update returned %v, want a PanicError with a stack", errs[1])
	}
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("the others returned %v and %v, want nil", errs[0], errs[2])
	}
	if got := fmt.Sprint(auditActors(t, db)); got != "[usr_a usr_c]" {
		t.Errorf("audit actors %s, want [usr_a usr_c]", got)
	}
	// The committer survived.
	if err := db.Update(func(tx core.Tx) error { return appendTestEvent(tx, "usr_after") }); err != nil {
		t.Errorf("update after a panic: %v", err)
	}
}

// Functions that arrive during a commit share the next one.
func TestWaitingFunctionsShareOneCommit(t *testing.T) {
	db := openForBatching(t)
	var fns []func(core.Tx) error
	for i := range 50 {
		fns = append(fns, func(tx core.Tx) error { return appendTestEvent(tx, fmt.Sprintf("usr_%d", i)) })
	}
	// A read transaction's ID is the ID of the last committed one.
	lastCommit := func() int {
		var id int
		db.bolt.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
		return id
	}
	before := lastCommit()
	for i, err := range batchOf(t, db, fns...) {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	// One commit for the holding update, one for the fifty.
	if commits := lastCommit() - before; commits != 2 {
		t.Errorf("%d commits for a holding update and a batch of 50, want 2", commits)
	}
	if n := len(auditActors(t, db)); n != 50 {
		t.Errorf("%d events, want 50", n)
	}
}

// Close lets queued updates finish and refuses later ones; nothing hangs and
// every update that reported success is in the log.
func TestCloseDuringUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		committed int
	)
	for w := range 8 {
		wg.Go(func() {
			for {
				err := db.Update(func(tx core.Tx) error { return appendTestEvent(tx, fmt.Sprintf("usr_%d", w)) })
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("update: %v", err)
					return
				}
				mu.Lock()
				committed++
				mu.Unlock()
			}
		})
	}
	time.Sleep(30 * time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := len(auditActors(t, db)); n != committed {
		t.Errorf("log has %d events, callers were told %d committed", n, committed)
	}
}
