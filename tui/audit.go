package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// The Audit tab's filter form fields, in tab order.
const (
	fieldType = iota
	fieldActor
	fieldSubject
	fieldFrom
	fieldTo
	fieldCount
)

func auditFieldLabels() [fieldCount]string {
	return [fieldCount]string{"Type", "Actor", "Subject", "From", "To"}
}

type auditTabKeys struct {
	Filter, Next, Prev, Apply, Cancel, Clear key.Binding
}

func newAuditTabKeys() auditTabKeys {
	return auditTabKeys{
		Filter: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "filters")),
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next field")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "previous field")),
		Apply:  key.NewBinding(key.WithKeys("ctrl+s", "enter"), key.WithHelp("ctrl+s/enter", "apply")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Clear:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filters")),
	}
}

// auditFilterMsg is the form's input resolved into a query (emails to
// user IDs), or the field that is wrong.
type auditFilterMsg struct {
	to     *AuditPage
	values [fieldCount]string
	q      core.AuditQuery
	field  int
	err    error
}

// AuditPage is the Audit tab: the whole log, newest first, in the audit
// viewer, plus a form (f) that filters by type, actor, subject and dates.
type AuditPage struct {
	pageBase
	c       Common
	keys    auditTabKeys
	viewer  *AuditViewer
	form    bool
	focus   int
	inputs  *[fieldCount]textinput.Model // built when the form first opens
	applied [fieldCount]string           // the filters in force, as typed
	formErr string
	errAt   int
	// checkpoint is the newest signed checkpoint of the log, shown under
	// the title (checkpointLine).
	checkpoint core.CheckpointStatus
}

// checkpointMsg is the newest checkpoint, read as the Audit tab opens and
// after each new one.
type checkpointMsg struct {
	to *AuditPage
	st core.CheckpointStatus
}

// NewAuditPage builds the Audit tab.
func NewAuditPage(c Common) Page {
	return &AuditPage{c: c, keys: newAuditTabKeys(), viewer: newAuditViewer(c, "Audit log", core.AuditQuery{})}
}

func (p *AuditPage) buildInputs() {
	if p.inputs != nil {
		return
	}
	placeholders := [fieldCount]string{
		"e.g. session, consent.revoked (comma-separated)", "email or part of a name", "email or part of a name", "YYYY-MM-DD", "YYYY-MM-DD",
	}
	p.inputs = new([fieldCount]textinput.Model)
	for i := range p.inputs {
		p.inputs[i] = newTextInput("", placeholders[i], 254)
	}
	p.styleInputs()
}

func (p *AuditPage) styleInputs() {
	if p.inputs == nil {
		return
	}
	for i := range p.inputs {
		styleTextInput(p.c, &p.inputs[i], max(min(p.c.Width-30, 50), 10))
	}
}

// Init reads the newest events and the newest checkpoint.
func (p *AuditPage) Init() tea.Cmd {
	p.viewer.setNote(p.note())
	return tea.Batch(p.viewer.Init(), p.readCheckpoint())
}

// readCheckpoint asks core for the newest checkpoint and whether making
// checkpoints fails, off the Update loop.
func (p *AuditPage) readCheckpoint() tea.Cmd {
	co := p.c.Core
	if co == nil {
		return nil
	}
	return func() tea.Msg { return checkpointMsg{to: p, st: co.CheckpointStatus()} }
}

// checkpointLine says what the newest checkpoint covers.
func (p *AuditPage) checkpointLine() string {
	cp := p.checkpoint.Latest
	line := "No signed checkpoint yet (one is made every 1,000 events, or a minute after the log grew)"
	if cp.Size > 0 {
		line = fmt.Sprintf("Checkpoint: %s events · signed %s UTC · root %s", thousands(cp.Size), cp.Time.Format("2006-01-02 15:04:05"), cp.ShortRoot())
	}
	if p.checkpoint.Err != nil {
		line += " · " + core.Display(p.checkpoint.Err.Error())
	}
	return line
}

// note is the line under the title: the filters in force, else the newest
// checkpoint.
func (p *AuditPage) note() string {
	if s := p.summary(); s != "" {
		return s
	}
	return p.checkpointLine()
}

// SetCommon passes the new shared state on to the viewer.
func (p *AuditPage) SetCommon(c Common) Page {
	p.c = c
	p.styleInputs()
	p.viewer.SetCommon(c)
	return p
}

// followsAudit is true: the tab shows audit events as they happen.
func (p *AuditPage) followsAudit() bool { return true }

// Title is the tab label.
func (p *AuditPage) Title() string { return "Audit" }

// Capturing is true while the form or the viewer's filter has focus.
func (p *AuditPage) Capturing() bool { return p.form || p.viewer.Capturing() }

