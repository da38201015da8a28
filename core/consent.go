package core

import (
	"time"
)

// errConsentIsPersonal refuses consent changes from the command line:
// only the person themself grants or revokes it.
var errConsentIsPersonal = refuse(CodeNotPermitted, "consent is given by each person for themself: log in as them (ssh HOST consent grant --for 24h)")

// GrantConsent lets p allow impersonation of themselves for d (1h–168h,
// and never past the policy's max_duration). Granting again replaces the
// earlier grant.
func (c *Core) GrantConsent(p Principal, d time.Duration) (User, error) {
	if p.System != "" {
		return User{}, errConsentIsPersonal
	}
	if err := c.check(p, own("changing consent")); err != nil {
		return User{}, err
	}
	if err := CheckDuration("consent", d, c.Policy().ConsentLimit()); err != nil {
		return User{}, err
	}
	var u User
	err := c.update(func(t *txn) error {
		// p is a person (the command line was refused above), so
		// authorize returns them as t knows them.
		var err error
		if u, err = authorize(t, p, own("changing consent")); err != nil {
			return err
		}
		u.ConsentFrom, u.ConsentUntil = t.now, t.now.Add(d)
		if err := t.putUser(u); err != nil {
			return err
		}
		if _, err := t.record(Event{Type: EvConsentGranted, Actor: p.ref(), Subject: u.Ref(), Org: u.Org},
			map[string]any{"duration": FormatDuration(d), "until": u.ConsentUntil.Format(time.RFC3339)}); err != nil {
			return err
		}
		uu := u
		t.publish(Change{Kind: ChangeConsent, User: &uu})
		return nil
	})
	return u, err
}

// RevokeConsent withdraws p's consent and ends every active session on
// them at once, with reason consent_revoked.
func (c *Core) RevokeConsent(p Principal) (User, error) {
	if p.System != "" {
		return User{}, errConsentIsPersonal
	}
	if err := c.check(p, own("changing consent")); err != nil {
		return User{}, err
	}
	var u User
	err := c.update(func(t *txn) error {
		// p is a person (the command line was refused above), so
		// authorize returns them as t knows them.
		var err error
		if u, err = authorize(t, p, own("changing consent")); err != nil {
			return err
		}
		if !u.ConsentActive(t.now) {
			return refuse(CodeConflict, "you have no active consent to revoke")
		}
		u.ConsentFrom, u.ConsentUntil = time.Time{}, t.now
		if err := t.putUser(u); err != nil {
			return err
		}
		if _, err := t.record(Event{Type: EvConsentRevoked, Actor: p.ref(), Subject: u.Ref(), Org: u.Org}, nil); err != nil {
			return err
		}
		uu := u
		t.publish(Change{Kind: ChangeConsent, User: &uu})
		act, err := t.ActiveSessions()
		if err != nil {
			return err
		}
		for _, s := range act {
			if s.Target == u.ID {
				if err := t.endSession(s, EndConsentRevoked, p.ref()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return u, err
}
