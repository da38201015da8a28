package core

import "time"

// Up-front answers: what a person may do now, each action allowed (nil)
// or refused with the reason core would give, read in one transaction and
// recording nothing. Consoles disable keys and say why with them; the
// actions themselves check again, authoritatively.

// RequestActions says what one viewer may do with one request.
type RequestActions struct {
	Decide error // approve or deny
	Cancel error // withdraw it (the requester's own, while pending)
	// Blocked says, for a pending request, what would stop its session
	// from starting now (the target has no consent, is not active, …),
	// so an approver knows before approving; nil when nothing does.
	Blocked error
}

// RequestActionsFor answers RequestActions for each of the requests ids.
func (c *Core) RequestActionsFor(p Principal, ids []string) (map[string]RequestActions, error) {
	out := make(map[string]RequestActions, len(ids))
	err := c.st.View(func(tx ReadTx) error {
		me, err := authorize(tx, p, see(CapApprovals))
		if err != nil {
			return err
		}
		var decide error // nil for the command line, as authorize has it
		if p.System == "" {
			decide = permits(tx, me, ActDecide.need())
		}
		t := &txn{c: c, now: c.clock.Now()}
		t.Tx = readOnly{tx}
		for _, id := range ids {
			r, err := t.Request(id)
			if err != nil {
				continue
			}
			var a RequestActions
			a.Decide = decide
			if decide == nil {
				if e := decideRefusal(me, r, t.c.orgSnapshot(), t.now); e != nil {
					a.Decide = e
				}
			}
			if e := cancelRefusal(me, r); e != nil {
				a.Cancel = e
			}
			if r.Status == RequestPending {
				if requester, err := t.User(r.Requester); err == nil {
					// The checks of the start this approval allows:
					// the request approved, no session running yet.
					k, err := t.startBasis(requester, r.Target)
					if err != nil {
						return err
					}
					k.request = &Request{}
					if e := checkStart(k); e != nil {
						a.Blocked = e
					}
				}
			}
			out[id] = a
		}
		return nil
	})
	return out, err
}

// SelfActions says what people may do with their own account.
type SelfActions struct {
	Consent  error // grant, change or revoke their consent
	Settings error // change the policy and the staff's modes (owners)
}

// SelfActionsFor answers SelfActions for p.
func (c *Core) SelfActionsFor(p Principal) (SelfActions, error) {
	var a SelfActions
	if p.System != "" {
		return a, nil
	}
	err := c.st.View(func(tx ReadTx) error {
		// p is a person (the command line left above): ask about each
		// change for the person authorize read.
		me, err := authorize(tx, p, see(""))
		if err != nil {
			return err
		}
		a.Consent = permits(tx, me, own("changing consent"))
		a.Settings = permits(tx, me, change(CapSettings, "changing settings"))
		return nil
	})
	return a, err
}

// decideRefusal is why approver may not decide r now, or nil: the rules
// of Decide that depend on the request.
func decideRefusal(approver User, r Request, orgs map[string]Org, now time.Time) *Error {
	switch {
	case r.Status != RequestPending:
		return refuse(CodeAlreadyDecided, "request %s is already %s", r.ID, r.Status)
	case !now.Before(r.Expires):
		return refuse(CodeAlreadyDecided, "request %s has expired", r.ID)
	case r.Requester == approver.ID:
		return refuse(CodeOwnRequest, "you cannot decide your own request — another approver must")
	case !inSubtree(orgs, approver.Org, r.Org):
		return refuse(CodeOutsideOrg, "this request is outside your organisation")
	}
	for _, dec := range r.Decisions {
		if dec.Approver == approver.ID {
			return refuse(CodeAlreadyApproved, "you already approved this request — it needs another approver")
		}
	}
	return nil
}

// cancelRefusal is why who may not cancel r, or nil.
func cancelRefusal(who User, r Request) *Error {
	switch {
	case r.Requester != who.ID:
		return refuse(CodeNotPermitted, "only the requester can cancel a request")
	case r.Status != RequestPending:
		return refuse(CodeAlreadyDecided, "request %s is already %s", r.ID, r.Status)
	}
	return nil
}

// impersonatingRefusal refuses action while its person impersonates.
func impersonatingRefusal(action string) *Error {
	return refuse(CodeImpersonating, "not while impersonating: %s is refused — press ctrl+x to go back to yourself first", action)
}

// UserActions says what one person may do with another (the Users menu):
// each field is nil when allowed, or the refusal core would give.
type UserActions struct {
	Impersonate error // start a session as them now
	Request     error // ask the approvers to impersonate them
	Sessions    error // list their sessions
	Audit       error // read the events about them
	// Admin holds an owner's steps on them (suspend, delete, edit, keys).
	Admin map[AdminAction]error
}

