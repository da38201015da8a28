package ssh

import (
	"github.com/actas/actas/tui"
	tea "github.com/charmbracelet/bubbletea"
)

// defaultModel is the console of every connection: the same one the
// local terminal runs; only its options differ.
func defaultModel(opt tui.Options) tea.Model { return tui.New(opt) }
