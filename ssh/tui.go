package ssh

import (
	"github.com/actas/actas/tui"
	tea "github.com/charmbracelet/bubbletea"
)

// The console of every connection is the same one the local terminal
// runs; only its options differ.
var (
	defaultModel = func(opt tui.Options) tea.Model { return tui.New(opt) }
	defaultFeed  = tui.FeedFor
)
