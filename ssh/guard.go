package ssh

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/ssh"
	"golang.org/x/time/rate"

	"github.com/actas/actas/core"
)

// Why a console ends when the person did not quit it.
var (
	errShutdown = errors.New(ShutdownMessage)
	errIdle     = errors.New("actas closed this connection after a time without input")
	errLifetime = errors.New("actas closed this connection: it reached its maximum lifetime; connect again")
	errPanic    = errors.New("actas hit an internal error and closed this console; it has been logged")
)

type guardKey struct{}

func guardOf(ctx ssh.Context) *connGuard {
	g, _ := ctx.Value(guardKey{}).(*connGuard)
	return g
}

// connGuard watches one connection from accept to close: the handshake
// deadline, the lifetime, idleness measured on the person's input (a
// command that is still running counts as not idle), and
// what its authentication attempts were, for the login.failed event.
type connGuard struct {
	s      *Server
	conn   net.Conn
	remote string // host:port
	addr   string // the address limits and failed logins are counted by

	lastInput atomic.Int64 // unix nanoseconds of the last byte the person sent
	commands  atomic.Int32 // commands running: the person is waiting on them, not idle
	sessions  atomic.Int32 // session channels opened; one is served

	mu        sync.Mutex
	authed    bool
	offeredFP string // last key offered
	why       string // why the last attempt failed
	failures  int
	unproven  bool // a known key was offered and never proven
	timers    []*time.Timer
	idle      *time.Timer
	consoles  map[*console]struct{}
	kicked    bool
	// preAuth is set while the connection counts in Server.unauthed.
	preAuth bool
}

// accept is wish's ConnCallback: it runs before the SSH handshake, so the
// per-address limit is the first thing a client meets.
func (s *Server) accept(ctx ssh.Context, conn net.Conn) net.Conn {
	if s.isClosing() {
		return nil
	}
	addr := addrKey(conn.RemoteAddr())
	if ok, warn := s.limit.allow(addr); !ok {
		if warn {
			s.log.Warn("too many new connections; refusing for a while", "remote", addr)
		}
		return nil
	}
	if limit := s.cfg.MaxUnauthenticated; limit > 0 && s.unauthed.Add(1) > int64(limit) {
		s.unauthed.Add(-1)
		// Once a minute at most: a flood would otherwise flood the log.
		if last := s.fullWarned.Load(); time.Since(time.Unix(0, last)) > time.Minute && s.fullWarned.CompareAndSwap(last, time.Now().UnixNano()) {
			s.log.Warn("too many connections still in their handshake; refusing new ones for now", "limit", limit, "remote", addr)
		}
		return nil
	}
	g := &connGuard{s: s, conn: conn, remote: conn.RemoteAddr().String(), addr: addr, consoles: map[*console]struct{}{},
		preAuth: s.cfg.MaxUnauthenticated > 0}
	ctx.SetValue(guardKey{}, g)
	s.mu.Lock()
	s.guards[g] = struct{}{}
	s.mu.Unlock()
	if d := s.cfg.HandshakeTimeout; d > 0 {
		g.timers = append(g.timers, time.AfterFunc(d, g.handshakeExpired))
	}
	if d := s.cfg.MaxSession; d > 0 {
		g.timers = append(g.timers, time.AfterFunc(d, func() { g.kick(errLifetime) }))
	}
	// No goroutine waits for the end of the connection: finish runs on one
	// of its own then.
	context.AfterFunc(ctx, g.finish)
	return conn
}

