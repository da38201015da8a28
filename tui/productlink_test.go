package tui

import (
	"strings"
	"testing"

	"github.com/actas/actas/core"
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
		Copy: func(s string) { copied = append(copied, s) }})
	m.noTimers = true
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
