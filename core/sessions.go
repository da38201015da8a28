package core

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// startCheck is what the rules of "Starting a session" need to know.
type startCheck struct {
	policy  Policy
	imp     User
	target  User
	active  []Session
	orgs    map[string]Org
	request *Request // the approved request that would be used, if any
	pending *Request // else the pair's request still waiting for approvers, if any
	now     time.Time
}

// checkStart applies the rules, in the order of DESIGN "Starting a
// session", and returns the first refusal.
func checkStart(k startCheck) *Error {
	imp, tgt := k.imp, k.target
	name := tgt.DisplayName()
	switch {
	case !k.policy.Enabled:
		return refuse(CodeFeatureDisabled, "impersonation is turned off by policy — an owner can enable it under Settings")
	case imp.Status != StatusActive || imp.Kind != KindHuman:
		return refuse(CodeNotPermitted, "your account is %s/%s: only active people may impersonate", imp.Status, imp.Kind)
	case imp.Mode == ModeNever || imp.Mode == "":
		return refuse(CodeNotPermitted, "you are not permitted to impersonate — an owner can change your mode under Settings")
	case imp.ID == tgt.ID:
		return refuse(CodeSelf, "you cannot impersonate yourself")
	}
	for _, s := range k.active {
		if s.Impersonator == imp.ID {
			return refuse(CodeAlreadyImpersonating, "you are already impersonating someone — end that session first (ctrl+x)")
		}
	}
	// No chaining the other way either: someone who is acting as another
	// user cannot be acted as.
	for _, s := range k.active {
		if s.Impersonator == tgt.ID {
			return refuse(CodeTargetImpersonating, "%s is impersonating someone right now and cannot be impersonated until that session ends", name)
		}
	}
	switch {
	case tgt.Status != StatusActive:
		return refuse(CodeTargetInactive, "%s is %s: only active users can be impersonated", name, tgt.Status)
	case tgt.Kind != KindHuman:
		return refuse(CodeTargetKind, "%s is a %s account: only people can be impersonated", name, tgt.Kind)
	case tgt.Role == RoleSysadmin:
		return refuse(CodeSysadmin, "sysadmins can never be impersonated")
	case tgt.Role.Level() > imp.Role.Level():
		return refuse(CodeHigherPrivilege, "%s has higher privilege (%s) than you (%s)", name, tgt.Role, imp.Role)
	case !inSubtree(k.orgs, imp.Org, tgt.Org):
		return refuse(CodeOutsideOrg, "%s is outside your organisation", name)
	case k.policy.RequireConsent && !tgt.ConsentActive(k.now):
		return refuse(CodeNoConsent, "%s has not granted consent — ask them to enable it under Account", name)
	case imp.Mode == ModeRequest && k.request == nil && k.pending != nil:
		return refuse(CodeNeedsApproval, "your request %s to impersonate %s is waiting for an approver — you can start once it is approved", k.pending.ID, name)
	case imp.Mode == ModeRequest && k.request == nil:
		return refuse(CodeNeedsApproval, "you need an approved request to impersonate %s — press r to request one", name)
	}
	return nil
}

// usableRequest finds an approved, unused, unexpired request for the pair.
func usableRequest(tx ReadTx, imp, target string, now time.Time) (*Request, error) {
	reqs, err := tx.Requests(RequestApproved, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if r.Requester == imp && r.Target == target && r.UsedBy == "" && now.Before(r.Expires) {
			return &r, nil
		}
	}
	return nil, nil
}

// startBasis reads what checkStart needs but the sessions running now and
// the pair's requests: the policy, the target and the orgs. It is all that
// the checks of a request (checkEligible, RequestActions' Blocked) use.
func (t *txn) startBasis(imp User, targetID string) (startCheck, error) {
	k := startCheck{imp: imp, now: t.now}
	var err error
	if k.policy, err = t.currentPolicy(); err != nil {
		return k, err
	}
	if k.target, err = t.User(targetID); err != nil {
		return k, notFound("no user %s", targetID)
	}
	k.orgs, _, err = orgsByID(t)
	return k, err
}

// gather reads what checkStart needs inside a transaction.
func (t *txn) gather(imp User, targetID string) (startCheck, error) {
	k, err := t.startBasis(imp, targetID)
	if err != nil {
		return k, err
	}
	if k.active, err = t.ActiveSessions(); err != nil {
		return k, err
	}
	if imp.Mode == ModeRequest {
		if k.request, err = usableRequest(t, imp.ID, targetID, t.now); err != nil || k.request != nil {
			return k, err
		}
		k.pending, err = pendingRequest(t, imp.ID, targetID)
	}
	return k, err
}

