package hostkit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// session is one actas session hostkit has seen a valid token for.
type session struct {
	id    string
	view  atomic.Pointer[Impersonation] // replaced, never changed in place
	token atomic.Pointer[verified]      // the freshest token
	ended atomic.Bool

	// owned by the refresher goroutine
	refreshAt time.Time
	infoAt    time.Time // when to read the session from actas; zero once read
}

// tokenEntry maps a cookie value to its session.
type tokenEntry struct {
	sess *session
	exp  time.Time // the token's own expiry
}

// maxTokens bounds the cache of verified cookie values.
const maxTokens = 100_000

// current returns the live session a cookie value belongs to, verifying the
// token the first time it is seen. stale is set when the cookie should be
// cleared (a bad, ended or foreign token); fresh is the session's newer
// token when the cookie holds an older one.
func (k *Kit) current(ctx context.Context, cookie string) (s *session, fresh string, stale bool) {
	k.mu.RLock()
	te := k.tokens[cookie]
	k.mu.RUnlock()
	if te == nil {
		var err error
		te, err = k.admit(ctx, cookie)
		if err != nil {
			return nil, "", !errors.Is(err, errNoAudience) && !isTransient(err)
		}
	}
	s = te.sess
	if s.ended.Load() {
		return nil, "", true
	}
	tok := s.token.Load()
	if time.Now().After(tok.exp.Add(leeway)) {
		// actas has not renewed it (down, or the session just ended): not
		// impersonated for now, but the cookie stays for when it is back.
		return nil, "", false
	}
	if tok.raw != cookie {
		fresh = tok.raw
	}
	return s, fresh, false
}

// admit verifies a cookie value seen for the first time and files it under
// its session, creating the session when hostkit did not know it.
func (k *Kit) admit(ctx context.Context, raw string) (*tokenEntry, error) {
	v, err := k.verify(ctx, raw, false)
	if err != nil && !errors.Is(err, errExpired) {
		return nil, err
	}
	sid := v.claims.Sid
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, gone := k.ended[sid]; gone {
		return nil, errors.New("session ended")
	}
	s := k.sessions[sid]
	if s == nil {
		if errors.Is(err, errExpired) {
			return nil, err // nothing fresher to fall back on
		}
		s = k.newSessionLocked(v)
	} else if err == nil && v.exp.After(s.token.Load().exp) {
		s.token.Store(v)
	}
	te := &tokenEntry{sess: s, exp: v.exp}
	if len(k.tokens) < maxTokens {
		k.tokens[raw] = te
	}
	return te, nil
}

// enter files the token a ticket was redeemed for. actas just gave it, so
// the session runs, even if this product ended it on its own before (End
// when actas could not be told).
func (k *Kit) enter(v *verified) *session {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.ended, v.claims.Sid)
	s := k.sessions[v.claims.Sid]
	if s == nil {
		s = k.newSessionLocked(v)
	} else if v.exp.After(s.token.Load().exp) {
		s.token.Store(v)
	}
	if len(k.tokens) < maxTokens {
		k.tokens[v.raw] = &tokenEntry{sess: s, exp: v.exp}
	}
	return s
}

func (k *Kit) newSessionLocked(v *verified) *session {
	c := &v.claims
	s := &session{id: c.Sid}
	s.view.Store(&Impersonation{
		Session:      c.Sid,
		Impersonator: Person{ID: c.Act.Sub, Email: c.Act.Email},
		Target:       Person{ID: c.Subject, Email: c.Email},
	})
	s.token.Store(v)
	s.infoAt = time.Now()
	s.refreshAt = refreshTime(v)
	k.sessions[c.Sid] = s
	k.poke()
	return s
}

// refreshTime is when two thirds of a token's life have passed.
func refreshTime(v *verified) time.Time {
	life := v.exp.Sub(v.iat)
	if life <= 0 {
		return time.Now()
	}
	return v.iat.Add(life * 2 / 3)
}

func (k *Kit) poke() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// drop forgets a session that ended: its cookies stop working at once.
func (k *Kit) drop(sid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ended[sid] = time.Now()
	s := k.sessions[sid]
	if s == nil {
		return
	}
	s.ended.Store(true)
	delete(k.sessions, sid)
	for raw, te := range k.tokens {
		if te.sess == s {
			delete(k.tokens, raw)
		}
	}
}

// endedKeep is how long hostkit remembers an ended session: longer than any
// token lives (5 minutes), so no token of it is accepted again.
const endedKeep = 15 * time.Minute

// refresher renews every live session's token before it expires and reads
// each new session from actas (names, end time).
func (k *Kit) refresher() {
	defer k.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := k.refreshDue()
		timer.Reset(time.Until(next))
		select {
		case <-k.ctx.Done():
			return
		case <-timer.C:
		case <-k.wake:
		}
	}
}