// handshakeFailed is wish's ConnectionFailedCallback (scanners, clients
// that give up, handshake errors). The audit side is done in finish.
func (s *Server) handshakeFailed(conn net.Conn, err error) {
	s.log.Debug("handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
}

func (g *connGuard) handshakeExpired() {
	g.mu.Lock()
	authed := g.authed
	if !authed && g.failures+btoi(g.unproven) > 0 {
		g.why = "no key proven before the handshake deadline"
	}
	g.mu.Unlock()
	if !authed {
		g.s.log.Info("handshake deadline passed; closing", "remote", g.remote)
		g.conn.Close()
	}
}

func (g *connGuard) offered(fp, why string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.offeredFP = fp
	g.why = why
	g.unproven = why == ""
}

func (g *connGuard) authFailed(method string) {
	method = core.AuthMethod(method)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures++
	switch {
	case method != "publickey":
		g.why = method + " authentication is not accepted (public keys only)"
	case g.why == "":
		g.why = "the key's signature was not accepted"
	}
	g.unproven = false
}

func (g *connGuard) authenticated(fp string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.authed, g.offeredFP, g.unproven = true, fp, false
	g.leavePreAuth()
	if len(g.timers) > 0 && g.s.cfg.HandshakeTimeout > 0 {
		g.timers[0].Stop()
	}
	g.input()
	if d := g.s.cfg.IdleTimeout; d > 0 {
		g.idle = time.AfterFunc(d, g.checkIdle)
		g.timers = append(g.timers, g.idle)
	}
}

// leavePreAuth stops counting the connection as one in its handshake.
// g.mu is held.
func (g *connGuard) leavePreAuth() {
	if g.preAuth {
		g.preAuth = false
		g.s.unauthed.Add(-1)
	}
}

// input notes that the person sent something.
func (g *connGuard) input() { g.lastInput.Store(time.Now().UnixNano()) }

// commandRunning notes that a command started; the returned func notes its
// end. While one runs the connection is not idle, however long it works
// or writes without input: the person asked for it and is waiting on it.
// Idleness counts again from its end.
func (g *connGuard) commandRunning() (done func()) {
	g.commands.Add(1)
	return func() {
		g.input()
		g.commands.Add(-1)
	}
}

func (g *connGuard) checkIdle() {
	d := g.s.cfg.IdleTimeout
	quiet := time.Since(time.Unix(0, g.lastInput.Load()))
	if g.commands.Load() > 0 {
		quiet = 0
	}
	if quiet < d {
		g.mu.Lock()
		if !g.kicked {
			g.idle.Reset(d - quiet)
		}
		g.mu.Unlock()
		return
	}
	g.s.log.Info("idle timeout; closing", "remote", g.remote, "idle", quiet.Round(time.Second))
	g.kick(errIdle)
}

// kick ends the connection for a reason the person should read: every
// console on it stops and prints it, then the connection closes.
func (g *connGuard) kick(cause error) {
	g.mu.Lock()
	if g.kicked {
		g.mu.Unlock()
		return
	}
	g.kicked = true
	cs := make([]*console, 0, len(g.consoles))
	for c := range g.consoles {
		cs = append(cs, c)
	}
	g.mu.Unlock()
	go func() {
		deadline := time.After(3 * time.Second)
		for _, c := range cs {
			c.stop(cause)
		}
		for _, c := range cs {
			select {
			case <-c.done:
			case <-deadline:
			}
		}
		g.conn.Close()
	}()
}

func (g *connGuard) addConsole(c *console) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.consoles[c] = struct{}{}
}

func (g *connGuard) removeConsole(c *console) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.consoles, c)
}

// finish runs once the connection has closed.
func (g *connGuard) finish() {
	g.mu.Lock()
	for _, t := range g.timers {
		t.Stop()
	}
	g.kicked = true
	g.leavePreAuth()
	failed := !g.authed && (g.failures > 0 || g.unproven)
	fp, why := g.offeredFP, g.why
	if why == "" {
		why = "a key was offered but never proven"
	}
	g.mu.Unlock()
	g.s.mu.Lock()
	delete(g.s.guards, g)
	g.s.mu.Unlock()
	if failed {
		g.s.failed.add(g.addr, fp, why)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addrKey is the address a client is counted by: its IP, or for IPv6 its
// /64, since one host usually holds a whole /64.
func addrKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		return host
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// ipLimiter is a token bucket (golang.org/x/time/rate) per address for
// new connections. It remembers at most maxLimiters addresses: buckets that
// have refilled are forgotten first, and past that an arbitrary one, so a
// flood from very many addresses costs bounded memory (an address it
// forgets starts again with a full burst, which is all it loses).
type ipLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	off     bool
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	lim    *rate.Limiter
	warned time.Time
}

// maxLimiters bounds the addresses the limiter remembers.
const maxLimiters = 4096

func newIPLimiter(perMinute float64, burst int, now func() time.Time) *ipLimiter {
	return &ipLimiter{every: rate.Limit(perMinute / 60), burst: burst, off: perMinute < 0 || burst < 0,
		now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for addr. warn is true for the first refusal in a
// minute, so a flood logs a line a minute.
func (l *ipLimiter) allow(addr string) (ok, warn bool) {
	if l.off {
		return true, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= maxLimiters {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[addr] = b
	}
	if b.lim.AllowN(now, 1) {
		return true, false
	}
	if now.Sub(b.warned) >= time.Minute {
		b.warned = now
		return false, true
	}
	return false, false
}

// sweep forgets buckets that have refilled: they hold nothing a new one
// would not. If that frees nothing, it forgets one at random.
func (l *ipLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxLimiters {
			break
		}
		delete(l.buckets, k)
	}
}
