package tui

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// Owners administer people from the Users menu: u suspends or reactivates,
// x deletes (after a confirm), e edits role, mode and approver, k lists,
// adds (by pasting a public key) and removes login keys. core says up
// front which of these it would refuse and why (ActionsOn), and
// decides again when the step is taken; the console only shows.

// Menu item IDs of the owners' actions.
const (
	itemSuspend = "suspend"
	itemDelete  = "delete"
	itemEdit    = "edit"
	itemKeys    = "keys"
)

func adminActions() map[string]core.AdminAction {
	return map[string]core.AdminAction{
		itemSuspend: core.AdminSuspend, itemDelete: core.AdminDelete, itemEdit: core.AdminEdit, itemKeys: core.AdminKeys,
	}
}

// adminItems are the menu items of an owner (none for anyone else: like
// a tab they may not use, they are not shown); core answers for them with
// the rest of the menu (ActionsOn).
func adminItems(c Common, u core.User) []menuItem {
	if c.Abilities.Shows(core.CapAdmin) != nil {
		return nil
	}
	k := c.Keys
	suspend := "Suspend user"
	if u.Status == core.StatusSuspended {
		suspend = "Reactivate user"
	}
	return []menuItem{
		{ID: itemSuspend, Key: k.Suspend, Label: suspend, Checking: true},
		{ID: itemDelete, Key: k.Delete, Label: "Delete user", Checking: true},
		{ID: itemEdit, Key: k.Edit, Label: "Edit role, mode, approver", Checking: true},
		{ID: itemKeys, Key: k.UserKeys, Label: "Keys", Checking: true},
	}
}

// Messages of the owners' actions.
type (
	// adminDoneMsg is core's answer to a change of a person.
	adminDoneMsg struct {
		userID string
		notice string
		err    error
	}
	keysLoadedMsg struct {
		userID string
		keys   []core.Key
		err    error
	}
)

// adminPane is the keys list an owner's k opened: it captures every key
// while open. (Delete and edit are dialogs of the page's flow.)
type adminPane struct {
	user core.User
	keys *keysPane
	busy bool // a change is on its way to core
}

// startAdmin carries out a chosen owner's item: suspend at once, delete
// and edit through a dialog opened in f, the keys in their pane.
func startAdmin(c Common, f *flow, item string, u core.User) (*adminPane, tea.Cmd) {
	name := core.Display(u.DisplayName())
	switch item {
	case itemSuspend:
		st, verb := core.StatusSuspended, "Suspended "+name+": their consoles are closed and their sessions ended"
		if u.Status == core.StatusSuspended {
			st, verb = core.StatusActive, "Reactivated "+name
		}
		return nil, changeUser(c, u, core.UserChange{Status: &st}, verb)
	case itemDelete:
		d := newConfirm("Delete "+name+"?",
			name+" <"+core.Display(u.Email)+"> will be marked deleted: they can no longer log in, their open consoles close and every session they are part of ends. The audit log keeps their history.",
			"Cancel", "Delete user")
		st := core.StatusDeleted
		openDialog(f, d, updateUser(c, u, func() core.UserChange { return core.UserChange{Status: &st} }),
			notice[core.User]("Deleted "+name))
	case itemEdit:
		e := newEditForm(u)
		openDialog(f, e, updateUser(c, u, func() core.UserChange { return e.change(u) }), notice[core.User]("Saved "+name))
	case itemKeys:
		a := &adminPane{user: u, keys: newKeysPane(c)}
		return a, loadKeys(c, u)
	}
	return nil, nil
}

// updateUser is the call of an owner's dialog: change u as the dialog
// says, once submitted.
func updateUser(c Common, u core.User, ch func() core.UserChange) func() func() (core.User, error) {
	co, pr := c.Core, c.Principal
	return func() func() (core.User, error) {
		change := ch()
		return func() (core.User, error) { return co.UpdateUser(pr, u.Email, change) }
	}
}

// notice is a dialog's done: say text in the footer.
func notice[T any](text string) func(T) tea.Cmd {
	return func(T) tea.Cmd { return func() tea.Msg { return NoticeMsg{text} } }
}

