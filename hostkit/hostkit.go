// Package hostkit lets a product built on net/http accept impersonation
// sessions started in actas, and reports what the impersonator does.
//
// A product mounts these pieces:
//
//   - [Kit.EnterHandler] at /actas/enter: the "Open as" link of the actas
//     console lands here with a one-time ticket; hostkit redeems it, keeps
//     the session's token in a cookie and redirects to /.
//   - [Kit.Middleware] around the product's handler: it checks the cookie's
//     token offline against actas's published keys, keeps the token fresh,
//     drops a session within a second of its end in actas, puts the
//     impersonation into the request's context ([From]) and reports every
//     request of the session back to actas, without ever delaying or failing
//     the product's own request.
//   - [Kit.Protect] for routes an impersonator must never use (a password
//     change, a payout), and [Kit.Banner] for the notice on every page,
//     whose End button posts to [Kit.EndHandler] at /actas/end.
//
// hostkit imports nothing of actas itself: a product pulls in net/http,
// go-jose and the standard library only.
//
// The token's audience is the name of the product's API key. Set
// [Config.Audience] to that name; without it hostkit learns the name from the
// first ticket it redeems with its own key, and until then (after a restart,
// or on another replica) it accepts no token, so the impersonator opens the
// link again.
package hostkit

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config tells hostkit where actas is and how to talk to it. URL and APIKey
// are required; everything else has a default.
type Config struct {
	// URL is the base URL of actas's HTTP API (`actas serve --http ADDR`),
	// e.g. "http://127.0.0.1:8081".
	URL string
	// APIKey is the product's key, as `actas apikey add --name NAME`
	// printed it ("actas_…").
	APIKey string
	// Audience is the name the API key was added with; tokens for any other
	// audience are refused. When empty, hostkit learns it from the first
	// ticket it redeems (see the package documentation).
	Audience string
	// Issuer, when set, must equal the token's "iss" (policy issuer in
	// actas, "actas" by default). When empty any issuer signed by actas's
	// keys is accepted.
	Issuer string
	// CookieName names the cookie that holds the session's token
	// (default "actas_session").
	CookieName string
	// EndPath is where the End button of [Kit.Banner] posts; mount
	// [Kit.EndHandler] there (default "/actas/end").
	EndPath string
	// AfterEnter is where EnterHandler and EndHandler redirect (default "/").
	AfterEnter string
	// QueueSize bounds the requests waiting to be reported (default 4096).
	// When it is full, further requests are counted, not queued, and the
	// count is reported as one event once actas takes events again.
	QueueSize int
	// FlushInterval is how long a reported request may wait for others to
	// share its batch (default 200ms).
	FlushInterval time.Duration
	// HTTPClient makes the calls to actas (default: a client with a 10 s
	// timeout). The event stream uses its transport without the timeout.
	HTTPClient *http.Client
	// Blocked answers a request that [Kit.Protect] refuses (default: a short
	// HTML page with status 403). It should write status 403.
	Blocked http.Handler
	// Logger receives what goes wrong between hostkit and actas (default
	// slog.Default()).
	Logger *slog.Logger

	// knobs for tests of this package
	jwksMinInterval time.Duration // between two fetches of the JWKS (default 10s)
	retryMin        time.Duration // first wait after a failed call (default 250ms)
	retryMax        time.Duration // longest wait between retries (default 30s)
}

// Person is one side of an impersonation.
type Person struct {
	ID    string
	Email string
	// Name is the person's display name as actas knows it; empty until
	// hostkit has read the session from actas (a moment after it starts).
	Name string
}

// Label is the name when known, else the email.
func (p Person) Label() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Email
}

// Impersonation is what [From] returns for a request made by an
// impersonator: who is acting, as whom, in which actas session, until when.
type Impersonation struct {
	// Session is the actas session ID ("imp_…").
	Session string
	// Impersonator is the real person acting (the token's "act").
	Impersonator Person
	// Target is the user being impersonated (the token's "sub").
	Target Person
	// EndsAt is when the session ends at the latest; zero until hostkit has
	// read the session from actas.
	EndsAt time.Time
}

