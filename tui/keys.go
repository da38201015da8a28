package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds every key binding of the console, so the keys of DESIGN
// "Screens and keys" mean the same on every page. Pages take what they need
// from Common.Keys and list it in their ShortHelp/FullHelp.
type KeyMap struct {
	// Global, handled by the root unless a page is capturing keys.
	Tabs     [6]key.Binding // 1 Users … 6 Settings
	Help     key.Binding
	Quit     key.Binding
	BackToMe key.Binding // ends the impersonation from anywhere
	CopyLink key.Binding // copies the product link while impersonating

	// Lists and tables.
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Search   key.Binding
	Open     key.Binding // enter or . on a row: the kebab menu

	// Kebab menu hotkeys on the Users page.
	Impersonate  key.Binding
	Request      key.Binding
	ViewSessions key.Binding
	ViewAudit    key.Binding
	// Owners' hotkeys in the same menu, and in its keys dialog.
	Suspend   key.Binding // suspend or reactivate
	Delete    key.Binding
	Edit      key.Binding // role, mode, approver
	UserKeys  key.Binding // the person's login keys
	AddKey    key.Binding
	RemoveKey key.Binding

	// Approvals and Sessions.
	Approve       key.Binding
	Deny          key.Binding
	History       key.Binding // decided requests too
	CancelRequest key.Binding // withdraw one's own pending request
	Terminate     key.Binding // end a running session

	// Forms and dialogs.
	Longer  key.Binding // the approve dialog's duration, a step up
	Shorter key.Binding // … and down
	Preset  key.Binding // 1-4: 1h, 24h, 72h, the policy max
	Next    key.Binding // tab
	Prev    key.Binding // shift+tab
	Left    key.Binding
	Right   key.Binding
	Submit  key.Binding // ctrl+s
	Confirm key.Binding // y
	No      key.Binding // n
	Enter   key.Binding
	Cancel  key.Binding // esc
}

// DefaultKeyMap is the key map of DESIGN "Screens and keys".
func DefaultKeyMap() KeyMap {
	k := KeyMap{
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		BackToMe: key.NewBinding(key.WithKeys("ctrl+x"), key.WithHelp("ctrl+x", "back to me")),
		CopyLink: key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "copy product link")),

		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Open:     key.NewBinding(key.WithKeys("enter", "."), key.WithHelp("enter/.", "actions")),

		Impersonate:  key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "impersonate user")),
		Request:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "request impersonation")),
		ViewSessions: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "view sessions")),
		ViewAudit:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "view audit")),
		Suspend:      key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "suspend")),
		Delete:       key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "delete")),
		Edit:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		UserKeys:     key.NewBinding(key.WithKeys("k"), key.WithHelp("k", "keys")),
		AddKey:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add a key")),
		RemoveKey:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "remove key")),

		Approve:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve")),
		Deny:          key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "deny")),
		History:       key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "show decided")),
		CancelRequest: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel my request")),
		Terminate:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "terminate")),

		Longer:  key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "longer")),
		Shorter: key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "shorter")),
		Preset:  key.NewBinding(key.WithKeys("1", "2", "3", "4"), key.WithHelp("1-4", "1h/24h/72h/max")),
		Next:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next")),
		Prev:    key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous")),
		Left:    key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "left")),
		Right:   key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "right")),
		Submit:  key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "submit")),
		Confirm: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "confirm")),
		No:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "no")),
		Enter:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "select")),
		Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
	for i, name := range tabNames() {
		n := string(rune('1' + i))
		k.Tabs[i] = key.NewBinding(key.WithKeys(n), key.WithHelp(n, name))
	}
	return k
}

// tabNames are the tabs by number, 1-based in the UI.
func tabNames() [6]string {
	return [6]string{"Users", "Approvals", "Sessions", "Audit", "Account", "Settings"}
}

// Tab numbers.
const (
	TabUsers     = 1
	TabApprovals = 2
	TabSessions  = 3
	TabAudit     = 4
	TabAccount   = 5
	TabSettings  = 6
)

// keysOf is c's key map; a page built without one (a bare test) gets
// the default.
func keysOf(c Common) *KeyMap {
	if c.Keys != nil {
		return c.Keys
	}
	k := DefaultKeyMap()
	return &k
}

// as is b under a page's own word for it (up is "newer" in the audit
// log): the same keys, so that a key means the same on every page.
func as(b key.Binding, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, desc))
}

// plus is b answering to more keys as well (a pager's less-style b and f).
func plus(b key.Binding, more ...string) key.Binding {
	keys := append(append([]string(nil), b.Keys()...), more...)
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(b.Help().Key, b.Help().Desc))
}
