package core

import (
	"slices"
	"strings"
)

// Read helpers for the console's Sessions and Settings pages.

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
	list := c.ActiveSessions()
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

// Staff lists the users whose role is support or above, in name order,
// for the owners' Settings page, from the store's staff index.
func (c *Core) Staff(p Principal) ([]User, error) {
	if err := c.require(p, CapSettings); err != nil {
		return nil, err
	}
	var out []User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		out, err = tx.StaffUsers()
		return err
	})
	slices.SortFunc(out, func(a, b User) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Email, b.Email)
	})
	return out, err
}
