package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/lipgloss"
)

func TestSessionsHistoryAndAudit(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewSessionsPage, core.DemoOwner)
	v := p.View()
	mustContain(t, v, "Sessions · 0 active", "Olivia Owner", "Lee Lead", "Jane Doe", "exit", "ended")
	// Newest first.
	if strings.Index(v, "Olivia Owner") > strings.Index(v, "Lee Lead") {
		t.Fatalf("history not newest first:\n%s", v)
	}
	out := pageKeys(t, p, "j", "enter")
	if len(out) != 1 {
		t.Fatalf("enter sent %v", out)
	}
	open, ok := out[0].(OpenAuditMsg)
	if !ok || open.Query.Session != "imp_00000001" || !strings.Contains(open.Title, "Lee Lead → Jane Doe") {
		t.Fatalf("enter sent %#v, want the audit of imp_00000001", out[0])
	}
}

func TestSessionsLiveAndTerminate(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	p := f.openPage(t, NewSessionsPage, core.DemoOwner)

	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	s, err := f.c.Start(f.principal(t, core.DemoLead), jane.ID, "live one")
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, drivePage(t, p, ChangeMsg{nextChange(t, sub, core.ChangeSession)}))
	v := p.View()
	mustContain(t, v, "Sessions · 1 active", "running", "ends in 1h00m")
	if strings.Index(v, "running") > strings.Index(v, "exit") {
		t.Fatalf("active session not first:\n%s", v)
	}
	// The owner terminates it: x, then y.
	pageKeys(t, p, "g", "x")
	if !p.Capturing() {
		t.Fatal("x opened no dialog")
	}
	mustContain(t, p.View(), "Terminate session "+s.ID)
	noErrors(t, pageKeys(t, p, "y"))
	got, err := f.c.SystemSession(s.ID)
	if err != nil || got.Active() || got.EndReason != core.EndTerminated {
		t.Fatalf("session %+v, %v; want terminated", got, err)
	}
	mustContain(t, p.View(), "Sessions · 0 active", "terminated")
}

func TestSessionsTerminateOnlyForOwners(t *testing.T) {
	f := newFixture(t, 30)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if _, err := f.c.Start(f.principal(t, core.DemoOwner), jane.ID, "owner at work"); err != nil {
		t.Fatal(err)
	}
	p := f.openPage(t, NewSessionsPage, core.DemoLead)
	mustContain(t, p.View(), "running")
	pageKeys(t, p, "x")
	if p.Capturing() {
		t.Fatal("support staff got the terminate dialog")
	}
	pageKeys(t, p, "esc") // nothing to clear
}

func TestSessionsFilterByTarget(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewSessionsPage, core.DemoOwner)
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	drivePage(t, p, ShowSessionsMsg{Target: bob})
	mustContain(t, p.View(), "Sessions on Bob Brown (bob@globex.test)", "No sessions yet.")
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	drivePage(t, p, ShowSessionsMsg{Target: jane})
	mustContain(t, p.View(), "Sessions on Jane Doe", "Lee Lead", "Olivia Owner")
	pageKeys(t, p, "esc")
	v := p.View()
	mustNotContain(t, v, "Sessions on")
	mustContain(t, v, "Lee Lead")
}

func TestSessionsPaging(t *testing.T) {
	f := newFixture(t, 30)
	lead := f.principal(t, core.DemoLead)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	for range sessionsPageSize + 30 {
		if _, err := f.c.Start(lead, jane.ID, "again"); err != nil {
			t.Fatal(err)
		}
		if err := f.c.End(lead, core.EndExit); err != nil {
			t.Fatal(err)
		}
	}
	p := f.openPage(t, NewSessionsPage, core.DemoOwner).(*SessionsPage)
	total := sessionsPageSize + 32
	if len(p.history) >= total {
		t.Fatalf("opened with all %d sessions read", len(p.history))
	}
	for range total + 5 {
		pageKeys(t, p, "j")
	}
	if len(p.history) != total || !p.done {
		t.Fatalf("%d sessions after scrolling, want %d", len(p.history), total)
	}
	if r, _ := p.selected(); r.ID != "imp_00000001" {
		t.Fatalf("last row %s, want the first session", r.ID)
	}
	seen := map[string]bool{}
	for _, r := range p.history {
		if seen[r.ID] {
			t.Fatalf("%s listed twice", r.ID)
		}
		seen[r.ID] = true
	}
}

