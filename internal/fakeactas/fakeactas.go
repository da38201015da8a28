// Package fakeactas is an in-process stand-in for actas's HTTP API, for the
// tests and examples of hostkit: it signs tokens with go-jose, publishes a
// JWKS, redeems tickets, refreshes tokens, streams session ends and records
// the events a product reports, following the wire contract of DESIGN.md
// "Host product integration".
package fakeactas

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// APIKey and Audience are the fake's one key and its name.
const (
	APIKey   = "actas_testkey"
	Audience = "billing"
)

// Session is a session of the fake.
type Session struct {
	ID           string
	Target       Person
	Impersonator Person
	StartedAt    time.Time
	EndsAt       time.Time
	Ended        bool
}

// Person is one side of a session.
type Person struct{ ID, Email, Name string }

// Batch is one POST /v1/sessions/{sid}/events as received.
type Batch struct {
	Session string
	Events  []map[string]any
}

type signer struct {
	kid  string
	priv ed25519.PrivateKey
}

// Server is the fake API.
type Server struct {
	*httptest.Server

	JWKSFetches atomic.Int64
	Refreshes   atomic.Int64
	Ends        atomic.Int64
	// TokenLife is the lifetime of the tokens it issues (default 5m).
	TokenLife time.Duration
	// RejectPath makes a batch holding an event for this path answer 422,
	// as actas does for an event timed outside its session.
	RejectPath atomic.Value
	// EndMissing makes POST /v1/sessions/{sid}/end answer 404, as an actas
	// without that endpoint would.
	EndMissing atomic.Bool

	mu        sync.Mutex
	keys      []signer // keys[len-1] signs
	sessions  map[string]*Session
	tickets   map[string]string
	batches   []Batch
	gate      chan struct{} // while not nil, events requests wait on it
	failNext  int           // events requests to answer 503
	streams   map[chan string]bool
	seq       int
	lastIDs   []string // Last-Event-ID of each stream connection
	streamsUp atomic.Int64
	stalled   atomic.Int64
}

// Stalled is the number of events requests waiting for Release.
func (s *Server) Stalled() int64 { return s.stalled.Load() }

// New starts a fake with one signing key.
func New() *Server {
	s := &Server{sessions: map[string]*Session{}, tickets: map[string]string{}, streams: map[chan string]bool{}, TokenLife: 5 * time.Minute}
	s.Rotate()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	mux.HandleFunc("POST /v1/tickets/redeem", s.auth(s.redeem))
	mux.HandleFunc("GET /v1/sessions/{sid}", s.auth(s.status))
	mux.HandleFunc("POST /v1/sessions/{sid}/token", s.auth(s.token))
	mux.HandleFunc("POST /v1/sessions/{sid}/end", s.auth(s.end))
	mux.HandleFunc("POST /v1/sessions/{sid}/events", s.auth(s.events))
	mux.HandleFunc("GET /v1/stream", s.auth(s.stream))
	s.Server = httptest.NewServer(mux)
	return s
}

// Close ends open streams and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	for ch := range s.streams {
		close(ch)
		delete(s.streams, ch)
	}
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
	s.Server.CloseClientConnections()
	s.Server.Close()
}

func randomID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Rotate adds a new signing key and publishes it beside the old ones. It
// returns the new key's kid.
func (s *Server) Rotate() string {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	kid := randomID("k")
	s.mu.Lock()
	s.keys = append(s.keys, signer{kid, priv})
	s.mu.Unlock()
	return kid
}

// Start opens a session of jane@globex.test by lead@acme.test ending in an
// hour and returns it with a ticket for it.
func (s *Server) Start() (sess *Session, ticket string) {
	now := time.Now()
	sess = &Session{
		ID:           randomID("imp_"),
		Target:       Person{ID: "u_jane", Email: "jane@globex.test", Name: "Jane Doe"},
		Impersonator: Person{ID: "u_lead", Email: "lead@acme.test", Name: "Lee Lead"},
		StartedAt:    now, EndsAt: now.Add(time.Hour),
	}
	ticket = randomID("t_")
	s.mu.Lock()
	s.sessions[sess.ID] = sess
	s.tickets[ticket] = sess.ID
	s.mu.Unlock()
	return sess, ticket
}

