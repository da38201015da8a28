package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// requestForm asks for permission to impersonate one user: Reason
// (focused first) and Duration (1h / 24h / 72h / custom up to the policy
// max, the policy default preselected). tab/shift+tab move, ctrl+s
// submits, esc cancels; core's validation errors show under their field.
type requestForm struct {
	target  core.User
	reason  textinput.Model
	custom  textinput.Model
	presets []time.Duration // those within the policy max
	choice  int             // index into presets, or len(presets) = custom
	focus   int             // formReason … formSubmit
	max     time.Duration
	errs    map[string]string // field → message
	err     string            // anything not tied to a field
	sending bool
}

const (
	formReason = iota
	formDuration
	formCustom
	formCancel
	formSubmit
	formFields
)

// durationPresets are the durations the console offers wherever one is
// picked: the request and consent forms (those within the limit, then
// custom) and the approve dialog (on 1–3, then the policy max on 4).
var durationPresets = [...]time.Duration{time.Hour, 24 * time.Hour, 72 * time.Hour}

// presetsWithin are the durationPresets no longer than limit.
func presetsWithin(limit time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range durationPresets {
		if d <= limit {
			out = append(out, d)
		}
	}
	return out
}

// newRequestForm is the form asking to act as target under policy pol
// (its durations), which the menu's answer brought.
func newRequestForm(c Common, target core.User, pol core.Policy) *requestForm {
	f := &requestForm{target: target, max: pol.DurationLimit(), errs: map[string]string{}}
	f.presets = presetsWithin(f.max)
	f.reason = newTextInput("> ", "why you need to act as this user, e.g. ticket #4802", 500)
	f.custom = newTextInput("> ", "e.g. 36h", 10)
	f.restyle(c)
	f.choice = len(f.presets)
	for i, d := range f.presets {
		if d == pol.DefaultPick() {
			f.choice = i
		}
	}
	if f.choice == len(f.presets) {
		f.custom.SetValue(core.FormatDuration(pol.DefaultPick()))
	}
	f.setFocus(formReason)
	return f
}

// focusCmd is what the form needs once open: the Reason field's focus.
func (f *requestForm) focusCmd() tea.Cmd { return f.reason.Focus() }

func (f *requestForm) restyle(c Common) {
	styleTextInput(c, &f.reason, formInner(c.Width)-3)
	styleTextInput(c, &f.custom, 12)
}

// formInner is the width inside the form's box on a page w wide.
func formInner(w int) int { return min(max(w-6, 30), 70) }

func (f *requestForm) customChosen() bool { return f.choice == len(f.presets) }

func (f *requestForm) setFocus(i int) {
	f.focus = i
	f.reason.Blur()
	f.custom.Blur()
	switch i {
	case formReason:
		f.reason.Focus()
	case formCustom:
		f.custom.Focus()
	}
}

// move goes to the next (or previous) field, skipping the custom input
// unless "custom" is chosen.
func (f *requestForm) move(delta int) {
	i := f.focus
	for {
		i = (i + delta + formFields) % formFields
		if i != formCustom || f.customChosen() {
			break
		}
	}
	f.setFocus(i)
}

// duration is the chosen duration, or an error for a bad custom value.
func (f *requestForm) duration() (time.Duration, error) {
	return chosenDuration(f.presets, f.choice, f.custom.Value(), "duration", f.max)
}

// chosenDuration is a duration form's pick: preset i, or past the presets
// the custom text, parsed and held to 1h..limit (field names it in the
// refusal). The request and consent forms pick with it.
func chosenDuration(presets []time.Duration, i int, custom, field string, limit time.Duration) (time.Duration, error) {
	if i < len(presets) {
		return presets[i], nil
	}
	d, err := core.ParseDuration(custom)
	if err != nil {
		return 0, err
	}
	return d, core.CheckDuration(field, d, limit)
}

// update handles a key; on dialogSubmitted the flow asks core (values).
func (f *requestForm) update(km tea.KeyMsg, k *KeyMap) (dialogResult, tea.Cmd) {
	switch {
	case key.Matches(km, k.Cancel):
		return dialogCancelled, nil
	case key.Matches(km, k.Submit):
		return f.trySubmit()
	case key.Matches(km, k.Next):
		f.move(1)
		return dialogOpen, nil
	case key.Matches(km, k.Prev):
		f.move(-1)
		return dialogOpen, nil
	}
	switch f.focus {
	case formReason:
		return f.typeInto(&f.reason, "reason", km)
	case formDuration:
		n := len(f.presets) + 1
		switch {
		case key.Matches(km, k.Left), key.Matches(km, k.Up):
			f.choice = (f.choice + n - 1) % n
		case key.Matches(km, k.Right), key.Matches(km, k.Down), km.String() == " ":
			f.choice = (f.choice + 1) % n
		case km.Type == tea.KeyEnter:
			f.move(1)
		}
		delete(f.errs, "duration")
		return dialogOpen, nil
	case formCustom:
		return f.typeInto(&f.custom, "duration", km)
	case formCancel:
		if km.Type == tea.KeyEnter || km.String() == " " {
			return dialogCancelled, nil
		}
	case formSubmit:
		if km.Type == tea.KeyEnter || km.String() == " " {
			return f.trySubmit()
		}
	}
	return dialogOpen, nil
}

