package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// lastEvent is the newest audit event.
func lastEvent(t testing.TB, f *fixture) core.Event {
	t.Helper()
	page, err := f.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{}, 0, true, 1)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("audit: %v", err)
	}
	return page.Events[0]
}

func TestSettingsToggleBool(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewSettingsPage, core.DemoOwner)
	mustContain(t, p.View(), "Policy", "enabled", "max_duration", "168h", "Staff (5)", "Sam Support", "request")
	out := pageKeys(t, p, "enter") // enabled: true -> false
	noErrors(t, out)
	if f.c.Policy().Enabled {
		t.Fatal("enabled still true")
	}
	if ev := lastEvent(t, f); ev.Type != core.EvPolicyChanged || !strings.Contains(ev.DetailsText(), "enabled=true -> false") {
		t.Fatalf("last event %s %s", ev.Type, ev.DetailsText())
	}
	if p.Capturing() {
		t.Fatal("a toggle opened an input")
	}
}

func TestSettingsEditDuration(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewSettingsPage, core.DemoOwner)
	pageKeys(t, p, "j", "j", "enter") // max_duration
	if !p.Capturing() {
		t.Fatal("enter opened no input")
	}
	for range 4 {
		pageKeys(t, p, "backspace")
	}
	drivePage(t, p, typing("soon")...)
	pageKeys(t, p, "enter")
	if !p.Capturing() {
		t.Fatal("an invalid value closed the input")
	}
	mustContain(t, p.View(), "not a duration")
	for range 4 {
		pageKeys(t, p, "backspace")
	}
	drivePage(t, p, typing("72h")...)
	noErrors(t, pageKeys(t, p, "enter"))
	if p.Capturing() {
		t.Fatal("input still open after saving")
	}
	if got := f.c.Policy().MaxDuration; got != 72*time.Hour {
		t.Fatalf("max_duration %s, want 72h", got)
	}
	// esc cancels an edit.
	pageKeys(t, p, "enter", "backspace", "esc")
	if p.Capturing() || f.c.Policy().MaxDuration != 72*time.Hour {
		t.Fatal("esc did not cancel")
	}
}

func TestSettingsStaffModeAndApprover(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewSettingsPage, core.DemoOwner)
	pageKeys(t, p, "G") // the last staff member: Sam Support (request)
	mustContain(t, p.View(), "needs an approved request each time")
	noErrors(t, pageKeys(t, p, "m"))
	sam, _ := f.c.SystemUserByEmail(core.DemoSupport)
	if sam.Mode != core.ModeDirect {
		t.Fatalf("mode %s, want direct", sam.Mode)
	}
	noErrors(t, pageKeys(t, p, "m"))
	sam, _ = f.c.SystemUserByEmail(core.DemoSupport)
	if sam.Mode != core.ModeNever {
		t.Fatalf("mode %s, want never", sam.Mode)
	}
	noErrors(t, pageKeys(t, p, "a"))
	sam, _ = f.c.SystemUserByEmail(core.DemoSupport)
	if !sam.Approver {
		t.Fatal("not an approver after a")
	}
	if ev := lastEvent(t, f); ev.Type != core.EvUserUpdated || ev.Subject.Email != core.DemoSupport {
		t.Fatalf("last event %s on %s", ev.Type, ev.Subject)
	}
	// The selection stays on Sam after the reloads.
	if u, ok := p.(*SettingsPage).staffMember(); !ok || u.Email != core.DemoSupport {
		t.Fatalf("selected %v", u.Email)
	}
}

func TestSettingsGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoOwner, 100, 30)
	goldenPage(t, c, NewSettingsPage(c), "Sam Support", "")
}
