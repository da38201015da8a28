package tui

import (
	"strings"
	"testing"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/termframe"
	tea "github.com/charmbracelet/bubbletea"
)

// With policy product_url, the banner screen shows "Open as NAME: URL"
// and o puts the URL on the clipboard; a spent ticket is replaced by a
// fresh one when o is pressed again.
func TestProductLinkShownAndCopied(t *testing.T) {
	f := newFixture(t, 30)
	if _, err := f.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"product_url": "https://app.example.test/enter?t={ticket}"}); err != nil {
		t.Fatal(err)
	}
	var copied []string
	owner := f.principal(t, core.DemoOwner)
	m := New(Options{Core: f.c, Principal: owner, Renderer: asciiRenderer(), Width: 140, Height: 30,
		Copy: func(s string) { copied = append(copied, s) }, noTimers: true})
	drive(t, m, m.Init())
	impersonate(t, m, "jane")
	link, ok := f.c.ProductLinkOf(owner)
	if !ok {
		t.Fatal("no product link")
	}
	lines := strings.Split(m.View(), "\n")
	if !strings.Contains(lines[0], "You are impersonating Jane Doe") || !strings.Contains(lines[1], "Open as Jane Doe: "+link.URL+" · o copies") {
		t.Fatalf("the banner screen starts:\n%s\n%s", lines[0], lines[1])
	}
	drive(t, m, keyMsg("o"))
	if len(copied) != 1 || copied[0] != link.URL {
		t.Fatalf("o copied %q, want %q", copied, link.URL)
	}
	mustContain(t, m.View(), "Copied the link")

	// The product redeemed it: o copies a new link, with a new ticket.
	key, _, err := f.c.AddAPIKey(core.SystemPrincipal("test"), "billing", 0)
	if err != nil {
		t.Fatal(err)
	}
	ticket := link.URL[strings.Index(link.URL, "t=")+2:]
	if _, _, err := f.c.Redeem(core.Principal{APIKey: key.Name}, ticket, core.Visitor{}); err != nil {
		t.Fatal(err)
	}
	drive(t, m, tickMsg{})
	mustContain(t, m.View(), "the link was used or has expired · o copies a new one")
	drive(t, m, keyMsg("o"))
	if len(copied) != 2 || copied[1] == link.URL || !strings.HasPrefix(copied[1], "https://app.example.test/enter?t=") {
		t.Fatalf("second o copied %q", copied)
	}
	mustContain(t, m.View(), "Open as Jane Doe: "+copied[1])
}

// Settings lists the host products' API keys, never the keys themselves.
func TestSettingsListsAPIKeys(t *testing.T) {
	f := newFixture(t, 30)
	cli := core.SystemPrincipal("test")
	_, secret, err := f.c.AddAPIKey(cli, "billing", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.c.AddAPIKey(cli, "crm", 50); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.RevokeAPIKey(cli, "crm"); err != nil {
		t.Fatal(err)
	}
	p := f.openPage(t, NewSettingsPage, core.DemoOwner)
	drivePage(t, p, tea.WindowSizeMsg{Width: 120, Height: 80})
	v := p.View()
	mustContain(t, v, "API keys (2)", "billing              active", "100/s", "crm                  revoked ", "50/s", "by cli:test")
	if strings.Contains(v, secret) || strings.Contains(v, secret[len(core.APIKeyPrefix):][:12]) {
		t.Fatalf("Settings shows a key:\n%s", v)
	}
}

// In a narrow terminal the link is never cut: what does not fit on the
// line under the banner goes on to a second one, and the page gives up
// that line.
func TestProductLinkWholeAt80Columns(t *testing.T) {
	f := newFixture(t, 30)
	if _, err := f.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"product_url": "https://billing.example.test/actas/enter?ticket={ticket}"}); err != nil {
		t.Fatal(err)
	}
	owner := f.principal(t, core.DemoOwner)
	m := New(Options{Core: f.c, Principal: owner, Renderer: asciiRenderer(), Width: 80, Height: 24, noTimers: true})
	drive(t, m, m.Init())
	impersonate(t, m, "jane")
	link, _ := f.c.ProductLinkOf(owner)
	lines := strings.Split(m.View(), "\n")
	if len(lines) != 24 {
		t.Fatalf("the frame has %d lines, want 24", len(lines))
	}
	for i, l := range lines {
		if termframe.Cells(l) > 80 {
			t.Fatalf("line %d is %d cells wide: %q", i, termframe.Cells(l), l)
		}
	}
	first, second := strings.TrimSpace(lines[1]), strings.TrimSpace(lines[2])
	if !strings.HasPrefix(first, "Open as Jane Doe: ") {
		t.Fatalf("line under the banner: %q", first)
	}
	url := strings.TrimPrefix(first, "Open as Jane Doe: ") + strings.TrimSuffix(second, " · o copies")
	if url != link.URL {
		t.Fatalf("the screen shows the link as %q, want %q", url, link.URL)
	}
}
