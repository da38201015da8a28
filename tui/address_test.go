package tui

import (
	"testing"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// recordingPage is a page that keeps the messages it is given.
type recordingPage struct {
	pageBase
	got []tea.Msg
}

type someAnswer struct{ to Page }

func (a someAnswer) addressee() Page { return a.to }

type unaddressed struct{}

func (p *recordingPage) Init() tea.Cmd { return nil }
func (p *recordingPage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	p.got = append(p.got, msg)
	return p, nil
}
func (p *recordingPage) View() string              { return "" }
func (p *recordingPage) SetCommon(Common) Page     { return p }
func (p *recordingPage) Title() string             { return "rec" }
func (p *recordingPage) Capturing() bool           { return false }
func (p *recordingPage) ShortHelp() []key.Binding  { return nil }
func (p *recordingPage) FullHelp() [][]key.Binding { return nil }

// An answer reaches the page that asked, wherever it is, and no other; a
// change reaches every page; anything else only the page on screen.
func TestMessagesAreAddressed(t *testing.T) {
	f := newFixture(t, 5)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	shown, hidden, kept := &recordingPage{}, &recordingPage{}, &recordingPage{}
	m.pages = [7]Page{}
	m.pages[m.active], m.pages[TabSettings], m.stash[TabUsers] = shown, hidden, kept
	if m.active == TabSettings {
		t.Fatal("the console opened on Settings")
	}
	count := func(p *recordingPage, want tea.Msg) int {
		n := 0
		for _, g := range p.got {
			if g == want {
				n++
			}
		}
		return n
	}
	m.Update(someAnswer{to: hidden})
	m.Update(envelope{to: kept, msg: unaddressed{}})
	if count(hidden, someAnswer{to: hidden}) != 1 || count(shown, someAnswer{to: hidden}) != 0 || count(kept, someAnswer{to: hidden}) != 0 {
		t.Fatalf("an answer for a hidden tab: shown %v, hidden %v, kept %v", shown.got, hidden.got, kept.got)
	}
	if count(kept, unaddressed{}) != 1 || count(shown, unaddressed{}) != 0 || count(hidden, unaddressed{}) != 0 {
		t.Fatalf("an envelope for a kept page: shown %v, hidden %v, kept %v", shown.got, hidden.got, kept.got)
	}
	m.Update(unaddressed{})
	if count(shown, unaddressed{}) != 1 || count(hidden, unaddressed{}) != 0 || count(kept, unaddressed{}) != 1 {
		t.Fatalf("an unaddressed message went beyond the page on screen: shown %v, hidden %v", shown.got, hidden.got)
	}
	change := ChangeMsg{Change: core.Change{Kind: core.ChangeResync}}
	m.Update(change)
	for name, p := range map[string]*recordingPage{"shown": shown, "hidden": hidden, "kept": kept} {
		if count(p, change) != 1 {
			t.Fatalf("the %s page did not get the change: %v", name, p.got)
		}
	}
}