// refreshDue does the work that is due and returns when to look again.
func (k *Kit) refreshDue() time.Time {
	now := time.Now()
	next := now.Add(time.Minute)
	type work struct {
		s             *session
		info, refresh bool
	}
	var due []work
	k.mu.Lock()
	for _, s := range k.sessions {
		w := work{s: s, info: !s.infoAt.IsZero() && !s.infoAt.After(now), refresh: !s.refreshAt.After(now)}
		if w.info || w.refresh {
			due = append(due, w)
		}
	}
	for sid, t := range k.ended {
		if now.Sub(t) > endedKeep {
			delete(k.ended, sid)
		}
	}
	// Old tokens of live sessions: a cookie still holding one is verified
	// again and filed anew, so forgetting them only bounds the cache.
	for raw, te := range k.tokens {
		if now.Sub(te.exp) > time.Minute && te.sess.token.Load().raw != raw {
			delete(k.tokens, raw)
		}
	}
	k.mu.Unlock()
	for _, w := range due {
		if k.ctx.Err() != nil {
			return now
		}
		if w.info {
			k.readSession(k.ctx, w.s)
		}
		if w.refresh && !w.s.ended.Load() {
			k.refreshToken(w.s)
		}
	}
	k.mu.RLock()
	for _, s := range k.sessions {
		if s.refreshAt.Before(next) {
			next = s.refreshAt
		}
		if !s.infoAt.IsZero() && s.infoAt.Before(next) {
			next = s.infoAt
		}
	}
	k.mu.RUnlock()
	return next
}

// refreshToken asks actas for a fresh token: POST /v1/sessions/{sid}/token.
// 410 or 404 means the session is over.
func (k *Kit) refreshToken(s *session) {
	var out struct {
		Token string `json:"token"`
	}
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	held := struct {
		Token string `json:"token"`
	}{s.token.Load().raw}
	err := k.call(ctx, http.MethodPost, "/v1/sessions/"+s.id+"/token", held, &out)
	if gone(err) {
		k.drop(s.id)
		return
	}
	if err == nil {
		var v *verified
		v, err = k.verify(ctx, out.Token, false)
		if err == nil && v.claims.Sid == s.id {
			k.mu.Lock()
			s.token.Store(v)
			s.refreshAt = refreshTime(v)
			if len(k.tokens) < maxTokens && !s.ended.Load() {
				k.tokens[v.raw] = &tokenEntry{sess: s, exp: v.exp}
			}
			k.mu.Unlock()
			return
		}
	}
	k.log.Warn("could not renew an impersonation token; retrying", "session", s.id, "err", err)
	k.mu.Lock()
	s.refreshAt = time.Now().Add(5 * time.Second)
	k.mu.Unlock()
}

// person decodes a person field of the session status: an object with id,
// email and name, or just an email.
func person(raw json.RawMessage) Person {
	var p struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if json.Unmarshal(raw, &p) == nil {
		return Person{ID: p.ID, Email: p.Email, Name: p.Name}
	}
	var email string
	if json.Unmarshal(raw, &email) == nil {
		return Person{Email: email}
	}
	return Person{}
}

// readSession reads GET /v1/sessions/{sid}: the people's names and when the
// session ends; an ended session is dropped.
func (k *Kit) readSession(ctx context.Context, s *session) {
	var out struct {
		State        string          `json:"state"`
		Impersonator json.RawMessage `json:"impersonator"`
		Target       json.RawMessage `json:"target"`
		EndsAt       time.Time       `json:"ends_at"`
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := k.call(ctx, http.MethodGet, "/v1/sessions/"+s.id, nil, &out)
	if gone(err) || (err == nil && out.State == "ended") {
		k.drop(s.id)
		return
	}
	if err != nil {
		k.log.Warn("could not read an impersonation session; retrying", "session", s.id, "err", err)
		k.mu.Lock()
		s.infoAt = time.Now().Add(5 * time.Second)
		k.mu.Unlock()
		return
	}
	old := s.view.Load()
	view := *old
	merge := func(dst *Person, p Person) {
		if p.Name != "" {
			dst.Name = p.Name
		}
		if dst.Email == "" {
			dst.Email = p.Email
		}
	}
	merge(&view.Impersonator, person(out.Impersonator))
	merge(&view.Target, person(out.Target))
	view.EndsAt = out.EndsAt
	s.view.Store(&view)
	k.mu.Lock()
	s.infoAt = time.Time{}
	k.mu.Unlock()
}

// recheckAll reads every live session again (after the stream was
// interrupted without a position to resume from).
func (k *Kit) recheckAll() {
	k.mu.Lock()
	for _, s := range k.sessions {
		s.infoAt = time.Now()
	}
	k.mu.Unlock()
	k.poke()
}