// changeUser asks core to change a person, in a Cmd.
func changeUser(c Common, u core.User, ch core.UserChange, notice string) tea.Cmd {
	co, pr := c.Core, c.Principal
	return func() tea.Msg {
		_, err := co.UpdateUser(pr, u.Email, ch)
		return adminDoneMsg{userID: u.ID, notice: notice, err: err}
	}
}

func loadKeys(c Common, u core.User) tea.Cmd {
	co, pr := c.Core, c.Principal
	return func() tea.Msg {
		keys, err := co.KeysOf(pr, u.ID)
		return keysLoadedMsg{userID: u.ID, keys: keys, err: err}
	}
}

// key handles a keypress; done means the pane closes.
func (a *adminPane) key(msg tea.KeyMsg, c Common) (done bool, cmd tea.Cmd) {
	if a.busy {
		return false, nil
	}
	return a.keys.key(msg, c, a)
}

// answer handles core's answers; done means the pane closes.
func (a *adminPane) answer(msg tea.Msg, c Common) (done bool, cmd tea.Cmd) {
	switch msg := msg.(type) {
	case adminDoneMsg:
		if msg.userID != a.user.ID {
			return false, nil
		}
		a.busy = false
		if msg.err != nil {
			a.keys.err = core.Display(msg.err.Error())
			return false, nil
		}
		// A key was added or removed: show the list again.
		notice := func() tea.Msg { return NoticeMsg{msg.notice} }
		a.keys.adding, a.keys.removing, a.keys.err = false, false, ""
		a.keys.input.Reset()
		return false, tea.Batch(notice, loadKeys(c, a.user))
	case keysLoadedMsg:
		if msg.userID != a.user.ID {
			return false, nil
		}
		a.keys.loaded, a.keys.keys = true, msg.keys
		a.keys.err = ""
		if msg.err != nil {
			a.keys.err = core.Display(msg.err.Error())
		}
		a.keys.moveCursor(0, len(a.keys.keys))
	}
	return false, nil
}

func (a *adminPane) view(c Common) string { return a.keys.view(c, a.user, a.busy) }

func (a *adminPane) help(k *KeyMap) []key.Binding {
	if a.keys.adding || a.keys.removing {
		return []key.Binding{k.Enter, k.Cancel}
	}
	return []key.Binding{k.Up, k.Down, k.AddKey, k.RemoveKey, k.Cancel}
}

// editForm changes a person's role, impersonation mode and approver flag:
// tab/shift+tab (or up/down) move, left/right change the value, ctrl+s or
// enter on Save submits, esc cancels.
type editForm struct {
	user       core.User
	role, mode int  // indexes into core.Roles and core.Modes
	approver   bool //
	focus      int  // editRole … editSave
	err        string
	busy       bool
}

const (
	editRole = iota
	editMode
	editApprover
	editCancel
	editSave
	editFields
)

func newEditForm(u core.User) *editForm {
	f := &editForm{user: u, approver: u.Approver}
	for i, r := range core.Roles {
		if r == u.Role {
			f.role = i
		}
	}
	for i, m := range core.Modes {
		if m == u.Mode {
			f.mode = i
		}
	}
	return f
}

func (f *editForm) refused(err error) { f.err = core.Display(err.Error()) }
func (f *editForm) waiting(busy bool) { f.busy = busy }
func (f *editForm) restyle(Common)    {}

func (f *editForm) help(k *KeyMap) []key.Binding {
	return []key.Binding{k.Next, k.Left, k.Right, k.Submit, k.Cancel}
}

// update handles a key; saving what did not change closes the form with
// a notice instead of asking core.
func (f *editForm) update(msg tea.KeyMsg, k *KeyMap) (dialogResult, tea.Cmd) {
	switch res := f.key(msg, k); {
	case res == dialogSubmitted && f.change(f.user) == (core.UserChange{}):
		return dialogCancelled, func() tea.Msg { return NoticeMsg{"Nothing changed"} }
	default:
		return res, nil
	}
}

