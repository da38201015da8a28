package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	tea "github.com/charmbracelet/bubbletea"
)

func TestAccountProfileAndConsent(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewAccountPage, core.DemoJane)
	mustContain(t, p.View(), "Jane Doe", core.DemoJane, "Globex", "member", "active",
		"Active until 2025-03-13 09:10 UTC", "Who impersonated me", "Olivia Owner (owner@acme.test)", "Lee Lead (lead@acme.test)")
}

func TestAccountRevokeConsent(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewAccountPage, core.DemoJane)
	pageKeys(t, p, "r")
	if !p.Capturing() {
		t.Fatal("r opened no dialog")
	}
	mustContain(t, p.View(), "Revoke your consent?")
	out := pageKeys(t, p, "y")
	noErrors(t, out)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if jane.ConsentActive(f.c.Now()) {
		t.Fatal("consent still active after r, y")
	}
	if n := noticesOf(out); len(n) != 1 || !strings.Contains(n[0], "Consent revoked") {
		t.Fatalf("notices %q", n)
	}
	mustContain(t, p.View(), "Not active")
}

func TestAccountRevokeEscKeepsConsent(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewAccountPage, core.DemoJane)
	pageKeys(t, p, "r", "esc")
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	if p.Capturing() || !jane.ConsentActive(f.c.Now()) {
		t.Fatal("esc did not cancel the revoke")
	}
}

func TestAccountEnableConsent(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewAccountPage, core.DemoBob)
	mustContain(t, p.View(), "Not granted")
	// The picker starts on 24h.
	pageKeys(t, p, "e")
	mustContain(t, p.View(), "Enable impersonation consent", "1h", "24h", "72h", "custom")
	noErrors(t, pageKeys(t, p, "enter"))
	bob, _ := f.c.SystemUserByEmail(core.DemoBob)
	if got := bob.ConsentUntil.Sub(f.c.Now()); got != 24*time.Hour {
		t.Fatalf("consent for %s, want 24h", got)
	}
	mustContain(t, p.View(), "Active until")

	// A custom duration: → → to custom, then type it.
	pageKeys(t, p, "e", "right", "right")
	if f := p.(*AccountPage).flow.d.(*consentForm); f.choice != 3 {
		t.Fatalf("choice %d, want custom", f.choice)
	}
	drivePage(t, p, typing("200h")...)
	pageKeys(t, p, "enter")
	if !p.Capturing() {
		t.Fatal("too long a consent closed the picker")
	}
	mustContain(t, p.View(), "consent must be between 1h and 168h")
	for range 4 {
		pageKeys(t, p, "backspace")
	}
	drivePage(t, p, typing("36h")...)
	noErrors(t, pageKeys(t, p, "enter"))
	bob, _ = f.c.SystemUserByEmail(core.DemoBob)
	if got := bob.ConsentUntil.Sub(f.c.Now()); got != 36*time.Hour {
		t.Fatalf("consent for %s, want 36h", got)
	}
}

func TestAccountPresetsFollowPolicy(t *testing.T) {
	f := newFixture(t, 30)
	if _, err := f.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"max_duration": "48h", "default_duration": "1h"}); err != nil {
		t.Fatal(err)
	}
	p := f.openPage(t, NewAccountPage, core.DemoBob)
	pageKeys(t, p, "e")
	v := p.View()
	mustContain(t, v, "1h", "24h", "custom", "At most 48h")
	mustNotContain(t, v, "72h")
}

func TestAccountTheme(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewAccountPage, core.DemoJane)
	// t cycles dark → light → high-contrast, stored and told to the root.
	for _, want := range []string{themes.Light, themes.HighContrast} {
		out := pageKeys(t, p, "t")
		noErrors(t, out)
		if !slices.Contains(out, tea.Msg(ThemeMsg{Theme: want})) {
			t.Fatalf("t sent %v, want ThemeMsg %s", out, want)
		}
		jane, _ := f.c.SystemUserByEmail(core.DemoJane)
		if jane.Theme != want {
			t.Fatalf("stored theme %q, want %q", jane.Theme, want)
		}
		mustContain(t, p.View(), want+"  (t for the next)")
	}
}

func TestAccountSessionAudit(t *testing.T) {
	f := newFixture(t, 30)
	p := f.openPage(t, NewAccountPage, core.DemoJane)
	out := pageKeys(t, p, "j", "enter")
	if len(out) != 1 {
		t.Fatalf("enter sent %v", out)
	}
	if open, ok := out[0].(OpenAuditMsg); !ok || open.Query.Session != "imp_00000001" {
		t.Fatalf("enter sent %#v", out[0])
	}
}

func TestAccountWhileImpersonating(t *testing.T) {
	f := newFixture(t, 30)
	jane, _ := f.c.SystemUserByEmail(core.DemoJane)
	s, err := f.c.Start(f.principal(t, core.DemoLead), jane.ID, "helping")
	if err != nil {
		t.Fatal(err)
	}
	c := f.pageCommon(t, core.DemoLead, 100, 30)
	c.Viewer, c.Session = jane, s
	p := NewAccountPage(c)
	drivePage(t, p, p.Init())
	// Refused up front: the page says why, the help leaves e and r out,
	// and e or r says it again instead of opening the dialog.
	mustContain(t, p.View(), "Account of Jane Doe", core.DemoJane, "e/r: not while impersonating: changing consent is refused")
	mustNotContain(t, p.View(), "e to change the duration")
	for _, b := range p.ShortHelp() {
		if k := b.Help().Key; k == "e" || k == "r" {
			t.Fatalf("help offers %s while impersonating", k)
		}
	}
	for _, k := range []string{"e", "r"} {
		errs := errorsOf(pageKeys(t, p, k))
		if p.Capturing() {
			t.Fatalf("%s opened a dialog while impersonating", k)
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "not while impersonating") {
			t.Fatalf("%s: errors %q", k, errs)
		}
	}
	jane, _ = f.c.SystemUserByEmail(core.DemoJane)
	if !jane.ConsentActive(f.c.Now()) {
		t.Fatal("consent revoked while impersonating")
	}
}

// A member's account shows no impersonation mode (members never
// impersonate); staff see theirs.
func TestAccountModeOnlyForStaff(t *testing.T) {
	f := newFixture(t, 30)
	mustNotContain(t, f.openPage(t, NewAccountPage, core.DemoJane).View(), "Mode", "never")
	mustContain(t, f.openPage(t, NewAccountPage, core.DemoSupport).View(), "Mode      request")
}

func TestAccountGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoJane, 100, 30)
	goldenPage(t, c, NewAccountPage(c), "Lee Lead", "")
}

func TestAccountEnableGolden(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoBob, 100, 30)
	goldenPage(t, c, NewAccountPage(c), "Not granted", "custom", "e")
}
