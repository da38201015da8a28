package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/actas/actas/core"
)

// confirm is a yes/no dialog: `y` confirms, `n` or `esc` cancels, `tab`
// and `shift+tab` move between the buttons, `enter` presses the focused
// one. Cancel has the focus first, so a stray enter does nothing risky.
//
// With a reason field (withReason) the field has the focus and takes
// every key but these: `enter` confirms with the reason (an empty one is
// refused in place), `esc` cancels.
type confirm struct {
	title  string
	body   string // plain text, already through core.Display
	cancel string
	ok     string
	focus  int // 0 cancel, 1 ok
	reason *textinput.Model
	err    string // why enter was refused
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

// withReason adds the focused Reason field.
func (d *confirm) withReason(c Common) *confirm {
	in := newTextInput("Reason: ", "why you act as this user, e.g. ticket #4802", core.MaxReasonLen)
	styleTextInput(c, &in, min(max(c.Width-16, 24), 64))
	in.Focus()
	d.reason = &in
	return d
}

// reasonText is what was typed in the Reason field ("" without one).
func (d *confirm) reasonText() string {
	if d.reason == nil {
		return ""
	}
	return strings.TrimSpace(d.reason.Value())
}

func (d *confirm) update(msg tea.KeyMsg, k *KeyMap) confirmResult {
	if d.reason != nil {
		switch {
		case key.Matches(msg, k.Cancel):
			return confirmCancelled
		case key.Matches(msg, k.Enter):
			if d.reasonText() == "" {
				d.err = "a reason is required: say why you act as this user"
				return confirmNone
			}
			return confirmConfirmed
		}
		d.err = ""
		// The cursor does not blink here, so the input's command (its
		// blink) is not needed.
		*d.reason, _ = d.reason.Update(msg)
		return confirmNone
	}
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

// help is the dialog's keys, for the page's help line.
func (d *confirm) help(k *KeyMap) []key.Binding {
	if d.reason != nil {
		return []key.Binding{as(k.Enter, "confirm"), k.Cancel}
	}
	return []key.Binding{k.Confirm, k.No, k.Next}
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
	if d.reason != nil {
		b.WriteString("\n" + d.reason.View() + "\n")
		if d.err != "" {
			b.WriteString(s.FieldError.Render("✗ "+d.err) + "\n")
		}
		b.WriteString("\n" + lipgloss.JoinHorizontal(lipgloss.Top, button(s, d.cancel, false), "  ", button(s, d.ok, true)) + "\n\n")
		b.WriteString(s.Muted.Render("enter confirm · esc cancel"))
		return s.Dialog.Render(b.String())
	}
	buttons := lipgloss.JoinHorizontal(lipgloss.Top, button(s, d.cancel, d.focus == 0), "  ", button(s, d.ok, d.focus == 1))
	b.WriteString("\n" + buttons + "\n\n")
	b.WriteString(s.Muted.Render("y confirm · n/esc cancel · tab move"))
	return s.Dialog.Render(b.String())
}
