// Package httpapi is the HTTP API for host products (DESIGN "Host product
// integration"): an API key becomes a core principal, JSON goes in and
// out, and every rule is core's. Like ssh/, it is a thin adapter: it
// authenticates, decodes, calls core, encodes, and maps core's refusals to
// statuses in one place (errors.go).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/log"

	"github.com/actas/actas/core"
)

// Config is what New needs.
type Config struct {
	Core    *core.Core
	Keyring *Keyring
	Logger  *log.Logger // nil: no request log
	// KeepAlive is how often an idle stream gets a comment line, so
	// proxies keep it open; 0 means 15 s.
	KeepAlive time.Duration
	// StreamBuffer is how many session changes a stream holds while it
	// writes; past it, it replays from the log. 0 means 256.
	StreamBuffer int
}

// Server serves the API. It is an http.Handler.
type Server struct {
	core      *core.Core
	keys      *Keyring
	log       *log.Logger
	keepAlive time.Duration
	// streamBuffer is Config.StreamBuffer.
	streamBuffer int
	mux          *http.ServeMux
	routes       []route

	// streams end when the server shuts down (Close).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// route is one endpoint: its method and path pattern, and whether it needs
// an API key.
type route struct {
	Method  string
	Pattern string
	Public  bool
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, p core.Principal)
}

// Limits of request bodies: read up to the limit, never buffered past it.
const (
	maxEventsBody = 1 << 20 // 1 MB: a batch of events
	maxSmallBody  = 16 << 10
)

// New builds the API on a core and a keyring.
func New(cfg Config) (*Server, error) {
	if cfg.Core == nil || cfg.Keyring == nil {
		return nil, errors.New("httpapi: Core and Keyring are required")
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.StreamBuffer <= 0 {
		cfg.StreamBuffer = 256
	}
	s := &Server{core: cfg.Core, keys: cfg.Keyring, log: cfg.Logger, keepAlive: cfg.KeepAlive, streamBuffer: cfg.StreamBuffer}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes = []route{
		{Method: "GET", Pattern: "/.well-known/jwks.json", Public: true, handle: (*Server).jwks},
		{Method: "GET", Pattern: "/v1/openapi.json", Public: true, handle: (*Server).openAPI},
		{Method: "POST", Pattern: "/v1/tickets/redeem", handle: (*Server).redeem},
		{Method: "GET", Pattern: "/v1/sessions/{sid}", handle: (*Server).sessionStatus},
		{Method: "POST", Pattern: "/v1/sessions/{sid}/token", handle: (*Server).refresh},
		{Method: "POST", Pattern: "/v1/sessions/{sid}/events", handle: (*Server).events},
		{Method: "POST", Pattern: "/v1/sessions/{sid}/end", handle: (*Server).end},
		{Method: "GET", Pattern: "/v1/stream", handle: (*Server).stream},
	}
	s.mux = http.NewServeMux()
	paths := http.NewServeMux() // the same paths for any method: 405, not 404
	allowed := map[string][]string{}
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
		if _, seen := allowed[rt.Pattern]; !seen {
			pattern := rt.Pattern
			paths.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", strings.Join(allowed[pattern], ", "))
				writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not served here; use "+strings.Join(allowed[pattern], " or "))
			})
		}
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			paths.ServeHTTP(w, r)
			return
		}
		writeJSONError(w, http.StatusNotFound, string(core.CodeNotFound), "no such endpoint; see /v1/openapi.json")
	})
	return s, nil
}

// Routes lists the endpoints served, as "METHOD PATTERN".
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.Method + " " + rt.Pattern
	}
	return out
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close ends the open streams.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// HTTPServer is an http.Server for the API with timeouts fit for it: no
// write timeout (streams stay open; each write has its own deadline).
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// write deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// wrap authenticates (unless the route is public), recovers from panics
// without showing them, and logs the request.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		var p core.Principal
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				if s.log != nil {
					s.log.Error("http handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				}
				if rec.status == 0 {
					writeJSONError(rec, http.StatusInternalServerError, "internal", "internal error; the server log has the details")
				}
			}
			if s.log != nil {
				s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
					"key", p.APIKey, "took", time.Since(start).Round(time.Microsecond))
			}
		}()
		rec.Header().Set("Cache-Control", "no-store")
		rec.Header().Set("X-Content-Type-Options", "nosniff")
		if !rt.Public {
			var err error
			if p, err = s.authenticate(r); err != nil {
				if core.CodeOf(err) == core.CodeUnauthenticated {
					rec.Header().Set("WWW-Authenticate", `Bearer realm="actas"`)
				}
				s.fail(rec, err)
				return
			}
		}
		rt.handle(s, rec, r, p)
	})
}

// authenticate turns the request's bearer key into a principal.
func (s *Server) authenticate(r *http.Request) (core.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return core.Principal{}, &core.Error{Code: core.CodeUnauthenticated, Message: "send an API key as Authorization: Bearer actas_… (see actas apikey add)"}
	}
	return s.core.AuthenticateAPIKey(strings.TrimSpace(secret), r.RemoteAddr)
}

// writeJSON writes v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
