package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// overlay draws fg over bg with its top-left corner at column x, row y,
// keeping bg visible around it. Both may hold ANSI styles; widths are in
// terminal cells. Used for the kebab menu and dialogs, which float over
// the page instead of replacing it.
func overlay(bg, fg string, x, y int) string {
	bgLines := strings.Split(bg, "\n")
	fgLines := strings.Split(fg, "\n")
	x, y = max(x, 0), max(y, 0)
	for i, fl := range fgLines {
		row := y + i
		if row >= len(bgLines) {
			break
		}
		bl := bgLines[row]
		w := ansi.StringWidth(fl)
		left := ansi.Truncate(bl, x, "")
		if pad := x - ansi.StringWidth(left); pad > 0 {
			left += strings.Repeat(" ", pad)
		}
		right := ansi.TruncateLeft(bl, x+w, "")
		// Reset styles around the cut only when bg has any, so a plain
		// (ASCII profile) screen stays free of escape sequences.
		if strings.Contains(bl, "\x1b") {
			left, right = left+"\x1b[0m", "\x1b[0m"+right
		}
		bgLines[row] = left + fl + right
	}
	return strings.Join(bgLines, "\n")
}

// center places fg over the middle of bg (width w, height h).
func center(bg, fg string, w, h int) string {
	fw, fh := blockSize(fg)
	return overlay(bg, fg, (w-fw)/2, (h-fh)/2)
}

// blockSize is the width and height of a rendered block.
func blockSize(s string) (w, h int) {
	lines := strings.Split(s, "\n")
	for _, l := range lines {
		w = max(w, ansi.StringWidth(l))
	}
	return w, len(lines)
}

// fit truncates s to w cells (with an ellipsis) and pads it to exactly w:
// the console's one fit-to-width. s may hold ANSI styles; text from
// people must have passed through core.Display.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := textWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// textWidth is ansi.StringWidth(s), without its walk over grapheme
// clusters when s is printable ASCII (one cell a byte), as most of what a
// frame fits is.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// fillLines pads a block with empty lines to exactly h lines (cutting
// what is beyond).
func fillLines(s string, h int) string {
	if h <= 0 {
		return ""
	}
	s = limitLines(s, h)
	if n := strings.Count(s, "\n") + 1; n < h {
		s += strings.Repeat("\n", h-n)
	}
	return s
}
