package tui

import (
	"strings"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// menuItem is one entry of a kebab menu. A disabled item stays visible,
// greyed, with the reason core gave.
type menuItem struct {
	ID       string
	Key      key.Binding // its hotkey
	Label    string
	Disabled bool
	Reason   string // why it is disabled
	Checking bool   // availability still being asked of core
}

// menu is a small kebab menu: up/down and enter, or an item's hotkey.
type menu struct {
	title string
	items []menuItem
	listCursor
	flash string // reason shown after pressing a disabled item
	// pending is an item chosen while core was still being asked about it:
	// it is carried out as soon as the answer allows it.
	pending string
	moved   bool // the cursor was moved by hand
}

// menuChosen is what a keypress did to the menu.
type menuResult int

const (
	menuNone menuResult = iota
	menuClosed
	menuChose
)

func newMenu(title string, items []menuItem) *menu { return &menu{title: title, items: items} }

// set updates one item's availability (after core answered); it returns
// the item's ID when it had been chosen meanwhile and is allowed.
func (m *menu) set(id string, err error) (chosen string) {
	if m.pending == id {
		m.pending = ""
		if err == nil {
			chosen = id
		} else {
			m.flash = core.Display(err.Error())
		}
	}
	defer m.settleCursor()
	for i := range m.items {
		if m.items[i].ID == id {
			m.items[i].Checking = false
			m.items[i].Disabled = err != nil
			m.items[i].Reason = ""
			if err != nil {
				m.items[i].Reason = core.Display(err.Error())
			}
		}
	}
	return chosen
}

// settleCursor puts the cursor on the first item that is not refused,
// once core has answered, unless the user already moved it.
func (m *menu) settleCursor() {
	if m.moved {
		return
	}
	for i, it := range m.items {
		if it.Checking {
			return // wait: an earlier item may yet be allowed
		}
		if !it.Disabled {
			m.cursor = i
			return
		}
	}
}

// update handles a key; on menuChose, chosen is the item's ID.
func (m *menu) update(msg tea.KeyMsg, k *KeyMap) (res menuResult, chosen string) {
	m.flash = ""
	// An item's hotkey wins over navigation: k opens Keys, not "up".
	for i, it := range m.items {
		if key.Matches(msg, it.Key) {
			m.cursor = i
			return m.choose(i)
		}
	}
	switch {
	case key.Matches(msg, k.Cancel):
		return menuClosed, ""
	case key.Matches(msg, k.Up), key.Matches(msg, k.Prev):
		m.wrapCursor(-1, len(m.items))
		m.moved = true
		return menuNone, ""
	case key.Matches(msg, k.Down), key.Matches(msg, k.Next):
		m.wrapCursor(1, len(m.items))
		m.moved = true
		return menuNone, ""
	case key.Matches(msg, k.Enter):
		return m.choose(m.cursor)
	}
	return menuNone, ""
}

func (m *menu) choose(i int) (menuResult, string) {
	it := m.items[i]
	switch {
	case it.Checking:
		m.pending = it.ID
		return menuNone, ""
	case it.Disabled:
		m.flash = it.Reason
		return menuNone, ""
	}
	return menuChose, it.ID
}

// view renders the menu box, at most maxW cells wide.
func (m *menu) view(c Common, maxW int) string {
	s := c.Styles
	inner := max(maxW-4, 20) // border and padding
	var b strings.Builder
	b.WriteString(s.DialogTitle.Render(fit(m.title, inner)))
	for i, it := range m.items {
		b.WriteByte('\n')
		hk := ""
		if len(it.Key.Keys()) > 0 {
			hk = it.Key.Keys()[0]
		}
		label := fit(it.Label, inner-4)
		marker := "  "
		if i == m.cursor {
			marker = "> "
		}
		switch {
		case i == m.cursor:
			b.WriteString(s.MenuSelected.Render(marker + hk + " " + label))
		case it.Disabled || it.Checking:
			b.WriteString(s.MenuDisabled.Render(marker + hk + " " + label))
		default:
			b.WriteString(s.MenuItem.Render(marker) + s.MenuHotkey.Render(hk) + s.MenuItem.Render(" "+label))
		}
		switch {
		case it.Checking:
			b.WriteString("\n" + s.MenuReason.Render("    "+fit("checking…", inner-4)))
		case it.Disabled:
			for _, l := range wrap(it.Reason, inner-4) {
				b.WriteString("\n" + s.MenuReason.Render("    "+fit(l, inner-4)))
			}
		}
	}
	if m.flash != "" {
		for _, l := range wrap(m.flash, inner) {
			b.WriteString("\n" + s.FieldError.Render(fit(l, inner)))
		}
	}
	return s.Menu.Render(b.String())
}

// wrap breaks plain text into lines of at most w cells, at spaces where
// it can.
func wrap(text string, w int) []string {
	if w <= 0 {
		return nil
	}
	wrapped := ansi.Wrap(text, w, " ")
	return strings.Split(wrapped, "\n")
}
