package core

// Capability is something a person may be allowed to do or see. The TUI
// shows a tab or an action only when core grants the capability.
type Capability string

const (
	CapUsers     Capability = "users"     // browse users (staff)
	CapApprovals Capability = "approvals" // see the approvals inbox (approvers, and staff who must request)
	CapApprove   Capability = "approve"   // decide requests
	CapSessions  Capability = "sessions"  // see sessions of their org subtree (staff)
	CapAudit     Capability = "audit"     // read the whole audit log (admins, owners, approvers)
	CapSettings  Capability = "settings"  // change policy, staff modes, approvers (owners)
	CapAdmin     Capability = "admin"     // add users, orgs and keys for others (owners)
)

// grants reports whether the user, by role and settings, has the capability.
func grants(u User, cp Capability) bool {
	if u.Status != StatusActive {
		return false
	}
	lvl := u.Role.Level()
	switch cp {
	case CapUsers, CapSessions:
		return u.Role.IsStaff()
	case CapApprovals:
		return u.Role.IsStaff() && (u.Approver || u.Mode == ModeRequest)
	case CapApprove:
		return u.Role.IsStaff() && u.Approver
	case CapAudit:
		return lvl >= RoleAdmin.Level() || (u.Role.IsStaff() && u.Approver)
	case CapSettings, CapAdmin:
		return lvl >= RoleOwner.Level()
	}
	return false
}

// capabilities lists every capability, in the order of the console's tabs.
func capabilities() []Capability {
	return []Capability{CapUsers, CapApprovals, CapApprove, CapSessions, CapAudit, CapSettings, CapAdmin}
}

// Authorization. Every public method of Core that acts for someone asks
// authorize, inside the transaction that reads or changes what it guards,
// with what it needs (a need). authorize and the functions it calls are
// every rule of who may do what:
//
//   - grants: the capabilities a role and its settings give (above);
//   - impersonatingRefusal, through need.solo: what nobody may do while
//     acting as someone else (notWhileImpersonating lists them);
//   - the rules about one thing, which callers apply to the person
//     authorize returns: checkStart (starting a session), decideRefusal and
//     cancelRefusal (requests), sessionVisible and eventVisible (what
//     someone sees), adminRefusal (an owner's steps on a person).

// need is what an entry point needs from whoever asks.
type need struct {
	cap     Capability // "" = anyone signed in (their own things)
	action  string     // what is refused, in words ("terminating a session")
	solo    bool       // refused while the person is impersonating
	product bool       // a host product's call: an API key, not a person
}

// see is the need of a read guarded by cp ("" = anyone's own things).
func see(cp Capability) need { return need{cap: cp} }

// change is the need of a change guarded by cp: administrative changes
// (notWhileImpersonating) are refused while impersonating.
func change(cp Capability, action string) need {
	return need{cap: cp, action: action, solo: notWhileImpersonating[cp]}
}

// product is the need of a host product's call (HTTP API): only an
// active API key may make it; refusal says so to anyone else.
func product(refusal string) need { return need{product: true, action: refusal} }

// own is the need of a change to one's own things that is refused while
// impersonating (consent, keys, another request).
func own(action string) need { return need{action: action, solo: true} }

// notWhileImpersonating lists the capabilities whose changes are refused
// while acting as someone: deciding requests, settings, administration.
var notWhileImpersonating = map[Capability]bool{CapApprove: true, CapSettings: true, CapAdmin: true}

// authorize is the one authorization function: it reads the person p is
// from tx (never the copy p took at login, nor an in-memory view: roles,
// status and sessions change), refuses what their role does not grant, and
// refuses what n says is off limits while they impersonate, reading their
// active session from tx. It returns the person as tx knows them, for the
// rules about the thing at hand. The operator at the command line (p.System)
// may do everything, and is returned as a zero User.
func authorize(tx ReadTx, p Principal, n need) (User, error) {
	if n.product || p.APIKey != "" {
		return User{}, productKey(tx, p, n)
	}
	if p.System != "" {
		return User{}, nil
	}
	if p.User.ID == "" {
		return User{}, refuse(CodeNotPermitted, "only people signed in to actas may do this")
	}
	me, err := tx.User(p.User.ID)
	if err != nil {
		return User{}, notFound("your account no longer exists")
	}
	return me, permits(tx, me, n)
}