func TestSessionsGolden(t *testing.T) {
	f := newFixture(t, 30)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if _, err := f.c.Start(f.principal(t, core.DemoLead), jane.ID, "ticket #4900: settings page"); err != nil {
		t.Fatal(err)
	}
	c := f.pageCommon(t, core.DemoOwner, 100, 30)
	goldenPage(t, c, NewSessionsPage(c), "running", "")
}

// A name, reason and note with control bytes, written behind core's back
// (core refuses them at input), render as visible escapes on every page.
func TestPagesRenderStoredControlBytesHarmless(t *testing.T) {
	f := newFixture(t, 30)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	reqs, _ := f.c.Requests(core.SystemPrincipal("test"), core.RequestPending, 0)
	err := f.db.Update(func(tx core.Tx) error {
		jane.Name = "Jane\x1b[2J\x1b]0;pwned\x07\u202eDoe"
		bob.Name = "Bob\x1b[2J\x1b]0;pwned\x07\u202eBrown"
		if err := tx.PutUser(bob); err != nil {
			return err
		}
		r := reqs[0]
		r.Reason = "export\x1b[31m broken"
		if err := tx.PutRequest(r); err != nil {
			return err
		}
		return tx.PutUser(jane)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.reopen(t)
	for _, tc := range []struct {
		ctor  func(Common) Page
		email string
	}{
		{NewApprovalsPage, core.DemoApprover},
		{NewSessionsPage, core.DemoOwner},
		{NewAccountPage, core.DemoJane},
		{NewSettingsPage, core.DemoOwner},
		{NewAuditPage, core.DemoOwner},
	} {
		p := f.openPage(t, tc.ctor, tc.email)
		v := p.View()
		if strings.ContainsAny(v, "\x1b\x07\u202e") {
			t.Fatalf("%s: raw control bytes in the view: %q", p.Title(), v)
		}
		if p.Title() != "Settings" && p.Title() != "Audit" {
			mustContain(t, v, `Jane\x1b[2J`)
		}
	}
	p := f.openPage(t, NewApprovalsPage, core.DemoApprover)
	mustContain(t, p.View(), `export\x1b[31m broken`)
	pageKeys(t, p, "a")
	v := p.View()
	if strings.ContainsAny(v, "\x1b\x07\u202e") {
		t.Fatalf("approve dialog: raw control bytes: %q", v)
	}
}

// Every page and dialog stays within the space it is given, down to the
// smallest console (80×24 less tabs, banner and footer).
func TestPagesFitTheirSpace(t *testing.T) {
	f := newFixture(t, 30)
	for _, size := range [][2]int{{80, 17}, {100, 30}, {160, 45}} {
		for _, tc := range []struct {
			ctor  func(Common) Page
			email string
			keys  []string
		}{
			{NewApprovalsPage, core.DemoApprover, nil},
			{NewApprovalsPage, core.DemoApprover, []string{"a"}},
			{NewApprovalsPage, core.DemoApprover, []string{"d"}},
			{NewSessionsPage, core.DemoOwner, nil},
			{NewAuditPage, core.DemoOwner, nil},
			{NewAuditPage, core.DemoOwner, []string{"f"}},
			{NewAccountPage, core.DemoJane, nil},
			{NewAccountPage, core.DemoJane, []string{"e"}},
			{NewSettingsPage, core.DemoOwner, []string{"G"}},
		} {
			p := tc.ctor(f.pageCommon(t, tc.email, size[0], size[1]))
			drivePage(t, p, p.Init())
			pageKeys(t, p, tc.keys...)
			lines := strings.Split(p.View(), "\n")
			if len(lines) > size[1] {
				t.Errorf("%s %v at %v: %d lines", p.Title(), tc.keys, size, len(lines))
			}
			for i, l := range lines {
				if w := lipgloss.Width(l); w > size[0] {
					t.Errorf("%s %v at %v: line %d is %d wide: %q", p.Title(), tc.keys, size, i, w, l)
				}
			}
		}
	}
}

// The events counter of a running session counts live: on the Sessions
// tab of staff and under the target's "Who impersonated me".
func TestRunningSessionEventsCountLive(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	owner := f.newModel(t, core.DemoOwner, 100, 30)
	drive(t, owner, keyMsg("3"))
	jane := f.newModel(t, core.DemoJane, 100, 30)
	lead := f.principal(t, core.DemoLead)
	janeU, _ := f.c.SystemUserByEmail(core.DemoJane)
	deliver := func() {
		for len(sub.C) > 0 {
			ch := ChangeMsg{Change: <-sub.C}
			drive(t, owner, ch)
			drive(t, jane, ch)
		}
	}
	if _, err := f.c.Start(lead, janeU.ID, "ticket"); err != nil {
		t.Fatal(err)
	}
	deliver() // both show the session, with its first event
	for range 4 {
		if _, err := f.c.RecordAction(lead, "look around", nil); err != nil {
			t.Fatal(err)
		}
	}
	deliver()
	row := func(v string) string {
		for _, l := range strings.Split(v, "\n") {
			if strings.Contains(l, "running") {
				return l
			}
		}
		t.Fatalf("no running session:\n%s", v)
		return ""
	}
	for name, m := range map[string]*Model{"owner's Sessions": owner, "Jane's Account": jane} {
		if l := strings.TrimSpace(row(m.View())); !strings.HasSuffix(l, " 5") {
			t.Fatalf("%s: running session row %q, want 5 events", name, l)
		}
	}
}

// At 80 columns the Sessions table keeps the people's names readable: the
// times and counts get shorter instead.
func TestSessionsReadableAt80Columns(t *testing.T) {
	f := newFixture(t, 30)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if _, err := f.c.Start(f.principal(t, core.DemoLead), jane.ID, "ticket #1"); err != nil {
		t.Fatal(err)
	}
	m := f.newModel(t, core.DemoOwner, 80, 24)
	drive(t, m, keyMsg("3"))
	v := m.View()
	var rows []string
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, "> "), "03-10 ") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("%d session rows:\n%s", len(rows), v)
	}
	mustContain(t, rows[0], "Lee Lead", "Jane Doe", "active", "1h00m left")
	mustContain(t, rows[1], "Olivia Owner", "Jane Doe", "ended", "exit")
	mustNotContain(t, v, "…")
	m = f.newModel(t, core.DemoOwner, 120, 24)
	drive(t, m, keyMsg("3"))
	mustContain(t, m.View(), "Started (UTC)", "2025-03-10 11:15 running", "ends in 1h00m")
}

