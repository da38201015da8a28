package core

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// appendEventJSON writes what encoding/json writes, or declines.
func TestAppendEventJSONIsEncodingJSON(t *testing.T) {
	base := Event{Seq: 42, Time: time.Date(2026, 11, 27, 9, 30, 1, 123456000, time.UTC), Type: EvUserCreated,
		Actor: Ref{ID: "usr_00000001", Email: "owner@acme.test"}, Subject: Ref{ID: "usr_00000002"},
		Org: "org_00000001", Result: ResultOK, Details: json.RawMessage(`{"name":"Jane Doe","n":3,"q":"a\"b"}`)}
	base.Prev[0], base.Hash[31] = 0xab, 0x01
	cases := map[string]func(e *Event){
		"as is":            func(*Event) {},
		"no subject":       func(e *Event) { e.Subject = Ref{} },
		"empty actor":      func(e *Event) { e.Actor = Ref{} },
		"all fields":       func(e *Event) { e.Session, e.Request, e.Reason = "imp_00000001", "req_00000001", "denied by policy" },
		"no details":       func(e *Event) { e.Details = nil },
		"other zone":       func(e *Event) { e.Time = e.Time.In(time.FixedZone("X", 3600)) },
		"whole second":     func(e *Event) { e.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
		"html in text":     func(e *Event) { e.Reason = "a<b & c>d" },
		"quote in email":   func(e *Event) { e.Actor.Email = `x"y@z` },
		"control in text":  func(e *Event) { e.Reason = "line\nbreak\x7f" },
		"unicode":          func(e *Event) { e.Subject.Email = "jürgen@ex.test\u2028" },
		"spaced details":   func(e *Event) { e.Details = json.RawMessage(`{"a": 1}`) },
		"html in details":  func(e *Event) { e.Details = json.RawMessage(`{"a":"<b>"}`) },
		"escape in detail": func(e *Event) { e.Details = json.RawMessage(`{"a":"x\\\" y"}`) },
		"year 10000":       func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, change := range cases {
		ev := base
		change(&ev)
		var want bytes.Buffer
		wantErr := json.NewEncoder(&want).Encode(ev)
		got, ok := appendEventJSON([]byte("keep"), &ev)
		switch {
		case !ok && string(got) != "keep":
			t.Errorf("%s: declined but left %q", name, got)
		case ok && (wantErr != nil || string(got) != "keep"+want.String()):
			t.Errorf("%s:\n got %s\nwant %s (%v)", name, got, want.String(), wantErr)
		}
	}
	if _, ok := appendEventJSON(nil, &base); !ok {
		t.Error("a plain event was declined")
	}
}
