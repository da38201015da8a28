package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// The console's one dialog flow: a menu item or a page's key opens a
// dialog — a confirm (confirm.go: yes/no, or with a reason or note
// field) or a form (requestform.go: reason and duration; approveform.go:
// duration and note; admin.go: a person's role and mode). The dialog takes
// every key, from the console's one KeyMap, until it is cancelled or
// submitted. A submitted dialog's call into core runs in a tea.Cmd while
// the dialog waits; core's refusal shows in the dialog, which stays open
// to be put right or cancelled; an answer closes it and goes to what the
// page said to do with it. Users (impersonate, request, an owner's delete
// and edit), Approvals (approve, deny, cancel) and Sessions (terminate)
// all open their dialogs through a flow.

// dialog is a confirm or a form, as a flow drives it.
type dialog interface {
	// update handles a key: the dialog stays open, or was cancelled, or
	// was submitted (the flow then makes its call).
	update(msg tea.KeyMsg, k *KeyMap) (dialogResult, tea.Cmd)
	// view draws the dialog's box, at most maxW cells wide.
	view(c Common, maxW int) string
	// help is the dialog's keys, for the page's help line.
	help(k *KeyMap) []key.Binding
	// refused shows core's refusal in the dialog: under its field when
	// it names one.
	refused(err error)
	// waiting says whether its call is on its way to core.
	waiting(busy bool)
	// restyle takes new shared state (size, styles).
	restyle(c Common)
}

// dialogResult is what a key did to a dialog.
type dialogResult int

const (
	dialogOpen dialogResult = iota
	dialogCancelled
	dialogSubmitted
)

// flow is a page's open dialog (none when d is nil) and what its
// submission asks of core.
type flow struct {
	d dialog
	// submit builds the call from the dialog's values, on the Update
	// loop; the call runs in a Cmd and its answer comes back as a
	// flowDoneMsg, for done (on a success).
	submit func() func() (any, error)
	done   func(v any) tea.Cmd
	busy   bool
	seq    int // the dialog's number: answers to an earlier one are dropped
}

// flowDoneMsg is core's answer to a dialog's call, for the page whose
// flow made it.
type flowDoneMsg struct {
	to  Page
	seq int
	v   any
	err error
}

func (m flowDoneMsg) addressee() Page { return m.to }

// openDialog opens d in f. Once d is submitted, call (run on the Update
// loop, reading d's values) gives the call into core, run in a Cmd; when
// core accepts it, the dialog closes and done (on the Update loop) says
// what follows: a notice, a reload, a session started.
func openDialog[T any](f *flow, d dialog, call func() func() (T, error), done func(T) tea.Cmd) {
	f.seq++
	f.d, f.busy = d, false
	f.submit = func() func() (any, error) {
		run := call()
		return func() (any, error) { return run() }
	}
	f.done = func(v any) tea.Cmd {
		t, _ := v.(T)
		return done(t)
	}
}

// active reports whether a dialog is open.
func (f *flow) active() bool { return f.d != nil }

// close closes the dialog without an answer.
func (f *flow) close() { f.d, f.submit, f.done, f.busy = nil, nil, nil, false }

// key hands a key to the open dialog, for page (whom the answer goes
// to): cancelled closes it, submitted runs its call. While the call is on
// its way keys wait for nothing: the dialog takes none.
func (f *flow) key(page Page, msg tea.KeyMsg, k *KeyMap) tea.Cmd {
	if f.d == nil || f.busy {
		return nil
	}
	res, cmd := f.d.update(msg, k)
	switch res {
	case dialogCancelled:
		f.close()
		return cmd
	case dialogSubmitted:
		f.busy = true
		f.d.waiting(true)
		run, seq := f.submit(), f.seq
		return func() tea.Msg {
			v, err := run()
			return flowDoneMsg{to: page, seq: seq, v: v, err: err}
		}
	}
	return cmd
}

// answer takes core's answer to the call page's open dialog made: a
// refusal shows in the dialog, which stays open; an answer closes it and
// runs done. Answers to another page's dialog, or an earlier one, are
// dropped.
func (f *flow) answer(page Page, msg flowDoneMsg) tea.Cmd {
	if f.d == nil || msg.to != page || msg.seq != f.seq || !f.busy {
		return nil
	}
	f.busy = false
	f.d.waiting(false)
	if msg.err != nil {
		f.d.refused(msg.err)
		return nil
	}
	done, v := f.done, msg.v
	f.close()
	return done(v)
}

func (f *flow) view(c Common, maxW int) string {
	if f.d == nil {
		return ""
	}
	return f.d.view(c, maxW)
}

func (f *flow) help(k *KeyMap) []key.Binding {
	if f.d == nil {
		return nil
	}
	return f.d.help(k)
}

func (f *flow) restyle(c Common) {
	if f.d != nil {
		f.d.restyle(c)
	}
}
