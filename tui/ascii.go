package tui

import "strings"

// asciiGlyphs turns the console's own glyphs into ASCII of the same width,
// for a terminal that shows nothing else (TERM=dumb): the kebab ⋮, dashes,
// the · separators, arrows, the … of cut text, box corners. What people
// typed (names with accents) is theirs and stays.
var asciiGlyphs = strings.NewReplacer(
	"⋮", ":", "—", "-", "–", "-", "─", "-", "·", "-", "…", ".", "•", "*",
	"↑", "^", "↓", "v", "←", "<", "→", ">", "×", "x", "✗", "x", "≥", ">",
	"“", "\"", "”", "\"", "╭", "+", "╮", "+", "╰", "+", "╯", "+", "│", "|",
)
