package core

import (
	"container/heap"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// Core is the actas service. One Core serves every console and command of
// a process; all its methods are safe for concurrent use.
type Core struct {
	st    Store
	clock Clock
	hub   *Hub

	// mu guards the in-memory views below. They mirror committed state and
	// are refreshed from the store after each commit (see refresh*), so
	// they never run ahead of the disk. Rules are always checked against
	// the store inside the write transaction, never against these views.
	mu      sync.RWMutex
	policy  Policy
	orgs    map[string]Org
	rootOrg string
	dir     *Directory
	active  map[string]Session // active sessions by ID

	// people holds the users that asked something (principals), as last
	// committed, so a permission check reads no store; refresh keeps them.
	peopleMu sync.Mutex
	people   map[string]User
	deadline deadlines
	timer    Stopper
	closed   bool
	links    map[string]ProductLink // by session ID: the console's way into the host product
	keys     apiKeys
	warned   map[string]bool // sessions whose impersonator heard they are ending

	notifier        Notifier
	deliveryTimeout time.Duration
	firstRetry      time.Duration
	outboxWake      chan struct{}

	// cpMu guards cp, the checkpointer of a process that writes the log
	// (checkpoint.go), cpClosed and logKey.
	cpMu     sync.Mutex
	cp       *checkpointer
	cpClosed bool
	logKey   *LogKey
	loginMu  sync.Mutex
	logins   logins // which key each live console logged in with
}

// Options configure Open.
type Options struct {
	Clock Clock // default SystemClock
	// Notifier delivers the outbox (RunOutbox) and tests (TestChannel);
	// nil means this program only queues.
	Notifier Notifier
	// DeliveryTimeout bounds one delivery attempt; 0 means DeliveryTimeout.
	DeliveryTimeout time.Duration
	// FirstRetry is the wait after a first failed delivery, doubling after
	// each further one up to MaxRetry; 0 means FirstRetry (5 s). Tests
	// shorten it.
	FirstRetry time.Duration
	// ReadOnly is for commands that only read: core applies no expiry and
	// ends no leftover session, so it never writes (the store may refuse
	// writes altogether). Only a writer changes the database.
	ReadOnly bool
}

// Principal is who is asking: the real, authenticated person (never the
// user they may be impersonating), and how they reached us.
type Principal struct {
	User        User
	System      string // non-empty for the local admin command line, e.g. "cli:alice"
	Fingerprint string // SSH key that authenticated the connection, if any
	Remote      string // remote address, if any
	Conn        string // connection ID; sessions remember which one started them
	APIKey      string // name of the API key a host product called with, if any
}

// SystemPrincipal is the operator at the command line: the one with the
// database file in hand, allowed every administrative step.
func SystemPrincipal(name string) Principal { return Principal{System: "cli:" + name} }

// ref is the principal as an audit actor.
func (p Principal) ref() Ref {
	if p.System != "" {
		return Ref{ID: p.System}
	}
	if p.APIKey != "" {
		return Ref{ID: "apikey:" + p.APIKey}
	}
	return p.User.Ref()
}

// Open starts core on a store: it loads the in-memory views, ends the
// sessions a crashed process left running, expires whatever came due while
// the program was down (with audit events), and schedules the next
// expiries. With opt.ReadOnly it only loads.
func Open(st Store, opt Options) (*Core, error) {
	if opt.Clock == nil {
		opt.Clock = SystemClock{}
	}
	if opt.DeliveryTimeout <= 0 {
		opt.DeliveryTimeout = DeliveryTimeout
	}
	if opt.FirstRetry <= 0 {
		opt.FirstRetry = FirstRetry
	}
	c := &Core{st: st, clock: opt.Clock, hub: NewHub(), dir: newDirectory(st), active: map[string]Session{}, people: map[string]User{},
		warned: map[string]bool{}, notifier: opt.Notifier, deliveryTimeout: opt.DeliveryTimeout, firstRetry: opt.FirstRetry,
		outboxWake: make(chan struct{}, 1), links: map[string]ProductLink{}}
	if err := c.load(); err != nil {
		return nil, err
	}
	if opt.ReadOnly {
		c.closed = true // no timer: expiries are a writer's job
		return c, nil
	}
	// What came due while down expires as such first; what is left of
	// the sessions then belonged to a process that is gone.
	c.expireDue()
	if err := c.endLeftovers(); err != nil {
		return nil, err
	}
	return c, nil
}

// WarmUsers starts building the users' search index in the background (a
// server does at start, so no console waits for it). A console's first
// page of users does too; commands that only list never build it.
func (c *Core) WarmUsers() { c.dir.Warm() }

// endLeftovers ends, with reason server_crash, every session still active
// when a writer opens the store. Only one process writes at a time, so the
// connection that started such a session belongs to a process that is
// gone (killed, crashed) and nobody can end it by quitting any more. This
// runs before anyone can connect: a reconnect never resumes impersonation.
func (c *Core) endLeftovers() error {
	if len(c.active) == 0 {
		return nil
	}
	return c.update(func(t *txn) error {
		return t.endSessionsWhere(func(Session) bool { return true }, EndCrash, Ref{ID: "system"})
	})
}

// Close makes a last checkpoint if this process grew the log since the
// newest one, and stops timers. It does not end sessions (see Shutdown) nor close the store.
func (c *Core) Close() {
	c.stopCheckpoints()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
}

// Hub is where live changes are published, unfiltered: for the server's
// own wiring (closing consoles on logout, the impersonation log) and tests.
// A person's console subscribes through Subscribe, which filters for them.
func (c *Core) Hub() *Hub { return c.hub }

// Now is core's clock.
func (c *Core) Now() time.Time { return c.clock.Now() }

// Initialized reports whether the database has a root org and policy.
func (c *Core) Initialized() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rootOrg != ""
}

