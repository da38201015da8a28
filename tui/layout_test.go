package tui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// textWidth counts as ansi.StringWidth does, whether or not it takes its
// ASCII shortcut: styles, controls, wide and combined characters included.
func TestTextWidthIsStringWidth(t *testing.T) {
	for _, s := range []string{
		"", "Audit", "1,234 events", "~ tilde and space ", "\x1b[1mbold\x1b[0m", "tab\there", "line\n",
		"\x7f", "café", "日本語", "e\u0301", "👩‍💻 dev", "\u202eevil",
	} {
		if got, want := textWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, ansi.StringWidth says %d", s, got, want)
		}
	}
	for _, c := range []struct {
		s    string
		w    int
		want string
	}{{"Audit", 8, "Audit   "}, {"Audit log", 5, "Audi…"}, {"日本語", 5, "日本…"}, {"\x1b[1mab\x1b[0m", 3, "\x1b[1mab\x1b[0m "}} {
		if got := fit(c.s, c.w); got != c.want {
			t.Errorf("fit(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
	}
}
