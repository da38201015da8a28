package core

// What each person may see. authorize admits someone to a read; these
// rules then pick, item by item, what that person (as authorize read them,
// so with their current role) may see of it. The live feed (Subscribe)
// applies the same rules to every change it hands out.

// sessionVisible: the two people in a session see it, and staff see the
// sessions of their org subtree.
func sessionVisible(me User, orgs map[string]Org, s Session) bool {
	return s.Target == me.ID || s.Impersonator == me.ID || (grants(me, CapSessions) && inSubtree(orgs, me.Org, s.Org))
}

// requestVisible: requesters see their own requests, approvers those of
// their org subtree.
func requestVisible(me User, orgs map[string]Org, r Request) bool {
	return r.Requester == me.ID || (grants(me, CapApprove) && inSubtree(orgs, me.Org, r.Org))
}

// eventVisible: readers of the whole log see every event; staff see the
// events of their org subtree (the Sessions tab's counts, a user's audit
// from the Users page); anyone sees the events they did or that are about
// them (a session on them included).
func eventVisible(me User, orgs map[string]Org, ev *Event) bool {
	return grants(me, CapAudit) || ev.Actor.ID == me.ID || ev.Subject.ID == me.ID ||
		(grants(me, CapUsers) && inSubtree(orgs, me.Org, ev.Org))
}

// auditReader authorizes p to read the audit log as q asks, and narrows q
// to what p may read: the whole log with the audit capability; else the
// audit of a session p may see, the events about p, or about a user whose
// org p is staff over.
func auditReader(tx ReadTx, p Principal, q AuditQuery, orgs map[string]Org) (AuditQuery, error) {
	_, refusal := authorize(tx, p, see(CapAudit))
	if refusal == nil || CodeOf(refusal) != CodeNotPermitted {
		return q, refusal
	}
	me, err := authorize(tx, p, see(""))
	if err != nil {
		return q, err
	}
	switch {
	case q.Session != "":
		s, err := tx.Session(q.Session)
		if err != nil {
			return q, notFound("no session %s", q.Session)
		}
		if !sessionVisible(me, orgs, s) {
			return q, refuse(CodeNotPermitted, "you may not read this session's audit")
		}
	case q.Subject == "":
		q.Subject = me.ID
	case q.Subject != me.ID:
		u, err := tx.User(q.Subject)
		if err != nil || !grants(me, CapUsers) || !inSubtree(orgs, me.Org, u.Org) {
			return q, refusal
		}
	}
	return q, nil
}

// Subscribe opens p's live feed of changes, with a buffer of n: it holds
// only what p may see at the moment each change is published (with p's
// role then, so a demoted person stops receiving at once). See Hub for
// what happens when p reads too slowly.
func (c *Core) Subscribe(p Principal, n int) *Subscription {
	return c.hub.SubscribeFunc(n, func(ch Change) bool { return c.shows(p, ch) })
}

// shows reports whether p may see ch; it runs inside Publish, for every
// subscriber, so it reads no store: the person comes from the committed
// view (viewer), which a commit refreshes before it publishes.
func (c *Core) shows(p Principal, ch Change) bool {
	if p.System != "" {
		return true
	}
	me, ok := c.viewer(p.User.ID)
	if !ok {
		return false
	}
	orgs := c.orgSnapshot()
	switch {
	case ch.Kind == ChangeAudit && ch.Event != nil:
		return eventVisible(me, orgs, ch.Event)
	case ch.Session != nil:
		return sessionVisible(me, orgs, *ch.Session)
	case ch.Request != nil:
		return requestVisible(me, orgs, *ch.Request)
	case ch.User != nil:
		return ch.User.ID == me.ID || (grants(me, CapUsers) && inSubtree(orgs, me.Org, ch.User.Org))
	case ch.Notice != nil:
		return ch.Notice.User == me.ID
	case ch.Logout != nil:
		return ch.Logout.User == me.ID
	}
	return true
}

// viewer is the person with the ID as last committed, for the live feed.
// refresh keeps the people it holds current; a miss reads the store.
func (c *Core) viewer(id string) (User, bool) {
	c.peopleMu.Lock()
	defer c.peopleMu.Unlock()
	if u, ok := c.people[id]; ok {
		return u, true
	}
	var u User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		u, err = tx.User(id)
		return err
	})
	if err != nil {
		return User{}, false
	}
	c.people[id] = u
	return u, true
}

// personVisible: people see themselves; staff, approvers and readers of
// the audit log see anyone's name (their lists and the log name people
// across orgs); anyone else (who cannot impersonate) sees who impersonated
// them.
func personVisible(tx ReadTx, me User, u User) (bool, error) {
	if u.ID == me.ID || grants(me, CapUsers) || grants(me, CapApprovals) || grants(me, CapAudit) {
		return true, nil
	}
	on, err := tx.Sessions(me.ID, "", 0)
	for _, s := range on {
		if s.Impersonator == u.ID {
			return true, nil
		}
	}
	return false, err
}