func (f *editForm) key(msg tea.KeyMsg, k *KeyMap) dialogResult {
	f.err = ""
	step := func(n, delta int) int { return (n + delta + editFields) % editFields }
	turn := func(delta int) {
		switch f.focus {
		case editRole:
			f.role = (f.role + delta + len(core.Roles)) % len(core.Roles)
		case editMode:
			f.mode = (f.mode + delta + len(core.Modes)) % len(core.Modes)
		case editApprover:
			f.approver = !f.approver
		case editCancel, editSave:
			f.focus = editCancel + editSave - f.focus
		}
	}
	switch {
	case key.Matches(msg, k.Cancel):
		return dialogCancelled
	case key.Matches(msg, k.Submit):
		return dialogSubmitted
	case key.Matches(msg, k.Next), key.Matches(msg, k.Down):
		f.focus = step(f.focus, 1)
	case key.Matches(msg, k.Prev), key.Matches(msg, k.Up):
		f.focus = step(f.focus, -1)
	case key.Matches(msg, k.Left):
		turn(-1)
	case key.Matches(msg, k.Right):
		turn(1)
	case msg.String() == " " && f.focus == editApprover:
		turn(1)
	case key.Matches(msg, k.Enter):
		switch f.focus {
		case editCancel:
			return dialogCancelled
		case editSave:
			return dialogSubmitted
		}
		f.focus = step(f.focus, 1)
	}
	return dialogOpen
}

// change is what the form changes of u: only the fields that differ.
func (f *editForm) change(u core.User) core.UserChange {
	var ch core.UserChange
	if r := core.Roles[f.role]; r != u.Role {
		ch.Role = &r
	}
	if m := core.Modes[f.mode]; m != u.Mode {
		ch.Mode = &m
	}
	if f.approver != u.Approver {
		a := f.approver
		ch.Approver = &a
	}
	return ch
}

func (f *editForm) view(c Common, _ int) string {
	u, busy := f.user, f.busy
	st := pageStylesOf(c)
	field := func(i int, label string, options []string, chosen int) string {
		var b strings.Builder
		ls := st.Label
		if f.focus == i {
			ls = st.LabelFocused
		}
		b.WriteString(ls.Render(fmt.Sprintf("%-9s", label)))
		for j, o := range options {
			b.WriteByte(' ')
			switch {
			case j == chosen && f.focus == i:
				b.WriteString(st.ChoiceActive.Render("[" + o + "]"))
			case j == chosen:
				b.WriteString(st.Choice.Render("[" + o + "]"))
			default:
				b.WriteString(st.Muted.Render(" " + o + " "))
			}
		}
		return b.String()
	}
	roles := make([]string, len(core.Roles))
	for i, r := range core.Roles {
		roles[i] = string(r)
	}
	modes := make([]string, len(core.Modes))
	for i, m := range core.Modes {
		modes[i] = string(m)
	}
	appr := 0
	if f.approver {
		appr = 1
	}
	lines := []string{
		st.Muted.Render(core.Display(u.Email)), "",
		field(editRole, "Role", roles, f.role),
		field(editMode, "Mode", modes, f.mode),
		field(editApprover, "Approver", []string{"no", "yes"}, appr),
		"",
		button(st.Styles, "Cancel", f.focus == editCancel) + "  " + button(st.Styles, "Save", f.focus == editSave),
	}
	if f.err != "" {
		lines = append(lines, "")
		for _, l := range wrap(f.err, min(max(c.Width-12, 20), 64)) {
			lines = append(lines, st.FieldError.Render(l))
		}
	}
	if busy {
		lines = append(lines, "", st.Muted.Render("saving…"))
	}
	lines = append(lines, "", keyHint(st, "tab", "move", "←/→", "change", "ctrl+s", "save", "esc", "cancel"))
	return dialogBox(c, "Edit "+core.Display(u.DisplayName()), lines...)
}

// keysPane lists a person's login keys: a adds one by pasting its public
// key (enter submits), x removes the selected one (y confirms), esc
// closes.
type keysPane struct {
	keys   []core.Key
	loaded bool
	listCursor
	adding   bool
	removing bool
	input    textinput.Model
	err      string
}

func newKeysPane(c Common) *keysPane {
	p := &keysPane{input: newTextInput("> ", "paste a public key: ssh-ed25519 AAAA… comment", 16<<10)}
	styleTextInput(c, &p.input, min(max(c.Width-14, 20), 62))
	return p
}