// ActionsOn answers UserActions for p and the user, in one read
// transaction, recording nothing. The actions check again when taken.
func (c *Core) ActionsOn(p Principal, userID string) (UserActions, error) {
	a := UserActions{Admin: map[AdminAction]error{}}
	err := c.st.View(func(tx ReadTx) error {
		me, err := authorize(tx, p, see(""))
		if err != nil {
			return err
		}
		target, err := tx.User(userID)
		if err != nil {
			return notFound("no such user")
		}
		t := &txn{c: c, now: c.clock.Now()}
		t.Tx = readOnly{tx}
		a.Impersonate, err = impersonateRefusal(t, p, me, userID)
		if err != nil {
			return err
		}
		a.Request, err = requestRefusal(t, p, me, userID)
		if err != nil {
			return err
		}
		_, a.Sessions = sessionsReader(tx, p, userID)
		_, a.Audit = auditReader(tx, p, AuditQuery{Subject: userID}, c.orgSnapshot())
		for _, act := range []AdminAction{AdminSuspend, AdminDelete, AdminEdit, AdminKeys} {
			if _, err := authorize(tx, p, change(CapAdmin, adminWhat[act])); err != nil {
				a.Admin[act] = err
				continue
			}
			a.Admin[act] = adminRefusal(tx, p, me, target, act)
		}
		return nil
	})
	return a, err
}

// impersonateRefusal is why p (me) may not start impersonating the
// target now (checkStart), or nil; err is a failure to read.
func impersonateRefusal(t *txn, p Principal, me User, targetID string) (refusal, err error) {
	if p.System != "" || p.User.ID == "" {
		return refuse(CodeNotPermitted, "the command line cannot impersonate"), nil
	}
	k, err := t.gather(me, targetID)
	if err != nil {
		return nil, err
	}
	if e := checkStart(k); e != nil {
		return e, nil
	}
	return nil, nil
}

// requestRefusal is why p (me) may not ask to impersonate the target now,
// or nil; err is a failure to read.
func requestRefusal(t *txn, p Principal, me User, targetID string) (refusal, err error) {
	if p.System != "" || p.User.ID == "" {
		return refuse(CodeNotPermitted, "the command line cannot impersonate"), nil
	}
	if _, err := authorize(t, p, own("requesting another impersonation")); err != nil {
		return err, nil
	}
	target, err := t.checkEligible(me, targetID)
	if err != nil {
		return err, nil
	}
	return noPendingRequest(t, me, target), nil
}

// Act is a change the console offers with a key on its tabs, named by
// what core's refusal calls it. Its need is the one the change itself
// asks of authorize, so the answer up front is the answer at the key.
type Act string

const (
	ActDecide    Act = "deciding a request"    // approve or deny (Decide)
	ActTerminate Act = "terminating a session" // end someone's session (Terminate)
)

// need is what authorize asks of whoever takes the act.
func (a Act) need() need {
	if a == ActDecide {
		return change(CapApprove, string(a))
	}
	return change(CapSettings, string(a))
}

func acts() []Act { return []Act{ActDecide, ActTerminate} }

// Abilities is what the console may offer a person now, as core decides
// it from their current record: the tabs it shows (and the owners' items
// of the Users menu), for whom it shows — the person, or while they
// impersonate, the target (the console shows the target's tabs) — and the
// acts the person may take themselves, the impersonation block included.
// Each is nil when allowed, or the refusal core would give. The zero
// Abilities (not asked yet) allows nothing.
type Abilities struct {
	// Viewer is whom the console shows: the person, or the target of the
	// session they run as impersonator.
	Viewer User
	shows  map[Capability]error
	may    map[Act]error
}

// Shows is nil when the console shows the viewer what cp guards (a tab;
// "" is everyone's), or why not.
func (a Abilities) Shows(cp Capability) error {
	if cp == "" {
		return nil
	}
	if err, ok := a.shows[cp]; ok {
		return err
	}
	return refuse(CodeNotPermitted, "%s", capNeeds[cp])
}

// May is nil when the person may take act now, or core's refusal.
func (a Abilities) May(act Act) error {
	if err, ok := a.may[act]; ok {
		return err
	}
	return refuse(CodeNotPermitted, "%s is not known to be allowed yet", act)
}

// Abilities answers Abilities for p in one read transaction, recording
// nothing; every change checks again when it is made. The command line
// (p.System) may do everything.
func (c *Core) Abilities(p Principal) (Abilities, error) {
	a := Abilities{shows: map[Capability]error{}, may: map[Act]error{}}
	err := c.st.View(func(tx ReadTx) error {
		me, err := authorize(tx, p, see(""))
		if err != nil {
			return err
		}
		if p.System != "" {
			for _, cp := range capabilities() {
				a.shows[cp] = nil
			}
			for _, act := range acts() {
				a.may[act] = nil
			}
			return nil
		}
		a.Viewer = me
		if s, ok, err := sessionBy(tx, me.ID); err != nil {
			return err
		} else if ok {
			if a.Viewer, err = tx.User(s.Target); err != nil {
				return notFound("the person you act as no longer exists")
			}
		}
		for _, cp := range capabilities() {
			a.shows[cp] = permits(tx, a.Viewer, see(cp))
		}
		for _, act := range acts() {
			a.may[act] = permits(tx, me, act.need())
		}
		return nil
	})
	return a, err
}