// ShortHelp lists the keys that apply now.
func (p *AuditPage) ShortHelp() []key.Binding {
	if p.form {
		return []key.Binding{p.keys.Next, p.keys.Prev, p.keys.Apply, p.keys.Cancel}
	}
	b := p.viewer.ShortHelp()
	if p.viewer.Capturing() {
		return b
	}
	b = append(b, p.keys.Filter)
	if p.filtered() && p.viewer.text == "" {
		b = append(b, p.keys.Clear)
	}
	return b
}

// FullHelp lists every key of the page.
func (p *AuditPage) FullHelp() [][]key.Binding {
	if p.form || p.viewer.Capturing() {
		return [][]key.Binding{p.ShortHelp()}
	}
	b := p.viewer.FullHelp()
	extra := []key.Binding{p.keys.Filter}
	if p.filtered() {
		extra = append(extra, p.keys.Clear)
	}
	return append(b, extra)
}

func (p *AuditPage) filtered() bool { return p.applied != [fieldCount]string{} }

// Update routes keys to the form or the viewer.
func (p *AuditPage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case checkpointMsg:
		if msg.to == p {
			p.checkpoint = msg.st
			p.viewer.setNote(p.note())
		}
		return p, nil
	case ChangeMsg:
		if msg.Change.Kind == core.ChangeCheckpoint && msg.Change.Checkpoint != nil {
			p.checkpoint = core.CheckpointStatus{Latest: *msg.Change.Checkpoint}
			p.viewer.setNote(p.note())
			return p, p.readCheckpoint()
		}
	case auditFilterMsg:
		if msg.to != p {
			return p, nil
		}
		if msg.err != nil {
			p.formErr, p.errAt = core.Display(msg.err.Error()), msg.field
			return p, p.focusField(msg.field)
		}
		p.form, p.formErr = false, ""
		p.blurAll()
		p.applied = msg.values
		p.viewer.setNote(p.note())
		return p, p.viewer.SetQuery(msg.q)
	case tea.KeyMsg:
		if p.form {
			return p, p.formKey(msg)
		}
		if !p.viewer.Capturing() {
			switch {
			case key.Matches(msg, p.keys.Filter):
				return p, p.openForm()
			case msg.Type == tea.KeyEsc && p.viewer.text == "" && p.filtered():
				p.applied = [fieldCount]string{}
				p.viewer.setNote(p.note())
				return p, p.viewer.SetQuery(core.AuditQuery{})
			}
		}
	}
	_, cmd := p.viewer.Update(msg)
	return p, cmd
}

func (p *AuditPage) openForm() tea.Cmd {
	p.form, p.formErr = true, ""
	p.buildInputs()
	for i := range p.inputs {
		p.inputs[i].SetValue(p.applied[i])
		p.inputs[i].CursorEnd()
	}
	return p.focusField(fieldType)
}

func (p *AuditPage) blurAll() {
	if p.inputs == nil {
		return
	}
	for i := range p.inputs {
		p.inputs[i].Blur()
	}
}

func (p *AuditPage) focusField(i int) tea.Cmd {
	p.blurAll()
	p.focus = (i + fieldCount) % fieldCount
	return p.inputs[p.focus].Focus()
}

func (p *AuditPage) formKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, p.keys.Cancel):
		p.form, p.formErr = false, ""
		p.blurAll()
		return nil
	case key.Matches(msg, p.keys.Next):
		return p.focusField(p.focus + 1)
	case key.Matches(msg, p.keys.Prev):
		return p.focusField(p.focus - 1)
	case key.Matches(msg, p.keys.Apply):
		var values [fieldCount]string
		for i := range p.inputs {
			values[i] = strings.TrimSpace(p.inputs[i].Value())
		}
		co, pr, ctx := p.c.Core, p.c.Principal, p.c.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		return func() tea.Msg { return resolveAuditFilter(ctx, co, pr, p, values) }
	}
	var cmd tea.Cmd
	p.inputs[p.focus], cmd = p.inputs[p.focus].Update(msg)
	return cmd
}