func (c *Core) load() error {
	return c.st.View(func(tx ReadTx) error {
		orgs, root, err := orgsByID(tx)
		if err != nil {
			return err
		}
		c.orgs = orgs
		if root != "" {
			c.rootOrg = root
		}
		if p, err := tx.Policy(); err == nil {
			c.policy = p
		} else if errors.Is(err, ErrNotFound) {
			c.policy = DefaultPolicy()
		} else {
			return err
		}
		// Only the users with a consent set: the rest are read when asked
		// for (a million users are not loaded at open).
		consents, err := tx.ConsentUsers()
		if err != nil {
			return err
		}
		for _, u := range consents {
			heap.Push(&c.deadline, deadline{at: u.ConsentUntil, kind: dlConsent, id: u.ID})
		}
		if err := c.loadAPIKeys(tx); err != nil {
			return err
		}
		act, err := tx.ActiveSessions()
		if err != nil {
			return err
		}
		for _, s := range act {
			c.active[s.ID] = s
			heap.Push(&c.deadline, deadline{at: s.Ends, kind: dlSession, id: s.ID})
			heap.Push(&c.deadline, deadline{at: s.Ends.Add(-warnBefore), kind: dlWarn, id: s.ID})
		}
		pend, err := tx.Requests(RequestPending, 0)
		if err != nil {
			return err
		}
		for _, r := range pend {
			heap.Push(&c.deadline, deadline{at: r.Expires, kind: dlRequest, id: r.ID})
		}
		return nil
	})
}

// txn is the state of one write: the audit events and changes it produces,
// published only once it has committed.
type txn struct {
	Tx
	c             *Core
	now           time.Time
	changes       []Change
	users         []string  // user IDs whose in-memory view needs a refresh
	counted       []Session // sessions whose event counter went up, as stored
	policyChanged bool
	orgs          bool
	apiKeys       bool
	queued        int      // outbox messages queued
	mail          int      // whether a mail server is set: 0 not read yet, 1 yes, -1 no
	alerts        bool     // channels or outbox changed
	warned        []string // sessions whose ending was announced
	// orgRefs, when set, remembers resolveOrg's answers: an import looks
	// up the same few orgs for a million rows, in a transaction that
	// changes none.
	orgRefs map[string]Org
}

