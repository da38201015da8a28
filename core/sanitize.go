package core

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Display makes untrusted text safe to put on a terminal: C0 and C1 control
// characters (ESC among them), DEL, invalid UTF-8 and the bidirectional
// override and isolate characters are replaced by visible escapes such as
// `\x1b` or `\u202e`, so text can neither move the cursor, change colours,
// nor reorder what is shown around it. Tabs and newlines are escaped too:
// one value renders on one line. Every screen shows stored text through it.
func Display(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		case isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// isPlain is the fast path: printable ASCII needs no work.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// isBidiControl reports the characters that reorder displayed text: the
// embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069, and
// the marks U+200E, U+200F, U+061C.
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

// hasUnsafe reports whether s holds anything Display would escape.
func hasUnsafe(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r) {
			return true
		}
	}
	return false
}

// checkText validates a free-text field from input: trimmed, within limits,
// with no control or bidi characters.
func checkText(field, s string, minLen, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case hasUnsafe(s):
		return "", invalid(field, "%s contains control characters; use plain text", field)
	case n < minLen && minLen == 1:
		return "", invalid(field, "%s is required", field)
	case n < minLen:
		return "", invalid(field, "%s must be at least %d characters", field, minLen)
	case n > maxLen:
		return "", invalid(field, "%s is too long: %d characters, at most %d", field, n, maxLen)
	}
	return s, nil
}

// checkEmail validates and normalises an email address (lower case).
func checkEmail(s string) (string, error) {
	e, err := checkText("email", s, 1, 254)
	if err != nil {
		return "", err
	}
	e = strings.ToLower(e)
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at == len(e)-1 || strings.IndexFunc(e, unicode.IsSpace) >= 0 || strings.Count(e, "@") != 1 {
		return "", invalid("email", "%q is not an email address (expected name@domain)", e)
	}
	return e, nil
}
