package core

import (
	"time"
)

// checkEligible applies the start rules that an approval depends on:
// everything but the ones that are only known when the session starts
// (already impersonating, consent, and the approval itself).
func (t *txn) checkEligible(requester User, targetID string) (User, error) {
	k, err := t.startBasis(requester, targetID)
	if err != nil {
		return User{}, err
	}
	k.policy.RequireConsent = false
	k.request = &Request{}
	if e := checkStart(k); e != nil {
		return k.target, e
	}
	if requester.Mode != ModeRequest {
		return k.target, refuse(CodeNotPermitted, "your mode is %s: only staff in request mode ask for approval", requester.Mode)
	}
	return k.target, nil
}

// CreateRequest asks the approvers for permission to impersonate a user.
func (c *Core) CreateRequest(p Principal, targetID, reason string, d time.Duration) (Request, error) {
	if err := c.check(p, own("requesting another impersonation")); err != nil {
		return Request{}, err
	}
	pol := c.Policy()
	minReason := 0
	if pol.RequireReason {
		minReason = 1
	}
	reason, err := checkText("reason", reason, minReason, 500)
	if err != nil {
		return Request{}, err
	}
	if err := CheckDuration("duration", d, pol.DurationLimit()); err != nil {
		return Request{}, err
	}
	var r Request
	err = c.update(func(t *txn) error {
		if _, err := authorize(t, p, own("requesting another impersonation")); err != nil {
			return err
		}
		requester, err := t.User(p.User.ID)
		if err != nil {
			return notFound("your account no longer exists")
		}
		target, err := t.checkEligible(requester, targetID)
		if err != nil {
			return err
		}
		if err := noPendingRequest(t, requester, target); err != nil {
			return err
		}
		n, err := t.NextID("request")
		if err != nil {
			return err
		}
		r = Request{ID: formatID("req", n), Requester: requester.ID, Target: target.ID, Org: target.Org, Reason: reason,
			Duration: d, Status: RequestPending, Created: t.now, Expires: t.now.Add(pol.RequestTTL)}
		if err := t.PutRequest(r); err != nil {
			return err
		}
		if _, err := t.record(Event{Type: EvRequestCreated, Actor: requester.Ref(), Subject: target.Ref(), Org: target.Org,
			Request: r.ID, Reason: reason}, map[string]any{"duration": FormatDuration(d)}); err != nil {
			return err
		}
		rr := r
		t.publish(Change{Kind: ChangeRequest, Request: &rr})
		return nil
	})
	return r, err
}

// noPendingRequest refuses a second pending request for the same pair.
func noPendingRequest(tx ReadTx, requester, target User) error {
	pr, err := pendingRequest(tx, requester.ID, target.ID)
	if err != nil || pr == nil {
		return err
	}
	return refuse(CodeConflict, "you already have a pending request for %s (%s) — it shows under Approvals (tab 2) until an approver decides", target.DisplayName(), pr.ID)
}

// pendingRequest is the requester's request for the target that waits for
// approvers, if any.
func pendingRequest(tx ReadTx, requester, target string) (*Request, error) {
	pending, err := tx.Requests(RequestPending, 0)
	if err != nil {
		return nil, err
	}
	for _, pr := range pending {
		if pr.Requester == requester && pr.Target == target {
			return &pr, nil
		}
	}
	return nil, nil
}