// update runs fn in one store transaction and, after the commit, refreshes
// the in-memory views and publishes the changes. fn may run more than once
// (group commit), so it starts from a fresh txn every time.
func (c *Core) update(fn func(t *txn) error) error {
	var t *txn
	err := c.st.Update(func(tx Tx) error {
		t = &txn{Tx: tx, c: c, now: c.clock.Now()}
		return fn(t)
	})
	if err != nil {
		return err
	}
	c.afterCommit(t)
	return nil
}

func (c *Core) afterCommit(t *txn) {
	if t.touchesViews() {
		c.refresh(t)
	}
	if len(t.counted) > 0 {
		// A running session's counter is shown live (the Sessions tab):
		// the in-memory copy takes it from the commit, without a read.
		c.mu.Lock()
		for _, s := range t.counted {
			if old, ok := c.active[s.ID]; ok && old.Events < s.Events {
				old.Events = s.Events
				c.active[s.ID] = old
			}
		}
		c.mu.Unlock()
	}
	if len(t.warned) > 0 {
		c.mu.Lock()
		for _, id := range t.warned {
			c.warned[id] = true
		}
		c.mu.Unlock()
	}
	if t.queued > 0 {
		c.WakeOutbox()
	}
	if t.queued > 0 || t.alerts {
		c.hub.Publish(Change{Kind: ChangeAlerts})
	}
	var head uint64
	for _, ch := range t.changes {
		c.hub.Publish(ch)
		if ch.Kind == ChangeAudit && ch.Event != nil {
			head = max(head, ch.Event.Seq)
		}
	}
	if head > 0 {
		c.logGrew(head)
	}
}

// touchesViews reports whether the commit changed anything the in-memory
// views mirror; an audit event alone (a login, an action) does not, and
// then no snapshot is read.
func (t *txn) touchesViews() bool {
	if len(t.users) > 0 || t.policyChanged || t.orgs || t.apiKeys {
		return true
	}
	for _, ch := range t.changes {
		if ch.Session != nil || ch.Request != nil {
			return true
		}
	}
	return false
}

// record appends an audit event to the transaction: details are redacted
// and made canonical here, so nothing secret is ever stored or shown.
func (t *txn) record(ev Event, details map[string]any) (Event, error) {
	ev, err := t.recordUncounted(ev, details)
	if err != nil || ev.Session == "" {
		return ev, err
	}
	if s, err := t.Session(ev.Session); err == nil {
		s.Events++
		if err := t.PutSession(s); err != nil {
			return ev, err
		}
		t.counted = append(t.counted, s)
	}
	return ev, nil
}

// recordUncounted is record without counting the event on its session:
// for callers that append many events to one session and count them once.
func (t *txn) recordUncounted(ev Event, details map[string]any) (Event, error) {
	d, err := prepareDetails(details)
	if err != nil {
		return ev, err
	}
	return t.recordPrepared(ev, d)
}

// prepareDetails redacts, encodes and bounds details as they are stored.
// It needs no transaction: a caller with many events prepares them before
// it writes, so the work runs in its own goroutine and not in the store's
// one committer, which all writers wait on.
func prepareDetails(details map[string]any) (json.RawMessage, error) {
	d, err := canonicalDetails(details)
	if err != nil {
		return nil, err
	}
	return fitDetails(d)
}

// recordPrepared appends an event whose details prepareDetails made.
func (t *txn) recordPrepared(ev Event, d json.RawMessage) (Event, error) {
	ev.Details = d
	boundEvent(&ev)
	ev.Time = t.now
	if ev.Result == "" {
		ev.Result = ResultOK
	}
	if err := AppendEvent(t.Tx, &ev); err != nil {
		return ev, err
	}
	if err := t.route(ev); err != nil {
		return ev, err
	}
	e := ev
	t.changes = append(t.changes, Change{Kind: ChangeAudit, Event: &e})
	return ev, nil
}

// publish queues a domain change for after the commit.
func (t *txn) publish(ch Change) { t.changes = append(t.changes, ch) }

