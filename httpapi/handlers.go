package httpapi

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/actas/actas/core"
)

// sessionJSON is DESIGN's session status.
type sessionJSON struct {
	ID           string     `json:"id"`
	State        string     `json:"state"` // active | ended
	Impersonator personJSON `json:"impersonator"`
	Target       personJSON `json:"target"`
	Reason       string     `json:"reason"`
	StartedAt    time.Time  `json:"started_at"`
	EndsAt       time.Time  `json:"ends_at"`
	EndedAt      *time.Time `json:"ended_at"`
	EndReason    *string    `json:"end_reason"`
}

type personJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func person(u core.User) personJSON { return personJSON{ID: u.ID, Email: u.Email, Name: u.Name} }

func sessionOut(info core.SessionInfo) sessionJSON {
	s := info.Session
	out := sessionJSON{ID: s.ID, State: string(s.Status), Impersonator: person(info.ImpersonatorUser),
		Target: person(info.TargetUser), Reason: s.Reason, StartedAt: s.Started.UTC(), EndsAt: s.Ends.UTC()}
	if !s.Active() {
		ended, reason := s.Ended.UTC(), string(s.EndReason)
		out.EndedAt, out.EndReason = &ended, &reason
	}
	return out
}

// grantJSON answers a redeem and a refresh.
type grantJSON struct {
	Session string `json:"session"`
	Token   string `json:"token"`
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request, _ core.Principal) {
	set, err := s.keys.JWKS()
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, set)
}

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ core.Principal) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}

func (s *Server) redeem(w http.ResponseWriter, r *http.Request, p core.Principal) {
	var body struct {
		Ticket string `json:"ticket"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &body); err != nil {
		s.fail(w, err)
		return
	}
	sess, g, err := s.core.Redeem(p, body.Ticket, core.Visitor{UserAgent: r.UserAgent(), ForwardedFor: r.Header.Get("X-Forwarded-For")})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeGrant(w, sess.ID, g)
}

func (s *Server) writeGrant(w http.ResponseWriter, sid string, g core.Grant) {
	tok, err := s.keys.Sign(g)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, grantJSON{Session: sid, Token: tok})
}

func (s *Server) sessionStatus(w http.ResponseWriter, r *http.Request, p core.Principal) {
	info, err := s.core.SessionStatus(p, r.PathValue("sid"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionOut(info))
}

// refresh answers a fresh grant. The body is optional: {"token": T}, the
// grant the product holds, is checked (signature, audience, session, a
// flat act) before a new one is given.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, p core.Principal) {
	var body struct {
		Token string `json:"token"`
	}
	var presented []byte
	if r.ContentLength != 0 {
		// A chunked request may turn out empty: the same as no body.
		if err := decodeJSON(w, r, maxSmallBody, &body); err != nil && !(r.ContentLength < 0 && err == errEmptyBody) {
			s.fail(w, err)
			return
		}
	}
	if body.Token != "" {
		claims, err := s.keys.Verify(body.Token)
		if err != nil {
			s.fail(w, err)
			return
		}
		presented = claims
	}
	sid := r.PathValue("sid")
	g, err := s.core.RefreshGrant(p, sid, presented)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeGrant(w, g.Session, g)
}

// end ends the session for its impersonator, who pressed End in the
// product; the answer is the session as GET /v1/sessions/{sid} shows it.
// A body, if any, is not read.
func (s *Server) end(w http.ResponseWriter, r *http.Request, p core.Principal) {
	sid := r.PathValue("sid")
	if err := s.core.EndFromProduct(p, sid); err != nil {
		s.fail(w, err)
		return
	}
	info, err := s.core.SessionStatus(p, sid)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionOut(info))
}

// eventJSON is one reported action.
type eventJSON struct {
	Time    *time.Time     `json:"time"`
	Method  string         `json:"method"`
	Path    string         `json:"path"`
	Status  int            `json:"status"`
	Blocked bool           `json:"blocked"`
	Request map[string]any `json:"request"`
	Details map[string]any `json:"details"`
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, p core.Principal) {
	var body struct {
		Events *[]eventJSON `json:"events"`
	}
	if err := decodeJSON(w, r, maxEventsBody, &body); err != nil {
		s.fail(w, err)
		return
	}
	if body.Events == nil {
		s.fail(w, &core.Error{Code: core.CodeInvalid, Field: "events", Message: "events is required: {\"events\": [ … ]}"})
		return
	}
	actions := make([]core.HostAction, len(*body.Events))
	for i, e := range *body.Events {
		a := core.HostAction{Method: e.Method, Path: e.Path, Status: e.Status, Blocked: e.Blocked, Request: e.Request, Details: e.Details}
		if e.Time != nil {
			a.Time = *e.Time
		}
		actions[i] = a
	}
	if err := s.core.RecordHostActions(p, r.PathValue("sid"), actions); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(actions)})
}

// marshalSession encodes a session for the stream.
func marshalSession(info core.SessionInfo) []byte {
	b, _ := json.Marshal(sessionOut(info))
	return b
}
