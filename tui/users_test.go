package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func usersPage(m *Model) *UsersPage { return m.pages[TabUsers].(*UsersPage) }

func TestUsersPagingKeepsAWindow(t *testing.T) {
	f := newFixture(t, 1000)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	total := f.c.UserCount()
	p := usersPage(m)
	// core knows the total at once: shown from the first page on.
	mustContain(t, m.View(), fmt.Sprintf("1 of %d", total))

	for range 60 {
		drive(t, m, keyMsg("pgdown"))
	}
	if p.pg.cursor != total-1 {
		t.Fatalf("after 60 pgdown the cursor is at %d, want the last row %d", p.pg.cursor, total-1)
	}
	mustContain(t, m.View(), fmt.Sprintf("%d of %d", total, total))
	// Only a window around the screen is held, however far we went.
	if len(p.pg.rows) > p.pg.windowMax() || p.pg.windowMax() > 3*p.visibleRows()+usersReadMax {
		t.Fatalf("%d rows held (at most %d)", len(p.pg.rows), p.pg.windowMax())
	}
	drive(t, m, keyMsg("g"))
	if p.pg.cursor != 0 {
		t.Fatalf("g: cursor %d", p.pg.cursor)
	}
	mustContain(t, m.View(), "> Ada Abbott 676")
	drive(t, m, keyMsg("G"))
	if p.pg.cursor != total-1 {
		t.Fatalf("G with a known end: cursor %d", p.pg.cursor)
	}
	// Back up across page boundaries, row by row.
	for range 150 {
		drive(t, m, keyMsg("up"))
	}
	if p.pg.cursor != total-151 {
		t.Fatalf("after 150 up: cursor %d, want %d", p.pg.cursor, total-151)
	}
	u := p.pg.selected()
	if u == nil || !strings.Contains(m.View(), "> "+u.Name) {
		t.Fatalf("selected row %q not shown", u.Name)
	}
}

// G goes to the last row in one keypress, with nothing but the first page
// read before (issue 9: "1 of 75+" and a page per press).
func TestUsersBottomInOneKeypress(t *testing.T) {
	f := newFixture(t, 1000)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	p := usersPage(m)
	total := f.c.UserCount()
	drive(t, m, keyMsg("G"))
	if p.pg.cursor != total-1 {
		t.Fatalf("G: cursor %d, want the last row %d", p.pg.cursor, total-1)
	}
	var last core.User
	err := f.c.EachUser(t.Context(), core.SystemPrincipal("test"), func(u core.User) error { last = u; return nil })
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, m.View(), "> "+last.Name, fmt.Sprintf("%d of %d", total, total))
}

func TestUsersSearchFromTwoCharacters(t *testing.T) {
	f := newFixture(t, 200)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	p := usersPage(m)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("j")...)
	if p.query != "" {
		t.Fatalf("one character filtered: %q", p.query)
	}
	gen := p.pg.gen
	drive(t, m, typing("ane")...)
	if p.query != "jane" || p.pg.gen == gen {
		t.Fatalf("query %q gen %d", p.query, p.pg.gen)
	}
	mustContain(t, m.View(), "> Jane Doe", "1 of 1")
	// enter keeps the filter and gives the keys back to the table.
	drive(t, m, keyMsg("enter"))
	if m.focused().Capturing() {
		t.Fatal("still capturing after enter")
	}
	mustContain(t, m.View(), "Filter: jane")
	// esc clears it.
	drive(t, m, keyMsg("esc"))
	mustNotContain(t, m.View(), "Filter:")
	mustContain(t, m.View(), fmt.Sprintf("1 of %d", f.c.UserCount()))

	// A search that matches nobody says so.
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("zzqq")...)
	mustContain(t, m.View(), "No users match “zzqq”")
}

func TestUsersStaleSearchIsDropped(t *testing.T) {
	f := newFixture(t, 200)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	p := usersPage(m)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("ja")...)
	// "jan" is typed before the answer to "ja" arrives: the "ja" context is
	// cancelled and its answer, if any, ignored.
	_, cmd := m.Update(typing("b")[0])
	stale := p.ctx
	_, cmd2 := m.Update(typing("o")[0])
	if stale.Err() == nil {
		t.Fatal("the previous search's context was not cancelled")
	}
	drive(t, m, run(cmd2)...)
	drive(t, m, run(cmd)...)
	mustContain(t, m.View(), "/ jabo")
	if p.query != "jabo" {
		t.Fatalf("query %q", p.query)
	}
}

func TestUsersLiveUpdateInPlace(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("bob@")...)
	mustContain(t, m.View(), "Bob Brown")
	if _, err := f.c.GrantConsent(f.principal(t, core.DemoBob), 24*3600e9); err != nil {
		t.Fatal(err)
	}
	for len(sub.C) > 0 {
		drive(t, m, ChangeMsg{Change: <-sub.C})
	}
	mustContain(t, m.View(), "Mar 11 ")
}

