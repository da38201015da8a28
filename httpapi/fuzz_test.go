package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// FuzzEventIntake posts arbitrary bodies to the events endpoint: it never
// panics, answers 202, 413 or 422 with DESIGN's error body, writes nothing
// unless it answers 202, and what it stores holds no secret: every value
// under a secret-named key is [REDACTED] and no free text holds a
// password=… or Bearer … credential. "NOW" in a body is the session's time.
func FuzzEventIntake(f *testing.F) {
	w := newWorld(f)
	_, ticket := w.start(f)
	sid, _ := w.redeem(f, "billing", ticket)
	at := w.clock.Now().Format(time.RFC3339Nano)
	for _, seed := range []string{
		`{"events":[{"time":"NOW","method":"POST","path":"/settings/password","status":200,"request":{"password":"hunter2","new_password":"hunter3"}}]}`,
		`{"events":[{"time":"NOW","method":"POST","path":"/login","request":{"user":"jane","Pass_Word":"s3cret","nested":[{"api_key":"sk-live-xyz"}]}}]}`,
		`{"events":[{"time":"NOW","method":"GET","path":"/x","details":{"note":"password=hunter2 and Authorization: Bearer abc.def"}}]}`,
		`{"events":[{"time":"NOW","method":"GET","path":"/x","blocked":true,"details":{"headers":{"Cookie":["sid=1"],"Authorization":["Basic YTpi"]}}}]}`,
		`{"events":[{"time":"NOW","method":"PUT","path":"/a","request":{"credentials":{"pwd":"x","token":"y"},"auth":"z"}}]}`,
		`{"events":[]}`,
		`{"events":[{"time":"NOW","method":"GET"}]}`,
		`{"events":[{"time":"2000-01-01T00:00:00Z","method":"GET","path":"/"}]}`,
		`{"events":[{"time":"NOW","method":"GET","path":"/","status":"x"}]}`,
		`{"events":`, `[]`, `null`, `{"events":null}`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		body = strings.ReplaceAll(body, "NOW", at)
		before := w.auditCount()
		req := httptest.NewRequest("POST", "/v1/sessions/"+sid+"/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+w.secrets["billing"])
		rec := httptest.NewRecorder()
		w.api.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusAccepted:
		case http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			r := reply{status: rec.Code, body: rec.Body.Bytes()}
			r.errorCode(t)
			if n := w.auditCount() - before; n != 0 {
				t.Fatalf("%d answered, but %d events were written", rec.Code, n)
			}
			return
		default:
			t.Fatalf("answered %d %s", rec.Code, rec.Body)
		}
		page, err := w.c.Audit(core.SystemPrincipal("test"), core.AuditQuery{Session: sid}, before+1, false, 2000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			t.Fatal("202, but nothing was stored")
		}
		for _, ev := range page.Events {
			var d any
			if err := json.Unmarshal(ev.Details, &d); err != nil {
				t.Fatalf("stored details are not JSON: %v", err)
			}
			if where, ok := unredacted(d, ""); !ok {
				t.Fatalf("a secret is stored at %s: %s", where, ev.Details)
			}
		}
	})
}

// unredacted walks stored details and reports the first place that holds a
// secret: a secret-named key whose value is not [REDACTED], or text that
// redaction would still scrub.
func unredacted(v any, path string) (string, bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if core.IsSecretKey(k) {
				if e != core.Redacted {
					return path + "." + k, false
				}
				continue
			}
			if where, ok := unredacted(e, path+"."+k); !ok {
				return where, false
			}
		}
	case []any:
		for i, e := range t {
			if where, ok := unredacted(e, path+"["+string(rune('0'+i%10))+"]"); !ok {
				return where, false
			}
		}
	case string:
		if core.ScrubText(t) != t {
			return path, false
		}
	}
	return "", true
}
