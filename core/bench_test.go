package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/benchfix"
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
	owner, err := c.UserByEmail("owner@acme.test")
	if err != nil {
		b.Fatal(err)
	}
	p := core.Principal{User: owner}
	ctx := context.Background()
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
