// Package benchfix builds the large fixtures that benchmarks share: a
// database with the demo owner, org Globex and n generated members. Only
// benchmarks use it; plain `go test ./...` never builds a fixture.
package benchfix

import (
	"os"
	"path/filepath"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// Members returns core over a fresh temporary database holding the demo
// owner and n generated members (core.DemoMember(1…n)). The database file
// is unlinked at once, so nothing is left behind when the process ends.
func Members(n int) (*core.Core, error) {
	dir, err := os.MkdirTemp("", "actas-bench-")
	if err != nil {
		return nil, err
	}
	db, err := store.Open(filepath.Join(dir, "actas.db"), store.Options{})
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	return seed(db, n)
}

// MembersFile writes the database of Members(n) to a file in a new
// temporary folder and returns its path, for benchmarks that open it
// again and again; remove the folder (filepath.Dir) when done.
func MembersFile(n int) (string, error) {
	dir, err := os.MkdirTemp("", "actas-bench-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "actas.db")
	db, err := store.Open(path, store.Options{})
	if err == nil {
		var c *core.Core
		if c, err = seed(db, n); c != nil {
			c.Close()
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return path, nil
}

// seed fills db with the demo owner, org Globex and n members.
func seed(db *store.DB, n int) (*core.Core, error) {
	c, err := core.Open(db, core.Options{})
	if err != nil {
		return nil, err
	}
	cli := core.SystemPrincipal("bench")
	if _, err := c.Init(cli, core.DemoOwner, "Olivia Owner", "Acme"); err != nil {
		return nil, err
	}
	if _, err := c.CreateOrg(cli, "Globex", ""); err != nil {
		return nil, err
	}
	return c, core.AddDemoMembers(c, cli, n)
}
