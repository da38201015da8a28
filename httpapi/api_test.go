package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func TestRedeemGivesTheGrantOfDesign(t *testing.T) {
	w := newWorld(t)
	s, ticket := w.start(t)
	before := w.auditCount()
	sid, token := w.redeem(t, "billing", ticket)
	if sid != s.ID {
		t.Fatalf("redeem answered session %q, want %q", sid, s.ID)
	}
	claims := verify(t, w.jwks(t), token)
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"act", "aud", "email", "exp", "iat", "iss", "jti", "nbf", "sid", "sub"}; !slices.Equal(keys, want) {
		t.Errorf("claims %v, want exactly %v", keys, want)
	}
	lead, jane := w.user(t, "lead@acme.test"), w.user(t, "jane@globex.test")
	act, _ := claims["act"].(map[string]any)
	now := float64(w.clock.Now().Unix())
	for name, c := range map[string]struct{ got, want any }{
		"iss": {claims["iss"], "actas"}, "aud": {claims["aud"], "billing"},
		"sub": {claims["sub"], jane.ID}, "email": {claims["email"], jane.Email},
		"act": {act, map[string]any{"sub": lead.ID, "email": lead.Email}},
		"sid": {claims["sid"], s.ID}, "iat": {claims["iat"], now}, "nbf": {claims["nbf"], now},
		"exp": {claims["exp"], now + 300},
	} {
		if !jsonEqual(c.got, c.want) {
			t.Errorf("claim %s = %v, want %v", name, c.got, c.want)
		}
	}
	if jti, _ := claims["jti"].(string); len(jti) < 16 {
		t.Errorf("jti %q is too short to be unique", jti)
	}
	// session.entered: one event, with the key, remote address and user agent.
	entered := w.sessionEvents(t, s.ID, core.EvSessionEntered)
	if w.auditCount() != before+1 || len(entered) != 1 {
		t.Fatalf("redeem appended %d events, %d session.entered; want 1", w.auditCount()-before, len(entered))
	}
	ev := entered[0]
	d := ev.DetailsMap()
	if ev.Actor.ID != lead.ID || ev.Subject.ID != jane.ID || d["key"] != "billing" ||
		!strings.HasPrefix(d["remote"].(string), "127.0.0.1:") || !strings.HasPrefix(d["user_agent"].(string), "Go-http-client") {
		t.Errorf("session.entered = %+v details %v", ev, d)
	}
	// A ticket enters once.
	r := w.call(t, "POST", "/v1/tickets/redeem", "billing", map[string]string{"ticket": ticket})
	if r.status != http.StatusGone || r.errorCode(t) != "ticket_used" {
		t.Errorf("second redeem: %d %s, want 410 ticket_used", r.status, r.body)
	}
}

func TestGrantEndsWithTheSession(t *testing.T) {
	w := newWorld(t)
	// A session that ends in 2 minutes: the grant's exp is its end.
	if _, err := w.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"issuer": "https://actas.example.test"}); err != nil {
		t.Fatal(err)
	}
	s, _ := w.start(t)
	w.clock.Advance(s.Ends.Sub(w.clock.Now()) - 2*time.Minute)
	// The first ticket ran out meanwhile: the console gets a new one.
	link, err := w.c.RenewProductLink(core.Principal{User: w.user(t, "lead@acme.test")})
	if err != nil {
		t.Fatal(err)
	}
	_, token := w.redeem(t, "billing", ticketOf(t, link.URL))
	claims := verify(t, w.jwks(t), token)
	if !jsonEqual(claims["exp"], float64(s.Ends.Unix())) || claims["iss"] != "https://actas.example.test" {
		t.Errorf("exp %v iss %v, want the session's end %d and the policy's issuer", claims["exp"], claims["iss"], s.Ends.Unix())
	}
}

func TestTicketExpires(t *testing.T) {
	w := newWorld(t)
	_, ticket := w.start(t)
	w.clock.Advance(core.TicketTTL)
	before := w.auditCount()
	r := w.call(t, "POST", "/v1/tickets/redeem", "billing", map[string]string{"ticket": ticket})
	if r.status != http.StatusGone || r.errorCode(t) != "ticket_expired" || w.auditCount() != before {
		t.Errorf("redeem after %s: %d %s, %d events written; want 410 ticket_expired, none", core.TicketTTL, r.status, r.body, w.auditCount()-before)
	}
}

