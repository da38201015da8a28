package core

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The byte-pair blocks never hide a match: over a directory of many
// blocks, changed in place (inserts land in blocks, removals leave their
// pairs behind), every query pages through exactly the entries a plain scan
// finds, in order, for any viewer.
func TestPairBlocksNeverHideAMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	first := []string{"Ada", "Ben", "Chloé", "Dan", "Eve", "Kai", "Tara", "Zoë"}
	last := []string{"Chen", "Diaz", "Ueda", "Quist", "O'Hara", "Lopez-Vega"}
	user := func(i int) User {
		return User{ID: fmt.Sprintf("usr_%08d", i), Name: fmt.Sprintf("%s %s %d", first[r.IntN(len(first))], last[r.IntN(len(last))], r.IntN(1000)),
			Email: fmt.Sprintf("m%07d@%s.test", i, []string{"globex", "acme"}[i%2]), Org: []string{"org_g", "org_a"}[i%2]}
	}
	d := newDirectory(nil)
	var users []User
	for i := range 3000 {
		users = append(users, user(i))
	}
	keyOf := func(u User) []byte { return append(append(appendLower(nil, u.Name), 0), appendLower(nil, u.Email)...) }
	slices.SortFunc(users, func(a, b User) int { return bytes.Compare(keyOf(a), keyOf(b)) })
	for _, u := range users {
		d.data.add(keyOf(u), []byte(u.ID), []byte(u.Org))
	}
	d.data.buildBlocks()
	if len(d.data.blockEnds) < 10 {
		t.Fatalf("%d blocks, want many", len(d.data.blockEnds))
	}
	// Changes in place: new users, renamed ones, removed ones.
	for i := range 400 {
		switch i % 3 {
		case 0:
			d.putOne(user(5000 + i))
		case 1:
			u := user(r.IntN(3000))
			u.Name = "Zed Quirk " + u.Name
			d.putOne(u)
		default:
			d.data.remove(r.IntN(d.data.len()))
		}
	}
	plain := func(q string, ok func(int) bool) []string {
		var ids []string
		for i := range d.data.len() {
			if bytes.Contains(d.data.key(i), []byte(q)) && ok(i) {
				ids = append(ids, d.data.id(i))
			}
		}
		return ids
	}
	ctx := context.Background()
	for _, q := range []string{"zq", "ta", "zed q", "quist", "o'h", "ueda 4", "m00012", "lopez-v", "chloé", "zoë d", "@acme", "xyz", "a"} {
		for _, allowed := range []map[string]bool{nil, {"org_a": true}} {
			ok := func(i int) bool { return allowed == nil || allowed[d.data.orgIDs[d.data.orgs[i]]] }
			var got []string
			for from := 0; from >= 0; {
				page, err := d.find(ctx, normalQuery(q), from, 7, allowed)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page.ids...)
				from = page.next
			}
			if want := plain(normalQuery(q), ok); !slices.Equal(got, want) {
				t.Errorf("%q (orgs %v): found %d, a plain scan %d", q, allowed, len(got), len(want))
			}
		}
	}
}
