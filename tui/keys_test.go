package tui

import (
	"reflect"
	"slices"
	"testing"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Every page's help lists the console's one key map: a binding shown as
// "pgup" (or ↑/k, g, …) answers to every key the key map gives it, so
// ctrl+b pages up wherever pgup does.
func TestPagesHelpComesFromTheKeyMap(t *testing.T) {
	f := newFixture(t, 30)
	c := f.pageCommon(t, core.DemoOwner, 100, 30)
	k := c.Keys
	shared := map[string]key.Binding{}
	for _, b := range []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Cancel} {
		shared[b.Help().Key] = b
	}
	pages := map[string]Page{
		"Approvals": NewApprovalsPage(c), "Sessions": NewSessionsPage(c), "Account": NewAccountPage(c),
		"Settings": NewSettingsPage(c), "Audit viewer": NewAuditViewer(c, "Audit", core.AuditQuery{}),
		"Receipt": NewReceiptView(c, "s1"), "Users": NewUsersPage(c),
	}
	for name, p := range pages {
		hk, ok := p.(interface{ FullHelp() [][]key.Binding })
		if !ok {
			t.Fatalf("%s has no FullHelp", name)
		}
		seen := 0
		for _, col := range hk.FullHelp() {
			for _, b := range col {
				want, ok := shared[b.Help().Key]
				if !ok {
					continue
				}
				seen++
				for _, kk := range want.Keys() {
					if !slices.Contains(b.Keys(), kk) {
						t.Errorf("%s: %q (%s) does not answer to %q as the key map's does", name, b.Help().Key, b.Help().Desc, kk)
					}
				}
			}
		}
		if seen == 0 && name != "Account" { // Account lists them once it has sessions
			t.Errorf("%s lists none of the key map's list keys", name)
		}
	}
}

// ctrl+f and ctrl+b page the audit viewer as pgdn and pgup do.
func TestAuditViewerPagesWithCtrlF(t *testing.T) {
	f := newFixture(t, 60)
	v := openViewer(t, f, core.DemoOwner, core.AuditQuery{})
	drivePage(t, v, tea.KeyMsg{Type: tea.KeyCtrlF})
	if v.pg.cursor == 0 {
		t.Fatal("ctrl+f did not move the viewer down a page")
	}
	drivePage(t, v, tea.KeyMsg{Type: tea.KeyCtrlB})
	if v.pg.cursor != 0 {
		t.Fatalf("ctrl+b left the cursor on row %d, want 0", v.pg.cursor)
	}
}

// The consoles of a process share one key map (Shared): walking every tab
// with its help open, the decided requests shown and a form started,
// changes none of its bindings, for anyone.
func TestSharedKeyMapStaysUnchanged(t *testing.T) {
	f := newFixture(t, 30)
	for _, who := range []string{core.DemoOwner, core.DemoJane} {
		m := f.newModel(t, who, 100, 30)
		if m.common.Keys != f.shared.keys {
			t.Fatalf("%s: the console has a key map of its own", who)
		}
		for _, tab := range []string{"1", "2", "3", "4", "5", "6"} {
			drive(t, m, keys(tab, "?", "h", "e", "esc", "?")...)
			_ = m.View()
		}
	}
	if want := DefaultKeyMap(); !reflect.DeepEqual(*f.shared.keys, want) {
		t.Fatalf("a console changed the shared key map:\n got %+v\nwant %+v", *f.shared.keys, want)
	}
}