// StartNeedsReason says whether Start, for p, needs a reason typed in:
// policy require_reason holds and p starts sessions directly (in request
// mode the approved request carries its reason).
func (c *Core) StartNeedsReason(p Principal) bool {
	me, err := c.allowed(p, see(""))
	return err == nil && c.Policy().RequireReason && me.Mode == ModeDirect
}

// Start begins an impersonation of the target by p. Every refusal is also
// recorded as session.denied with its reason code.
//
// The reason follows the rules of a request's: at most 500 characters of
// plain text, and required when policy require_reason holds — except for a
// session that uses an approved request, which carries the request's.
func (c *Core) Start(p Principal, targetID, reason string) (Session, error) {
	reason, err := checkText("reason", reason, 0, MaxReasonLen)
	if err != nil {
		return Session{}, err
	}
	var sess Session
	var denial *Error
	var link ProductLink
	ticket := newSecret("")
	err = c.update(func(t *txn) error {
		denial, link = nil, ProductLink{}
		if p.System != "" {
			return refuse(CodeNotPermitted, "the command line cannot impersonate")
		}
		imp, err := authorize(t, p, see(""))
		if err != nil {
			return err
		}
		k, err := t.gather(imp, targetID)
		if err != nil {
			return err
		}
		if k.policy.RequireReason && reason == "" && k.request == nil && checkStart(k) == nil {
			return invalid("reason", "a reason is required to impersonate (policy require_reason): say why, e.g. the ticket number")
		}
		if denial = checkStart(k); denial != nil {
			_, err := t.record(Event{Type: EvSessionDenied, Actor: imp.Ref(), Subject: k.target.Ref(), Org: k.target.Org,
				Result: ResultDenied, Reason: string(denial.Code)}, map[string]any{"message": denial.Message, "fingerprint": p.Fingerprint})
			return err
		}
		n, err := t.NextID("session")
		if err != nil {
			return err
		}
		dur := k.policy.DefaultPick()
		if k.request != nil {
			dur = k.request.Duration
		}
		ends := t.now.Add(min(dur, k.policy.MaxDuration))
		if k.policy.RequireConsent && k.target.ConsentUntil.Before(ends) {
			ends = k.target.ConsentUntil
		}
		sess = Session{ID: formatID("imp", n), Impersonator: imp.ID, Target: k.target.ID, Org: k.target.Org,
			Reason: reason, Conn: p.Conn, Started: t.now, Ends: ends, Status: SessionActive}
		if k.request != nil {
			sess.Request = k.request.ID
			sess.Reason = k.request.Reason
			k.request.UsedBy = sess.ID
			if err := t.PutRequest(*k.request); err != nil {
				return err
			}
		}
		if err := t.PutSession(sess); err != nil {
			return err
		}
		if _, err := t.record(Event{Type: EvSessionStarted, Actor: imp.Ref(), Subject: k.target.Ref(), Org: k.target.Org,
			Session: sess.ID, Request: sess.Request, Reason: sess.Reason},
			map[string]any{"ends": ends.Format(time.RFC3339), "fingerprint": p.Fingerprint, "remote": p.Remote}); err != nil {
			return err
		}
		if k.policy.ProductURL != "" {
			exp, err := t.issueTicket(sess.ID, ticket)
			if err != nil {
				return err
			}
			link = ProductLink{Session: sess.ID, URL: productURL(k.policy.ProductURL, ticket), Expires: exp}
		}
		sess, _ = t.Session(sess.ID)
		s := sess
		t.publish(Change{Kind: ChangeSession, Session: &s})
		return nil
	})
	if err != nil {
		return Session{}, err
	}
	if denial != nil {
		return Session{}, denial
	}
	if link.URL != "" {
		c.mu.Lock()
		if _, running := c.active[sess.ID]; running {
			c.links[sess.ID] = link
		}
		c.mu.Unlock()
	}
	return sess, nil
}

// endSession ends an active session and records why.
func (t *txn) endSession(s Session, reason EndReason, by Ref) error {
	if !s.Active() {
		return nil
	}
	imp, _ := t.User(s.Impersonator)
	target, _ := t.User(s.Target)
	s.Status, s.Ended, s.EndReason = SessionEnded, t.now, reason
	if err := t.PutSession(s); err != nil {
		return err
	}
	actor := imp.Ref()
	details := map[string]any{"duration": t.now.Sub(s.Started).Round(time.Second).String(), "ended_by": by.String()}
	if _, err := t.record(Event{Type: EvSessionEnded, Actor: actor, Subject: target.Ref(), Org: s.Org,
		Session: s.ID, Request: s.Request, Reason: string(reason)}, details); err != nil {
		return err
	}
	s, _ = t.Session(s.ID)
	t.publish(Change{Kind: ChangeSession, Session: &s})
	return nil
}

