// Package ssh serves the actas console over SSH with wish: a public-key
// login decides who the person is, and every connection gets its own
// console (the same tui.New the local terminal uses) with its own renderer,
// fed live by core's hub.
//
// The package is a thin adapter. It owns what only a network server has to
// care about: the host key and algorithms, which key proves whom, the
// per-address limit on new connections, handshake, idle and lifetime
// timeouts, panics, and ending impersonations when a connection drops or
// the server stops. Rules about who may do what stay in core.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/tui"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/log"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
)

// Defaults for the zero values of Config.
const (
	DefaultListen           = ":23234"
	DefaultIdleTimeout      = 15 * time.Minute
	DefaultMaxSession       = 12 * time.Hour
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultMaxAuthTries     = 3
	DefaultPerIPConnRate    = 10 // new connections per minute and address
	DefaultPerIPConnBurst   = 20
	// DefaultMaxUnauthenticated bounds the connections still in their
	// handshake at once, from all addresses together.
	DefaultMaxUnauthenticated = 256
	// DefaultFailedLoginWindow is how long failed logins from one address
	// are summed into one login.failed event.
	DefaultFailedLoginWindow = 10 * time.Second
)

// Config sets up a Server. Durations and limits left at zero take the
// defaults above; a negative value switches the limit off.
type Config struct {
	Core        *core.Core
	Listen      string // address for ListenAndServe; DefaultListen if empty
	HostKeyPath string // ed25519 private key, created 0600 if missing

	// IdleTimeout closes a connection after this long without input from
	// the person: only bytes they send count, never the console's output.
	IdleTimeout time.Duration
	// MaxSession is the longest a connection may stay open.
	MaxSession time.Duration
	// HandshakeTimeout is how long a client has from connecting to being
	// authenticated.
	HandshakeTimeout time.Duration
	// MaxAuthTries is the number of failed authentication attempts after
	// which the connection is closed.
	MaxAuthTries int
	// PerIPConnRate and PerIPConnBurst bound new connections from one
	// address before authentication: a token bucket refilled at
	// PerIPConnRate per minute, holding at most PerIPConnBurst.
	PerIPConnRate  float64
	PerIPConnBurst int
	// MaxUnauthenticated is how many connections may be between accept
	// and authentication at once, counting every address: a new one past
	// it is closed before the handshake. The per-address limit stops one
	// host; this stops many (each handshake holds memory and costs a key
	// exchange for up to HandshakeTimeout).
	MaxUnauthenticated int
	// FailedLoginWindow sums failed logins from one address into one
	// login.failed audit event per window.
	FailedLoginWindow time.Duration

	// Commands runs "ssh HOST COMMAND…" (see CommandFunc); nil refuses
	// commands with NoCommandMessage.
	Commands CommandFunc

	// Logger receives the server's log (never a session); nil logs to
	// stderr.
	Logger *log.Logger
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.MaxSession, DefaultMaxSession)
	def(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&c.FailedLoginWindow, DefaultFailedLoginWindow)
	if c.MaxAuthTries == 0 {
		c.MaxAuthTries = DefaultMaxAuthTries
	}
	if c.PerIPConnRate == 0 {
		c.PerIPConnRate = DefaultPerIPConnRate
	}
	if c.PerIPConnBurst == 0 {
		c.PerIPConnBurst = DefaultPerIPConnBurst
	}
	if c.MaxUnauthenticated == 0 {
		c.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if c.Logger == nil {
		c.Logger = log.NewWithOptions(os.Stderr, log.Options{ReportTimestamp: true, Prefix: "ssh"})
	}
	return c
}

// ErrServerClosed is what Serve and ListenAndServe return after Shutdown
// or Close, as net/http does.
var ErrServerClosed = errors.New("ssh server closed")

// Server is the actas SSH server.
type Server struct {
	cfg    Config
	core   *core.Core
	log    *log.Logger
	srv    *ssh.Server
	limit  *ipLimiter
	failed *failedLogins
	// unauthed counts the connections accepted and not yet authenticated;
	// fullWarned is when the server last logged that it was full.
	unauthed   atomic.Int64
	fullWarned atomic.Int64

	// newModel and newFeed make a console; tests swap them for small fakes.
	newModel func(tui.Options) tea.Model
	newFeed  func(*core.Core, core.Principal) *tui.Feed
	// shared is what every console of the server shares (styles, drawn
	// audit rows).
	shared *tui.Shared

	mu        sync.Mutex
	ln        net.Listener
	closing   bool
	guards    map[*connGuard]struct{} // every open connection
	consoles  map[*console]struct{}   // every running console
	perPerson map[string]int          // consoles open or opening, by user ID
	wg        sync.WaitGroup          // running consoles
}

