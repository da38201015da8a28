package core_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/actas/actas/core"
)

// FuzzRedact: a value stored under a sensitive key, however the key is
// spelled and wherever the value sits, never survives redaction.
func FuzzRedact(f *testing.F) {
	f.Add("password", "", "", "hunter2hunter2", uint8(0))
	f.Add("Pass_Word", "x-", ".y", "s3cr3t-value", uint8(1))
	f.Add("api key", "X_", "", "abcdefgh", uint8(2))
	f.Add("auth", "", "", "Bearer abcdef", uint8(3))
	f.Add("COOKIE", "set-", "", "sid=123456", uint8(4))
	f.Add("credential", "", "s", `{"a":1}`, uint8(5))
	words := []string{"password", "passwd", "pwd", "secret", "token", "apikey", "authorization", "bearer", "credential", "cookie", "private", "auth"}
	f.Fuzz(func(t *testing.T, word, prefix, suffix, value string, shape uint8) {
		if len(value) < 6 || strings.Contains("[REDACTED]", value) {
			t.Skip()
		}
		// Build a key that normalises to contain a sensitive word.
		w := words[int(shape)%len(words)]
		if w == "auth" {
			prefix, suffix = "", ""
		}
		// Decorate the word with case changes and separators the
		// normalisation drops.
		var key strings.Builder
		key.WriteString(strings.Map(keepKeyRune, prefix))
		for i, r := range w {
			if i%2 == int(shape)%2 {
				r = []rune(strings.ToUpper(string(r)))[0]
			}
			key.WriteRune(r)
			if i == 1 && shape%3 == 0 {
				key.WriteString("_")
			}
		}
		key.WriteString(strings.Map(keepKeyRune, suffix))
		k := key.String()
		var inner any = map[string]any{k: value}
		switch shape % 5 {
		case 1:
			inner = []any{inner}
		case 2:
			inner = []map[string]any{{k: value}}
		case 3:
			inner = map[string][]string{k: {value}}
		case 4:
			b, _ := json.Marshal(map[string]any{k: value})
			inner = json.RawMessage(b)
		}
		out := core.Redact(map[string]any{"outer": inner})
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := json.Marshal(value)
		if strings.Contains(string(b), string(enc[1:len(enc)-1])) && !strings.Contains(k, value) {
			t.Fatalf("key %q: value %q survived: %s", k, value, b)
		}
	})
}

// keepKeyRune keeps letters, digits and the separators keys use; a
// decoration made of other runes would make a different key.
func keepKeyRune(r rune) rune {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.', r == ' ':
		return r
	}
	return -1
}