// endSessionsWhere ends every active session that match holds for.
func (t *txn) endSessionsWhere(match func(Session) bool, reason EndReason, by Ref) error {
	act, err := t.ActiveSessions()
	if err != nil {
		return err
	}
	for _, s := range act {
		if match(s) {
			if err := t.endSession(s, reason, by); err != nil {
				return err
			}
		}
	}
	return nil
}

// endSessionsOn ends every active session whose target or impersonator is
// the user.
func (t *txn) endSessionsOn(userID string, reason EndReason, by Ref) error {
	return t.endSessionsWhere(func(s Session) bool { return s.Target == userID || s.Impersonator == userID }, reason, by)
}

// endSessionsBy ends every active session the user runs as impersonator.
func (t *txn) endSessionsBy(userID string, reason EndReason, by Ref) error {
	return t.endSessionsWhere(func(s Session) bool { return s.Impersonator == userID }, reason, by)
}

// applyPolicyToSessions makes running sessions obey a changed policy at
// once: turning impersonation off ends them all; a lower max_duration
// brings each one's end forward to start + max_duration, ending those that
// have already run that long.
func (t *txn) applyPolicyToSessions(old, np Policy, by Ref) (shortened int, err error) {
	act, err := t.ActiveSessions()
	if err != nil {
		return 0, err
	}
	for _, s := range act {
		switch limit := s.Started.Add(np.MaxDuration); {
		case !np.Enabled:
			err = t.endSession(s, EndPolicyDisabled, by)
		case np.MaxDuration >= old.MaxDuration || !s.Ends.After(limit):
			continue
		case !limit.After(t.now):
			err = t.endSession(s, EndExpired, by)
		default:
			s.Ends = limit
			if err = t.PutSession(s); err == nil {
				ss := s
				t.publish(Change{Kind: ChangeSession, Session: &ss})
				shortened++
			}
		}
		if err != nil {
			return shortened, err
		}
	}
	return shortened, nil
}

// End ends p's own active session ("back to me").
func (c *Core) End(p Principal, reason EndReason) error {
	return c.update(func(t *txn) error {
		me, err := authorize(t, p, see(""))
		if err != nil {
			return err
		}
		s, ok, err := sessionBy(t, me.ID)
		if err != nil {
			return err
		}
		if !ok || p.System != "" {
			return refuse(CodeNotFound, "you are not impersonating anyone")
		}
		return t.endSession(s, reason, p.ref())
	})
}

// EndConn ends the sessions started by one connection, e.g. when it drops
// and policy end_on_disconnect holds, or the console quits.
func (c *Core) EndConn(conn string, reason EndReason) error {
	if conn == "" {
		return nil
	}
	c.forgetLogin(conn)
	if reason == EndDisconnect && !c.Policy().EndOnDisconnect {
		return nil
	}
	return c.endConnSessions(conn, reason, Ref{ID: "system"})
}

// endConnSessions ends, one by one, the active sessions conn started.
func (c *Core) endConnSessions(conn string, reason EndReason, by Ref) error {
	for _, s := range c.SystemActiveSessions() {
		if s.Conn == conn {
			if err := c.endByID(s.ID, reason, by); err != nil {
				return err
			}
		}
	}
	return nil
}

// Quit ends the sessions p's console started, because p quit it (q): the
// end is recorded as theirs, reason exit.
func (c *Core) Quit(p Principal) error {
	if p.Conn == "" {
		return nil
	}
	return c.endConnSessions(p.Conn, EndExit, p.ref())
}

// Terminate lets an owner end anyone's session.
func (c *Core) Terminate(p Principal, sessionID string) error {
	n := ActTerminate.need()
	if err := c.check(p, n); err != nil {
		return err
	}
	return c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		s, err := t.Session(sessionID)
		if err != nil {
			return notFound("no session %s", sessionID)
		}
		return t.endSession(s, EndTerminated, p.ref())
	})
}

// Shutdown ends every active session with reason server_shutdown.
func (c *Core) Shutdown() error {
	var errs []error
	for _, s := range c.SystemActiveSessions() {
		errs = append(errs, c.endByID(s.ID, EndShutdown, Ref{ID: "system"}))
	}
	return errors.Join(errs...)
}

func (c *Core) endByID(id string, reason EndReason, by Ref) error {
	return c.update(func(t *txn) error {
		s, err := t.Session(id)
		if err != nil {
			return notFound("no session %s", id)
		}
		return t.endSession(s, reason, by)
	})
}

