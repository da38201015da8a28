package core_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/benchfix"
	"github.com/actas/actas/store"
	"github.com/charmbracelet/bubbles/list"
)

const benchUsers = 1_000_000

var (
	benchOnce  sync.Once
	benchCore  *core.Core
	benchNames []string
	benchErr   error
)

// benchWorld builds, once per benchmark run, a database with a million
// generated members. Plain `go test` never builds it.
func benchWorld(b *testing.B) *core.Core {
	b.Helper()
	benchOnce.Do(func() {
		start := time.Now()
		benchCore, benchErr = benchfix.Members(benchUsers)
		for i := 1; i <= benchUsers; i++ {
			benchNames = append(benchNames, core.DemoMember(i).Name)
		}
		b.Logf("fixture: %d users in %s", benchUsers, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchCore
}

// benchQueries are what a person types, keystroke by keystroke: common
// names, an email fragment, and a miss that scans the whole directory.
var benchQueries = []string{"ta", "tar", "tara", "ka", "kai v", "member00123", "zq", "zqx", "chen 9", "ueda 42"}

// BenchmarkUserSearch is one keystroke's search over a million users,
// returning the rows for one screen (40), as the Users page asks for them.
func BenchmarkUserSearch(b *testing.B) {
	c := benchWorld(b)
	owner, err := c.SystemUserByEmail("owner@acme.test")
	if err != nil {
		b.Fatal(err)
	}
	p := core.Principal{User: owner}
	ctx := context.Background()
	// The search index is built in the background after open; a search
	// waits for it. Keystrokes are measured once it is there.
	if _, err := c.SearchUsers(ctx, p, "zz", 0, 40); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.SearchUsers(ctx, p, benchQueries[i%len(benchQueries)], 0, 40); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/keystroke")
}

// BenchmarkListFilterBaseline is bubbles list's fuzzy filter over the same
// million names, for the same keystrokes: the baseline the search beats.
func BenchmarkListFilterBaseline(b *testing.B) {
	benchWorld(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list.DefaultFilter(benchQueries[i%len(benchQueries)], benchNames)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/keystroke")
}

// BenchmarkOpen opens a store and core and reads what the first frame of
// the console shows (the owner's first page of users), then closes: the
// time a console takes to come up, and the heap it holds by then. The
// users' search index is built after that, in the background; heap-MB-
// indexed is the heap once it is.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []struct {
		name  string
		users int
	}{{"users=1k", 1_000}, {"users=1M", benchUsers}} {
		b.Run(n.name, func(b *testing.B) {
			path, err := benchfix.MembersFile(n.users)
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(filepath.Dir(path))
			var heap, indexed int64
			var took time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				base := heapInUse() // what the process held before (other benchmarks' fixtures)
				b.StartTimer()
				start := time.Now()
				db, err := store.Open(path, store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				c, err := core.Open(db, core.Options{})
				if err != nil {
					b.Fatal(err)
				}
				owner, err := c.SystemUserByEmail(core.DemoOwner)
				if err != nil {
					b.Fatal(err)
				}
				p := core.Principal{User: owner}
				page, err := c.SearchUsers(context.Background(), p, "", 0, 25)
				if err != nil || len(page.Users) != 25 || page.Total != n.users+1 {
					b.Fatalf("first page: %d users of %d, %v", len(page.Users), page.Total, err)
				}
				took += time.Since(start)
				b.StopTimer()
				heap += heapInUse() - base
				if _, err := c.SearchUsers(context.Background(), p, "zz", 0, 25); err != nil { // waits for the index
					b.Fatal(err)
				}
				indexed += heapInUse() - base
				c.Close()
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(took.Nanoseconds())/float64(b.N)/1e6, "ms")
			b.ReportMetric(float64(heap)/float64(b.N)/(1<<20), "heap-MB")
			b.ReportMetric(float64(indexed)/float64(b.N)/(1<<20), "heap-MB-indexed")
		})
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkTreeAppend is the Merkle tree's CPU cost per appended event on
// the commit path: the leaf hash, the subtrees it completes (one on
// average) and the bytes the store keeps.
func BenchmarkTreeAppend(b *testing.B) {
	var f core.TreeFrontier
	var h [32]byte
	buf := make([]byte, 0, 64*32)
	b.ReportAllocs()
	for i := range b.N {
		h[0], h[1] = byte(i), byte(i>>8)
		buf = f.Append(h, buf[:0])
	}
}
