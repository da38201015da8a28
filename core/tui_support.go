package core

// CanRequest says whether p could ask to impersonate the target now,
// without recording anything: the TUI greys out "Request impersonation"
// with the reason. CreateRequest checks again, authoritatively.
func (c *Core) CanRequest(p Principal, targetID string) error {
	if p.System != "" {
		return refuse(CodeNotPermitted, "the command line cannot impersonate")
	}
	if _, ok := c.ActiveSessionOf(p.User.ID); ok {
		return refuse(CodeImpersonating, "not while impersonating: requesting another impersonation is refused — press ctrl+x to go back to yourself first")
	}
	return c.st.View(func(tx ReadTx) error {
		requester, err := tx.User(p.User.ID)
		if err != nil {
			return notFound("your account no longer exists")
		}
		t := &txn{c: c, now: c.clock.Now()}
		t.Tx = readOnly{tx}
		target, err := t.checkEligible(requester, targetID)
		if err != nil {
			return err
		}
		return noPendingRequest(tx, requester, target)
	})
}