// SystemActiveSessionOf returns the session the user is running as
// impersonator, from memory. System API: no principal; people ask
// MySession.
func (c *Core) SystemActiveSessionOf(userID string) (Session, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.active {
		if s.Impersonator == userID {
			return s, true
		}
	}
	return Session{}, false
}

// SystemActiveSessions lists running sessions, newest first, from memory.
// System API: no principal; people ask VisibleActiveSessions.
func (c *Core) SystemActiveSessions() []Session {
	c.mu.RLock()
	out := make([]Session, 0, len(c.active))
	for _, s := range c.active {
		out = append(out, s)
	}
	c.mu.RUnlock()
	sortSessions(out)
	return out
}

// SystemSession returns one session. System API: no principal (the
// command line); people ask SessionFor.
func (c *Core) SystemSession(id string) (Session, error) {
	var s Session
	err := c.st.View(func(tx ReadTx) error {
		var err error
		s, err = tx.Session(id)
		if err != nil {
			return notFound("no session %s", id)
		}
		return nil
	})
	return s, err
}

// Sessions lists what p may see: active first, then history newest first,
// from before ("" = the newest), at most limit; target != "" keeps one
// user's sessions. Staff see sessions in their org subtree; a member sees
// only the sessions on themselves.
func (c *Core) Sessions(p Principal, target, before string, limit int) ([]Session, error) {
	var out []Session
	var me User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		if me, err = sessionsReader(tx, p, target); err != nil {
			return err
		}
		out, err = tx.Sessions(target, before, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.visibleSessions(p, me, out), nil
}

// VisibleActiveSessions lists the running sessions p may see, newest
// first, with the same visibility as Sessions; target != "" keeps one
// user's sessions.
func (c *Core) VisibleActiveSessions(p Principal, target string) ([]Session, error) {
	var me User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		me, err = sessionsReader(tx, p, target)
		return err
	})
	if err != nil {
		return nil, err
	}
	list := c.SystemActiveSessions()
	if target != "" {
		out := list[:0]
		for _, s := range list {
			if s.Target == target {
				out = append(out, s)
			}
		}
		list = out
	}
	return c.visibleSessions(p, me, list), nil
}

// sessionsReader authorizes p to list sessions: staff, or anyone for the
// sessions on themselves (target is their own ID).
func sessionsReader(tx ReadTx, p Principal, target string) (User, error) {
	me, err := authorize(tx, p, see(CapSessions))
	if err != nil && CodeOf(err) == CodeNotPermitted && target != "" && target == p.User.ID {
		return authorize(tx, p, see(""))
	}
	return me, err
}

// visibleSessions keeps the sessions of list that p (me, as authorize read
// them) may see.
func (c *Core) visibleSessions(p Principal, me User, list []Session) []Session {
	if p.System != "" {
		return list
	}
	orgs := c.orgSnapshot()
	out := list[:0]
	for _, s := range list {
		if sessionVisible(me, orgs, s) {
			out = append(out, s)
		}
	}
	return out
}

// sortSessions orders sessions newest first (IDs grow with time).
func sortSessions(s []Session) {
	slices.SortFunc(s, func(a, b Session) int { return strings.Compare(b.ID, a.ID) })
}

// TimeLeft is how long the session has before it ends on its own.
func (s Session) TimeLeft(now time.Time) time.Duration { return max(s.Ends.Sub(now), 0) }

// readOnly lets read-only code share txn helpers; its writes fail.
type readOnly struct{ ReadTx }

var errReadOnly = errors.New("read-only transaction")

func (readOnly) NextID(string) (uint64, error)  { return 0, errReadOnly }
func (readOnly) PutOrg(Org) error               { return errReadOnly }
func (readOnly) PutPolicy(Policy) error         { return errReadOnly }
func (readOnly) PutUser(User) error             { return errReadOnly }
func (readOnly) PutKey(Key) error               { return errReadOnly }
func (readOnly) DeleteKey(string) error         { return errReadOnly }
func (readOnly) PutRequest(Request) error       { return errReadOnly }
func (readOnly) PutSession(Session) error       { return errReadOnly }
func (readOnly) AppendAudit(AuditAppend) error  { return errReadOnly }
func (readOnly) PutChannel(Channel) error       { return errReadOnly }
func (readOnly) DeleteChannel(string) error     { return errReadOnly }
func (readOnly) PutSMTP(SMTPConfig) error       { return errReadOnly }
func (readOnly) PutOutbox(OutboxMessage) error  { return errReadOnly }
func (readOnly) DeleteOutbox(string) error      { return errReadOnly }
func (readOnly) PutCheckpoint(Checkpoint) error { return errReadOnly }
func (readOnly) PutAPIKey(APIKey) error         { return errReadOnly }
func (readOnly) PutTicket(Ticket) error         { return errReadOnly }
