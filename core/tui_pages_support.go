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
// for the owners' Settings page; it walks the in-memory directory, so it
// stays quick with a million members.
func (c *Core) Staff(p Principal) ([]User, error) {
	if err := c.require(p, CapSettings); err != nil {
		return nil, err
	}
	d := c.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []User
	for _, e := range d.sorted {
		if e.Role.IsStaff() {
			out = append(out, e.User)
		}
	}
	return out, nil
}
