package core

// Lookups for a person: each authorizes p (authorize) and applies the
// visibility rules (visibility.go). The System* lookups below them read
// without a principal, for the command line's wiring and the SSH login
// path only; a console or an API never calls them.

// Me is p's own person as the store knows them now.
func (c *Core) Me(p Principal) (User, error) { return c.allowed(p, see("")) }

// MySession is the session p runs now as impersonator, with its target.
func (c *Core) MySession(p Principal) (s Session, target User, ok bool, err error) {
	err = c.st.View(func(tx ReadTx) error {
		me, err := authorize(tx, p, see(""))
		if err != nil || p.System != "" {
			return err
		}
		if s, ok, err = sessionBy(tx, me.ID); err != nil || !ok {
			return err
		}
		target, err = tx.User(s.Target)
		return err
	})
	return s, target, ok, err
}

// People returns the people with the ids whom p may see (personVisible),
// by ID, in one read: names for the rows of a page. Those p may not see,
// or that do not exist, are left out.
func (c *Core) People(p Principal, ids ...string) (map[string]User, error) {
	out := make(map[string]User, len(ids))
	err := c.st.View(func(tx ReadTx) error {
		me, err := authorize(tx, p, see(""))
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, done := out[id]; done {
				continue
			}
			u, err := tx.User(id)
			if err != nil {
				continue
			}
			if ok, err := personVisible(tx, me, u); err != nil {
				return err
			} else if ok || p.System != "" {
				out[id] = u
			}
		}
		return nil
	})
	return out, err
}

// Person is one person p may see (People).
func (c *Core) Person(p Principal, id string) (User, error) {
	m, err := c.People(p, id)
	if err != nil {
		return User{}, err
	}
	u, ok := m[id]
	if !ok {
		return User{}, notFound("no user %s", id)
	}
	return u, nil
}

// PersonByEmail is the person with the email, if p may see them.
func (c *Core) PersonByEmail(p Principal, email string) (User, error) {
	var u User
	err := c.st.View(func(tx ReadTx) error {
		me, err := authorize(tx, p, see(""))
		if err != nil {
			return err
		}
		if u, err = tx.UserByEmail(normaliseEmail(email)); err != nil {
			return notFound("no user with email %s", email)
		}
		if ok, err := personVisible(tx, me, u); err != nil {
			return err
		} else if !ok && p.System == "" {
			return notFound("no user with email %s", email)
		}
		return nil
	})
	return u, err
}

// SessionFor is one session p may see (sessionVisible).
func (c *Core) SessionFor(p Principal, id string) (Session, error) {
	var s Session
	err := c.st.View(func(tx ReadTx) error {
		me, err := authorize(tx, p, see(""))
		if err != nil {
			return err
		}
		if s, err = tx.Session(id); err != nil {
			return notFound("no session %s", id)
		}
		if p.System == "" && !sessionVisible(me, c.orgSnapshot(), s) {
			return notFound("no session %s", id)
		}
		return nil
	})
	return s, err
}
