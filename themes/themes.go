// Package themes owns every colour of the console: built-in palettes
// (dark, light, high-contrast, plain) turned into lipgloss styles for one
// renderer, so each SSH session gets styles for its own terminal.
package themes

import "github.com/charmbracelet/lipgloss"

// Styles are the console's styles for one renderer and theme.
// (Placeholder fields; the TUI helper fills this out.)
type Styles struct {
	Name string
	R    *lipgloss.Renderer
}
