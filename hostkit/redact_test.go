package hostkit

import (
	"encoding/json"
	"testing"

	"github.com/actas/actas/core"
)

// redactionSamples are free texts and keys on which hostkit's copy of the
// redaction rules must agree with actas's own.
var redactionSamples = []string{
	"password=hunter2", "token: Bearer xyz", "Authorization: Basic dXNlcjpwYXNz", "cookie=abc",
	`{"password": "x"}`, `session_token="abc def"`, "pwd='hunter 2' then", "api-key: k1, next",
	"Bearer eyJabc.def", "see /settings/passwords", "rotate the key tomorrow", "auth", "a=b&secret=c&d=e",
	"Pass_Word", "x_api.key", "API Key", "Author", "private_key", "client\tsecret", "",
}

// TestRedactionMatchesCore: hostkit's copy of the rules (it may import
// nothing of actas) redacts exactly as core.Redact does, keys and text.
func TestRedactionMatchesCore(t *testing.T) {
	for _, s := range redactionSamples {
		in := map[string]any{s: "v", "text": s, "list": []any{s, map[string]any{s: 1.0}}}
		got, _ := json.Marshal(redact(in))
		want, _ := json.Marshal(core.Redact(in))
		if string(got) != string(want) {
			t.Errorf("%q:\nhostkit %s\n   core %s", s, got, want)
		}
	}
}

func FuzzScrubTextMatchesCore(f *testing.F) {
	for _, s := range redactionSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := scrubText(s), core.ScrubText(s); got != want {
			t.Errorf("%q: hostkit %q, core %q", s, got, want)
		}
		if got, want := secretKey(s), core.Redact(map[string]any{s: "v"})[s] == core.Redacted; got != want {
			t.Errorf("key %q: hostkit secret %v, core %v", s, got, want)
		}
	})
}