func TestRequestFormSubmits(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoSupport, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("bob@")...)
	drive(t, m, keys("enter", "enter")...)
	drive(t, m, keyMsg("r"))
	mustContain(t, m.View(), "Request impersonation of Bob Brown", "(•) 1h")
	drive(t, m, typing("ticket #77: login loop")...)
	drive(t, m, keys("tab", "right", "right", "right", "tab")...) // custom
	drive(t, m, typing("999h")...)
	drive(t, m, keyMsg("ctrl+s"))
	mustContain(t, m.View(), "duration must be between 1h and 168h")
	for range 4 {
		drive(t, m, keyMsg("backspace"))
	}
	drive(t, m, typing("36h")...)
	drive(t, m, keyMsg("ctrl+s"))
	v := m.View()
	mustNotContain(t, v, "Request impersonation of")
	mustContain(t, v, "sent to the approvers")
	reqs, err := f.c.Requests(f.principal(t, core.DemoSupport), core.RequestPending, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range reqs {
		if r.Reason == "ticket #77: login loop" && r.Duration.Hours() == 36 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no 36h request in %+v", reqs)
	}
	// esc cancels a form without sending.
	drive(t, m, keys("enter", "r", "esc")...)
	mustNotContain(t, m.View(), "Request impersonation of")
}

func TestUsersResyncKeepsTheCursor(t *testing.T) {
	f := newFixture(t, 300)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	p := usersPage(m)
	for range 150 {
		drive(t, m, keyMsg("down"))
	}
	u := *p.pg.row(150)
	drive(t, m, ChangeMsg{Change: core.Change{Kind: core.ChangeResync}})
	if p.pg.cursor != 150 {
		t.Fatalf("cursor %d after a resync", p.pg.cursor)
	}
	mustContain(t, m.View(), "> "+u.Name)
}

// Away from the Users tab the page holds no users; back on it, the rows on
// screen are read again, current, with the cursor where it was.
func TestUsersSleepWhileAnotherTabShows(t *testing.T) {
	f := newFixture(t, 300)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoOwner, 100, 30)
	p := usersPage(m)
	for range 40 {
		drive(t, m, keyMsg("down"))
	}
	u := *p.pg.row(40)
	drive(t, m, keys("4")...)
	if len(p.pg.rows) != 0 || len(p.lines) != 0 {
		t.Fatalf("%d rows, %d lines held on another tab", len(p.pg.rows), len(p.lines))
	}
	// Changes while away are not read now, and show on return.
	if _, err := f.c.GrantConsent(f.principal(t, core.DemoBob), 24*3600e9); err != nil {
		t.Fatal(err)
	}
	for len(sub.C) > 0 {
		if _, cmd := m.Update(ChangeMsg{Change: <-sub.C}); len(run(cmd)) != 0 {
			t.Fatal("the sleeping Users page read while its tab was not shown")
		}
	}
	drive(t, m, ChangeMsg{Change: core.Change{Kind: core.ChangeResync}})
	if len(p.pg.rows) != 0 {
		t.Fatal("a resync woke the Users page")
	}
	drive(t, m, keys("1")...)
	if p.pg.cursor != 40 {
		t.Fatalf("cursor %d back on the tab, want 40", p.pg.cursor)
	}
	mustContain(t, m.View(), "> "+u.Name)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("bob@")...)
	mustContain(t, m.View(), "Bob Brown", "Mar 11 ")
}

// The table's help lists no menu hotkeys (they work in the menu only);
// the open menu's help does.
func TestUsersHelpListsMenuKeysInTheMenuOnly(t *testing.T) {
	f := newFixture(t, 30)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, m, keyMsg("?"))
	mustContain(t, m.View(), "search", "actions")
	mustNotContain(t, m.View(), "impersonate user", "request impersonation", "view sessions", "view audit")
	drive(t, m, keyMsg("?"), keyMsg("/"))
	drive(t, m, typing("jane@")...)
	drive(t, m, keys("enter", "enter")...)
	mustContain(t, m.View(), "i impersonate user", "s view sessions", "a view audit")
	// A refused item stays in the menu with its reason; its key leaves the help.
	help := func() string { v := strings.Split(m.View(), "\n"); return v[len(v)-1] }
	mustNotContain(t, help(), "request impersonation") // the owner is in direct mode
	drive(t, m, keyMsg("esc"), keyMsg("esc"), keyMsg("/"))
	drive(t, m, typing("bob@")...)
	drive(t, m, keys("enter", "enter")...)
	mustContain(t, m.View(), "Impersonate user", "has not granted consent")
	mustNotContain(t, help(), "impersonate user")
	mustContain(t, help(), "s view sessions")
}

// A database that still holds a default_duration below 1h (from before
// the rule) opens the request form on 1h, never on a custom "1m" it would
// refuse.
func TestRequestFormStartsWithinTheDurationRule(t *testing.T) {
	f := newFixture(t, 30)
	err := f.db.Update(func(tx core.Tx) error {
		pol, err := tx.Policy()
		if err != nil {
			return err
		}
		pol.DefaultDuration = time.Minute
		return tx.PutPolicy(pol)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.reopen(t)
	m := f.newModel(t, core.DemoSupport, 100, 30)
	drive(t, m, keyMsg("/"))
	drive(t, m, typing("bob@")...)
	drive(t, m, keys("enter", "enter", "r")...)
	v := m.View()
	mustContain(t, v, "Request impersonation of Bob Brown", "(•) 1h")
	mustNotContain(t, v, "1m")
	drive(t, m, typing("ticket #9")...)
	drive(t, m, keyMsg("ctrl+s"))
	mustContain(t, m.View(), "sent to the approvers")
}