// typeInto hands a key to one of the form's inputs, clearing the error of
// its field (errs key); enter moves on to the next field instead.
func (f *requestForm) typeInto(in *textinput.Model, field string, km tea.KeyMsg) (dialogResult, tea.Cmd) {
	if km.Type == tea.KeyEnter {
		f.move(1)
		return dialogOpen, nil
	}
	var cmd tea.Cmd
	*in, cmd = in.Update(km)
	delete(f.errs, field)
	return dialogOpen, cmd
}

func (f *requestForm) trySubmit() (dialogResult, tea.Cmd) {
	f.err = ""
	if _, err := f.duration(); err != nil {
		f.errs["duration"] = err.Error()
		return dialogOpen, nil
	}
	return dialogSubmitted, nil
}

// values are what the form asks core for: the reason and the duration.
func (f *requestForm) values() (reason string, d time.Duration) {
	d, _ = f.duration()
	return f.reason.Value(), d
}

func (f *requestForm) waiting(busy bool) { f.sending = busy }

func (f *requestForm) help(k *KeyMap) []key.Binding { return []key.Binding{k.Next, k.Submit, k.Cancel} }

// refused shows core's refusal inline: under its field when it names one.
func (f *requestForm) refused(err error) {
	var ce *core.Error
	if errors.As(err, &ce) && (ce.Field == "reason" || ce.Field == "duration") {
		f.errs[ce.Field] = core.Display(ce.Message)
		if ce.Field == "reason" {
			f.setFocus(formReason)
		} else if f.customChosen() {
			f.setFocus(formCustom)
		} else {
			f.setFocus(formDuration)
		}
		return
	}
	f.err = core.Display(err.Error())
}

func (f *requestForm) view(c Common, maxW int) string {
	s := c.Styles
	inner := formInner(maxW)
	label := func(text string, field int) string {
		if f.focus == field {
			return s.LabelFocused.Render(text)
		}
		return s.Label.Render(text)
	}
	var b strings.Builder
	name := core.Display(f.target.DisplayName())
	b.WriteString(s.DialogTitle.Render(fit("Request impersonation of "+name, inner)) + "\n")
	b.WriteString(s.Muted.Render(fit(core.Display(f.target.Email), inner)) + "\n\n")

	b.WriteString(label("Reason", formReason) + "\n")
	b.WriteString(f.reason.View() + "\n")
	if e := f.errs["reason"]; e != "" {
		for _, l := range wrap(e, inner) {
			b.WriteString(s.FieldError.Render(l) + "\n")
		}
	}
	b.WriteString("\n" + label("Duration", formDuration) + "\n")
	var chips []string
	for i := 0; i <= len(f.presets); i++ {
		text := "custom"
		if i < len(f.presets) {
			text = core.FormatDuration(f.presets[i])
		}
		mark := "( ) "
		if i == f.choice {
			mark = "(•) "
			if s.Plain {
				mark = "(*) "
			}
		}
		st := s.Choice
		if i == f.choice && f.focus == formDuration {
			st = s.ChoiceActive
		}
		chips = append(chips, st.Render(mark+text))
	}
	b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, chips...) + "\n")
	if f.customChosen() {
		b.WriteString(label(fmt.Sprintf("Custom, up to %s", core.FormatDuration(f.max)), formCustom) + "\n")
		b.WriteString(f.custom.View() + "\n")
	}
	if e := f.errs["duration"]; e != "" {
		for _, l := range wrap(e, inner) {
			b.WriteString(s.FieldError.Render(l) + "\n")
		}
	}
	submit := "Send request"
	if f.sending {
		submit = "Sending…"
	}
	b.WriteString("\n" + lipgloss.JoinHorizontal(lipgloss.Top, button(s, "Cancel", f.focus == formCancel), "  ", button(s, submit, f.focus == formSubmit)) + "\n")
	if f.err != "" {
		b.WriteString("\n")
		for _, l := range wrap(f.err, inner) {
			b.WriteString(s.FieldError.Render(l) + "\n")
		}
	}
	b.WriteString("\n" + s.Muted.Render("tab move · ←/→ duration · ctrl+s send · esc cancel"))
	return s.Dialog.Render(b.String())
}
