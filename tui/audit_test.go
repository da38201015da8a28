package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/actas/actas/core"
)

func openAuditTab(t testing.TB, f *fixture, email string) *AuditPage {
	t.Helper()
	p := f.openPage(t, NewAuditPage, email).(*AuditPage)
	return p
}

func TestAuditTabWholeLogNewestFirst(t *testing.T) {
	f := newFixture(t, 30)
	p := openAuditTab(t, f, core.DemoOwner)
	rows := p.viewer.pg.rows
	if len(rows) == 0 || rows[0].Seq != f.c.AuditCount() {
		t.Fatalf("first row is not the newest event")
	}
	mustContain(t, p.View(), "Audit log", "request.created", "session.denied")
	if p.Title() != "Audit" {
		t.Fatalf("title %q", p.Title())
	}
}

func TestAuditTabFilterForm(t *testing.T) {
	f := newFixture(t, 30)
	p := openAuditTab(t, f, core.DemoOwner)
	pageKeys(t, p, "f")
	if !p.Capturing() {
		t.Fatal("f opened no form")
	}
	drivePage(t, p, typing("consent")...)
	pageKeys(t, p, "tab")
	drivePage(t, p, typing(core.DemoJane)...)
	mustContain(t, p.View(), "Filter the audit log", "consent", core.DemoJane)
	noErrors(t, pageKeys(t, p, "ctrl+s"))
	if p.Capturing() {
		t.Fatal("form still open after ctrl+s")
	}
	rows := p.viewer.pg.rows
	if len(rows) != 1 || rows[0].Type != core.EvConsentGranted || rows[0].Actor.Email != core.DemoJane {
		t.Fatalf("rows %+v, want Jane's consent.granted", rows)
	}
	mustContain(t, p.View(), "Filtered by type consent · actor jane@globex.test")

	// esc clears the filters.
	pageKeys(t, p, "esc")
	if len(p.viewer.pg.rows) < 40 || p.filtered() {
		t.Fatalf("esc left %d rows, filtered %v", len(p.viewer.pg.rows), p.filtered())
	}
}

func TestAuditTabFilterBySubjectAndDates(t *testing.T) {
	f := newFixture(t, 30)
	p := openAuditTab(t, f, core.DemoOwner)
	pageKeys(t, p, "f", "tab", "tab")
	drivePage(t, p, typing(core.DemoBob)...)
	pageKeys(t, p, "tab")
	drivePage(t, p, typing("2025-03-10")...)
	pageKeys(t, p, "tab")
	drivePage(t, p, typing("2025-03-10")...)
	noErrors(t, pageKeys(t, p, "enter"))
	rows := p.viewer.pg.rows
	if len(rows) != 2 {
		t.Fatalf("%d rows about Bob, want user.created and session.denied", len(rows))
	}
	for _, ev := range rows {
		if ev.Subject.Email != core.DemoBob {
			t.Fatalf("row %+v is not about Bob", ev)
		}
	}
	// The next day holds nothing.
	pageKeys(t, p, "f", "tab", "tab", "tab")
	for range 10 {
		pageKeys(t, p, "backspace")
	}
	drivePage(t, p, typing("2025-03-11")...)
	pageKeys(t, p, "tab")
	for range 10 {
		pageKeys(t, p, "backspace")
	}
	pageKeys(t, p, "enter")
	if len(p.viewer.pg.rows) != 0 {
		t.Fatalf("%d rows on 2025-03-11", len(p.viewer.pg.rows))
	}
	mustContain(t, p.View(), "No events match.")
}

func TestAuditTabFormErrorsInline(t *testing.T) {
	f := newFixture(t, 30)
	p := openAuditTab(t, f, core.DemoOwner)
	for _, tc := range []struct {
		tabs  int
		text  string
		error string
	}{
		{0, "sessionz", "unknown event type"},
		{1, "nobody@nowhere.test", `nobody's name or email contains "nobody@nowhere.test"`},
		{2, "member000001", `"member000001" matches`},
		{3, "10/03/2025", "is not a date"},
	} {
		pageKeys(t, p, "f")
		for range tc.tabs {
			pageKeys(t, p, "tab")
		}
		drivePage(t, p, typing(tc.text)...)
		pageKeys(t, p, "enter")
		if !p.Capturing() {
			t.Fatalf("%q: form closed on an error", tc.text)
		}
		mustContain(t, p.View(), tc.error)
		if p.focus != tc.tabs {
			t.Fatalf("%q: focus on field %d, want %d", tc.text, p.focus, tc.tabs)
		}
		pageKeys(t, p, "esc")
		if p.Capturing() || p.filtered() {
			t.Fatalf("%q: esc left the form open or a filter set", tc.text)
		}
	}
}

func TestAuditTabTypeFamilies(t *testing.T) {
	q := resolveAuditFilter(context.Background(), nil, core.Principal{}, nil, [fieldCount]string{fieldType: "session, request.approved"})
	if q.err != nil {
		t.Fatal(q.err)
	}
	want := "session.started session.ended session.denied session.entered request.approved"
	if got := strings.Join(q.q.Types, " "); got != want {
		t.Fatalf("types %q, want %q", got, want)
	}
}

func TestAuditTabGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoOwner, 100, 30)
	goldenPage(t, c, NewAuditPage(c), "request.created", "")
}

func TestAuditTabFormGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoOwner, 100, 30)
	goldenPage(t, c, NewAuditPage(c), "request.created", "YYYY-MM-DD", "f", "s", "e", "s", "s", "i", "o", "n")
}

// A person field takes part of a name or email: one match is that person
// (and the summary says whom), several are offered to choose from.
func TestAuditTabPersonByPartOfNameOrEmail(t *testing.T) {
	f := newFixture(t, 30)
	p := openAuditTab(t, f, core.DemoOwner)
	pageKeys(t, p, "f", "tab", "tab")
	drivePage(t, p, typing("jane")...)
	noErrors(t, pageKeys(t, p, "enter"))
	if p.Capturing() {
		t.Fatalf("form still open:\n%s", p.View())
	}
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if len(p.viewer.pg.rows) == 0 {
		t.Fatal("no events about Jane")
	}
	for _, ev := range p.viewer.pg.rows {
		if ev.Subject.ID != jane.ID {
			t.Fatalf("row %+v is not about Jane", ev)
		}
	}
	mustContain(t, p.View(), "Filtered by subject jane@globex.test")

	// The actor by part of a name: Lee Lead.
	pageKeys(t, p, "f", "tab")
	drivePage(t, p, typing("Lee L")...)
	noErrors(t, pageKeys(t, p, "enter"))
	mustContain(t, p.View(), "actor lead@acme.test")

	// Several people match: they are offered, and the form stays open.
	pageKeys(t, p, "f", "tab")
	for range 20 {
		pageKeys(t, p, "backspace")
	}
	drivePage(t, p, typing("acme.test")...)
	pageKeys(t, p, "enter")
	if !p.Capturing() {
		t.Fatal("an ambiguous actor closed the form")
	}
	mustContain(t, p.View(), `"acme.test" matches`, "<approver@acme.test>", "type more of the name")
}
