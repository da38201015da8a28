package core

import (
	"encoding/hex"
	"strconv"
	"time"
)

// appendEventJSON appends ev as encoding/json writes it (and a newline),
// without reflection: an export of a million events spends most of its
// time there. It reports false, having appended nothing, for an event with
// text that JSON would escape or a time it cannot write; the caller then
// encodes that one with encoding/json, so the output is always the same.
func appendEventJSON(b []byte, ev *Event) ([]byte, bool) {
	start := len(b)
	fail := func() ([]byte, bool) { return b[:start], false }
	if y := ev.Time.Year(); y < 0 || y > 9999 {
		return fail()
	}
	ok := true
	str := func(key, s string, omitEmpty bool) {
		if omitEmpty && s == "" {
			return
		}
		if key != "" {
			b = append(b, ',', '"')
			b = append(b, key...)
			b = append(b, '"', ':')
		}
		if !plainJSON(s) {
			ok = false
			return
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	ref := func(key string, r Ref) {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, `":{`...)
		n := len(b)
		str("id", r.ID, true)
		str("email", r.Email, true)
		if len(b) > n {
			b = append(b[:n], b[n+1:]...) // the first field's comma
		}
		b = append(b, '}')
	}
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, `,"time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	str("type", ev.Type, false)
	ref("actor", ev.Actor)
	if !ev.Subject.IsZero() {
		ref("subject", ev.Subject)
	}
	str("org", ev.Org, true)
	str("session", ev.Session, true)
	str("request", ev.Request, true)
	str("result", ev.Result, false)
	str("reason", ev.Reason, true)
	if len(ev.Details) > 0 {
		if !plainRawJSON(ev.Details) {
			return fail()
		}
		b = append(b, `,"details":`...)
		b = append(b, ev.Details...)
	}
	b = append(b, `,"prev":"`...)
	b = hex.AppendEncode(b, ev.Prev[:])
	b = append(b, `","hash":"`...)
	b = hex.AppendEncode(b, ev.Hash[:])
	b = append(b, "\"}\n"...)
	if !ok {
		return fail()
	}
	return b, true
}

// plainJSON reports whether encoding/json writes s as it is, between
// quotes: printable ASCII without ", \ and the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// plainRawJSON reports whether encoding/json writes a raw message as it
// is: no whitespace outside strings to compact, no HTML characters, no
// control or non-ASCII bytes to escape.
func plainRawJSON(raw []byte) bool {
	in, esc := false, false
	for _, c := range raw {
		switch {
		case c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&':
			return false
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && c == ' ':
			return false
		}
	}
	return true
}
