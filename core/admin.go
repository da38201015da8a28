package core

import (
	"fmt"
	"strings"
)

// CodeLastOwner refuses a step that would leave nobody able to administer:
// the last active owner cannot be suspended, deleted or demoted.
const CodeLastOwner Code = "last_owner"

// End reasons of administration that are not a status change.
const EndKeyRemoved EndReason = "key_removed"

// Logout tells the transports to close consoles at once: their person was
// suspended or deleted, or the key they logged in with was removed. It is
// published (ChangeLogout) after the commit that ended their sessions.
type Logout struct {
	User        string    // user ID
	Fingerprint string    // only consoles that logged in with this key; "" = all of the user's
	Reason      EndReason // user_suspended, user_deleted, key_removed, …
	Message     string    // one line for the person whose console closes
}

// AdminAction is an owner's step on a person from the Users menu.
type AdminAction string

const (
	AdminSuspend AdminAction = "suspend" // suspend, or reactivate a suspended person
	AdminDelete  AdminAction = "delete"
	AdminEdit    AdminAction = "edit" // role, mode and approver
	AdminKeys    AdminAction = "keys" // list, add and remove login keys
)

// adminWhat names an action in refusals and audit events.
var adminWhat = map[AdminAction]string{
	AdminSuspend: "suspending a user", AdminDelete: "deleting a user",
	AdminEdit: "changing a user", AdminKeys: "changing someone's keys",
}

// adminRefusal is why p (me, as authorize read them) may not take the
// action on u, or nil.
func adminRefusal(tx ReadTx, p Principal, me, u User, a AdminAction) error {
	self := p.System == "" && u.ID == me.ID
	switch a {
	case AdminKeys:
		return nil
	case AdminEdit:
		return outranks(p, me, u)
	case AdminSuspend, AdminDelete:
		if self {
			return refuse(CodeSelf, "you cannot %s yourself", map[AdminAction]string{AdminSuspend: "suspend", AdminDelete: "delete"}[a])
		}
		if u.Status == StatusDeleted {
			return refuse(CodeConflict, "%s is deleted", u.Email)
		}
		if err := outranks(p, me, u); err != nil {
			return err
		}
		if a == AdminSuspend && u.Status == StatusSuspended {
			return nil // reactivating
		}
		next := StatusSuspended
		if a == AdminDelete {
			next = StatusDeleted
		}
		return lastOwnerCheck(tx, u, u.Role, next)
	}
	return refuse(CodeInvalid, "unknown action %q", a)
}

// outranks refuses when the person p (me, as authorize read them) would
// change stands above p.
func outranks(p Principal, me, u User) error {
	if p.System != "" {
		return nil
	}
	if u.Role.Level() > me.Role.Level() {
		return refuse(CodeHigherPrivilege, "%s is a %s, above your role (%s)", u.Email, u.Role, me.Role)
	}
	return nil
}

// isOwner reports whether u administers (owner or above) and is active.
func isOwner(u User) bool {
	return u.Status == StatusActive && u.Role.Level() >= RoleOwner.Level()
}

// lastOwnerCheck refuses when u is an active owner who would stop being
// one (new role below owner, or leaving active) and no other active owner
// remains, as tx knows them: inside a write transaction, two owners
// suspending each other at once cannot both succeed.
func lastOwnerCheck(tx ReadTx, u User, role Role, status Status) error {
	if !isOwner(u) || (status == StatusActive && role.Level() >= RoleOwner.Level()) {
		return nil
	}
	staff, err := tx.StaffUsers()
	if err != nil {
		return err
	}
	for _, o := range staff {
		if o.ID == u.ID || o.Role.Level() < RoleOwner.Level() {
			continue
		}
		// The staff index may lag a user's record: confirm from the record.
		if o, err := tx.User(o.ID); err == nil && isOwner(o) {
			return nil
		}
	}
	what := "suspended"
	switch {
	case status == StatusDeleted:
		what = "deleted"
	case status == StatusActive:
		what = "made a " + string(role)
	case status != StatusSuspended:
		what = "made " + string(status)
	}
	return refuse(CodeLastOwner, "%s is the last active owner and cannot be %s: make someone else an owner first", u.Email, what)
}

// Authorize checks that p may do what needs the capability, for commands
// that read what only some may see (user list, audit export over SSH or
// the control socket). A refusal is recorded as action.blocked, like a
// refused change.
func (c *Core) Authorize(p Principal, cp Capability, action string) error {
	return c.guard(p, cp, action)
}

// recordRefusal records that p was refused the action, as action.blocked:
// with the session p runs when the refusal is the impersonation block. The
// operator at the command line is not recorded.
func (c *Core) recordRefusal(p Principal, action string, refusal error) error {
	if p.System != "" {
		return nil
	}
	return c.update(func(t *txn) error {
		ev := Event{Type: EvActionBlocked, Actor: p.ref(), Org: p.User.Org, Result: ResultDenied, Reason: string(CodeOf(refusal))}
		if CodeOf(refusal) == CodeImpersonating {
			if s, ok, serr := sessionBy(t, p.User.ID); serr == nil && ok {
				target, _ := t.User(s.Target)
				ev.Subject, ev.Org, ev.Session = target.Ref(), s.Org, s.ID
			}
		}
		_, err := t.record(ev, map[string]any{"action": action})
		return err
	})
}

// KeysOf lists a user's login keys for an owner, or for the person
// themself.
func (c *Core) KeysOf(p Principal, userID string) ([]Key, error) {
	if p.System == "" && p.User.ID != userID {
		if err := c.require(p, CapAdmin); err != nil {
			return nil, err
		}
	}
	var out []Key
	err := c.st.View(func(tx ReadTx) error {
		var err error
		out, err = tx.Keys(userID)
		return err
	})
	return out, err
}

// logins remembers which key each live console logged in with, so that
// removing a key ends what its consoles started.
type logins struct {
	byConn map[string]login
}

type login struct{ user, fingerprint string }

func (c *Core) rememberLogin(conn, user, fp string) {
	if conn == "" {
		return
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.logins.byConn == nil {
		c.logins.byConn = map[string]login{}
	}
	c.logins.byConn[conn] = login{user, fp}
}

func (c *Core) forgetLogin(conn string) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	delete(c.logins.byConn, conn)
}

// connsWithKey lists the live connections that logged in with the key.
func (c *Core) connsWithKey(fp string) map[string]bool {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	out := map[string]bool{}
	for conn, l := range c.logins.byConn {
		if l.fingerprint == fp {
			out[conn] = true
		}
	}
	return out
}

// logoutMessage is the line a person reads when an owner's step closes
// their console.
func logoutMessage(reason EndReason, by Ref) string {
	who := by.String()
	if strings.HasPrefix(who, "cli:") {
		who = "an administrator (" + who + ")"
	}
	switch reason {
	case EndKeyRemoved:
		return fmt.Sprintf("actas: the key you logged in with was removed by %s; this connection is closed", Display(who))
	case endReasonForStatus(StatusDeleted):
		return fmt.Sprintf("actas: your account was deleted by %s; this connection is closed", Display(who))
	}
	st := strings.TrimPrefix(string(reason), "user_")
	return fmt.Sprintf("actas: your account is now %s (by %s); this connection is closed", st, Display(who))
}
