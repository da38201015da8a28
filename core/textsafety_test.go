package core_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/actas/actas/core"
)

// TestCSVExportIsSafe: formulas and terminal escapes from a request reason,
// a denial note and a pre-authentication login failure come out of the CSV
// export as inert, visible text.
func TestCSVExportIsSafe(t *testing.T) {
	w := newWorld(t)
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, `=HYPERLINK("http://evil.test","click")`, time.Hour))
	must(w.c.Decide(w.as("approver"), r.ID, false, 0, "+cmd|' /C calc'!A0"))
	w.must(nil, w.c.LoginFailed("SHA256:x", "10.0.0.1:1", "@SUM(1+1)\x1b]0;pwned\x07\x1b[2J", 1))
	w.must(nil, w.c.LoginFailed("-2+3", "\tevil", "\rcr", 1))

	var buf bytes.Buffer
	if _, err := w.c.ExportAudit(w.cli, &buf, "csv", core.AuditQuery{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell starts a formula: %q", cell)
			}
			for _, r := range cell {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Errorf("cell holds control character %U: %q", r, cell)
				}
			}
			seen[cell] = true
		}
	}
	for _, want := range []string{`'=HYPERLINK("http://evil.test","click")`, "'+cmd|' /C calc'!A0", `'@SUM(1+1)\x1b]0;pwned\x07\x1b[2J`, `'\x0dcr`} {
		if !seen[want] {
			t.Errorf("no cell %q", want)
		}
	}
}

// TestStoredTextIsBounded: reasons, details values and whole events are
// cut to DESIGN's limits before they are stored, whoever sends them.
func TestStoredTextIsBounded(t *testing.T) {
	w := newWorld(t)
	w.must(nil, w.c.LoginFailed("SHA256:x", "10.0.0.1:1", strings.Repeat("é", 200<<10), 1))
	ev := w.lastEvent()
	if n := utf8.RuneCountInString(ev.Reason); n > 500 || !utf8.ValidString(ev.Reason) {
		t.Errorf("a 200K-character reason was stored as %d characters", n)
	}
	w.must(nil, w.c.LoginFailed(strings.Repeat("f", 100<<10), strings.Repeat("r", 100<<10), "x", 1))
	ev = w.lastEvent()
	for k, v := range ev.DetailsMap() {
		if s, _ := v.(string); len(s) > 16<<10 {
			t.Errorf("details %s stored with %d bytes", k, len(s))
		}
	}
	if n := len(core.EncodeEvent(&ev)); n > 64<<10 {
		t.Errorf("event stored with %d bytes", n)
	}
	many := map[string]any{}
	for i := range 20 {
		many[strings.Repeat("k", i+1)] = strings.Repeat("v", 15<<10)
	}
	ev = must(w.c.RecordAction(w.as("owner"), "bulk", many))
	if n := len(core.EncodeEvent(&ev)); n > 64<<10 {
		t.Errorf("an event of 20 × 15 KB details stored with %d bytes", n)
	}
	w.verify()
}

// TestRedactionShapes: every shape the review found leaking.
func TestRedactionShapes(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	type creds struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	for name, details := range map[string]map[string]any{
		"Pass_Word":            {"Pass_Word": secret},
		"passwd":               {"passwd": secret},
		"pwd":                  {"pwd": secret},
		"x_api.key":            {"x_api.key": secret},
		"credentials":          {"credentials": secret},
		"auth":                 {"auth": secret},
		"bearer":               {"bearer": secret},
		"API Key":              {"API Key": secret},
		"http.Header":          {"headers": http.Header{"Authorization": {"Bearer " + secret}, "Cookie": {"sid=" + secret}}},
		"map of string slices": {"h": map[string][]string{"authorization": {secret}}},
		"[]map[string]any":     {"list": []map[string]any{{"ok": 1}, {"token": secret}}},
		"struct":               {"login": creds{User: "jane", Password: secret}},
		"pointer to struct":    {"login": &creds{User: "jane", Password: secret}},
		"json.RawMessage":      {"body": json.RawMessage(`{"user":"jane","secret":"` + secret + `"}`)},
		"nested deep":          {"a": map[string]any{"b": []any{map[string]any{"c": map[string]string{"client_secret": secret}}}}},
		"password= in text":    {"query": "user=jane&password=" + secret + "&x=1"},
		"password: in text":    {"log": "login failed, Password: " + secret},
		"Bearer in text":       {"curl": "curl -H 'Authorization: Bearer " + secret + "' https://x"},
		"api_key= in text":     {"url": "https://x.test/?api_key=" + secret},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			ev := must(w.c.RecordAction(w.as("owner"), "shape", details))
			if strings.Contains(string(ev.Details), "s3cr3t") {
				t.Fatalf("secret stored: %s", ev.Details)
			}
			if !strings.Contains(string(ev.Details), core.Redacted) {
				t.Fatalf("nothing redacted: %s", ev.Details)
			}
		})
	}
	// Innocent keys and text stay as they are.
	got := core.Redact(map[string]any{"author": "jane", "path": "/settings/passwords", "note": "rotate the key tomorrow"})
	if got["author"] != "jane" || got["path"] != "/settings/passwords" || got["note"] != "rotate the key tomorrow" {
		t.Errorf("redaction touched harmless values: %v", got)
	}
}

