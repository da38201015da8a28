package tui

// What the console's pages are built from: their styles, tables, list
// layout, loads, text inputs, dialogs and footer messages.

import (
	"fmt"
	"io"
	"strings"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// pageStyles are the styles these pages use, taken from the session's
// theme; without one (a bare test) they come from a colourless renderer,
// never from the global one.
type pageStyles struct {
	*themes.Styles
	Row, Selected, Empty lipgloss.Style
}

func pageStylesOf(c Common) pageStyles {
	s := c.Styles
	if s == nil {
		s = themes.New(asciiOnly(), themes.Plain)
	}
	return pageStyles{Styles: s, Row: s.TableRow, Selected: s.TableSelected, Empty: s.TableEmpty}
}

// asciiOnly is a renderer that writes no colour.
func asciiOnly() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// Status is the style of a status or result word.
func (s pageStyles) Status(status string) lipgloss.Style { return s.StatusStyle(status) }

// colSpec is a table column: at least width cells, plus a share (flex) of
// what is left of the screen.
type colSpec struct {
	title string
	width int
	flex  int
}

func colTitles(cols []colSpec) []string {
	t := make([]string, len(cols))
	for i, c := range cols {
		t[i] = c.title
	}
	return t
}

// layoutCols gives each column its width for a line of total cells
// (columns are separated by one space). When even the minimums do not
// fit, the flexible columns shrink first.
func layoutCols(cols []colSpec, total int) []int {
	w := make([]int, len(cols))
	used, flex := len(cols)-1, 0
	for i, c := range cols {
		w[i] = c.width
		used += c.width
		flex += c.flex
	}
	left := total - used
	for i := len(cols) - 1; left < 0 && i >= 0; i-- {
		if cols[i].flex > 0 {
			cut := min(-left, w[i]-3)
			w[i] -= cut
			left += cut
		}
	}
	if left > 0 && flex > 0 {
		give := left
		for i, c := range cols {
			if c.flex > 0 {
				n := left * c.flex / flex
				w[i] += n
				give -= n
			}
		}
		for i := len(cols) - 1; i >= 0 && give > 0; i-- {
			if cols[i].flex > 0 {
				w[i] += give
				give = 0
			}
		}
	}
	return w
}

// loadGate keeps a page to one load from core at a time. A reload asked
// for while one runs is remembered and run once that load has landed, so a
// burst of live changes costs at most one more read.
type loadGate struct {
	loading bool // a load is running
	again   bool // a reload was asked for while it ran
}

// start reports whether a load may start now; while one runs it notes
// that another is wanted after it.
func (g *loadGate) start() bool {
	if g.loading {
		g.again = true
		return false
	}
	g.loading = true
	return true
}

// rerun reports, once, whether a reload was asked for while the load that
// just landed ran.
func (g *loadGate) rerun() bool {
	again := g.again
	g.again = false
	return again
}

// listDetailFrom is the page height from which the Approvals and Sessions
// tabs have room for a pane that describes the selected row.
const listDetailFrom = 12

// listRows is how many rows a list page h lines tall shows: all but the
// title, a blank line, the header and its rule, and the detail pane
// (detailLines under a rule) when there is room for one.
func listRows(h, detailLines int) int {
	rows := h - 4
	if h >= listDetailFrom {
		rows -= detailLines + 1
	}
	return max(rows, 1)
}

// listPage is the layout the Approvals and Sessions tabs share: a title
// line, a blank line, the table header, the rows on screen (or a message
// while there are none) and, on pages of listDetailFrom lines or more, a
// rule over a pane that describes the selected row.
type listPage struct {
	title, right string
	cols         []colSpec
	count        int // rows in the list
	listCursor
	detailLines int
	empty       string // shown in place of the rows when count is 0
	// row is row i's cells and the inks of the columns that have their
	// own (as for table.row).
	row    func(i int) ([]string, map[int]themes.Ink)
	detail func(st pageStyles, w int) string
}

// view draws the list page w cells wide on c's height.
func (l listPage) view(c Common, st pageStyles, w int) string {
	var b strings.Builder
	b.WriteString(titleLine(st, l.title, l.right, w))
	b.WriteString("\n\n")
	t := tableOf(l.cols, w-2)
	b.WriteString(t.header(st, w))
	b.WriteByte('\n')
	h := listRows(c.Height, l.detailLines)
	lines := 0
	if l.count == 0 {
		b.WriteString(st.Empty.Render(fit(l.empty, w)) + "\n")
		lines++
	}
	for i := l.offset; i < l.count && i < l.offset+h; i++ {
		cells, styles := l.row(i)
		t.writeRow(&b, st, cells, i == l.cursor, styles)
		b.WriteByte('\n')
		lines++
	}
	if c.Height >= listDetailFrom {
		for ; lines < h; lines++ {
			b.WriteByte('\n')
		}
		b.WriteString(st.Faint.Render(strings.Repeat("─", w)) + "\n")
		b.WriteString(l.detail(st, w))
	}
	return limitLines(strings.TrimRight(b.String(), "\n"), c.Height)
}

// emptyListText is what a list says while it has no rows: that they are
// loading, why reading them failed, or, once read, none.
func emptyListText(loaded bool, err error, none string) string {
	switch {
	case err != nil:
		return core.Display(err.Error())
	case loaded:
		return none
	}
	return "Loading…"
}

// limitLines cuts s to at most h lines.
func limitLines(s string, h int) string {
	if h <= 0 {
		return s
	}
	at := 0
	for range h {
		i := strings.IndexByte(s[at:], '\n')
		if i < 0 {
			return s
		}
		at += i + 1
	}
	return s[:at-1]
}

// titleLine is a page title on the left and a note on the right.
func titleLine(st pageStyles, title, right string, w int) string {
	tw := textWidth(title)
	if tw > w {
		title = ansi.Truncate(title, w, "…")
		tw = ansi.StringWidth(title)
	}
	gap := w - tw - textWidth(right)
	if right == "" || gap < 2 {
		return st.Inks.Title.Render(title)
	}
	var b strings.Builder
	st.Inks.Title.Write(&b, title)
	b.WriteString(strings.Repeat(" ", gap))
	st.Inks.Muted.Write(&b, right)
	return b.String()
}

// dialogOver floats a dialog box over the middle of the page's view, cut
// to the page's height.
func dialogOver(c Common, page, box string) string {
	return limitLines(center(fillLines(page, max(c.Height, 1)), box, max(c.Width, 1), max(c.Height, 1)), c.Height)
}

// dialogBox draws a dialog in the theme's box.
func dialogBox(c Common, title string, body ...string) string {
	st := pageStylesOf(c)
	w := min(max(c.Width-8, 20), 72)
	inner := w - st.Dialog.GetHorizontalFrameSize()
	lines := []string{st.DialogTitle.Render(ansi.Truncate(title, inner, "…")), ""}
	lines = append(lines, body...)
	return st.Dialog.Width(w - st.Dialog.GetHorizontalBorderSize()).Render(strings.Join(lines, "\n"))
}

// button is a dialog's button; the marker shows the focus without colour
// (plain, NO_COLOR).
func button(s *themes.Styles, label string, focused bool) string {
	if focused {
		return s.ButtonFocused.Render("> " + label)
	}
	return s.Button.Render("  " + label)
}

// keyHint is "key label" in help colours, for dialogs.
func keyHint(st pageStyles, pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, st.HelpKey.Render(pairs[i])+" "+st.HelpDesc.Render(pairs[i+1]))
	}
	return strings.Join(parts, st.HelpSep.Render(" · "))
}

