// Package tui is the actas console: one root model (Model) with a page per
// tab, a banner while impersonating, and a help footer. The local terminal
// (actas tui, actas demo) and every SSH connection build it through New
// with their own Options, so nothing here is a mutable package global and
// no style comes from the global lipgloss renderer.
package tui

import (
	"context"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Options are what a console needs from whoever runs it.
type Options struct {
	// Ctx is the connection's context (nil = context.Background()); page
	// Cmds derive theirs from it so they stop when the connection ends.
	Ctx       context.Context
	Core      *core.Core
	Principal core.Principal     // the real, authenticated person
	Renderer  *lipgloss.Renderer // this terminal's renderer; nil = lipgloss.DefaultRenderer()
	Plain     bool               // no colour (NO_COLOR, TERM=dumb)
	ASCII     bool               // nothing but ASCII on screen (TERM=dumb): glyphs fall back (ascii.go)
	Width     int
	Height    int
	// Shared is what this console shares with the others of the process
	// (styles, drawn audit rows); nil: its own.
	Shared *Shared
	// Copy puts text on the terminal's clipboard (OSC 52). nil writes the
	// sequence through the renderer's output (the local console); the SSH
	// server passes one that writes between its frames.
	Copy func(text string)

	// noTimers (tests) arms no timer: no banner ticks, and notices stay.
	noTimers bool
}

// Common is shared, by value, with every page and component.
type Common struct {
	Ctx       context.Context
	Core      *core.Core
	Principal core.Principal // real person; never the target
	// Viewer is whom the console shows: the principal's own user, or the
	// target while impersonating (their tabs, their theme).
	Viewer core.User
	// Session is the active impersonation, if any (Session.ID == "" if none).
	Session core.Session
	// Abilities is core's answer to what the console may offer: the tabs
	// it shows the viewer and the acts the principal may take (Approve,
	// Terminate). The root asks for it in a Cmd whenever the session or
	// a person it shows changes; the console decides no permission itself.
	Abilities core.Abilities
	Styles    *themes.Styles
	// Keys is the console's key map (keys.go); pages use its bindings so
	// that the keys of DESIGN "Screens and keys" mean the same everywhere.
	// One per process (Shared), used by every console and its pages and
	// never changed: a page changing a binding changes a copy of it.
	Keys *KeyMap
	// drawn is the audit rows drawn by every console of the process (nil:
	// none kept).
	drawn  *drawCache
	Width  int
	Height int // height available to the page (without tabs, banner, footer)
}

// Impersonating reports whether the principal is acting as someone.
func (c Common) Impersonating() bool { return c.Session.ID != "" }

// Page is one tab of the console.
type Page interface {
	tea.Model
	help.KeyMap
	// SetCommon hands the page the current shared state (size, viewer,
	// session, styles) whenever any of it changes.
	SetCommon(Common) Page
	// Title is the tab label, e.g. "Users" or "Approvals (3)".
	Title() string
	// Capturing reports whether the page holds focus in an input, menu or
	// dialog, so that global keys (tab numbers, q, ?) go to it instead.
	Capturing() bool

	// What only some pages do, with defaults in pageBase, which every
	// page embeds:

	// followsAudit reports whether the page shows audit events as they
	// happen; a console none of whose pages does skips them.
	followsAudit() bool
	// countingDown reports whether the page shows time running out; while
	// it does and the page is on screen, the root sends it a clockMsg
	// every second. No other console has a timer: idle costs nothing.
	countingDown() bool
	// writeView writes the view straight into the console's frame, never
	// more lines than its height, and reports true; false (the default)
	// has the root copy in View instead. The Audit tab, drawn for every
	// live event, writes.
	writeView(b *strings.Builder) bool
	// holds reports whether p is a part of this page (the Audit tab's
	// log), so that answers addressed to p come through it.
	holds(p Page) bool
}

// pageBase gives a page the defaults of Page's optional behaviours: it
// follows no audit, counts nothing down and has its View copied in.
type pageBase struct{}

func (pageBase) followsAudit() bool              { return false }
func (pageBase) countingDown() bool              { return false }
func (pageBase) writeView(*strings.Builder) bool { return false }
func (pageBase) holds(Page) bool                 { return false }

// Messages shared by pages and the root model.
type (
	// ChangeMsg carries a live change from core's hub.
	ChangeMsg struct{ Change core.Change }
	// ErrorMsg shows an error (core refusals carry a human reason) in the footer.
	ErrorMsg struct{ Err error }
	// NoticeMsg shows a short notice in the footer.
	NoticeMsg struct{ Text string }
	// SessionMsg reports that the principal's session started, changed or
	// ended (Session.ID == "" when none is active).
	SessionMsg struct{ Session core.Session }
	// OpenAuditMsg asks the root to open the audit viewer on a query.
	OpenAuditMsg struct {
		Title string
		Query core.AuditQuery
	}
	// SwitchTabMsg asks the root to show a tab by number (1–6).
	SwitchTabMsg struct{ Tab int }
	// CloseOverlayMsg asks the root to close the overlay on top (the
	// per-session audit viewer sends it on esc).
	CloseOverlayMsg struct{}
	// ShowSessionsMsg asks the root to show the Sessions tab with the
	// sessions on one user (the Users page's "View sessions").
	ShowSessionsMsg struct{ Target core.User }
	// ThemeMsg tells the root that the viewer's theme changed (Account's
	// `t`, after core.SetTheme succeeded), so it rebuilds the styles.
	ThemeMsg struct{ Theme string }
)

// clockMsg is the console's one-second tick, handed to the page on screen
// while it counts down (Page.countingDown).
type clockMsg struct{ now time.Time }

// Cmd runs f off the Update loop and turns its error into an ErrorMsg and
// its result into msg(result). Every call into core goes through a tea.Cmd.
func Cmd[T any](f func() (T, error), msg func(T) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		v, err := f()
		if err != nil {
			return ErrorMsg{err}
		}
		return msg(v)
	}
}
