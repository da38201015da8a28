package core

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// A ticket lets an impersonator's browser into the host product once: the
// console shows policy product_url with the ticket in it, the product
// redeems the ticket for a grant (a signed token, see Grant) within
// TicketTTL, and the ticket is spent.
const (
	TicketTTL = 120 * time.Second
	// GrantTTL bounds a grant's life; the product refreshes it while the
	// session runs, so an ended session is noticed within this time even
	// by a product that does not follow the stream.
	GrantTTL = 5 * time.Minute
	// ActionGrace is how long after a session's end a product may still
	// report what was done in it (its last batch in flight).
	ActionGrace = 60 * time.Second
)

// Ticket is a stored ticket: only the hash of the secret is kept.
type Ticket struct {
	Hash    string    `json:"hash"` // hex SHA-256 of the ticket
	Session string    `json:"session"`
	Expires time.Time `json:"expires"`
	Used    time.Time `json:"used,omitzero"`
	UsedBy  string    `json:"used_by,omitempty"` // API key name that redeemed it
}

// Grant is the claims set of the token a host product receives: who is
// acting (act, flat, RFC 8693 §4.1) as whom (sub), in which session (sid),
// for which product (aud, the API key name). httpapi signs it.
type Grant struct {
	Issuer    string     `json:"iss"`
	Audience  string     `json:"aud"`
	Subject   string     `json:"sub"`
	Email     string     `json:"email"`
	Act       GrantActor `json:"act"`
	Session   string     `json:"sid"`
	IssuedAt  int64      `json:"iat"`
	NotBefore int64      `json:"nbf"`
	Expires   int64      `json:"exp"`
	ID        string     `json:"jti"`
}

// GrantActor is the impersonator in a grant.
type GrantActor struct {
	Subject string `json:"sub"`
	Email   string `json:"email"`
}

// ProductLink is what the console shows after a session starts: the
// product's entry URL holding a fresh ticket.
type ProductLink struct {
	Session string
	URL     string
	Expires time.Time
}

// productURL fills the template with the ticket.
func productURL(template, ticket string) string {
	return strings.Replace(template, "{ticket}", url.QueryEscape(ticket), 1)
}

