package cli

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestEverySinglePageCorruption damages the demo database one page at a
// time, as the security review did: whatever the page, audit verify and
// user list never panic or print a stack trace; a damaged page that holds
// data (the chain, users, indexes, anything) makes verify fail and name
// the damage; a command that cannot open the file says "database damaged".
func TestEverySinglePageCorruption(t *testing.T) {
	if testing.Short() {
		t.Skip("corrupts every page of a demo database")
	}
	c := newCLI(t)
	c.ok("demo", "--no-tui", "--users", "450")
	orig, err := os.ReadFile(filepath.Join(c.dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	live, pages := livePages(t, filepath.Join(c.dir, dbFile))
	const pageSize = 4096
	t.Logf("%d pages, %d of them live branch or leaf pages", pages, len(live))
	rng := rand.New(rand.NewPCG(1, 2))
	var caught, metaOrFree int
	for pg := 0; pg < pages; pg++ {
		damaged := append([]byte(nil), orig...)
		for i := pg * pageSize; i < (pg+1)*pageSize; i++ {
			damaged[i] = byte(rng.Uint32())
		}
		d := &cli{t: t, dir: t.TempDir(), env: c.env}
		if err := os.WriteFile(filepath.Join(d.dir, dbFile), damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		r := d.run("audit", "verify")
		for _, bad := range []string{"panic", "goroutine ", ".go:"} {
			if strings.Contains(r.err+r.out, bad) {
				t.Fatalf("page %d: verify printed %q:\n%s%s", pg, bad, r.out, r.err)
			}
		}
		if r.code != 0 {
			caught++
		} else {
			metaOrFree++
		}
		if live[pg] && r.code == 0 {
			t.Errorf("page %d (live) damaged, yet verify says: %s", pg, strings.TrimSpace(r.out))
		}
		if r.code != 0 && !strings.Contains(r.err, "damaged") && !strings.Contains(r.err, "broken") {
			t.Errorf("page %d: verify failed without naming the damage: %s", pg, r.err)
		}
		if l := d.run("user", "list"); strings.Contains(l.err, "goroutine ") || strings.Contains(l.err, "panic") {
			t.Fatalf("page %d: user list: %s", pg, l.err)
		}
	}
	t.Logf("verify failed on %d damaged pages, passed on %d (meta copies, free pages)", caught, metaOrFree)
}

// livePages are the pages of branch and leaf nodes, overflow included;
// pages is how many pages the file uses (it may be longer).
func livePages(t *testing.T, path string) (live map[int]bool, pages int) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	live = map[int]bool{}
	err = db.View(func(tx *bolt.Tx) error {
		pages = int(tx.Size() / int64(db.Info().PageSize))
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			if info.Type == "branch" || info.Type == "leaf" {
				for i := 0; i <= info.OverflowCount; i++ {
					live[id+i] = true
				}
				id += info.OverflowCount
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return live, pages
}
