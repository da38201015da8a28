package core

// Read helpers for the console's Sessions and Settings pages.

// VisibleActiveSessions lists the running sessions p may see, newest
// first, with the same visibility as Sessions; target != "" keeps one
// user's sessions.
func (c *Core) VisibleActiveSessions(p Principal, target string) ([]Session, error) {
	if err := c.require(p, CapSessions); err != nil {
		if target == "" || target != p.User.ID {
			return nil, err
		}
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
	return c.visibleSessions(p, list), nil
}

// Staff lists the users whose role is support or above, in name order,
// for the owners' Settings page. It walks the store's name index, which
// holds every user's role, and reads only the staff.
func (c *Core) Staff(p Principal) ([]User, error) {
	if err := c.require(p, CapSettings); err != nil {
		return nil, err
	}
	var out []User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		scan := tx.ScanUserIndex(false, func(e UserIndexEntry) bool {
			if !Role(e.Role).IsStaff() {
				return true
			}
			var u User
			if u, err = tx.User(string(e.ID)); err != nil {
				return false
			}
			out = append(out, u)
			return true
		})
		if err != nil {
			return err
		}
		return scan
	})
	return out, err
}
