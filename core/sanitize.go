package core

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
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

// isBidiControl reports the characters that reorder displayed text
// (Unicode's Bidi_Control: embeddings, overrides, isolates and marks).
func isBidiControl(r rune) bool {
	return r >= 0x061c && r <= 0x2069 && unicode.Is(unicode.Bidi_Control, r)
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

// checkEmail validates and normalises an email address: the identity
// text rules (checkIdentity), then PRECIS UsernameCaseMapped (RFC 8265:
// width-mapped, lower-cased, NFC; symbols, spaces and controls refused),
// so two addresses that look alike are one address or refused.
func checkEmail(s string) (string, error) {
	e, err := checkText("email", s, 1, 254)
	if err != nil {
		return "", err
	}
	if err := checkIdentity("email", e); err != nil {
		return "", err
	}
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at == len(e)-1 || strings.IndexFunc(e, unicode.IsSpace) >= 0 || strings.Count(e, "@") != 1 {
		return "", invalid("email", "%q is not an email address (expected name@domain)", Display(e))
	}
	n, err := precis.UsernameCaseMapped.String(e)
	if err != nil {
		return "", invalid("email", "%q holds characters an email address may not (%v)", Display(e), err)
	}
	return n, nil
}

// normaliseEmail is checkEmail's normal form for looking an address up;
// what checkEmail would refuse is only lower-cased (it matches nothing).
func normaliseEmail(s string) string {
	s = strings.TrimSpace(s)
	if n, err := precis.UsernameCaseMapped.String(s); err == nil {
		return n
	}
	return strings.ToLower(s)
}

// checkName validates a person's or org's display name: plain text within
// the length, the identity text rules, and at least one visible character.
func checkName(field, s string, maxLen int) (string, error) {
	n, err := checkText(field, s, 1, maxLen)
	if err != nil {
		return "", err
	}
	if err := checkIdentity(field, n); err != nil {
		return "", err
	}
	if strings.IndexFunc(n, isVisible) < 0 {
		return "", invalid(field, "%s has no visible character", field)
	}
	return n, nil
}

// isVisible is a character that puts ink on the screen.
func isVisible(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Mn, r) && !isInvisible(r)
}

// hangulFillers are letters that draw nothing: a name made of them looks
// empty, or like another name.
var hangulFillers = map[rune]bool{0x115f: true, 0x1160: true, 0x3164: true, 0xffa0: true}

// isInvisible: format characters (zero-width space and joiners, word
// joiner, BOM, soft hyphen), default-ignorable ones, variation selectors
// and the Hangul fillers.
func isInvisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || hangulFillers[r]
}

// checkIdentity applies DESIGN "Text rules" to an email or a name: no
// invisible, bidi or tag characters, and no label (a run of letters and
// marks, e.g. "jane" in jane@globex.test or a word of a name) that mixes
// scripts, like a Cyrillic а in jаne. A zero-width joiner or variation
// selector inside an emoji sequence of a name is allowed: it draws one
// glyph, not an invisible difference.
func checkIdentity(field, s string) error {
	if isPlain(s) {
		// Nothing in printable ASCII is invisible, a control of direction
		// or a tag, and its letters are all Latin (control characters are
		// refused before this). An import of a million checks them twice.
		return nil
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case isBidiControl(r):
			return invalid(field, "%s holds a bidirectional control character (%U), which reorders how text shows", field, r)
		case r >= 0xe0000 && r <= 0xe007f:
			return invalid(field, "%s holds invisible tag characters (%U)", field, r)
		case isInvisible(r) && !(field != "email" && inEmojiSequence(rs, i)):
			return invalid(field, "%s holds an invisible character (%U), which would make it look like another", field, r)
		}
	}
	for _, label := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsMark(r) }) {
		if a, b, mixed := mixedScripts(label); mixed {
			return invalid(field, "%s mixes scripts in %q (%s and %s), so it can pass for another; use one script per word", field, Display(label), a, b)
		}
	}
	return nil
}

// inEmojiSequence: r (a joiner or variation selector) follows a symbol.
func inEmojiSequence(rs []rune, i int) bool {
	if r := rs[i]; r != 0x200d && !unicode.Is(unicode.Variation_Selector, r) {
		return false
	}
	return i > 0 && (unicode.Is(unicode.So, rs[i-1]) || unicode.Is(unicode.Sk, rs[i-1]) || rs[i-1] == 0xfe0f)
}

// scriptOf names the script of a letter or mark ("" for Common and
// Inherited, which go with any script).
func scriptOf(r rune) string {
	for name, table := range unicode.Scripts {
		if name == "Common" || name == "Inherited" {
			continue
		}
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// cjk are scripts one word may legitimately mix (Japanese kana with kanji,
// Korean hangul with hanja, bopomofo with han).
var cjk = map[string]bool{"Han": true, "Hiragana": true, "Katakana": true, "Hangul": true, "Bopomofo": true}

// mixedScripts reports the first two scripts a label mixes.
func mixedScripts(label string) (string, string, bool) {
	first := ""
	for _, r := range label {
		if r < 0x80 {
			if first == "" && unicode.IsLetter(r) {
				first = "Latin"
			} else if unicode.IsLetter(r) && first != "Latin" {
				return first, "Latin", true
			}
			continue
		}
		sc := scriptOf(r)
		switch {
		case sc == "" || sc == first:
		case first == "":
			first = sc
		case cjk[first] && cjk[sc]:
		default:
			return first, sc, true
		}
	}
	return "", "", false
}
