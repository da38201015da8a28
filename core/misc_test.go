package core_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/actas/actas/core"
)

func asErr(err error, target **core.Error) bool { return errors.As(err, target) }

func TestRedaction(t *testing.T) {
	w := newWorld(t)
	must(w.c.RecordAction(w.as("owner"), "login form", map[string]any{
		"Password": "hunter2", "user": "jane", "api_key": "k1", "X-Api-Key": "k2",
		"nested": map[string]any{"Authorization": "Bearer x", "Cookie": "c", "ok": "visible",
			"deeper": []any{map[string]any{"private_key": "pk", "refresh_token": "rt"}}},
		"client_secret": "s",
	}))
	ev := w.lastEvent()
	for _, secret := range []string{"hunter2", "k1", "k2", "Bearer", "\"c\"", "pk", "rt", "\"s\""} {
		if strings.Contains(string(ev.Details), secret) {
			t.Errorf("details hold %s: %s", secret, ev.Details)
		}
	}
	for _, keep := range []string{"jane", "visible"} {
		if !strings.Contains(string(ev.Details), keep) {
			t.Errorf("details lost %s: %s", keep, ev.Details)
		}
	}
	if c := strings.Count(string(ev.Details), core.Redacted); c != 8 {
		t.Errorf("%d redactions in %s, want 8", c, ev.Details)
	}
}

func TestDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"\x1b[31mEvil":       `\x1b[31mEvil`,
		"a\nb\tc":            `a\x0ab\x09c`,
		"rtl\u202eevil":      `rtl\u202eevil`,
		"\u009bcsi":          `\u009bcsi`,
		"\x9bcsi":            `\x9bcsi`,
		"del\x7f":            `del\x7f`,
		"Zoë 日本":             "Zoë 日本",
		string([]byte{0xff}): `\xff`,
	} {
		if got := core.Display(in); got != want {
			t.Errorf("Display(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDisplay(f *testing.F) {
	for _, s := range []string{"", "ok", "\x1b]0;title\x07", "\u2066x\u2069", "\xc2\x9b", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := core.Display(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) ||
				(r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c {
				t.Fatalf("Display(%q) lets %U through: %q", s, r, out)
			}
		}
	})
}

func TestUntrustedInputRefused(t *testing.T) {
	w := newWorld(t)
	for _, nu := range []core.NewUser{
		{Email: "evil@x.test", Name: "\x1b[2JEvil"},
		{Email: "evil\x07@x.test", Name: "Evil"},
		{Email: "a@x.test", Name: "bidi\u202eevil"},
		{Email: "not-an-email", Name: "X"},
		{Email: "w@x.test", Name: "Wiz", Role: "wizard"},
	} {
		if _, err := w.c.CreateUser(w.cli, nu); core.CodeOf(err) != core.CodeInvalid {
			t.Errorf("CreateUser(%q, %q): %v", nu.Email, nu.Name, err)
		}
	}
}

func TestEnumsInAnyCase(t *testing.T) {
	w := newWorld(t)
	u := must(w.c.CreateUser(w.cli, core.NewUser{Email: "Case@Globex.test", Name: "Case", Role: "Member", Org: "Globex", Status: "PENDING"}))
	if u.Email != "case@globex.test" || u.Role != core.RoleMember || u.Status != core.StatusPending || u.ID == "" {
		t.Fatalf("user %+v", u)
	}
}

func TestSearchUsers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	page := must(w.c.SearchUsers(ctx, w.as("owner"), "", 0, 100))
	if len(page.Users) != 13 || page.Next != -1 {
		t.Fatalf("all users: %d next %d", len(page.Users), page.Next)
	}
	for i := 1; i < len(page.Users); i++ {
		if strings.ToLower(page.Users[i-1].Name) > strings.ToLower(page.Users[i].Name) {
			t.Fatalf("not in name order: %s > %s", page.Users[i-1].Name, page.Users[i].Name)
		}
	}
	page = must(w.c.SearchUsers(ctx, w.as("owner"), "GLOBEX", 0, 3))
	if len(page.Users) != 3 || page.Next < 0 {
		t.Fatalf("globex page: %+v", page)
	}
	rest := must(w.c.SearchUsers(ctx, w.as("owner"), "globex", page.Next, 100))
	if n := len(page.Users) + len(rest.Users); n != 6 {
		t.Fatalf("globex users %d, want 6", n)
	}
	// Staff of Globex see only Globex.
	page = must(w.c.SearchUsers(ctx, w.as("gstaff"), "", 0, 100))
	for _, u := range page.Users {
		if !strings.HasSuffix(u.Email, "@globex.test") {
			t.Errorf("globex staff sees %s", u.Email)
		}
	}
	// A renamed user is found by the new name only.
	name := "Janet Renamed"
	w.must(w.c.UpdateUser(w.cli, "jane@globex.test", core.UserChange{Name: &name}))
	if got := must(w.c.SearchUsers(ctx, w.as("owner"), "janet ren", 0, 10)); len(got.Users) != 1 {
		t.Errorf("renamed user not found: %+v", got)
	}
	if got := must(w.c.SearchUsers(ctx, w.as("owner"), "jane doe", 0, 10)); len(got.Users) != 0 {
		t.Errorf("old name still found: %+v", got)
	}
	if _, err := w.c.SearchUsers(ctx, w.as("jane"), "", 0, 10); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("member searched users: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.c.SearchUsers(cancelled, w.as("owner"), "zz", 0, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled search: %v", err)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	w := newWorld(t)
	before := w.c.UserCount()
	rows := []core.ImportRow{
		{Line: 2, User: core.NewUser{Email: "n1@globex.test", Name: "N1", Role: core.RoleMember, Org: "Globex"}},
		{Line: 3, User: core.NewUser{Email: "n2@globex.test", Name: "N2", Role: "wizard", Org: "Globex"}},
		{Line: 4, User: core.NewUser{Email: "jane@globex.test", Name: "dup", Role: core.RoleMember, Org: "Globex"}},
		{Line: 5, User: core.NewUser{Email: "n1@globex.test", Name: "again", Role: core.RoleMember, Org: "Globex"}},
		{Line: 6, User: core.NewUser{Email: "n3@globex.test", Name: "N3", Role: core.RoleMember, Org: "Nowhere"}},
	}
	_, err := w.c.ImportUsers(w.cli, rows)
	var ie *core.ImportError
	if !errors.As(err, &ie) || len(ie.Lines) != 4 {
		t.Fatalf("import error %v", err)
	}
	for i, line := range []int{3, 4, 5, 6} {
		if ie.Lines[i].Line != line {
			t.Errorf("bad line %d reported as %d", line, ie.Lines[i].Line)
		}
	}
	if w.c.UserCount() != before {
		t.Fatalf("a failed import added users")
	}
	if _, err := w.c.SystemUserByEmail("n1@globex.test"); err == nil {
		t.Fatal("n1 landed")
	}
	n := must(w.c.ImportUsers(w.cli, rows[:1]))
	if n != 1 || w.c.UserCount() != before+1 {
		t.Fatalf("good import: %d", n)
	}
}

