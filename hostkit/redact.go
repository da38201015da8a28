package hostkit

import (
	"regexp"
	"slices"
	"strings"
)

// The rules below are a copy of actas's own (core/redact.go): hostkit may
// import nothing of actas, yet what a product reports must be redacted the
// same way before it leaves the product. TestRedactionMatchesCore holds the
// two copies to the same output; change both together.

// Redacted is what a secret value becomes before it leaves the product.
const Redacted = "[REDACTED]"

// secretWords are the parts of a normalised key (see normaliseKey) that
// mark its value secret; a key equal to "auth" is secret too.
var secretWords = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "authorization",
	"bearer", "credential", "cookie", "private"}

// normaliseKey lower-cases a key and drops "_", "-", "." and spaces.
func normaliseKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ', '\t':
			return -1
		}
		return r
	}, strings.ToLower(k))
}

func secretKey(k string) bool {
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

var (
	// secretPair is key=value or key: value where the key names a secret.
	secretPair = regexp.MustCompile(`(?i)([a-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_.\-]?key|credential|authorization|cookie)[a-z0-9_.\-]*)("?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,"']+)`)
	// bearer is an HTTP credential written out: Bearer xyz, Basic xyz.
	bearer = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[a-z0-9\-._~+/]+=*`)
	// secretHints are what a string must hold for the patterns to match.
	secretHints = []string{"pass", "pwd", "secret", "token", "key", "credential", "auth", "cookie", "bearer", "basic"}
)

// scrubText removes secrets written into free text: the value of
// password=…-style pairs and the credential after Bearer or Basic.
func scrubText(s string) string {
	if len(s) < 4 {
		return s
	}
	lower := strings.ToLower(s)
	if !slices.ContainsFunc(secretHints, func(h string) bool { return strings.Contains(lower, h) }) {
		return s
	}
	// Bearer first: in "token: Bearer xyz" the pair's value would otherwise
	// be the word Bearer, leaving xyz.
	s = bearer.ReplaceAllString(s, "${1}${2}"+Redacted)
	return secretPair.ReplaceAllString(s, "${1}${2}"+Redacted)
}

// redact returns v with the value of every secret-named key, at any depth,
// replaced by [Redacted], and secrets in free text scrubbed. v holds only
// what encoding/json decodes into, and flattened form or query values.
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for key, val := range t {
			if secretKey(key) {
				out[key] = Redacted
			} else {
				out[key] = redact(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = redact(e)
		}
		return out
	case string:
		return scrubText(t)
	}
	return v
}