// refresh re-reads what the transaction touched, under the lock, so the
// views converge on the latest commit whatever order writers finish in.
func (c *Core) refresh(t *txn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.st.View(func(tx ReadTx) error {
		if t.policyChanged {
			if p, err := tx.Policy(); err == nil {
				c.policy = p
			}
		}
		if t.orgs {
			// A new map, not an update in place: readers hold the old one.
			if orgs, root, err := orgsByID(tx); err == nil {
				c.orgs = orgs
				if root != "" {
					c.rootOrg = root
				}
			}
		}
		users := make([]User, 0, len(t.users))
		seen := make(map[string]bool, len(t.users))
		for _, id := range t.users {
			if seen[id] {
				continue
			}
			seen[id] = true
			if u, err := tx.User(id); err == nil {
				users = append(users, u)
				if !u.ConsentFrom.IsZero() {
					c.schedule(deadline{at: u.ConsentUntil, kind: dlConsent, id: u.ID})
				}
			}
		}
		c.dir.put(users...)
		if t.apiKeys {
			_ = c.loadAPIKeys(tx)
		}
		c.peopleMu.Lock()
		for _, u := range users {
			if _, ok := c.people[u.ID]; ok {
				c.people[u.ID] = u
			}
		}
		c.peopleMu.Unlock()
		for _, ch := range t.changes {
			switch {
			case ch.Session != nil:
				s, err := tx.Session(ch.Session.ID)
				if err != nil {
					continue
				}
				if s.Active() {
					c.active[s.ID] = s
					c.schedule(deadline{at: s.Ends, kind: dlSession, id: s.ID})
					c.schedule(deadline{at: s.Ends.Add(-warnBefore), kind: dlWarn, id: s.ID})
				} else {
					delete(c.active, s.ID)
					delete(c.links, s.ID)
					delete(c.warned, s.ID)
				}
			case ch.Request != nil && ch.Request.Status == RequestPending:
				c.schedule(deadline{at: ch.Request.Expires, kind: dlRequest, id: ch.Request.ID})
			}
		}
		return nil
	})
}

// Policy returns the current policy.
func (c *Core) Policy() Policy {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.policy
}

// RootOrg returns the root org ("" before init).
func (c *Core) RootOrg() Org {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orgs[c.rootOrg]
}

// Org returns an org by ID from memory.
func (c *Core) Org(id string) (Org, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	o, ok := c.orgs[id]
	return o, ok
}

// OrgName is the org's display name, or its ID if unknown.
func (c *Core) OrgName(id string) string {
	if o, ok := c.Org(id); ok {
		return o.Name
	}
	return id
}

// orgsByID reads every org into a new map by ID, with the root org's ID
// ("" if there is none yet).
func orgsByID(tx ReadTx) (orgs map[string]Org, root string, err error) {
	list, err := tx.Orgs()
	if err != nil {
		return nil, "", err
	}
	orgs = make(map[string]Org, len(list))
	for _, o := range list {
		orgs[o.ID] = o
		if o.Parent == "" {
			root = o.ID
		}
	}
	return orgs, root, nil
}

// inSubtree reports whether org lies in root's subtree (root included).
// Callers hold c.mu or pass a snapshot map.
func inSubtree(orgs map[string]Org, root, org string) bool {
	for i := 0; org != "" && i <= len(orgs); i++ {
		if org == root {
			return true
		}
		org = orgs[org].Parent
	}
	return false
}

// --- expiry ---------------------------------------------------------------

type dlKind int

const (
	dlSession dlKind = iota
	dlRequest
	dlConsent
	dlWarn // a session's last minutes begin
)

type deadline struct {
	at   time.Time
	kind dlKind
	id   string
}

// deadlines is a min-heap by time. Entries may be stale (a consent was
// extended, a session ended early); expiry re-checks the stored state.
type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].at.Before(d[j].at) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	*d = old[:len(old)-1]
	return x
}

// schedule adds a deadline and re-arms the single timer if it is now the
// earliest. Callers hold c.mu.
func (c *Core) schedule(d deadline) {
	heap.Push(&c.deadline, d)
	if c.deadline[0] == d {
		c.arm()
	}
}

