package core_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
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
		dir, err := os.MkdirTemp("", "actas-bench-core-")
		if err != nil {
			benchErr = err
			return
		}
		db, err := store.Open(filepath.Join(dir, "actas.db"), store.Options{})
		if err != nil {
			benchErr = err
			return
		}
		os.RemoveAll(dir) // the open file lives on until the process ends
		c, err := core.Open(db, core.Options{})
		if err != nil {
			benchErr = err
			return
		}
		cli := core.SystemPrincipal("bench")
		if _, err := c.Init(cli, "owner@acme.test", "Owner", "Acme"); err != nil {
			benchErr = err
			return
		}
		if _, err := c.CreateOrg(cli, "Globex", ""); err != nil {
			benchErr = err
			return
		}
		start := time.Now()
		for i := 1; i <= benchUsers; i += 50_000 {
			rows := make([]core.ImportRow, 0, 50_000)
			for j := i; j < i+50_000 && j <= benchUsers; j++ {
				rows = append(rows, core.ImportRow{Line: j, User: core.DemoMember(j)})
				benchNames = append(benchNames, core.DemoMember(j).Name)
			}
			if _, err := c.ImportUsers(cli, rows); err != nil {
				benchErr = err
				return
			}
		}
		b.Logf("fixture: %d users imported in %s", c.UserCount(), time.Since(start).Round(time.Millisecond))
		benchCore = c
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
