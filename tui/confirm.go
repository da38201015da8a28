package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// confirm is a yes/no dialog: `y` confirms, `n` or `esc` cancels, `tab`
// and `shift+tab` move between the buttons, `enter` presses the focused
// one. Cancel has the focus first, so a stray enter does nothing risky.
type confirm struct {
	title  string
	body   string // plain text, already through core.Display
	cancel string
	ok     string
	focus  int // 0 cancel, 1 ok
}

type confirmResult int

const (
	confirmNone confirmResult = iota
	confirmCancelled
	confirmConfirmed
)

func newConfirm(title, body, cancel, ok string) *confirm {
	return &confirm{title: title, body: body, cancel: cancel, ok: ok}
}

func (d *confirm) update(msg tea.KeyMsg, k *KeyMap) confirmResult {
	switch {
	case key.Matches(msg, k.Confirm):
		return confirmConfirmed
	case key.Matches(msg, k.No), key.Matches(msg, k.Cancel):
		return confirmCancelled
	case key.Matches(msg, k.Next), key.Matches(msg, k.Prev), key.Matches(msg, k.Left), key.Matches(msg, k.Right):
		d.focus = 1 - d.focus
	case key.Matches(msg, k.Enter):
		if d.focus == 1 {
			return confirmConfirmed
		}
		return confirmCancelled
	}
	return confirmNone
}

// view renders the dialog box, at most maxW cells wide.
func (d *confirm) view(c Common, maxW int) string {
	s := c.Styles
	inner := min(max(maxW-6, 24), 72) // border and padding
	var b strings.Builder
	if d.title != "" {
		b.WriteString(s.DialogTitle.Render(d.title) + "\n\n")
	}
	for _, l := range wrap(d.body, inner) {
		b.WriteString(s.Text.Render(l) + "\n")
	}
	btn := func(label string, focused bool) string {
		// The marker shows the focus without colour (plain, NO_COLOR).
		if focused {
			return s.ButtonFocused.Render("> " + label)
		}
		return s.Button.Render("  " + label)
	}
	buttons := lipgloss.JoinHorizontal(lipgloss.Top, btn(d.cancel, d.focus == 0), "  ", btn(d.ok, d.focus == 1))
	b.WriteString("\n" + buttons + "\n\n")
	b.WriteString(s.Muted.Render("y confirm · n/esc cancel · tab move"))
	return s.Dialog.Render(b.String())
}
