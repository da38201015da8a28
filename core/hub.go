package core

import "sync"

// ChangeKind says what a Change is about.
type ChangeKind string

const (
	ChangeRequest ChangeKind = "request" // created or decided
	ChangeSession ChangeKind = "session" // started or ended
	ChangeConsent ChangeKind = "consent" // granted, revoked or expired
	ChangeUser    ChangeKind = "user"    // created or updated
	ChangePolicy  ChangeKind = "policy"
	ChangeAudit   ChangeKind = "audit"  // an event was appended
	ChangeAlerts  ChangeKind = "alerts" // alert channels or the outbox changed
	ChangeNotice  ChangeKind = "notice" // a one-line message for one person (Notice)
	// ChangeCheckpoint: a signed checkpoint of the log was made.
	ChangeCheckpoint ChangeKind = "checkpoint"
	// ChangeLogout tells transports to close a person's consoles (Logout).
	ChangeLogout ChangeKind = "logout"
	ChangeAPIKey ChangeKind = "apikey" // an API key was revoked
	// ChangeResync tells a subscriber that it missed changes because it
	// read too slowly: reload what is on screen.
	ChangeResync ChangeKind = "resync"
)

// Change is a domain event published after its transaction committed.
// Exactly one of the pointers is set, according to Kind (none for resync).
type Change struct {
	Kind    ChangeKind
	Event   *Event // the audit event of the change, if any
	Request *Request
	Session *Session
	User    *User
	Policy  *Policy
	Notice  *UserNotice
	Logout  *Logout
	APIKey  *APIKey
	// Checkpoint is the new checkpoint of a ChangeCheckpoint.
	Checkpoint *Checkpoint
}

// Hub fans changes out to subscribers. Publish never blocks: a subscriber
// whose buffer is full loses changes, and finds ChangeResync right after the
// changes it still holds, so it reloads as soon as it has drained them, not
// only at the next publish.
type Hub struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// Subscription receives changes on C until Close.
type Subscription struct {
	C      <-chan Change
	c      chan Change
	hub    *Hub
	keep   func(Change) bool // nil: every change
	mu     sync.Mutex
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscribe registers a subscriber with a buffer of n changes.
func (h *Hub) Subscribe(n int) *Subscription { return h.SubscribeFunc(n, nil) }

// SubscribeFunc registers a subscriber that receives only the changes keep
// accepts (and resyncs): its buffer holds what it wants, so a flood of
// others neither wakes it nor overflows it. keep runs inside Publish and
// must be quick.
func (h *Hub) SubscribeFunc(n int, keep func(Change) bool) *Subscription {
	if n < 1 {
		n = 1
	}
	c := make(chan Change, n+1) // the last slot is only ever a resync
	s := &Subscription{C: c, c: c, hub: h, keep: keep}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close unsubscribes and closes C.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.c)
	}
	s.mu.Unlock()
}

// Publish hands ch to every subscriber without waiting for any.
func (h *Hub) Publish(ch Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		s.offer(ch)
	}
}

// Subscribers counts the current subscribers.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

func (s *Subscription) offer(ch Change) {
	if s.keep != nil && !s.keep(ch) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	// Only the hub sends, under s.mu, so the buffer cannot fill up behind
	// this check. Changes never take the last slot; when they would, a
	// resync takes it instead. A full buffer therefore ends with a resync,
	// queued after every change it holds, and a change that finds it full
	// is covered by that resync's reload.
	switch free := cap(s.c) - len(s.c); {
	case free > 1:
		s.c <- ch
	case free == 1:
		s.c <- Change{Kind: ChangeResync}
	}
}