// An import adds its users in email order, whatever the file's order
// (README: the email index then grows at one end).
func TestImportAddsUsersInEmailOrder(t *testing.T) {
	w := newWorld(t)
	var rows []core.ImportRow
	for i, email := range []string{"zed@globex.test", " Amy@Globex.test", "mia@globex.test"} {
		rows = append(rows, core.ImportRow{Line: i + 2, User: core.NewUser{Email: email, Name: "N", Role: core.RoleMember, Org: "Globex"}})
	}
	must(w.c.ImportUsers(w.cli, rows))
	var ids []string
	for _, email := range []string{"amy@globex.test", "mia@globex.test", "zed@globex.test"} {
		ids = append(ids, must(w.c.SystemUserByEmail(email)).ID)
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("IDs by email %v, want ascending", ids)
	}
}

func TestPolicyAllOrNothing(t *testing.T) {
	w := newWorld(t)
	old := w.c.Policy()
	for _, ch := range []map[string]string{
		{"max_duration": "72h", "bogus": "1"},
		{"max_duration": "200h"},
		{"enabled": "maybe"},
		{"approvals_required": "3"},
		{"default_duration": "100h", "max_duration": "72h"},
	} {
		if _, err := w.c.SetPolicy(w.cli, ch); core.CodeOf(err) != core.CodeInvalid {
			t.Errorf("SetPolicy(%v): %v", ch, err)
		}
	}
	if got := w.c.Policy(); got.MaxDuration != old.MaxDuration || got.Enabled != old.Enabled {
		t.Fatalf("refused change applied: %+v", got)
	}
	p := must(w.c.SetPolicy(w.cli, map[string]string{"max_duration": "3d", "request_ttl": "2h"}))
	if p.MaxDuration.Hours() != 72 || w.lastEvent().Type != core.EvPolicyChanged {
		t.Fatalf("policy %+v", p)
	}
	if _, err := w.c.SetPolicy(w.as("lead"), map[string]string{"enabled": "false"}); core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("support changed the policy: %v", err)
	}
}

