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
// With a field (withReason, withNote) the field has the focus and takes
// every key but these: `enter` confirms with what was typed (an empty
// required field is refused in place), `esc` cancels.
type confirm struct {
	title  string
	body   string // plain text, already through core.Display
	cancel string
	ok     string
	focus  int // 0 cancel, 1 ok
	field  *textinput.Model
	// required is what enter says when the field is empty and must not
	// be ("" = the field may stay empty).
	required string
	err      string // why enter was refused, or core's refusal
	busy     bool
}

func newConfirm(title, body, cancel, ok string) *confirm {
	return &confirm{title: title, body: body, cancel: cancel, ok: ok}
}

// withReason adds the focused, required Reason field of a start.
func (d *confirm) withReason(c Common) *confirm {
	return d.withField(c, "Reason: ", "why you act as this user, e.g. ticket #4802", core.MaxReasonLen,
		"a reason is required: say why you act as this user")
}

// withNote adds a focused Note field that may stay empty.
func (d *confirm) withNote(c Common, placeholder string) *confirm {
	return d.withField(c, "Note: ", placeholder, 500, "")
}

func (d *confirm) withField(c Common, prompt, placeholder string, limit int, required string) *confirm {
	in := newTextInput(prompt, placeholder, limit)
	d.field, d.required = &in, required
	d.restyle(c)
	in.Focus()
	return d
}

// focusCmd is what the dialog needs once open: the field's focus.
func (d *confirm) focusCmd() tea.Cmd {
	if d.field == nil {
		return nil
	}
	return d.field.Focus()
}

func (d *confirm) restyle(c Common) {
	if d.field != nil {
		styleTextInput(c, d.field, min(max(c.Width-16, 24), 64))
	}
}

// text is what was typed in the field ("" without one).
func (d *confirm) text() string {
	if d.field == nil {
		return ""
	}
	return strings.TrimSpace(d.field.Value())
}

func (d *confirm) refused(err error) { d.err = core.Display(err.Error()) }
func (d *confirm) waiting(busy bool) { d.busy = busy }

func (d *confirm) update(msg tea.KeyMsg, k *KeyMap) (dialogResult, tea.Cmd) {
	if d.field != nil {
		switch {
		case key.Matches(msg, k.Cancel):
			return dialogCancelled, nil
		case key.Matches(msg, k.Enter):
			if d.required != "" && d.text() == "" {
				d.err = d.required
				return dialogOpen, nil
			}
			return dialogSubmitted, nil
		}
		d.err = ""
		// The cursor does not blink here, so the input's command (its
		// blink) is not needed.
		*d.field, _ = d.field.Update(msg)
		return dialogOpen, nil
	}
	switch {
	case key.Matches(msg, k.Confirm):
		return dialogSubmitted, nil
	case key.Matches(msg, k.No), key.Matches(msg, k.Cancel):
		return dialogCancelled, nil
	case key.Matches(msg, k.Next), key.Matches(msg, k.Prev), key.Matches(msg, k.Left), key.Matches(msg, k.Right):
		d.focus = 1 - d.focus
	case key.Matches(msg, k.Enter):
		if d.focus == 1 {
			return dialogSubmitted, nil
		}
		return dialogCancelled, nil
	}
	return dialogOpen, nil
}

// help is the dialog's keys, for the page's help line.
func (d *confirm) help(k *KeyMap) []key.Binding {
	if d.field != nil {
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
	errLines := func() {
		for _, l := range wrap("✗ "+d.err, inner) {
			b.WriteString(s.FieldError.Render(l) + "\n")
		}
	}
	if d.field != nil {
		b.WriteString("\n" + d.field.View() + "\n")
		if d.err != "" {
			errLines()
		}
		b.WriteString("\n" + lipgloss.JoinHorizontal(lipgloss.Top, button(s, d.cancel, false), "  ", button(s, d.ok, true)) + "\n\n")
		b.WriteString(s.Muted.Render("enter confirm · esc cancel"))
		return s.Dialog.Render(b.String())
	}
	if d.err != "" {
		b.WriteString("\n")
		errLines()
	}
	buttons := lipgloss.JoinHorizontal(lipgloss.Top, button(s, d.cancel, d.focus == 0), "  ", button(s, d.ok, d.focus == 1))
	b.WriteString("\n" + buttons + "\n\n")
	// The keys say what they do, in the buttons' words.
	b.WriteString(s.Muted.Render("y " + strings.ToLower(d.ok) + " · n/esc " + strings.ToLower(d.cancel) + " · tab move"))
	return s.Dialog.Render(b.String())
}
