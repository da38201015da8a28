package core_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/actas/actas/core"
)

func userIDs(us []core.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

// Before the users' index is built, plain pages come from the store's name
// index; after, from the index: the same rows at the same positions, the
// last page as well as the first, with the total from the start.
func TestUserPagesBeforeAndAfterTheIndex(t *testing.T) {
	w := newWorld(t)
	if err := core.AddDemoMembers(w.c, w.cli, 150); err != nil {
		t.Fatal(err)
	}
	w.close()
	w.open()
	total := w.c.UserCount()
	const limit = 7
	var before [][]string
	for from := 0; from < total; from += limit {
		page, err := core.UsersFromIndex(w.c, from, limit)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != total {
			t.Fatalf("page at %d: total %d, want %d", from, page.Total, total)
		}
		before = append(before, userIDs(page.Users))
	}
	if err := core.SettleUsersIndex(w.c); err != nil {
		t.Fatal(err)
	}
	var all []string
	for k, from := 0, 0; from >= 0; k++ {
		page := must(w.c.SearchUsers(context.Background(), w.as("owner"), "", from, limit))
		if page.Total != total || from != k*limit {
			t.Fatalf("page %d: from %d total %d, want row numbers and total %d", k, from, page.Total, total)
		}
		if got := userIDs(page.Users); !slices.Equal(got, before[k]) {
			t.Fatalf("page %d: index %v, store %v", k, got, before[k])
		}
		all = append(all, userIDs(page.Users)...)
		from = page.Next
	}
	if len(all) != total {
		t.Fatalf("paged through %d users, want %d", len(all), total)
	}
	var streamed []string
	err := w.c.EachUser(context.Background(), w.cli, func(u core.User) error { streamed = append(streamed, u.ID); return nil })
	if err != nil || !slices.Equal(streamed, all) {
		t.Fatalf("EachUser gave %d users (%v), the pages %d", len(streamed), err, len(all))
	}
}

// Staff of a customer org see their subtree only; the rows are numbered
// among what they see, so page k starts at row k*limit and the total is
// theirs.
func TestUserPagesOfSubtreeStaff(t *testing.T) {
	w := newWorld(t)
	if err := core.AddDemoMembers(w.c, w.cli, 100); err != nil {
		t.Fatal(err)
	}
	var want []string
	err := w.c.EachUser(context.Background(), w.as("gstaff"), func(u core.User) error {
		if !strings.HasSuffix(u.Email, "@globex.test") {
			t.Errorf("globex staff streamed %s", u.Email)
		}
		want = append(want, u.ID)
		return nil
	})
	if err != nil || len(want) != 106 {
		t.Fatalf("globex staff streamed %d users (%v), want the 6 of Globex and 100 members", len(want), err)
	}
	var got []string
	for from := 0; from >= 0; {
		page := must(w.c.SearchUsers(context.Background(), w.as("gstaff"), "", from, 10))
		if page.Total != len(want) {
			t.Fatalf("total %d, want %d", page.Total, len(want))
		}
		got = append(got, userIDs(page.Users)...)
		from = page.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	last := must(w.c.SearchUsers(context.Background(), w.as("gstaff"), "", len(want)-3, 10))
	if !slices.Equal(userIDs(last.Users), want[len(want)-3:]) || last.Next != -1 {
		t.Fatalf("last rows %v next %d, want %v", userIDs(last.Users), last.Next, want[len(want)-3:])
	}
}

// Once built, the index follows changes: a new user and a rename at once,
// an import (a rebuild in the background) once it is done.
func TestUsersIndexFollowsChanges(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := core.SettleUsersIndex(w.c); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		n := 0
		for from := 0; from >= 0; {
			page := must(w.c.SearchUsers(ctx, w.as("owner"), q, from, 5))
			n += len(page.Users)
			from = page.Next
		}
		return n
	}
	w.must(w.c.CreateUser(w.cli, core.NewUser{Email: "zelda@globex.test", Name: "Zelda Quux", Org: "Globex"}))
	if n := count("quux"); n != 1 {
		t.Errorf("new user found %d times", n)
	}
	name := "Aaron Quux"
	w.must(w.c.UpdateUser(w.cli, "zelda@globex.test", core.UserChange{Name: &name}))
	page := must(w.c.SearchUsers(ctx, w.as("owner"), "", 0, 1))
	if len(page.Users) != 1 || page.Users[0].Name != name {
		t.Errorf("renamed user not first: %+v", page.Users)
	}
	if n := count("zelda q"); n != 0 {
		t.Errorf("old name found %d times", n)
	}
	rows := make([]core.ImportRow, 100)
	for i := range rows {
		rows[i] = core.ImportRow{Line: i + 1, User: core.NewUser{Email: fmt.Sprintf("imp%03d@globex.test", i), Name: fmt.Sprintf("Imported %d", i), Org: "Globex"}}
	}
	w.must(w.c.ImportUsers(w.cli, rows))
	if err := core.SettleUsersIndex(w.c); err != nil {
		t.Fatal(err)
	}
	if n := count("imported"); n != 100 {
		t.Errorf("imported users found %d times, want 100", n)
	}
	// A build leaves the text every search scans in memory of its own,
	// written in one pass (see settle): not the buffer it grew.
	if n, c := core.UsersHay(w.c); n != c {
		t.Errorf("index text: %d bytes in a buffer of %d, want it copied to its size", n, c)
	}
	if page := must(w.c.SearchUsers(ctx, w.as("owner"), "", 0, 1)); page.Total != w.c.UserCount() {
		t.Errorf("total %d, want %d", page.Total, w.c.UserCount())
	}
}
