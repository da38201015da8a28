package core

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// Redacted is what a secret detail becomes.
const Redacted = "[REDACTED]"

// secretWords are the parts of a normalised key (see normaliseKey) that
// mark its value secret; a key equal to "auth" is secret too.
var secretWords = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "authorization",
	"bearer", "credential", "cookie", "private"}

// normaliseKey lower-cases a key and drops "_", "-", "." and spaces, so
// Pass_Word, x_api.key and "API Key" read as password, xapikey, apikey.
func normaliseKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range strings.ToLower(k) {
		switch r {
		case '_', '-', '.', ' ', '\t':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isSecretKey reports whether a details key names something secret.
func isSecretKey(k string) bool {
	n := normaliseKey(k)
	if n == "auth" {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Redact returns a copy of details in which every value stored under a
// secret key, at any depth (maps, slices, structs, pointers, http.Header,
// json.RawMessage), is [REDACTED], and secrets written into free text
// (password=…, Bearer …) are scrubbed. The copy holds only JSON types.
func Redact(details map[string]any) map[string]any {
	if details == nil {
		return nil
	}
	out := make(map[string]any, len(details))
	for k, v := range details {
		if isSecretKey(k) {
			out[k] = Redacted
			continue
		}
		out[k] = redactValue(v, 0)
	}
	return out
}

// maxRedactDepth stops a value nested absurdly deep (or a cycle through
// pointers) from recursing for ever: below it everything is dropped.
const maxRedactDepth = 64

func redactValue(v any, depth int) any {
	if depth > maxRedactDepth {
		return "[too deep]"
	}
	switch t := v.(type) {
	case nil, bool, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return v
	case string:
		return ScrubText(t)
	case map[string]any:
		return redactMap(t, depth)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = redactValue(e, depth+1)
		}
		return out
	case json.RawMessage:
		var x any
		if err := json.Unmarshal(t, &x); err != nil {
			return ScrubText(string(t))
		}
		return redactValue(x, depth+1)
	case json.Number:
		return v
	}
	// Any other shape (structs, pointers, typed maps and slices such as
	// http.Header or []map[string]any): its JSON form is what would be
	// stored, so redact that.
	b, err := json.Marshal(v)
	if err != nil {
		return "[unencodable]"
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return "[unencodable]"
	}
	return redactValue(x, depth+1)
}

func redactMap(m map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if isSecretKey(k) {
			out[k] = Redacted
			continue
		}
		out[k] = redactValue(v, depth+1)
	}
	return out
}

var (
	// secretPair is key=value or key: value where the key names a secret.
	secretPair = regexp.MustCompile(`(?i)([a-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_.\-]?key|credential|authorization|cookie)[a-z0-9_.\-]*)("?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,"']+)`)
	// bearer is an HTTP credential written out: Bearer xyz, Basic xyz.
	bearer = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[a-z0-9\-._~+/]+=*`)
	// secretHints are what a string must hold for the patterns to match.
	secretHints = []string{"pass", "pwd", "secret", "token", "key", "credential", "auth", "cookie", "bearer", "basic"}
)

// ScrubText removes secrets written into free text: the value of
// password=…-style pairs and the credential after Bearer or Basic.
func ScrubText(s string) string {
	if len(s) < 4 {
		return s
	}
	lower := strings.ToLower(s)
	if !slices.ContainsFunc(secretHints, func(h string) bool { return strings.Contains(lower, h) }) {
		return s
	}
	// Bearer first: in "Authorization: Bearer xyz" the pair's value would
	// otherwise be the word Bearer, leaving xyz.
	s = bearer.ReplaceAllString(s, "${1}${2}"+Redacted)
	return secretPair.ReplaceAllString(s, "${1}${2}"+Redacted)
}