// SetEndsAt changes when a session ends.
func (s *Server) SetEndsAt(sid string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sid].EndsAt = t
}

// Ticket gives another ticket for a session, as the console's o does.
func (s *Server) Ticket(sid string) string {
	ticket := randomID("t_")
	s.mu.Lock()
	s.tickets[ticket] = sid
	s.mu.Unlock()
	return ticket
}

// Claims are the parts of a token a test may change.
type Claims struct {
	Audience  string
	Issuer    string
	IssuedAt  time.Time
	Expiry    time.Time
	NestedAct bool
	NoAct     bool
	Kid       string // sign with this published key instead of the newest
}

// Token signs a token for sess with the default claims changed by edit.
func (s *Server) Token(sess *Session, edit func(*Claims)) string {
	now := time.Now()
	c := Claims{Audience: Audience, Issuer: "actas", IssuedAt: now, Expiry: now.Add(s.TokenLife)}
	if c.Expiry.After(sess.EndsAt) {
		c.Expiry = sess.EndsAt
	}
	if edit != nil {
		edit(&c)
	}
	s.mu.Lock()
	key := s.keys[len(s.keys)-1]
	for _, k := range s.keys {
		if k.kid == c.Kid {
			key = k
		}
	}
	s.mu.Unlock()
	return Sign(key.kid, key.priv, sess, c)
}

// Sign makes a compact EdDSA JWS of the token claims, signed by priv.
func Sign(kid string, priv ed25519.PrivateKey, sess *Session, c Claims) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		panic(err)
	}
	act := map[string]any{"sub": sess.Impersonator.ID, "email": sess.Impersonator.Email}
	if c.NestedAct {
		act["act"] = map[string]any{"sub": "u_other", "email": "other@acme.test"}
	}
	claims := map[string]any{
		"iss": c.Issuer, "aud": c.Audience, "sub": sess.Target.ID, "email": sess.Target.Email,
		"sid": sess.ID, "iat": c.IssuedAt.Unix(), "nbf": c.IssuedAt.Unix(), "exp": c.Expiry.Unix(),
		"jti": randomID("j"),
	}
	if !c.NoAct {
		claims["act"] = act
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		panic(err)
	}
	return tok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+APIKey {
			fail(w, http.StatusUnauthorized, "unauthorized", "unknown API key")
			return
		}
		h(w, r)
	}
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	s.JWKSFetches.Add(1)
	s.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range s.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) *Session {
	s.mu.Lock()
	sess := s.sessions[r.PathValue("sid")]
	s.mu.Unlock()
	if sess == nil {
		fail(w, http.StatusNotFound, "not_found", "no such session")
	}
	return sess
}

func (s *Server) redeem(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Ticket string `json:"ticket"`
	}
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		fail(w, http.StatusUnprocessableEntity, "invalid", "bad body")
		return
	}
	s.mu.Lock()
	sid, ok := s.tickets[in.Ticket]
	delete(s.tickets, in.Ticket)
	sess := s.sessions[sid]
	s.mu.Unlock()
	if !ok || sess.Ended {
		fail(w, http.StatusGone, "gone", "ticket used or expired")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"session": sid, "token": s.Token(sess, nil)})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	sess := s.session(w, r)
	if sess == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	state := "active"
	if sess.Ended {
		state = "ended"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": sess.ID, "state": state,
		"impersonator": map[string]string{"id": sess.Impersonator.ID, "email": sess.Impersonator.Email, "name": sess.Impersonator.Name},
		"target":       map[string]string{"id": sess.Target.ID, "email": sess.Target.Email, "name": sess.Target.Name},
		"started_at":   sess.StartedAt, "ends_at": sess.EndsAt,
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	sess := s.session(w, r)
	if sess == nil {
		return
	}
	s.Refreshes.Add(1)
	s.mu.Lock()
	ended := sess.Ended
	s.mu.Unlock()
	if ended {
		fail(w, http.StatusGone, "gone", "session ended")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"session": sess.ID, "token": s.Token(sess, nil)})
}