func (p *keysPane) key(msg tea.KeyMsg, c Common, a *adminPane) (done bool, cmd tea.Cmd) {
	k := c.Keys
	co, pr, u := c.Core, c.Principal, a.user
	switch {
	case p.adding:
		switch {
		case key.Matches(msg, k.Cancel):
			p.adding, p.err = false, ""
			p.input.Blur()
			return false, nil
		case msg.Type == tea.KeyEnter, key.Matches(msg, k.Submit):
			line := p.input.Value()
			if strings.TrimSpace(line) == "" {
				p.err = "paste a public key first (one line of a .pub file)"
				return false, nil
			}
			a.busy = true
			return false, func() tea.Msg {
				k, err := co.AddKey(pr, u.Email, line)
				return adminDoneMsg{userID: u.ID, notice: "Added key " + k.Fingerprint + " for " + core.Display(u.Email), err: err}
			}
		}
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		return false, cmd
	case p.removing:
		switch {
		case key.Matches(msg, k.Confirm):
			fp := p.keys[p.cursor].Fingerprint
			a.busy = true
			return false, func() tea.Msg {
				err := co.RemoveKey(pr, fp)
				return adminDoneMsg{userID: u.ID, notice: "Removed key " + fp, err: err}
			}
		case key.Matches(msg, k.No), key.Matches(msg, k.Cancel):
			p.removing = false
		}
		return false, nil
	}
	p.err = ""
	switch {
	case key.Matches(msg, k.Cancel):
		return true, nil
	case key.Matches(msg, k.Down):
		p.moveCursor(1, len(p.keys))
	case key.Matches(msg, k.Up):
		p.moveCursor(-1, len(p.keys))
	case key.Matches(msg, k.AddKey):
		p.adding = true
		p.input.Reset()
		return false, p.input.Focus()
	case key.Matches(msg, k.RemoveKey):
		if len(p.keys) == 0 {
			p.err = "no key to remove"
			return false, nil
		}
		p.removing = true
	}
	return false, nil
}

func (p *keysPane) view(c Common, u core.User, busy bool) string {
	st := pageStylesOf(c)
	inner := min(max(c.Width-12, 20), 64)
	var lines []string
	switch {
	case !p.loaded && p.err == "":
		lines = append(lines, st.Muted.Render("loading…"))
	case len(p.keys) == 0 && p.loaded:
		lines = append(lines, st.Muted.Render("no login keys: "+core.Display(u.DisplayName())+" cannot log in over SSH"))
	}
	for i, k := range p.keys {
		row := ansi.Truncate(k.Fingerprint, inner-2, "…")
		about := ansi.Truncate(fmt.Sprintf("%s · added %s · %s", k.Type, k.Added.UTC().Format("2006-01-02"),
			core.Display(cmp.Or(k.Comment, "no comment"))), inner-4, "…")
		if i == p.cursor {
			lines = append(lines, st.TableSelected.Render("> "+row))
		} else {
			lines = append(lines, st.TableRow.Render("  "+row))
		}
		lines = append(lines, st.Muted.Render("    "+about))
	}
	lines = append(lines, "")
	switch {
	case p.adding:
		lines = append(lines, st.LabelFocused.Render("Public key"), p.input.View(), "",
			keyHint(st, "enter", "add", "esc", "back"))
	case p.removing && p.cursor < len(p.keys):
		lines = append(lines, st.Text.Render("Remove key "+p.keys[p.cursor].Fingerprint+"?"),
			st.Muted.Render("Consoles that logged in with it close at once."), "",
			keyHint(st, "y", "remove", "n/esc", "keep it"))
	default:
		lines = append(lines, keyHint(st, "a", "add", "x", "remove", "↑/↓", "select", "esc", "close"))
	}
	if p.err != "" {
		lines = append(lines, "")
		for _, l := range wrap(p.err, inner) {
			lines = append(lines, st.FieldError.Render(l))
		}
	}
	if busy {
		lines = append(lines, st.Muted.Render("saving…"))
	}
	return dialogBox(c, "Keys of "+core.Display(u.DisplayName()), lines...)
}