// newTextInput is a text input with its prompt, placeholder and length
// limit, before styleTextInput gives it the session's colours.
func newTextInput(prompt, placeholder string, limit int) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.Placeholder = placeholder
	in.CharLimit = limit
	return in
}

// styleTextInput gives in the session's colours (bubbles would take them
// from the global renderer, not this terminal's) and its width.
func styleTextInput(c Common, in *textinput.Model, width int) {
	if c.Styles != nil {
		c.Styles.ApplyTextInput(in)
	}
	in.Width = width
}

// lazyInput is a text input that is built when it is first used. A bubbles
// text input with its styles, cursor and key map is some 9 KB, and a
// console has several that are seldom typed into. Until it is built it
// reads as empty and unfocused.
type lazyInput struct {
	in                  *textinput.Model
	prompt, placeholder string
	limit, width        int
	styles              *themes.Styles
}

func newLazyInput(prompt, placeholder string, limit int) lazyInput {
	return lazyInput{prompt: prompt, placeholder: placeholder, limit: limit}
}

// style gives the input the session's colours and its width, now or once
// it is built.
func (l *lazyInput) style(c Common, width int) {
	l.styles, l.width = c.Styles, width
	if l.in != nil {
		styleTextInput(c, l.in, width)
	}
}

// model is the input, built on first use.
func (l *lazyInput) model() *textinput.Model {
	if l.in == nil {
		in := newTextInput(l.prompt, l.placeholder, l.limit)
		styleTextInput(Common{Styles: l.styles}, &in, l.width)
		l.in = &in
	}
	return l.in
}

func (l *lazyInput) Value() string {
	if l.in == nil {
		return ""
	}
	return l.in.Value()
}

func (l *lazyInput) SetValue(s string) {
	if l.in != nil || s != "" {
		l.model().SetValue(s)
	}
}

func (l *lazyInput) CursorEnd() {
	if l.in != nil {
		l.in.CursorEnd()
	}
}

func (l *lazyInput) Focus() tea.Cmd { return l.model().Focus() }

func (l *lazyInput) Blur() {
	if l.in != nil {
		l.in.Blur()
	}
}

func (l *lazyInput) Update(msg tea.Msg) tea.Cmd {
	in, cmd := l.model().Update(msg)
	*l.in = in
	return cmd
}

func (l *lazyInput) View() string { return l.model().View() }

// resized is c at the size of a tea.WindowSizeMsg: the root hands pages
// their size through SetCommon, but a page run on its own gets the message.
func resized(c Common, msg tea.WindowSizeMsg) Common {
	c.Width, c.Height = msg.Width, msg.Height
	return c
}

// errorOf returns the page's error as a message for the root's footer.
func errorOf(err error) tea.Cmd {
	return func() tea.Msg { return ErrorMsg{err} }
}

// noticeOf returns a footer notice.
func noticeOf(format string, args ...any) tea.Cmd {
	text := fmt.Sprintf(format, args...)
	return func() tea.Msg { return NoticeMsg{text} }
}