// New prepares a server: it loads or creates the host key. It does not
// listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Core == nil {
		return nil, errors.New("ssh: Config.Core is required")
	}
	if cfg.HostKeyPath == "" {
		return nil, errors.New("ssh: Config.HostKeyPath is required")
	}
	cfg = cfg.withDefaults()
	signer, created, err := loadOrCreateHostKey(cfg.HostKeyPath)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		core:     cfg.Core,
		log:      cfg.Logger,
		limit:    newIPLimiter(cfg.PerIPConnRate, cfg.PerIPConnBurst, time.Now),
		guards:   map[*connGuard]struct{}{},
		consoles: map[*console]struct{}{},
		newModel: defaultModel,
		newFeed:  tui.FeedFor,
		shared:   tui.NewShared(),
	}
	s.failed = newFailedLogins(cfg.FailedLoginWindow, s.recordFailedLogin)
	fp := fingerprint(signer.PublicKey())
	if created {
		s.log.Info("created host key", "path", cfg.HostKeyPath, "fingerprint", fp)
	} else {
		s.log.Debug("loaded host key", "path", cfg.HostKeyPath, "fingerprint", fp)
	}
	s.srv, err = wish.NewServer(
		wish.WithAddress(cfg.Listen),
		wish.WithVersion("actas"),
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithPublicKeyAuth(s.offeredKey),
		func(srv *ssh.Server) error {
			srv.ServerConfigCallback = s.serverConfig
			srv.ConnCallback = s.accept
			srv.ConnectionFailedCallback = s.handshakeFailed
			// Port forwarding stays off (nil callbacks) and only "session"
			// channels are served, one per connection.
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{"session": s.sessionChannel}
			return nil
		},
		wish.WithMiddleware(s.consoleMiddleware),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	return s, nil
}

// HostKeyFingerprint is the SHA256 fingerprint clients see for this server.
func (s *Server) HostKeyFingerprint() string {
	return fingerprint(s.srv.HostSigners[0].PublicKey())
}

// Serve accepts connections on ln until Shutdown or Close, after which it
// returns ErrServerClosed. ln is closed when Serve returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go s.watchLogouts(ctx)
	s.log.Info("listening", "addr", ln.Addr().String(), "host_key", s.HostKeyFingerprint())
	err := s.srv.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) || s.isClosing() {
		return ErrServerClosed
	}
	return err
}

// Run is actas serve in one call: it listens on Config.Listen, calls ready
// with the address once connections are accepted, serves until ctx ends
// (SIGINT/SIGTERM in cmd) and then shuts down gracefully, giving consoles
// grace to close. It returns nil after a graceful stop.
func (s *Server) Run(ctx context.Context, grace time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("ssh: listen on %s: %w", s.cfg.Listen, err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-served:
		s.Close()
		return err
	case <-ctx.Done():
	}
	if grace <= 0 {
		grace = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = s.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Addr is the address the server listens on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// ShutdownMessage is the line every console gets when the server stops.
const ShutdownMessage = "actas is shutting down; your session has ended"

// Shutdown stops the server gracefully: it stops accepting connections,
// ends every impersonation with reason server_shutdown, tells every
// console why it ends, waits for the consoles to close (until ctx is done)
// and then closes every connection. Close the store after it returns.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	ln := s.ln
	consoles := make([]*console, 0, len(s.consoles))
	for c := range s.consoles {
		consoles = append(consoles, c)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.log.Info("shutting down", "consoles", len(consoles))

	// Sessions end before the consoles are told, so each console still
	// shows the banner go away and the audit says server_shutdown.
	errs := []error{s.core.Shutdown()}
	for _, c := range consoles {
		c.stop(errShutdown)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("ssh: consoles still open at shutdown: %w", ctx.Err()))
	}
	errs = append(errs, s.closeAll())
	// A console that started an impersonation after core.Shutdown and
	// before it stopped has ended it on its way out (see console.run).
	s.failed.flush()
	return errors.Join(errs...)
}

// Close closes the listener and every connection at once, without ending
// impersonations or telling anyone. Prefer Shutdown.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	err := s.closeAll()
	s.failed.flush()
	return err
}

// closeAll closes the wish server (authenticated connections) and every
// connection still in its handshake.
func (s *Server) closeAll() error {
	err := s.srv.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	s.mu.Lock()
	guards := make([]*connGuard, 0, len(s.guards))
	for g := range s.guards {
		guards = append(guards, g)
	}
	s.mu.Unlock()
	for _, g := range guards {
		g.conn.Close()
	}
	return err
}

// safely runs f and logs a panic instead of letting it take the server
// down. It reports whether f panicked.
func (s *Server) safely(what string, f func()) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			s.log.Error("recovered from a panic", "in", what, "panic", r, "stack", stack())
		}
	}()
	f()
	return false
}