// resolveAuditFilter turns the form's text into a query: types (exact, or
// a family such as "session"), people (an email, or part of one person's
// name or email) to user IDs, dates to a UTC range that includes the
// whole "to" day.
func resolveAuditFilter(ctx context.Context, co *core.Core, pr core.Principal, p *AuditPage, v [fieldCount]string) auditFilterMsg {
	msg := auditFilterMsg{to: p, values: v}
	fail := func(field int, format string, args ...any) auditFilterMsg {
		msg.field, msg.err = field, fmt.Errorf(format, args...)
		return msg
	}
	for _, tok := range strings.FieldsFunc(v[fieldType], func(r rune) bool { return r == ',' || r == ' ' }) {
		tok = strings.ToLower(tok)
		n := len(msg.q.Types)
		for _, t := range core.EventTypes {
			if t == tok || strings.HasPrefix(t, strings.TrimSuffix(tok, ".")+".") {
				if !slices.Contains(msg.q.Types, t) {
					msg.q.Types = append(msg.q.Types, t)
				}
			}
		}
		if len(msg.q.Types) == n && !slices.Contains(msg.q.Types, tok) {
			return fail(fieldType, "unknown event type %q; types are %s", tok, strings.Join(core.EventTypes, ", "))
		}
	}
	for _, f := range []struct {
		field int
		dst   *string
	}{{fieldActor, &msg.q.Actor}, {fieldSubject, &msg.q.Subject}} {
		if v[f.field] == "" {
			continue
		}
		if co == nil {
			return fail(f.field, "no user with email %s", v[f.field])
		}
		u, err := findPerson(ctx, co, pr, v[f.field])
		if err != nil {
			return fail(f.field, "%v", err)
		}
		*f.dst = u.ID
		msg.values[f.field] = u.Email // the summary says whom it found
	}
	if v[fieldFrom] != "" {
		t, err := time.Parse(time.DateOnly, v[fieldFrom])
		if err != nil {
			return fail(fieldFrom, "from: %q is not a date like 2025-01-31", v[fieldFrom])
		}
		msg.q.Since = t
	}
	if v[fieldTo] != "" {
		t, err := time.Parse(time.DateOnly, v[fieldTo])
		if err != nil {
			return fail(fieldTo, "to: %q is not a date like 2025-01-31", v[fieldTo])
		}
		msg.q.Until = t.Add(24 * time.Hour)
	}
	if !msg.q.Since.IsZero() && !msg.q.Until.IsZero() && !msg.q.Since.Before(msg.q.Until) {
		return fail(fieldTo, "the to date is before the from date")
	}
	return msg
}

// personMatches is how many people a person field offers when what was
// typed matches several.
const personMatches = 4

// findPerson is the one person text names: their email, or part of the
// name or email of exactly one person p may see. Several matches are
// offered by name and email, so that typing more picks one.
func findPerson(ctx context.Context, co *core.Core, p core.Principal, text string) (core.User, error) {
	if u, err := co.PersonByEmail(p, text); err == nil {
		return u, nil
	}
	page, err := co.SearchUsers(ctx, p, text, 0, personMatches+1)
	if err != nil {
		return core.User{}, err
	}
	switch len(page.Users) {
	case 0:
		return core.User{}, fmt.Errorf("nobody's name or email contains %q", text)
	case 1:
		return page.Users[0], nil
	}
	var offers []string
	for _, u := range page.Users[:min(len(page.Users), personMatches)] {
		offers = append(offers, core.Display(u.DisplayName())+" <"+core.Display(u.Email)+">")
	}
	if len(page.Users) > personMatches {
		offers = append(offers, "…")
	}
	return core.User{}, fmt.Errorf("%q matches %s — type more of the name or email", text, strings.Join(offers, ", "))
}

// summary describes the filters in force, for the line under the title.
func (p *AuditPage) summary() string {
	var parts []string
	for i, v := range p.applied {
		if v != "" {
			parts = append(parts, strings.ToLower(auditFieldLabels()[i])+" "+core.Display(v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Filtered by " + strings.Join(parts, " · ") + "  (f to change, esc to clear)"
}

// View shows the log, or the filter form.
func (p *AuditPage) View() string {
	if !p.form {
		return p.viewer.View()
	}
	return dialogOver(p.c, p.viewer.View(), p.formView())
}

// holds is true of the page's log viewer, whose answers come through it.
func (p *AuditPage) holds(q Page) bool { return p.viewer != nil && q == Page(p.viewer) }

// writeView writes the log straight into the frame (see Page.writeView).
func (p *AuditPage) writeView(b *strings.Builder) bool {
	if p.form {
		b.WriteString(limitLines(p.View(), p.c.Height))
		return true
	}
	return p.viewer.writeView(b)
}

func (p *AuditPage) formView() string {
	st := pageStylesOf(p.c)
	lines := []string{"Only events matching every filled field are shown.", ""}
	for i := range p.inputs {
		label, mark := st.Label, "  "
		if i == p.focus {
			label, mark = st.LabelFocused, "> "
		}
		lines = append(lines, label.Render(fmt.Sprintf("%s%-8s", mark, auditFieldLabels()[i]))+" "+p.inputs[i].View())
		if p.formErr != "" && p.errAt == i {
			for _, l := range wrap(p.formErr, max(min(max(p.c.Width-8, 20), 72)-6-11, 20)) {
				lines = append(lines, strings.Repeat(" ", 11)+st.FieldError.Render(l))
			}
		}
	}
	lines = append(lines, "", keyHint(st, "tab", "next", "ctrl+s/enter", "apply", "esc", "cancel"))
	return dialogBox(p.c, "Filter the audit log", lines...)
}