func (s *Server) end(w http.ResponseWriter, r *http.Request) {
	if s.EndMissing.Load() {
		http.NotFound(w, r)
		return
	}
	sess := s.session(w, r)
	if sess == nil {
		return
	}
	s.Ends.Add(1)
	s.EndSession(sess.ID)
	writeJSON(w, http.StatusOK, map[string]string{"id": sess.ID, "state": "ended"})
}

// EndSession ends a session and announces it on every stream.
func (s *Server) EndSession(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.sessions[sid]; sess != nil {
		sess.Ended = true
	}
	s.seq++
	msg := fmt.Sprintf("id: %d\nevent: session.ended\ndata: {\"type\":\"session.ended\",\"session\":%q,\"reason\":\"consent_revoked\"}\n\n", s.seq, sid)
	for ch := range s.streams {
		select {
		case ch <- msg:
		default:
		}
	}
}

// DropStreams closes every open stream, as a restart of actas would.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.streams {
		close(ch)
		delete(s.streams, ch)
	}
}

// LastEventIDs are the Last-Event-ID headers of the stream connections so
// far, in order ("" for none).
func (s *Server) LastEventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lastIDs...)
}

// Streams is the number of stream connections open now.
func (s *Server) Streams() int64 { return s.streamsUp.Load() }

func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	ch := make(chan string, 16)
	s.mu.Lock()
	s.streams[ch] = true
	s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
	s.mu.Unlock()
	s.streamsUp.Add(1)
	defer s.streamsUp.Add(-1)
	defer func() {
		s.mu.Lock()
		delete(s.streams, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": hello\n\n")
	http.NewResponseController(w).Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			_, _ = fmt.Fprint(w, msg)
			http.NewResponseController(w).Flush()
		}
	}
}

// Stall makes events requests wait until Release.
func (s *Server) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// Release lets stalled events requests through.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// FailNext answers the next n events requests with 503.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Batches returns the event batches received so far.
func (s *Server) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Batch(nil), s.batches...)
}

// Events returns every event received for sid, in order.
func (s *Server) Events(sid string) []map[string]any {
	var out []map[string]any
	for _, b := range s.Batches() {
		if b.Session == sid {
			out = append(out, b.Events...)
		}
	}
	return out
}

// validMethod is actas's rule: 1–16 letters A–Z.
func validMethod(m string) bool {
	return m != "" && len(m) <= 16 && strings.IndexFunc(m, func(r rune) bool { return r < 'A' || r > 'Z' }) < 0
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	gate := s.gate
	failing := s.failNext > 0
	if failing {
		s.failNext--
	}
	s.mu.Unlock()
	if gate != nil {
		s.stalled.Add(1)
		defer s.stalled.Add(-1)
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if failing {
		fail(w, http.StatusServiceUnavailable, "unavailable", "try later")
		return
	}
	sess := s.session(w, r)
	if sess == nil {
		return
	}
	var in struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "too_big", err.Error())
		return
	}
	if len(in.Events) == 0 || len(in.Events) > 1000 {
		fail(w, http.StatusUnprocessableEntity, "invalid", "1 to 1000 events")
		return
	}
	reject, _ := s.RejectPath.Load().(string)
	for _, ev := range in.Events {
		if reject != "" && ev["path"] == reject {
			fail(w, http.StatusUnprocessableEntity, "invalid", "event outside the session")
			return
		}
		t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["time"]))
		if err != nil || t.Before(sess.StartedAt.Add(-time.Second)) || t.After(sess.EndsAt.Add(time.Minute)) ||
			!validMethod(fmt.Sprint(ev["method"])) || !strings.HasPrefix(fmt.Sprint(ev["path"]), "/") {
			fail(w, http.StatusUnprocessableEntity, "invalid", "event outside the session or without a method")
			return
		}
	}
	s.mu.Lock()
	s.batches = append(s.batches, Batch{Session: sess.ID, Events: in.Events})
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(in.Events)})
}
