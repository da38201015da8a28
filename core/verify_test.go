package core_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// panickyStore holds a valid log of n events whose walk panics after the
// last one, as a page that cannot be read does.
type panickyStore struct {
	core.Store
	n int
}

type panickyTx struct {
	core.ReadTx
	n int
}

func (s panickyStore) View(fn func(core.ReadTx) error) error { return fn(panickyTx{n: s.n}) }

func (tx panickyTx) ScanAuditWithTree(_ uint64, fn func(seq uint64, rec, tree []byte) bool) error {
	var prev core.Hash
	var tree core.TreeFrontier
	for i := 1; i <= tx.n; i++ {
		ev := core.Event{Seq: uint64(i), Time: time.Unix(int64(i), 0), Type: core.EvLogin,
			Actor: core.Ref{ID: "usr_1"}, Result: core.ResultOK, Prev: prev}
		rec := core.EncodeEvent(&ev)
		prev = ev.Hash
		if !fn(ev.Seq, rec, tree.Append(ev.Hash, nil)) {
			return nil
		}
	}
	panic("a page cannot be read")
}

// A panic inside the walk (bbolt panics on a page it cannot read) leaves
// no goroutine of VerifyChain behind: its workers end.
func TestVerifyLeavesNoGoroutineOnAPanic(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("the walk's panic did not reach the caller")
				}
			}()
			core.VerifyChain(panickyStore{n: 10_000})
		}()
	}
	// The workers end once the walk has; give the scheduler time to run
	// them to their end.
	for range 200 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
}