func TestStatusRefreshAndEnd(t *testing.T) {
	w := newWorld(t)
	s, ticket := w.start(t)
	sid, token := w.redeem(t, "billing", ticket)
	var st map[string]any
	r := w.call(t, "GET", "/v1/sessions/"+sid, "crm", nil) // every product may read every session
	if r.status != http.StatusOK {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	r.json(t, &st)
	lead, jane := w.user(t, "lead@acme.test"), w.user(t, "jane@globex.test")
	want := map[string]any{
		"id": sid, "state": "active", "reason": "checking an invoice",
		"impersonator": map[string]any{"id": lead.ID, "email": lead.Email, "name": lead.Name},
		"target":       map[string]any{"id": jane.ID, "email": jane.Email, "name": jane.Name},
		"started_at":   s.Started.Format(time.RFC3339), "ends_at": s.Ends.Format(time.RFC3339),
		"ended_at": nil, "end_reason": nil,
	}
	if !jsonEqual(st, want) {
		t.Errorf("status = %v\nwant %v", st, want)
	}

	w.clock.Advance(time.Minute)
	// Refresh, with and without the grant held.
	for _, body := range []any{nil, map[string]string{"token": token}} {
		r = w.call(t, "POST", "/v1/sessions/"+sid+"/token", "billing", body)
		if r.status != http.StatusOK {
			t.Fatalf("refresh with %v: %d %s", body, r.status, r.body)
		}
		var g struct{ Session, Token string }
		r.json(t, &g)
		claims := verify(t, w.jwks(t), g.Token)
		if g.Session != sid || !jsonEqual(claims["iat"], float64(w.clock.Now().Unix())) || claims["aud"] != "billing" {
			t.Errorf("refreshed grant %v for %s", claims, g.Session)
		}
	}
	// Only the product that entered gets grants.
	r = w.call(t, "POST", "/v1/sessions/"+sid+"/token", "crm", nil)
	if r.status != http.StatusForbidden || r.errorCode(t) != "not_permitted" {
		t.Errorf("refresh by another key: %d %s, want 403 not_permitted", r.status, r.body)
	}

	if err := w.c.End(core.Principal{User: lead}, core.EndExit); err != nil {
		t.Fatal(err)
	}
	r = w.call(t, "GET", "/v1/sessions/"+sid, "billing", nil)
	r.json(t, &st)
	if st["state"] != "ended" || st["end_reason"] != "exit" || st["ended_at"] != w.clock.Now().Format(time.RFC3339) {
		t.Errorf("status after the end = %v", st)
	}
	r = w.call(t, "POST", "/v1/sessions/"+sid+"/token", "billing", nil)
	if r.status != http.StatusGone || r.errorCode(t) != "session_ended" {
		t.Errorf("refresh after the end: %d %s, want 410 session_ended", r.status, r.body)
	}
	r = w.call(t, "GET", "/v1/sessions/imp_99999999", "billing", nil)
	if r.status != http.StatusNotFound || r.errorCode(t) != "not_found" {
		t.Errorf("status of an unknown session: %d %s", r.status, r.body)
	}
}

func TestEventsAreRecordedRedacted(t *testing.T) {
	w := newWorld(t)
	_, ticket := w.start(t)
	sid, _ := w.redeem(t, "billing", ticket)
	at := w.clock.Now().Format(time.RFC3339)
	body := map[string]any{"events": []map[string]any{
		{"time": at, "method": "POST", "path": "/settings/password", "status": 403, "blocked": true,
			"request": map[string]any{"password": "hunter2-secret", "confirm": map[string]any{"new_password": "hunter3-secret"}}},
		{"time": at, "method": "GET", "path": "/invoices", "status": 200, "details": map[string]any{"rows": 12, "api_key": "sk-live-1"}},
	}}
	before := w.auditCount()
	r := w.call(t, "POST", "/v1/sessions/"+sid+"/events", "billing", body)
	if r.status != http.StatusAccepted {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	if w.auditCount() != before+2 {
		t.Fatalf("202 with %d events stored, want 2", w.auditCount()-before)
	}
	evs := w.sessionEvents(t, sid, core.EvActionPerformed, core.EvActionBlocked)
	if len(evs) != 2 {
		t.Fatalf("session audit holds %d actions, want 2", len(evs))
	}
	lead, jane := w.user(t, "lead@acme.test"), w.user(t, "jane@globex.test")
	for i, want := range []struct{ typ, result, path string }{{core.EvActionBlocked, "denied", "/settings/password"}, {core.EvActionPerformed, "ok", "/invoices"}} {
		ev := evs[i]
		if ev.Type != want.typ || ev.Result != want.result || ev.Actor.ID != lead.ID || ev.Subject.ID != jane.ID || ev.Session != sid || ev.DetailsMap()["path"] != want.path {
			t.Errorf("event %d = %+v %s", i, ev, ev.Details)
		}
		for _, secret := range []string{"hunter2-secret", "hunter3-secret", "sk-live-1"} {
			if strings.Contains(string(ev.Details), secret) {
				t.Errorf("event %d stored a secret: %s", i, ev.Details)
			}
		}
	}
	if !strings.Contains(string(evs[0].Details), `"password":"[REDACTED]"`) {
		t.Errorf("the password is not shown redacted: %s", evs[0].Details)
	}
	// The session counts them.
	if s, _ := w.c.SystemSession(sid); s.Events < 4 { // started, entered, two actions
		t.Errorf("session counts %d events", s.Events)
	}
}

func TestRateLimit(t *testing.T) {
	w := newWorld(t, func(o *worldOpt) { o.rate = 1 }) // 1 a second, bursts of 2
	codes := []int{}
	for range 3 {
		codes = append(codes, w.call(t, "GET", "/v1/sessions/imp_99999999", "billing", nil).status)
	}
	if !slices.Equal(codes, []int{404, 404, 429}) {
		t.Errorf("three quick calls at 1/s answered %v, want 404 404 429", codes)
	}
	r := w.call(t, "GET", "/v1/sessions/imp_99999999", "billing", nil)
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Errorf("over the rate: %d %s %v", r.status, r.body, r.header)
	}
	// Keys have a rate each: crm is not held up by billing.
	if r := w.call(t, "GET", "/v1/sessions/imp_99999999", "crm", nil); r.status != http.StatusNotFound {
		t.Errorf("another key: %d", r.status)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nothing", 404, "not_found"},
		{"DELETE", "/v1/stream", 405, "method_not_allowed"},
		{"GET", "/v1/tickets/redeem", 405, "method_not_allowed"},
	} {
		r := w.call(t, c.method, c.path, "billing", nil)
		if r.status != c.status || r.errorCode(t) != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, r.status, r.body, c.status, c.code)
		}
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// A product's last batch may arrive after the session ended: actions timed
// up to 60 s after the end are taken, later ones are not.
func TestEventsAfterTheEnd(t *testing.T) {
	w := newWorld(t)
	_, ticket := w.start(t)
	sid, _ := w.redeem(t, "billing", ticket)
	if err := w.c.End(core.Principal{User: w.user(t, "lead@acme.test")}, core.EndExit); err != nil {
		t.Fatal(err)
	}
	end := w.clock.Now()
	w.clock.Advance(2 * time.Minute) // the report arrives late
	body := func(at time.Time) map[string]any {
		return map[string]any{"events": []map[string]any{{"time": at.Format(time.RFC3339), "method": "GET", "path": "/x"}}}
	}
	if r := w.call(t, "POST", "/v1/sessions/"+sid+"/events", "billing", body(end.Add(core.ActionGrace))); r.status != 202 {
		t.Errorf("an action at end+60s: %d %s, want 202", r.status, r.body)
	}
	before := w.auditCount()
	if r := w.call(t, "POST", "/v1/sessions/"+sid+"/events", "billing", body(end.Add(core.ActionGrace+time.Second))); r.status != 422 || w.auditCount() != before {
		t.Errorf("an action at end+61s: %d %s, want 422 and nothing written", r.status, r.body)
	}
}

func TestEndFromProduct(t *testing.T) {
	w := newWorld(t)
	_, ticket := w.start(t)
	sid, _ := w.redeem(t, "billing", ticket)
	// Only the product that entered ends it.
	if r := w.call(t, "POST", "/v1/sessions/"+sid+"/end", "crm", nil); r.status != http.StatusForbidden || r.errorCode(t) != "not_permitted" {
		t.Fatalf("end by another key: %d %s, want 403 not_permitted", r.status, r.body)
	}
	w.clock.Advance(time.Minute)
	r := w.call(t, "POST", "/v1/sessions/"+sid+"/end", "billing", struct{}{})
	var st map[string]any
	r.json(t, &st)
	if r.status != http.StatusOK || st["state"] != "ended" || st["end_reason"] != "exit" || st["ended_at"] != w.clock.Now().Format(time.RFC3339) {
		t.Fatalf("end: %d %v", r.status, st)
	}
	lead := w.user(t, "lead@acme.test")
	if _, ok := w.c.SystemActiveSessionOf(lead.ID); ok {
		t.Fatal("the impersonator still has an active session")
	}
	evs := w.sessionEvents(t, sid, "session.ended")
	if len(evs) != 1 || evs[0].Reason != "exit" || evs[0].Actor.ID != lead.ID || !strings.Contains(string(evs[0].Details), `"ended_by":"product:billing"`) {
		t.Fatalf("session.ended events: %+v", evs)
	}
	if r := w.call(t, "POST", "/v1/sessions/"+sid+"/end", "billing", nil); r.status != http.StatusGone || r.errorCode(t) != "session_ended" {
		t.Fatalf("end again: %d %s, want 410 session_ended", r.status, r.body)
	}
	if r := w.call(t, "POST", "/v1/sessions/imp_99999999/end", "billing", nil); r.status != http.StatusNotFound {
		t.Fatalf("end of an unknown session: %d %s", r.status, r.body)
	}
}
