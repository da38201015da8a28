package hostkit

import (
	"regexp"
	"strings"
)

// Redacted is what a secret value becomes before it leaves the product.
const Redacted = "[REDACTED]"

// secretWords are the parts of a key (lower case; "_-." and spaces dropped)
// that mark its value secret, as actas's own redaction does.
var secretWords = []string{"password", "passwd", "pwd", "secret", "token", "apikey",
	"authorization", "bearer", "credential", "cookie", "private"}

func secretKey(k string) bool {
	k = strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(k))
	if k == "auth" {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

var (
	secretPair  = regexp.MustCompile(`(?i)\b([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|credential)[a-z0-9_.-]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;]+)`)
	bearerValue = regexp.MustCompile(`(?i)\bbearer\s+[a-z0-9._~+/=-]+`)
)

// scrubText removes password=…-style pairs and Bearer credentials from
// free text.
func scrubText(s string) string {
	if !strings.ContainsAny(s, "=:") && !strings.Contains(strings.ToLower(s), "bearer") {
		return s
	}
	s = secretPair.ReplaceAllString(s, "${1}${2}"+Redacted)
	return bearerValue.ReplaceAllString(s, "Bearer "+Redacted)
}

// redact returns v with the value of every secret-named key, at any depth,
// replaced by [Redacted], and secrets in free text scrubbed.
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