// TestSessionCellsEnd: a running session's end says so (narrow: "now"
// and the time left); an ended one shows its end time, with the date
// when it ended on another day than it started.
func TestSessionCellsEnd(t *testing.T) {
	start := time.Date(2025, 3, 10, 23, 15, 0, 0, time.UTC)
	now := start.Add(30 * time.Minute)
	running := sessionRow{Session: core.Session{Status: core.SessionActive, Started: start, Ends: start.Add(time.Hour)}}
	sameDay := sessionRow{Session: core.Session{Status: core.SessionEnded, Started: start, Ended: start.Add(20 * time.Minute)}}
	nextDay := sessionRow{Session: core.Session{Status: core.SessionEnded, Started: start, Ended: start.Add(50 * time.Minute)}}
	for _, c := range []struct {
		r                  sessionRow
		wide, narrow, left string
	}{
		{running, "running", "now", "30m left"},
		{sameDay, "23:35", "23:35", ""},
		{nextDay, "03-11 00:05", "03-11", ""},
	} {
		wide := sessionCells(c.r, now)
		if wide[1] != c.wide {
			t.Errorf("%s: wide end %q, want %q", c.r.Status, wide[1], c.wide)
		}
		narrow := narrowSessionCells(c.r, now, sessionCells(c.r, now))
		if narrow[1] != c.narrow {
			t.Errorf("%s ending %s: narrow end %q, want %q", c.r.Status, c.r.Ended, narrow[1], c.narrow)
		}
		if c.left != "" && narrow[6] != c.left {
			t.Errorf("running: narrow end reason %q, want %q", narrow[6], c.left)
		}
	}
}