// TestStartChecksTheReason: a direct start's reason follows the rules of a
// request's — required under require_reason, at most 500 characters, no
// control characters — and a refused reason starts nothing.
func TestStartChecksTheReason(t *testing.T) {
	w := newWorld(t)
	for name, reason := range map[string]string{
		"empty":   "",
		"10 MB":   strings.Repeat("x", 10<<20),
		"501":     strings.Repeat("x", 501),
		"escape":  "ticket \x1b[2J",
		"bidi":    "ticket \u202e42",
		"newline": "ticket\n42",
	} {
		if _, err := w.c.Start(w.as("lead"), w.u["jane"].ID, reason); core.CodeOf(err) != core.CodeInvalid {
			t.Errorf("%s reason: %v, want invalid", name, err)
		}
		if _, ok := w.c.SystemActiveSessionOf(w.u["lead"].ID); ok {
			t.Fatalf("%s reason started a session", name)
		}
	}
	s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "  ticket #4802 "))
	if s.Reason != "ticket #4802" {
		t.Errorf("reason stored as %q", s.Reason)
	}
	w.must(nil, w.c.End(w.as("lead"), core.EndExit))
	// Without require_reason a start may say nothing.
	w.must(w.c.SetPolicy(w.cli, map[string]string{"require_reason": "false"}))
	must(w.c.Start(w.as("lead"), w.u["jane"].ID, ""))
}

// TestLookAlikeIdentities: what would display exactly like another person
// is refused with the reason, before any duplicate check; honest
// international names and case or width variants pass.
func TestLookAlikeIdentities(t *testing.T) {
	w := newWorld(t)
	add := func(email, name string) error {
		_, err := w.c.CreateUser(w.cli, core.NewUser{Email: email, Name: name, Role: core.RoleMember, Org: "Globex"})
		return err
	}
	for _, tc := range []struct{ what, email, name, says string }{
		{"zero-width space in the email", "jane@globex.test\u200b", "Jane", "invisible"},
		{"zero-width joiner in the email", "ja\u200dne@globex.test", "Jane", "invisible"},
		{"Cyrillic а in the email", "j\u0430ne@globex.test", "Jane", "mixes scripts"},
		{"Cyrillic е in the domain", "jane@glob\u0435x.test", "Jane", "mixes scripts"},
		{"bidi override in the email", "\u202ejane@globex.test", "Jane", "control"},
		{"Cyrillic а in the name", "jane2@globex.test", "J\u0430ne Doe", "mixes scripts"},
		{"Hangul fillers only", "filler@globex.test", "\u3164\u3164", "invisible"},
		{"half-width Hangul filler", "filler2@globex.test", "\uffa0", "invisible"},
		{"tag characters only", "tags@globex.test", "\U000E0041\U000E0042", "tag"},
		{"name with a bidi mark", "mark@globex.test", "Jane\u200f", "control"},
		{"name with a zero-width space", "zw@globex.test", "Ja\u200bne", "invisible"},
		{"name of spaces", "blank@globex.test", "\u2003", "required"},
		{"emoji in the email", "jane\U0001F600@globex.test", "Jane", "may not"},
	} {
		err := add(tc.email, tc.name)
		if core.CodeOf(err) != core.CodeInvalid || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v; want invalid saying %q", tc.what, err, tc.says)
		}
	}
	for _, tc := range []struct{ email, name string }{
		{"jose@globex.test", "José Núñez"},
		{"anna@globex.test", "Анна Петрова"},
		{"yamada@globex.test", "山田 太郎"},
		{"yamada2@globex.test", "やまだ たろう"},
		{"minjun@globex.test", "김민준"},
		{"ada@globex.test", "👩\u200d💻 Ada"},
		{"o.brien+test@globex.test", "Seán O'Brien"},
	} {
		if err := add(tc.email, tc.name); err != nil {
			t.Errorf("%s / %s refused: %v", tc.email, tc.name, err)
		}
	}
	// Case and width variants are the same address: a duplicate.
	for _, dup := range []string{"JANE@GLOBEX.TEST", "\uff4a\uff41\uff4e\uff45@globex.test"} {
		if err := add(dup, "Jane Again"); core.CodeOf(err) != core.CodeConflict {
			t.Errorf("%q: %v, want a duplicate", dup, err)
		}
	}
	if u, err := w.c.SystemUserByEmail("\uff4a\uff41\uff4e\uff45@GLOBEX.test"); err != nil || u.ID != w.u["jane"].ID {
		t.Errorf("lookup by a width variant: %v %v", u.Email, err)
	}
}

// TestKeyOptionsAreNeverDropped: a key line with options that restrict it
// is refused with the reason; storing the bare key would lift them.
func TestKeyOptionsAreNeverDropped(t *testing.T) {
	w := newWorld(t)
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb8Wq7/NdSnbPNiY5iOnT0qZbwrkGYx7bm3NA2nU1gJ jane@laptop"
	for _, line := range []string{
		`from="10.0.0.0/8" ` + key,
		`expiry-time="20260101" ` + key,
		`from="10.0.0.1",expiry-time="20250101",no-pty ` + key,
		`restrict ` + key,
	} {
		_, err := w.c.AddKey(w.cli, "jane@globex.test", line)
		if core.CodeOf(err) != core.CodeInvalid || !strings.Contains(err.Error(), "options") {
			t.Errorf("%.40s…: %v; want refused for its options", line, err)
		}
	}
	if keys := must(w.c.SystemKeys("jane@globex.test")); len(keys) != 0 {
		t.Fatalf("a restricted key was stored without its restriction: %+v", keys)
	}
	must(w.c.AddKey(w.cli, "jane@globex.test", key))
}

// TestKeyCommentIsBounded: a key line's comment is stored cut to 200
// characters.
func TestKeyCommentIsBounded(t *testing.T) {
	w := newWorld(t)
	k := must(w.c.AddKey(w.cli, "jane@globex.test", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb8Wq7/NdSnbPNiY5iOnT0qZbwrkGYx7bm3NA2nU1gJ "+strings.Repeat("c", 1<<20)))
	if n := utf8.RuneCountInString(k.Comment); n > 200 {
		t.Fatalf("a 1 MB key comment was stored as %d characters", n)
	}
}
