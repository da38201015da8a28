package tui

import (
	"fmt"
	"strings"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// The receipt of a session (Account → Who impersonated me → p): every
// event of the session proven in a checkpoint of the audit log signed now.
// A console cannot hand a file over SSH, so the view shows the receipt's
// text and the command that saves it as a file (audit prove --session,
// which the person acted as may run over SSH); audit verify-proof checks it
// offline with the log's public key, shown here too.

// OpenReceiptMsg asks the root to open the receipt of a session.
type OpenReceiptMsg struct{ Session string }

type receiptMsg struct {
	to      *ReceiptView
	receipt core.Receipt
	err     error
}

type receiptKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Close key.Binding
}

// ReceiptView is the overlay that shows a session's receipt.
type ReceiptView struct {
	pageBase
	c       Common
	keys    receiptKeys
	session string
	lines   []string // header and receipt text, sanitised
	err     error
	offset  int
}

// NewReceiptView builds the receipt overlay of a session; Init proves it.
func NewReceiptView(c Common, session string) Page {
	k := keysOf(c)
	return &ReceiptView{c: c, session: session, keys: receiptKeys{
		Up:       k.Up,
		Down:     k.Down,
		PageUp:   plus(k.PageUp, "b"),
		PageDown: plus(k.PageDown, "f", " "),
		Top:      k.Top,
		Bottom:   k.Bottom,
		Close:    plus(as(k.Cancel, "close"), "q"),
	}}
}

// Init signs the checkpoint and proves the session's events.
func (v *ReceiptView) Init() tea.Cmd {
	co, pr, id := v.c.Core, v.c.Principal, v.session
	if co == nil {
		return nil
	}
	return func() tea.Msg {
		r, err := co.SessionReceipt(pr, id)
		return receiptMsg{to: v, receipt: r, err: err}
	}
}

// SetCommon takes the new size and styles.
func (v *ReceiptView) SetCommon(c Common) Page {
	v.c = c
	v.offset = min(v.offset, v.maxOffset())
	return v
}

// Title names the overlay.
func (v *ReceiptView) Title() string { return "Receipt " + core.Display(v.session) }

// Capturing is true: the overlay holds the keys until esc.
func (v *ReceiptView) Capturing() bool { return true }

// ShortHelp lists the keys.
func (v *ReceiptView) ShortHelp() []key.Binding {
	return []key.Binding{v.keys.Down, v.keys.Up, v.keys.PageDown, v.keys.PageUp, v.keys.Close}
}

// FullHelp lists every key.
func (v *ReceiptView) FullHelp() [][]key.Binding {
	return [][]key.Binding{v.ShortHelp(), {v.keys.Top, v.keys.Bottom}}
}

// receiptLines is what the overlay shows: what the receipt proves, how to
// save and check it, then the receipt itself.
func receiptLines(r core.Receipt) []string {
	cp := r.Checkpoint
	lines := []string{
		fmt.Sprintf("%d events of session %s, proven in the audit log %s", len(r.Proofs), r.Session, cp.Origin),
		fmt.Sprintf("as it was at %s UTC: %s events, root %s.", cp.Time.Format("2006-01-02 15:04:05"), thousands(cp.Size), core.Hash(cp.Root)),
		"",
		"Save it as a file:   actas audit prove --session " + r.Session + " > receipt.txt",
		"  (over SSH: ssh <this server> audit prove --session " + r.Session + " > receipt.txt)",
		"Check it anywhere:   actas audit verify-proof receipt.txt --key KEY",
		"KEY (the log's public key): " + r.Key,
		"",
	}
	return append(lines, strings.Split(strings.TrimRight(r.Text(), "\n"), "\n")...)
}

// Update scrolls and closes.
func (v *ReceiptView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.SetCommon(resized(v.c, msg))
	case receiptMsg:
		if msg.to != v {
			return v, nil
		}
		v.err = msg.err
		if msg.err == nil {
			v.lines = receiptLines(msg.receipt)
			for i, l := range v.lines {
				v.lines[i] = core.Display(l)
			}
		}
	case tea.KeyMsg:
		page := max(v.rows()-1, 1)
		switch {
		case key.Matches(msg, v.keys.Close):
			return v, func() tea.Msg { return CloseOverlayMsg{} }
		case key.Matches(msg, v.keys.Down):
			v.offset++
		case key.Matches(msg, v.keys.Up):
			v.offset--
		case key.Matches(msg, v.keys.PageDown):
			v.offset += page
		case key.Matches(msg, v.keys.PageUp):
			v.offset -= page
		case key.Matches(msg, v.keys.Top):
			v.offset = 0
		case key.Matches(msg, v.keys.Bottom):
			v.offset = v.maxOffset()
		}
		v.offset = max(min(v.offset, v.maxOffset()), 0)
	}
	return v, nil
}

// rows is how many lines of text fit under the title.
func (v *ReceiptView) rows() int { return max(v.c.Height-1, 1) }

func (v *ReceiptView) maxOffset() int { return max(len(v.lines)-v.rows(), 0) }

// View draws the title and the visible lines.
func (v *ReceiptView) View() string {
	st := pageStylesOf(v.c)
	w := max(v.c.Width, 20)
	right := "proving…"
	switch {
	case v.err != nil:
		right = ""
	case v.lines != nil:
		right = fmt.Sprintf("lines %d–%d of %d", v.offset+1, min(v.offset+v.rows(), len(v.lines)), len(v.lines))
	}
	out := []string{titleLine(st, v.Title(), right, w)}
	switch {
	case v.err != nil:
		out = append(out, st.Inks.Muted.Render(fit("No receipt: "+core.Display(v.err.Error()), w)))
	default:
		end := min(v.offset+v.rows(), len(v.lines))
		for _, l := range v.lines[v.offset:end] {
			out = append(out, fit(l, w))
		}
	}
	return limitLines(strings.Join(out, "\n"), v.c.Height)
}
