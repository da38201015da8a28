package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// consentForm grants consent for a while: a choice of durations within
// the limit (24h first), or custom; ←/→ (or tab) choose, enter confirms,
// esc cancels.
type consentForm struct {
	choices []time.Duration // the presets within the limit; custom follows
	limit   time.Duration
	choice  int
	custom  lazyInput
	err     string
	busy    bool
}

func newConsentForm(c Common, limit time.Duration) *consentForm {
	f := &consentForm{limit: limit, choices: presetsWithin(limit)}
	for i, d := range f.choices {
		if d == 24*time.Hour {
			f.choice = i
		}
	}
	f.custom = newLazyInput("Custom: ", "e.g. 36h or 5d", 10)
	f.restyle(c)
	return f
}

func (f *consentForm) restyle(c Common)  { f.custom.style(c, 20) }
func (f *consentForm) refused(err error) { f.err = err.Error() }
func (f *consentForm) waiting(busy bool) { f.busy = busy }

func (f *consentForm) onCustom() bool { return f.choice == len(f.choices) }

// duration is the chosen duration, or why the custom one is refused.
func (f *consentForm) duration() (time.Duration, error) {
	return chosenDuration(f.choices, f.choice, f.custom.Value(), "consent", f.limit)
}

func (f *consentForm) update(msg tea.KeyMsg, k *KeyMap) (dialogResult, tea.Cmd) {
	n := len(f.choices) + 1 // + custom
	switch {
	case key.Matches(msg, k.Cancel):
		return dialogCancelled, nil
	case key.Matches(msg, k.Enter):
		if _, err := f.duration(); err != nil {
			f.err = err.Error()
			return dialogOpen, nil
		}
		return dialogSubmitted, nil
	// On custom, h and l are typed.
	case msg.Type == tea.KeyLeft || key.Matches(msg, k.Prev) || (!f.onCustom() && key.Matches(msg, k.Left)):
		return dialogOpen, f.pick((f.choice + n - 1) % n)
	case msg.Type == tea.KeyRight || key.Matches(msg, k.Next) || (!f.onCustom() && key.Matches(msg, k.Right)):
		return dialogOpen, f.pick((f.choice + 1) % n)
	}
	if f.onCustom() {
		f.err = ""
		return dialogOpen, f.custom.Update(msg)
	}
	return dialogOpen, nil
}

func (f *consentForm) pick(i int) tea.Cmd {
	f.choice, f.err = i, ""
	if f.onCustom() {
		return f.custom.Focus()
	}
	f.custom.Blur()
	return nil
}

func (f *consentForm) help(k *KeyMap) []key.Binding {
	shorter, longer := plus(k.Left, k.Prev.Keys()...), plus(k.Right, k.Next.Keys()...)
	shorter.SetHelp("←", "shorter")
	longer.SetHelp("→", "longer")
	return []key.Binding{shorter, longer, as(k.Enter, "confirm"), k.Cancel}
}

func (f *consentForm) view(c Common, _ int) string {
	st := pageStylesOf(c)
	var opts []string
	for i := 0; i <= len(f.choices); i++ {
		label := "custom"
		if i < len(f.choices) {
			label = core.FormatDuration(f.choices[i])
		}
		// Brackets mark the choice without colour too.
		if i == f.choice {
			opts = append(opts, st.ChoiceActive.Render("["+label+"]"))
		} else {
			opts = append(opts, st.Choice.Render(" "+label+" "))
		}
	}
	lines := []string{
		"Allow support staff to act as you for:", "",
		strings.Join(opts, " "),
	}
	if f.onCustom() {
		lines = append(lines, "", f.custom.View())
	}
	if f.err != "" {
		lines = append(lines, st.FieldError.Render(core.Display(f.err)))
	}
	lines = append(lines, "", st.Muted.Render(fmt.Sprintf("At most %s. You can revoke it at any time.", core.FormatDuration(f.limit))), "",
		keyHint(st, "←/→", "choose", "enter", "confirm", "esc", "cancel"))
	return dialogBox(c, "Enable impersonation consent", lines...)
}