func TestHubNeverBlocks(t *testing.T) {
	h := core.NewHub()
	slow := h.Subscribe(2)
	fast := h.Subscribe(100)
	for i := 0; i < 50; i++ {
		h.Publish(core.Change{Kind: core.ChangeAudit})
	}
	if len(fast.C) != 50 {
		t.Fatalf("fast subscriber got %d", len(fast.C))
	}
	// The slow one holds the first two changes and then a resync, without
	// waiting for another publish to learn that it missed some.
	for i, want := range []core.ChangeKind{core.ChangeAudit, core.ChangeAudit, core.ChangeResync} {
		select {
		case ch := <-slow.C:
			if ch.Kind != want {
				t.Fatalf("slow subscriber's change %d is %s, want %s", i, ch.Kind, want)
			}
		default:
			t.Fatalf("slow subscriber has no change %d (%s) waiting", i, want)
		}
	}
	// Drained, it gets every change again.
	h.Publish(core.Change{Kind: core.ChangePolicy})
	if ch := <-slow.C; ch.Kind != core.ChangePolicy {
		t.Fatalf("slow subscriber got %s after draining, want policy", ch.Kind)
	}
	slow.Close()
	fast.Close()
	h.Publish(core.Change{Kind: core.ChangeAudit}) // no panic on closed subscribers
	if h.Subscribers() != 0 {
		t.Fatal("subscribers left")
	}
}

func TestDemoSeed(t *testing.T) {
	w := newWorldEmpty(t)
	ok, err := core.SeedDemo(w.c, w.clock, 50)
	if err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	if ok, err := core.SeedDemo(w.c, w.clock, 50); ok || err != nil {
		t.Fatalf("second seed: %v %v", ok, err)
	}
	if n := w.c.UserCount(); n != 59 {
		t.Fatalf("users %d", n)
	}
	jane := must(w.c.SystemUserByEmail(core.DemoJane))
	if !jane.ConsentActive(w.clock.Now()) {
		t.Fatal("jane has no consent")
	}
	owner := must(w.c.SystemUserByEmail(core.DemoOwner))
	support := core.Principal{User: must(w.c.SystemUserByEmail(core.DemoSupport))}
	reqs := must(w.c.Requests(core.Principal{User: owner}, core.RequestPending, 0))
	if len(reqs) != 1 || reqs[0].Target != jane.ID || reqs[0].Requester != support.User.ID {
		t.Fatalf("pending requests %+v, want DESIGN's one from support for jane", reqs)
	}
	// The README's story starts from it: support is told that the request
	// waits for an approver, both on Request and on Impersonate.
	if err := w.actionsOn(support, jane.ID).Request; err == nil || !strings.Contains(err.Error(), "pending request") {
		t.Fatalf("request Jane again: %v", err)
	}
	if err := w.actionsOn(support, jane.ID).Impersonate; err == nil || !strings.Contains(err.Error(), "waiting for an approver") {
		t.Fatalf("impersonate Jane: %v", err)
	}
	hist := must(w.c.Sessions(core.Principal{User: owner}, "", "", 10))
	if len(hist) != 2 || hist[0].Active() || hist[0].Events < 2 {
		t.Fatalf("history %+v", hist)
	}
	w.verify()
}

func TestAuditVisibility(t *testing.T) {
	w := newWorld(t)
	must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
	// Staff read the events about a user of their subtree, not the whole log.
	page := must(w.c.Audit(w.as("gstaff"), core.AuditQuery{Subject: w.u["jane"].ID}, 0, true, 100))
	if len(page.Events) == 0 {
		t.Fatal("staff read nothing about jane")
	}
	for _, ev := range page.Events {
		if ev.Subject.ID != w.u["jane"].ID {
			t.Fatalf("event about %s", ev.Subject)
		}
	}
	if _, err := w.c.Audit(w.as("gstaff"), core.AuditQuery{Subject: w.u["ivan"].ID}, 0, true, 10); core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("globex staff read about initech's ivan: %v", err)
	}
	if _, err := w.c.Audit(w.as("gstaff"), core.AuditQuery{Actor: w.u["lead"].ID}, 0, true, 10); core.CodeOf(err) != core.CodeNotPermitted {
		// Without a subject, a non-auditor reads only about themselves.
		page := must(w.c.Audit(w.as("gstaff"), core.AuditQuery{Actor: w.u["lead"].ID}, 0, true, 10))
		for _, ev := range page.Events {
			if ev.Subject.ID != w.u["gstaff"].ID {
				t.Fatalf("staff read an event about %s", ev.Subject)
			}
		}
	}
	// A member reads the events about themselves only.
	page = must(w.c.Audit(w.as("jane"), core.AuditQuery{}, 0, true, 100))
	for _, ev := range page.Events {
		if ev.Subject.ID != w.u["jane"].ID {
			t.Fatalf("jane read an event about %s", ev.Subject)
		}
	}
	if _, err := w.c.Audit(w.as("jane"), core.AuditQuery{Subject: w.u["joe"].ID}, 0, true, 10); core.CodeOf(err) != core.CodeNotPermitted {
		t.Fatalf("jane read about joe: %v", err)
	}
}
