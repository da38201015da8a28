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

// Allows reports whether the user holds the capability by role and
// settings. The TUI uses it to pick tabs for whoever it shows — the viewer,
// or the target while impersonating.
func Allows(u User, cp Capability) bool { return grants(u, cp) }

// Refusal is why u may not use what the capability guards (a tab of the
// console), or nil when u holds it.
func Refusal(u User, cp Capability) error {
	if grants(u, cp) {
		return nil
	}
	return refuse(CodeNotPermitted, "%s", capNeeds[cp])
}

// adminWhileImpersonating lists what is refused while acting as someone.
var adminWhileImpersonating = map[Capability]bool{CapApprove: true, CapSettings: true, CapAdmin: true}

// require checks a read capability for p (the command line has them all).
func (c *Core) require(p Principal, cp Capability) error {
	if p.System != "" {
		return nil
	}
	u := c.current(p)
	if !grants(u, cp) {
		return refuse(CodeNotPermitted, "%s", capNeeds[cp])
	}
	return nil
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

// current is p's user as core knows it now (roles and status change).
func (c *Core) current(p Principal) User {
	if p.User.ID == "" {
		return p.User
	}
	c.peopleMu.Lock()
	defer c.peopleMu.Unlock()
	if u, ok := c.people[p.User.ID]; ok {
		return u
	}
	// Read under the lock, so a refresh cannot slip in between the read
	// and the store into the cache.
	u, err := c.User(p.User.ID)
	if err != nil {
		return p.User
	}
	c.people[u.ID] = u
	return u
}

// guard checks a capability for a change p wants to make, and refuses
// changes that are off limits while p is impersonating; a refused attempt
// is recorded as action.blocked.
func (c *Core) guard(p Principal, cp Capability, action string) error {
	if err := c.require(p, cp); err != nil {
		if rerr := c.recordRefusal(p, action, err); rerr != nil {
			return rerr
		}
		return err
	}
	return c.blockWhileImpersonating(p, adminWhileImpersonating[cp], action)
}

// blockWhileImpersonating refuses (and records) action when p is
// impersonating and blocked says it is not allowed then.
func (c *Core) blockWhileImpersonating(p Principal, blocked bool, action string) error {
	if !blocked || p.System != "" {
		return nil
	}
	s, ok := c.ActiveSessionOf(p.User.ID)
	if !ok {
		return nil
	}
	e := impersonatingRefusal(action)
	err := c.update(func(t *txn) error {
		target, _ := t.User(s.Target)
		_, err := t.record(Event{Type: EvActionBlocked, Actor: p.ref(), Subject: target.Ref(), Org: s.Org, Session: s.ID,
			Result: ResultDenied, Reason: string(CodeImpersonating)}, map[string]any{"action": action})
		return err
	})
	if err != nil {
		return err
	}
	return e
}