// Kit is a connection to one actas server. Create it with [New], share it
// between handlers, and [Kit.Close] it when the product shuts down.
type Kit struct {
	cfg          Config
	base         *url.URL
	client       *http.Client
	streamClient *http.Client
	log          *slog.Logger
	protectPage  http.Handler

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once

	keys     keyring
	audience atomic.Pointer[string]

	mu       sync.RWMutex
	tokens   map[string]*tokenEntry // cookie value -> verified token
	sessions map[string]*session    // sid -> live session
	ended    map[string]time.Time   // sid -> when hostkit learned it ended
	wake     chan struct{}          // the refresher has new work

	queue   chan event
	dropMu  sync.Mutex
	dropped map[string]dropCount
	sent    atomic.Int64 // events actas accepted (for tests and metrics)
}

// New checks cfg and starts hostkit's background work: following actas's
// session stream, refreshing tokens and reporting requests. It makes no
// call to actas before it returns, so a product starts even while actas is
// down.
func New(cfg Config) (*Kit, error) {
	if cfg.URL == "" {
		return nil, errors.New("hostkit: Config.URL is empty: give the address of `actas serve --http`")
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New("hostkit: Config.URL must be an http:// or https:// URL, e.g. http://127.0.0.1:8081")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("hostkit: Config.APIKey is empty: create one with `actas apikey add --name APP`")
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "actas_session"
	}
	if cfg.EndPath == "" {
		cfg.EndPath = "/actas/end"
	}
	if cfg.AfterEnter == "" {
		cfg.AfterEnter = "/"
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.jwksMinInterval <= 0 {
		cfg.jwksMinInterval = 10 * time.Second
	}
	if cfg.retryMin <= 0 {
		cfg.retryMin = 250 * time.Millisecond
	}
	if cfg.retryMax <= 0 {
		cfg.retryMax = 30 * time.Second
	}
	k := &Kit{
		cfg:      cfg,
		base:     base,
		client:   cfg.HTTPClient,
		log:      cfg.Logger,
		tokens:   map[string]*tokenEntry{},
		sessions: map[string]*session{},
		ended:    map[string]time.Time{},
		wake:     make(chan struct{}, 1),
		queue:    make(chan event, cfg.QueueSize),
		dropped:  map[string]dropCount{},
	}
	if k.client == nil {
		k.client = &http.Client{Timeout: 10 * time.Second}
	}
	stream := *k.client
	stream.Timeout = 0
	k.streamClient = &stream
	if k.log == nil {
		k.log = slog.Default()
	}
	k.log = k.log.With("component", "hostkit")
	k.protectPage = cfg.Blocked
	if k.protectPage == nil {
		k.protectPage = http.HandlerFunc(blockedPage)
	}
	if cfg.Audience != "" {
		aud := cfg.Audience
		k.audience.Store(&aud)
	}
	k.keys.minInterval = cfg.jwksMinInterval
	k.ctx, k.cancel = context.WithCancel(context.Background())
	k.wg.Add(3)
	go k.followStream()
	go k.refresher()
	go k.reporter()
	return k, nil
}

// Close stops hostkit's goroutines. Requests still queued for reporting get
// one last try of at most two seconds. Close is safe to call twice.
func (k *Kit) Close() error {
	k.closed.Do(func() {
		k.cancel()
		k.wg.Wait()
		if k.cfg.HTTPClient == nil {
			k.client.CloseIdleConnections() // hostkit's own client: no keep-alive goroutines left
		}
	})
	return nil
}

type ctxKey struct{}

// reqState is what the middleware keeps for one impersonated request.
type reqState struct {
	imp     *Impersonation
	blocked string // the Protect pattern that refused it
}

// From returns the impersonation a request belongs to. ok is false for a
// request of the product's own users (no valid actas cookie), and for any
// request outside [Kit.Middleware].
func From(ctx context.Context) (imp Impersonation, ok bool) {
	st, _ := ctx.Value(ctxKey{}).(*reqState)
	if st == nil {
		return Impersonation{}, false
	}
	return *st.imp, true
}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(ctxKey{}).(*reqState)
	return st
}
