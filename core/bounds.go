package core

import (
	"encoding/json"
	"maps"
	"slices"
	"unicode/utf8"
)

// Limits of stored text (DESIGN "Audit log"): whatever reaches an event —
// from a form, the command line, a host product or a client that has not
// even authenticated — is cut to these before it is stored.
const (
	MaxReasonLen     = 500      // characters of a reason or note
	MaxDetailsValue  = 16 << 10 // bytes of one details string value
	MaxEventSize     = 64 << 10 // bytes of one encoded event
	maxRefLen        = 320      // bytes of an actor or subject ID or email
	maxIDLen         = 64       // bytes of an org, session or request ID, a type or result
	truncationMarker = "…[cut]"
)

// cutRunes keeps the first n characters of s, marking the cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-utf8.RuneCountInString(truncationMarker) {
			break
		}
		count++
	}
	return s[:i] + truncationMarker
}

// cutBytes keeps at most n bytes of s, on a character boundary, marking the cut.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len(truncationMarker)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncationMarker
}

// boundEvent cuts every text field of ev to its limit.
func boundEvent(ev *Event) {
	ev.Reason = cutRunes(ev.Reason, MaxReasonLen)
	for _, p := range []*string{&ev.Actor.ID, &ev.Actor.Email, &ev.Subject.ID, &ev.Subject.Email} {
		*p = cutBytes(*p, maxRefLen)
	}
	for _, p := range []*string{&ev.Type, &ev.Org, &ev.Session, &ev.Request, &ev.Result} {
		*p = cutBytes(*p, maxIDLen)
	}
}

// boundDetails cuts every string in details (at any depth) to
// MaxDetailsValue bytes.
func boundDetails(v any) any {
	switch t := v.(type) {
	case string:
		return cutBytes(t, MaxDetailsValue)
	case map[string]any:
		for k, e := range t {
			t[k] = boundDetails(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = boundDetails(e)
		}
		return t
	}
	return v
}

// detailsBudget is what an event's details may take so that the whole
// event stays within MaxEventSize: the fixed fields are bounded above.
const detailsBudget = MaxEventSize - 4<<10

// fitDetails replaces details that would make the event too big by a note
// of what was dropped, keeping the keys that fit.
func fitDetails(d json.RawMessage) (json.RawMessage, error) {
	if len(d) <= detailsBudget {
		return d, nil
	}
	var m map[string]any
	if err := json.Unmarshal(d, &m); err != nil {
		return nil, err
	}
	keys := slices.Sorted(maps.Keys(m))
	kept := map[string]any{}
	size := 64
	for _, k := range keys {
		b, _ := json.Marshal(m[k])
		if size+len(k)+len(b)+4 > detailsBudget {
			continue
		}
		size += len(k) + len(b) + 4
		kept[k] = m[k]
	}
	kept["details_truncated"] = true
	return json.Marshal(kept)
}