// checkProductURL validates policy product_url: empty (off), or an http(s)
// URL holding {ticket} once.
func checkProductURL(s string) error {
	if s == "" {
		return nil
	}
	if hasUnsafe(s) || strings.ContainsAny(s, " \t") || len(s) > 2048 {
		return invalid("product_url", "product_url must be a URL of at most 2048 characters without spaces or control characters")
	}
	if strings.Count(s, "{ticket}") != 1 {
		return invalid("product_url", "product_url must hold {ticket} exactly once, e.g. https://app.example.com/actas/enter?ticket={ticket}")
	}
	u, err := url.Parse(productURL(s, "TICKET"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return invalid("product_url", "product_url must be an http or https URL with a host and no user info, e.g. https://app.example.com/actas/enter?ticket={ticket}")
	}
	return nil
}

// checkIssuer validates policy issuer: the iss of every grant.
func checkIssuer(s string) error {
	if s == "" || len(s) > 256 || hasUnsafe(s) || strings.ContainsAny(s, " \t") {
		return invalid("issuer", "issuer must be 1–256 characters without spaces or control characters (e.g. actas or https://actas.example.com)")
	}
	return nil
}

// issueTicket stores a ticket for the session inside the transaction.
func (t *txn) issueTicket(sessionID, secret string) (time.Time, error) {
	exp := t.now.Add(TicketTTL)
	return exp, t.PutTicket(Ticket{Hash: hashSecret(secret), Session: sessionID, Expires: exp})
}

// ProductLinkOf returns the product link of p's running session, if policy
// product_url gave it one.
func (c *Core) ProductLinkOf(p Principal) (ProductLink, bool) {
	s, _, ok, err := c.MySession(p)
	if err != nil || !ok {
		return ProductLink{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	l, ok := c.links[s.ID]
	return l, ok
}

// RenewProductLink gives p's running session a fresh ticket, for when the
// first one was used or ran out before the product was opened.
func (c *Core) RenewProductLink(p Principal) (ProductLink, error) {
	s, _, ok, err := c.MySession(p)
	if err != nil {
		return ProductLink{}, err
	}
	if !ok {
		return ProductLink{}, refuse(CodeNotFound, "you are not impersonating anyone")
	}
	tmpl := c.Policy().ProductURL
	if tmpl == "" {
		return ProductLink{}, refuse(CodeFeatureDisabled, "no product_url is set in the policy — an owner can set one")
	}
	secret := newSecret("")
	var link ProductLink
	err = c.update(func(t *txn) error {
		cur, err := t.Session(s.ID)
		if err != nil || !cur.Active() {
			return refuse(CodeSessionEnded, "the session has ended")
		}
		exp, err := t.issueTicket(s.ID, secret)
		link = ProductLink{Session: s.ID, URL: productURL(tmpl, secret), Expires: exp}
		return err
	})
	if err != nil {
		return ProductLink{}, err
	}
	c.mu.Lock()
	c.links[s.ID] = link
	c.mu.Unlock()
	return link, nil
}

// checkTicketText refuses what cannot be a ticket before anything is read.
func checkTicketText(ticket string) error {
	if ticket == "" {
		return invalid("ticket", "ticket is required")
	}
	if len(ticket) > 128 || hasUnsafe(ticket) {
		return invalid("ticket", "that is not a ticket: tickets are short URL-safe strings")
	}
	return nil
}

// Visitor is what a product says about the browser it redeems a ticket
// for: its user agent, and its address when the product is a proxy in
// between (X-Forwarded-For). Both are recorded as told.
type Visitor struct {
	UserAgent    string
	ForwardedFor string
}

// Redeem spends a ticket for p, an API key: the session it belongs to and
// a grant for the key's audience. A used or expired ticket, or one of a
// session that has ended, is gone. Redeeming records session.entered with
// the key, the remote address and the user agent.
func (c *Core) Redeem(p Principal, ticket string, v Visitor) (Session, Grant, error) {
	if _, err := c.allowed(p, product("tickets are redeemed with an API key")); err != nil {
		return Session{}, Grant{}, err
	}
	if err := checkTicketText(ticket); err != nil {
		return Session{}, Grant{}, err
	}
	jti := newGrantID()
	var s Session
	var g Grant
	err := c.update(func(t *txn) error {
		tk, err := t.Ticket(hashSecret(ticket))
		if err != nil {
			return notFound("no such ticket — open the link from the actas console again")
		}
		switch {
		case !tk.Used.IsZero():
			return refuse(CodeTicketUsed, "this ticket was used already; each ticket enters once")
		case !t.now.Before(tk.Expires):
			return refuse(CodeTicketExpired, "this ticket expired (tickets last %s); open the link again from the actas console", TicketTTL)
		}
		if s, err = t.Session(tk.Session); err != nil {
			return notFound("the ticket's session %s no longer exists", tk.Session)
		}
		if !s.Active() {
			return refuse(CodeSessionEnded, "session %s has ended (%s)", s.ID, s.EndReason)
		}
		tk.Used, tk.UsedBy = t.now, p.APIKey
		if err := t.PutTicket(tk); err != nil {
			return err
		}
		if g, err = t.grant(p.APIKey, s, jti); err != nil {
			return err
		}
		imp, _ := t.User(s.Impersonator)
		target, _ := t.User(s.Target)
		_, err = t.record(Event{Type: EvSessionEntered, Actor: imp.Ref(), Subject: target.Ref(), Org: s.Org, Session: s.ID},
			map[string]any{"key": p.APIKey, "remote": p.Remote, "user_agent": Display(cutBytes(v.UserAgent, 500)), "forwarded_for": Display(cutBytes(v.ForwardedFor, 200))})
		if err != nil {
			return err
		}
		s, _ = t.Session(s.ID)
		return nil
	})
	if err != nil {
		return Session{}, Grant{}, err
	}
	c.mu.Lock()
	if l, ok := c.links[s.ID]; ok && l.Expires.After(c.clock.Now()) {
		l.Expires = c.clock.Now() // spent: the console shows it is used
		c.links[s.ID] = l
	}
	c.mu.Unlock()
	return s, g, nil
}

func newGrantID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// grant builds the claims for the audience on a running session: exp is
// the session's end or GrantTTL from now, whichever comes first.
func (t *txn) grant(audience string, s Session, jti string) (Grant, error) {
	pol, err := t.currentPolicy()
	if err != nil {
		return Grant{}, err
	}
	imp, err := t.User(s.Impersonator)
	if err != nil {
		return Grant{}, notFound("the impersonator of %s no longer exists", s.ID)
	}
	target, err := t.User(s.Target)
	if err != nil {
		return Grant{}, notFound("the target of %s no longer exists", s.ID)
	}
	exp := t.now.Add(GrantTTL)
	if s.Ends.Before(exp) {
		exp = s.Ends
	}
	return Grant{
		Issuer: pol.issuer(), Audience: audience,
		Subject: target.ID, Email: target.Email,
		Act:     GrantActor{Subject: imp.ID, Email: imp.Email},
		Session: s.ID, IssuedAt: t.now.Unix(), NotBefore: t.now.Unix(), Expires: exp.Unix(), ID: jti,
	}, nil
}

// issuer is the policy's grant issuer, "actas" unless set.
func (p Policy) issuer() string {
	if p.Issuer == "" {
		return "actas"
	}
	return p.Issuer
}

// enteredSession reads the session the API key redeemed a ticket of: only
// that product gets grants for it, reports actions in it and ends it. A
// session the key did not enter is refused, saying the product that did
// is the one that does (does: "gets grants for it", …).
func enteredSession(tx ReadTx, sessionID, key, does string) (Session, error) {
	s, err := tx.Session(sessionID)
	if err != nil {
		return Session{}, notFound("no session %s", Display(sessionID))
	}
	tickets, err := tx.TicketsOf(s.ID)
	if err != nil {
		return Session{}, err
	}
	for _, tk := range tickets {
		if tk.UsedBy == key && !tk.Used.IsZero() {
			return s, nil
		}
	}
	return Session{}, refuse(CodeNotPermitted, "API key %s did not enter session %s: only the product that redeemed its ticket %s", key, s.ID, does)
}

// RefreshGrant gives p, the API key that entered the session, a fresh
// grant while the session runs; once it ended, the session is gone.
// presented, if not nil, is the verified claims set of the grant the
// product holds: it must be this key's, for this session, with a flat act.
func (c *Core) RefreshGrant(p Principal, sessionID string, presented []byte) (Grant, error) {
	if _, err := c.allowed(p, product("grants are refreshed with an API key")); err != nil {
		return Grant{}, err
	}
	jti := newGrantID()
	var g Grant
	err := c.st.View(func(tx ReadTx) error {
		s, err := enteredSession(tx, sessionID, p.APIKey, "gets grants for it")
		if err != nil {
			return err
		}
		if presented != nil {
			if err := checkPresented(presented, p.APIKey, s); err != nil {
				return err
			}
		}
		if !s.Active() {
			return refuse(CodeSessionEnded, "session %s has ended (%s)", s.ID, s.EndReason)
		}
		t := &txn{Tx: readOnly{tx}, c: c, now: c.clock.Now()}
		g, err = t.grant(p.APIKey, s, jti)
		return err
	})
	return g, err
}

// checkPresented checks a grant a product sent back: its audience, its
// session, its subjects, and that act is flat. A nested act means someone
// acting as someone acting as someone: chaining, refused.
func checkPresented(claims []byte, key string, s Session) error {
	var g struct {
		Audience json.RawMessage `json:"aud"`
		Session  string          `json:"sid"`
		Subject  string          `json:"sub"`
		Act      map[string]json.RawMessage
	}
	if err := json.Unmarshal(claims, &g); err != nil {
		return invalid("token", "the token's claims are not a JSON object")
	}
	var aud string
	if json.Unmarshal(g.Audience, &aud) != nil || aud != key {
		return refuse(CodeNotPermitted, "the token was issued to another audience, not to API key %s", key)
	}
	switch {
	case g.Session != s.ID:
		return invalid("token", "the token is for session %s, not %s", Display(g.Session), s.ID)
	case g.Subject != s.Target:
		return invalid("token", "the token's subject is not this session's target")
	case g.Act == nil:
		return invalid("token", "the token has no act claim")
	}
	if _, nested := g.Act["act"]; nested {
		return invalid("token", "the token's act claim is nested (an actor acting for an actor): chaining is refused")
	}
	var sub string
	if json.Unmarshal(g.Act["sub"], &sub) != nil || sub != s.Impersonator {
		return invalid("token", "the token's act is not this session's impersonator")
	}
	return nil
}

// SessionInfo is a session with the people in it, as the HTTP API shows it.
type SessionInfo struct {
	Session
	ImpersonatorUser User
	TargetUser       User
}

// SessionStatus returns a session for an API key. Every product learns of
// every session (the stream carries them all), so any valid key may ask.
func (c *Core) SessionStatus(p Principal, sessionID string) (SessionInfo, error) {
	if _, err := c.allowed(p, product("session status is for API keys")); err != nil {
		return SessionInfo{}, err
	}
	var info SessionInfo
	err := c.st.View(func(tx ReadTx) error {
		var err error
		info, err = sessionInfo(tx, sessionID)
		return err
	})
	return info, err
}

func sessionInfo(tx ReadTx, id string) (SessionInfo, error) {
	s, err := tx.Session(id)
	if err != nil {
		return SessionInfo{}, notFound("no session %s", Display(id))
	}
	imp, _ := tx.User(s.Impersonator)
	target, _ := tx.User(s.Target)
	return SessionInfo{Session: s, ImpersonatorUser: imp, TargetUser: target}, nil
}

// SessionChange is a session.started or session.ended event as the
// stream delivers it.
type SessionChange struct {
	Seq  uint64
	Type string
	Info SessionInfo
}

// isSessionEvent reports whether a change is a session.started or
// session.ended event: what the stream delivers.
func isSessionEvent(ch Change) bool {
	ev := ch.Event
	return ch.Kind == ChangeAudit && ev != nil && (ev.Type == EvSessionStarted || ev.Type == EvSessionEnded)
}

// SubscribeSessionChanges subscribes a stream of API key p: the session
// events, and the revocation of that key, nothing else.
func (c *Core) SubscribeSessionChanges(p Principal, n int) (*Subscription, error) {
	if _, err := c.allowed(p, product("the stream is for API keys")); err != nil {
		return nil, err
	}
	return c.hub.SubscribeFunc(n, func(ch Change) bool {
		return isSessionEvent(ch) || (ch.Kind == ChangeAPIKey && ch.APIKey != nil && ch.APIKey.Name == p.APIKey && !ch.APIKey.Active())
	}), nil
}

// IsSessionChange reports whether a live change is one the stream
// delivers, and turns it into one.
func (c *Core) IsSessionChange(ch Change) (SessionChange, bool) {
	ev := ch.Event
	if !isSessionEvent(ch) {
		return SessionChange{}, false
	}
	var sc SessionChange
	err := c.st.View(func(tx ReadTx) error {
		info, err := sessionInfo(tx, ev.Session)
		sc = SessionChange{Seq: ev.Seq, Type: ev.Type, Info: info}
		return err
	})
	return sc, err == nil
}

// streamScanBudget bounds the records one catch-up call reads.
const streamScanBudget = 100_000

// SessionChangesSince returns the session.started and session.ended events
// after seq, oldest first, at most limit; through is the last seq it read,
// and done says that was the head of the log. A seq past the head is
// invalid: the product holds an id this log never gave.
func (c *Core) SessionChangesSince(p Principal, seq uint64, limit int) (out []SessionChange, through uint64, done bool, err error) {
	if _, err := c.allowed(p, product("the stream is for API keys")); err != nil {
		return nil, 0, false, err
	}
	var next uint64
	err = c.st.View(func(tx ReadTx) error {
		out, next, done, through = nil, 0, false, seq
		head, _, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if seq > head {
			return invalid("Last-Event-ID", "Last-Event-ID %d is past the end of the log (%d)", seq, head)
		}
		read := 0
		var ids []uint64
		var types []string
		var sessions []string
		err = tx.ScanAudit(seq+1, false, func(n uint64, rec []byte) bool {
			read++
			next = n + 1
			if typ := recordType(rec); typ == EvSessionStarted || typ == EvSessionEnded {
				ev, err := DecodeEvent(rec)
				if err == nil {
					ids, types, sessions = append(ids, n), append(types, typ), append(sessions, ev.Session)
				}
			}
			return len(ids) < limit && read < streamScanBudget
		})
		if err != nil {
			return err
		}
		if next > 0 {
			through = next - 1
		}
		done = through >= head
		for i := range ids {
			info, err := sessionInfo(tx, sessions[i])
			if err != nil {
				continue
			}
			out = append(out, SessionChange{Seq: ids[i], Type: types[i], Info: info})
		}
		return nil
	})
	return out, through, done, err
}

// recordType reads an audit record's type without decoding the rest.
func recordType(rec []byte) string {
	body, start, end, err := recordFields(rec, 1)
	if err != nil {
		return ""
	}
	return string(body[start[0]:end[0]])
}