// Decide records an approver's decision. Approving may change the duration
// (within the policy max); with approvals_required = 2 a request is
// approved once two different approvers said yes. Denying needs one.
func (c *Core) Decide(p Principal, requestID string, approve bool, d time.Duration, note string) (Request, error) {
	if err := c.check(p, ActDecide.need()); err != nil {
		return Request{}, err
	}
	if p.System != "" {
		return Request{}, refuse(CodeNotPermitted, "requests are decided by approvers as themselves: in the console or with ssh HOST requests approve ID")
	}
	note, err := checkText("note", note, 0, 500)
	if err != nil {
		return Request{}, err
	}
	var r Request
	err = c.update(func(t *txn) error {
		// p is a person (the command line was refused above), so
		// authorize returns the approver as t knows them.
		approver, err := authorize(t, p, ActDecide.need())
		if err != nil {
			return err
		}
		if r, err = t.Request(requestID); err != nil {
			return notFound("no request %s", requestID)
		}
		pol, err := t.currentPolicy()
		if err != nil {
			return err
		}
		if e := decideRefusal(approver, r, t.c.orgSnapshot(), t.now); e != nil {
			return e
		}
		requester, _ := t.User(r.Requester)
		target, _ := t.User(r.Target)
		dec := Decision{Approver: approver.ID, Email: approver.Email, Approved: approve, Note: note, Fingerprint: p.Fingerprint, Time: t.now}
		evType := EvRequestDenied
		if approve {
			if d == 0 {
				d = r.Duration
			}
			if err := CheckDuration("duration", d, pol.DurationLimit()); err != nil {
				return err
			}
			if _, err := t.checkEligible(requester, r.Target); err != nil {
				return err
			}
			dec.Duration = d
			r.Duration = min(r.Duration, d)
			if len(r.Decisions) == 0 {
				r.Duration = d
			}
			evType = EvRequestApproved
		}
		r.Decisions = append(r.Decisions, dec)
		approvals := 0
		for _, x := range r.Decisions {
			if x.Approved {
				approvals++
			}
		}
		switch {
		case !approve:
			r.Status, r.Decided = RequestDenied, t.now
		case approvals >= pol.ApprovalsRequired:
			// An approval is usable once, within request_ttl of the decision.
			r.Status, r.Decided, r.Expires = RequestApproved, t.now, t.now.Add(pol.RequestTTL)
		}
		if err := t.PutRequest(r); err != nil {
			return err
		}
		details := map[string]any{"requester": requester.Email, "duration": FormatDuration(r.Duration),
			"approvals": approvals, "required": pol.ApprovalsRequired, "fingerprint": p.Fingerprint, "note": note}
		if approve && r.Status == RequestPending {
			details["awaiting"] = "another approver"
		}
		if _, err := t.record(Event{Type: evType, Actor: approver.Ref(), Subject: target.Ref(), Org: r.Org, Request: r.ID, Reason: note}, details); err != nil {
			return err
		}
		rr := r
		t.publish(Change{Kind: ChangeRequest, Request: &rr})
		return nil
	})
	return r, err
}

// Cancel withdraws p's own pending request.
func (c *Core) Cancel(p Principal, requestID string) (Request, error) {
	var r Request
	err := c.update(func(t *txn) error {
		me, err := authorize(t, p, see(""))
		if err != nil {
			return err
		}
		if r, err = t.Request(requestID); err != nil {
			return notFound("no request %s", requestID)
		}
		if e := cancelRefusal(me, r); e != nil {
			return e
		}
		r.Status, r.Decided = RequestCancelled, t.now
		if err := t.PutRequest(r); err != nil {
			return err
		}
		target, _ := t.User(r.Target)
		if _, err := t.record(Event{Type: EvRequestCancelled, Actor: p.ref(), Subject: target.Ref(), Org: r.Org, Request: r.ID}, nil); err != nil {
			return err
		}
		rr := r
		t.publish(Change{Kind: ChangeRequest, Request: &rr})
		return nil
	})
	return r, err
}

// Requests lists requests with the status that p may see, newest first:
// approvers see those of their org subtree, others only their own.
func (c *Core) Requests(p Principal, status RequestStatus, limit int) ([]Request, error) {
	var list []Request
	var viewer User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		if viewer, err = authorize(tx, p, see(CapApprovals)); err != nil {
			return err
		}
		list, err = tx.Requests(status, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	orgs := c.orgSnapshot()
	out := list[:0]
	for _, r := range list {
		if p.System != "" || requestVisible(viewer, orgs, r) {
			out = append(out, r)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// SystemRequest returns one request. System API: no principal (the
// command line and tests); people see requests through Requests.
func (c *Core) SystemRequest(id string) (Request, error) {
	var r Request
	err := c.st.View(func(tx ReadTx) error {
		var err error
		if r, err = tx.Request(id); err != nil {
			return notFound("no request %s", id)
		}
		return nil
	})
	return r, err
}

// orgSnapshot returns the org map for read-only use.
func (c *Core) orgSnapshot() map[string]Org {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orgs
}