// permits is authorize's rules for a person already read from tx (me, as
// authorize returned them): what their role grants, and what n says is off
// limits while they impersonate. It is for asking about several needs in
// one read.
func permits(tx ReadTx, me User, n need) error {
	if n.cap != "" && !grants(me, n.cap) {
		// The sentence as it is (no formatting): every console holds
		// these refusals in its Abilities.
		return &Error{Code: CodeNotPermitted, Message: capNeeds[n.cap]}
	}
	if n.solo {
		if _, ok, err := sessionBy(tx, me.ID); err != nil {
			return err
		} else if ok {
			return impersonatingRefusal(n.action)
		}
	}
	return nil
}

// productKey is authorize for a host product: only an API key that tx
// holds unrevoked makes product calls, and an API key makes nothing else.
func productKey(tx ReadTx, p Principal, n need) error {
	switch {
	case !n.product:
		return refuse(CodeNotPermitted, "an API key is for a host product's calls, not for %s", cmpOr(n.action, "this"))
	case p.APIKey == "":
		return refuse(CodeNotPermitted, "%s", n.action)
	}
	if k, err := tx.APIKey(p.APIKey); err != nil || !k.Active() {
		return refuse(CodeUnauthenticated, "unknown or revoked API key")
	}
	return nil
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// sessionBy is the active session the user runs as impersonator, as tx
// knows it.
func sessionBy(tx ReadTx, userID string) (Session, bool, error) {
	active, err := tx.ActiveSessions()
	if err != nil {
		return Session{}, false, err
	}
	for _, s := range active {
		if s.Impersonator == userID {
			return s, true, nil
		}
	}
	return Session{}, false, nil
}

// allowed runs authorize in a read transaction of its own, for a read
// whose data comes from elsewhere (the users' index, the in-memory lists).
func (c *Core) allowed(p Principal, n need) (User, error) {
	var me User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		me, err = authorize(tx, p, n)
		return err
	})
	return me, err
}

// viewAs authorizes n for p and runs read in the same read transaction:
// one transaction, and the listing is authorized against the state it reads.
func (c *Core) viewAs(p Principal, n need, read func(tx ReadTx) error) error {
	return c.st.View(func(tx ReadTx) error {
		if _, err := authorize(tx, p, n); err != nil {
			return err
		}
		return read(tx)
	})
}

// require checks a read capability for p (the command line has them all).
func (c *Core) require(p Principal, cp Capability) error {
	_, err := c.allowed(p, see(cp))
	return err
}

// capNeeds says who holds each capability, as a refusal.
var capNeeds = map[Capability]string{
	CapUsers:     "only staff can browse users",
	CapApprovals: "only approvers and staff in request mode use the approvals inbox",
	CapApprove:   "only approvers can decide requests — an owner can make you one under Settings",
	CapSessions:  "only staff can see sessions",
	CapAudit:     "only admins, owners and approvers can read the audit log",
	CapSettings:  "only owners can change settings",
	CapAdmin:     "only owners administer people, orgs and keys",
}

// guard authorizes a change p wants to make (authorize with change(cp,
// action)); a refusal is recorded as action.blocked.
func (c *Core) guard(p Principal, cp Capability, action string) error {
	return c.check(p, change(cp, action))
}

// check authorizes n for p, and records a refusal as action.blocked: with
// the session p runs when it is the impersonation block.
func (c *Core) check(p Principal, n need) error {
	_, err := c.allowed(p, n)
	if err == nil || CodeOf(err) == CodeNotFound {
		return err
	}
	if rerr := c.recordRefusal(p, n.action, err); rerr != nil {
		return rerr
	}
	return err
}
