package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// approveForm is the form approving a request: its duration (`+`/`-` step
// it, `1`-`4` pick 1h, 24h, 72h or the policy max) and an optional note
// for the requester (`tab` moves between the two). `y` or `enter`
// approves (`y` types into the note), `esc` (or `n`, off the note)
// cancels.
type approveForm struct {
	title   string
	who     string // who asks to act as whom
	reason  string
	blocked string // what would stop the session now ("" nothing)
	asked   time.Duration
	dur     time.Duration // what the approval grants
	max     time.Duration // policy max_duration
	onNote  bool          // the note has the focus
	note    lazyInput
	err     string // core's refusal
	busy    bool
}

// newApproveForm approves request r (asking for r.Duration) under the
// policy max; who, reason and blocked are what the dialog says of it.
func newApproveForm(c Common, r core.Request, who, reason, blocked string, limit time.Duration) *approveForm {
	f := &approveForm{title: "Approve request " + core.Display(r.ID), who: who, reason: reason, blocked: blocked,
		asked: r.Duration, max: limit, dur: min(max(r.Duration, core.MinDuration), limit)}
	f.note = newLazyInput("Note: ", "why (shown to the requester)", 500)
	f.restyle(c)
	return f
}

func (f *approveForm) restyle(c Common) { f.note.style(c, max(min(c.Width-16, 60), 10)) }

func (f *approveForm) refused(err error) { f.err = core.Display(err.Error()) }
func (f *approveForm) waiting(busy bool) { f.busy = busy }

// values are what the approval grants: the duration and the note.
func (f *approveForm) values() (time.Duration, string) { return f.dur, f.note.Value() }

// closeKeys are esc, and n off the note.
func closeKeys(k *KeyMap) key.Binding { return plus(k.Cancel, k.No.Keys()...) }

func (f *approveForm) update(msg tea.KeyMsg, k *KeyMap) (dialogResult, tea.Cmd) {
	f.err = ""
	switch {
	case key.Matches(msg, k.Cancel):
		return dialogCancelled, nil
	case key.Matches(msg, k.Next), key.Matches(msg, k.Prev):
		f.onNote = !f.onNote
		if f.onNote {
			return dialogOpen, f.note.Focus()
		}
		f.note.Blur()
	case key.Matches(msg, k.Enter):
		return dialogSubmitted, nil
	case f.onNote:
		return dialogOpen, f.note.Update(msg)
	case key.Matches(msg, k.Longer):
		f.dur = stepDuration(f.dur, +1, f.max)
	case key.Matches(msg, k.Shorter):
		f.dur = stepDuration(f.dur, -1, f.max)
	case key.Matches(msg, k.Preset):
		if d, ok := f.preset(msg.String()); ok {
			f.dur = d
		}
	case key.Matches(msg, k.Confirm):
		return dialogSubmitted, nil
	case key.Matches(msg, k.No):
		return dialogCancelled, nil
	}
	return dialogOpen, nil
}

func (f *approveForm) help(k *KeyMap) []key.Binding {
	field := plus(k.Next, k.Prev.Keys()...)
	if f.onNote {
		return []key.Binding{as(field, "duration"), as(k.Enter, "approve"), as(closeKeys(k), "cancel")}
	}
	yes := plus(k.Confirm, k.Enter.Keys()...)
	yes.SetHelp("y/enter", "approve")
	return []key.Binding{k.Longer, k.Shorter, k.Preset, as(field, "note"), yes, as(closeKeys(k), "cancel")}
}

// presets are the offered presets within the policy max, by their keys
// 1–3, and max on 4.
func (f *approveForm) presets() []string {
	var out []string
	for i, d := range durationPresets {
		if d < f.max {
			out = append(out, fmt.Sprintf("%d %s", i+1, core.FormatDuration(d)))
		}
	}
	return append(out, "4 max "+core.FormatDuration(f.max))
}

// preset is the duration of preset key k, if it is offered.
func (f *approveForm) preset(k string) (time.Duration, bool) {
	if k == "4" {
		return f.max, true
	}
	i := int(k[0] - '1')
	if i < 0 || i >= len(durationPresets) || durationPresets[i] >= f.max {
		return 0, false
	}
	return durationPresets[i], true
}

// stepDuration moves an approval's duration one step: hours below a day,
// then days; always within 1h..limit.
func stepDuration(d time.Duration, dir int, limit time.Duration) time.Duration {
	switch {
	case dir > 0 && d < 24*time.Hour:
		d += time.Hour
	case dir > 0:
		d += 24 * time.Hour
	case d <= 24*time.Hour:
		d -= time.Hour
	default:
		d -= 24 * time.Hour
	}
	return min(max(d, core.MinDuration), max(limit, core.MinDuration))
}

func (f *approveForm) view(c Common, _ int) string {
	st := pageStylesOf(c)
	dur := st.ChoiceActive.Render(core.FormatDuration(f.dur))
	if f.onNote {
		dur = st.Choice.Render(core.FormatDuration(f.dur))
	}
	line := fmt.Sprintf("Duration: %s %s %s   (asked %s)", st.HelpKey.Render("-"), dur, st.HelpKey.Render("+"),
		core.FormatDuration(f.asked))
	presets := "Presets:  " + st.Muted.Render(strings.Join(f.presets(), " · "))
	body := []string{f.who, f.reason}
	if f.blocked != "" {
		body = append(body, st.StatusWarn.Render("! "+f.blocked))
	}
	body = append(body, "", line, presets, "", f.note.View(), "")
	if f.err != "" {
		for _, l := range wrap("✗ "+f.err, min(max(c.Width-14, 20), 66)) {
			body = append(body, st.FieldError.Render(l))
		}
		body = append(body, "")
	}
	switch {
	case f.busy:
		body = append(body, st.Muted.Render("approving…"))
	case f.onNote:
		body = append(body, keyHint(st, "tab", "duration", "enter", "approve", "esc", "cancel"))
	default:
		body = append(body, keyHint(st, "+/-", "adjust", "1-4", "preset", "tab", "note", "y/enter", "approve", "esc", "cancel"))
	}
	return dialogBox(c, f.title, body...)
}