// arm sets the one timer to the earliest deadline. Callers hold c.mu.
func (c *Core) arm() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.closed || len(c.deadline) == 0 {
		return
	}
	wait := max(c.deadline[0].at.Sub(c.clock.Now()), 0)
	c.timer = c.clock.AfterFunc(wait, c.expireDue)
}

// expireDue ends, in one transaction, every session, pending request and
// consent whose time has come, then re-arms the timer. It also runs at Open
// for whatever came due while the program was down.
func (c *Core) expireDue() {
	now := c.clock.Now()
	c.mu.Lock()
	var due []deadline
	for len(c.deadline) > 0 && !c.deadline[0].at.After(now) {
		due = append(due, heap.Pop(&c.deadline).(deadline))
	}
	c.mu.Unlock()
	if len(due) > 0 {
		err := c.update(func(t *txn) error {
			for _, d := range due {
				if err := t.expire(d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// Put them back and try again shortly: an expiry must not be lost.
			c.mu.Lock()
			for _, d := range due {
				heap.Push(&c.deadline, deadline{at: now.Add(time.Second), kind: d.kind, id: d.id})
			}
			c.mu.Unlock()
		}
	}
	c.mu.Lock()
	c.arm()
	c.mu.Unlock()
}

func (t *txn) expire(d deadline) error {
	switch d.kind {
	case dlSession:
		s, err := t.Session(d.id)
		if err != nil || !s.Active() || s.Ends.After(t.now) {
			return nil
		}
		reason := EndExpired
		if tu, err := t.User(s.Target); err == nil && !tu.ConsentFrom.IsZero() && !tu.ConsentUntil.After(s.Ends) {
			reason = EndConsentExpired
		}
		return t.endSession(s, reason, Ref{ID: "system"})
	case dlWarn:
		s, err := t.Session(d.id)
		if err != nil {
			return nil
		}
		return t.warnEnding(s)
	case dlRequest:
		r, err := t.Request(d.id)
		if err != nil || r.Status != RequestPending || r.Expires.After(t.now) {
			return nil
		}
		r.Status, r.Decided = RequestExpired, t.now
		if err := t.PutRequest(r); err != nil {
			return err
		}
		target, _ := t.User(r.Target)
		requester, _ := t.User(r.Requester)
		if _, err := t.record(Event{Type: EvRequestExpired, Actor: Ref{ID: "system"}, Subject: target.Ref(), Org: r.Org, Request: r.ID},
			map[string]any{"requester": requester.Email}); err != nil {
			return err
		}
		t.publish(Change{Kind: ChangeRequest, Request: &r})
	case dlConsent:
		u, err := t.User(d.id)
		if err != nil || u.ConsentFrom.IsZero() || u.ConsentUntil.After(t.now) {
			return nil
		}
		u.ConsentFrom = time.Time{}
		if err := t.putUser(u); err != nil {
			return err
		}
		if _, err := t.record(Event{Type: EvConsentExpired, Actor: Ref{ID: "system"}, Subject: u.Ref(), Org: u.Org},
			map[string]any{"until": u.ConsentUntil.Format(time.RFC3339)}); err != nil {
			return err
		}
		t.publish(Change{Kind: ChangeConsent, User: &u})
		return t.endSessionsOn(u.ID, EndConsentExpired, Ref{ID: "system"})
	}
	return nil
}

// putUser stores a user and marks its view for refresh.
func (t *txn) putUser(u User) error {
	if err := t.PutUser(u); err != nil {
		return err
	}
	t.users = append(t.users, u.ID)
	return nil
}

// currentPolicy reads the policy inside the transaction.
func (t *txn) currentPolicy() (Policy, error) {
	p, err := t.Policy()
	if errors.Is(err, ErrNotFound) {
		return Policy{}, refuse(CodeFeatureDisabled, "actas is not initialised yet: run actas init first")
	}
	return p, err
}

// NewConnID names one console or connection, unique in this process and
// across processes (random), e.g. "local_1f2e…" or "ssh_9a8b…". Sessions
// remember it; quitting that console ends exactly its own sessions.
func NewConnID(kind string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return kind + "_" + hex.EncodeToString(b[:])
}
