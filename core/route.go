package core

import (
	"fmt"
	"time"
)

// Who hears what (DESIGN "Notifications"). route runs inside the write
// transaction of every audit event, right after the append, and queues the
// messages the event causes in the same transaction: if queueing fails, the
// change fails with it (fail closed), and a committed change always has its
// messages. Events that notify nobody return before reading anything, so
// the audit hot path (actions, logins) pays one switch.
func (t *txn) route(ev Event) error {
	switch ev.Type {
	case EvRequestCreated:
		return t.routeRequestCreated(ev)
	case EvRequestApproved, EvRequestDenied, EvRequestExpired:
		return t.routeDecision(ev)
	case EvSessionStarted, EvSessionEnded:
		return t.routeSession(ev)
	case EvConsentGranted:
		return t.routeConsent(ev)
	}
	return nil
}

// queue puts a message into the outbox of this transaction.
func (t *txn) queue(ev Event, m OutboxMessage) error {
	m.Event = ev.Seq
	m.Created, m.NextAt = t.now, t.now
	if err := QueueMessage(t.Tx, &m); err != nil {
		return err
	}
	t.queued++
	return nil
}

// QueueMessage stores m in the outbox with a new ID, inside tx.
func QueueMessage(tx Tx, m *OutboxMessage) error {
	n, err := tx.NextID("outbox")
	if err != nil {
		return err
	}
	m.ID = fmt.Sprintf("msg_%012d", n)
	if err := tx.PutOutbox(*m); err != nil {
		return &Error{Code: CodeAuditFailed, Message: "the notification could not be queued, so nothing was changed: " + err.Error(), Err: err}
	}
	return nil
}

// toChannels queues the notice once for every alert channel.
func (t *txn) toChannels(ev Event, n Notice) error {
	chs, err := t.Channels()
	if err != nil {
		return err
	}
	for _, ch := range chs {
		if err := t.queue(ev, OutboxMessage{Channel: ch.ID, Notice: n}); err != nil {
			return err
		}
	}
	return nil
}

// toPerson queues the notice as mail to one person, if they have an address.
func (t *txn) toPerson(ev Event, u User, n Notice) error {
	if u.Email == "" {
		return nil
	}
	return t.queue(ev, OutboxMessage{To: []string{u.Email}, Notice: n})
}

// person names a user for a message: "Jane Doe <jane@globex.test>".
func person(u User) string {
	if u.Name == "" || u.Name == u.Email {
		return u.Email
	}
	return u.Name + " <" + u.Email + ">"
}

// notice starts a notice for ev with the policy's environment label.
func (t *txn) notice(ev Event, pol Policy, subject string) Notice {
	return Notice{Type: ev.Type, Environment: pol.Environment, Subject: envPrefix(pol) + subject,
		Request: ev.Request, Session: ev.Session, Time: t.now}
}

func (t *txn) routeRequestCreated(ev Event) error {
	pol, err := t.currentPolicy()
	if err != nil {
		return err
	}
	r, err := t.Request(ev.Request)
	if err != nil {
		return err
	}
	requester, _ := t.User(r.Requester)
	target, _ := t.User(r.Target)
	n := t.notice(ev, pol, fmt.Sprintf("%s asks to act as %s", requester.DisplayName(), target.DisplayName()))
	n.Who, n.Whom, n.Why, n.Until = person(requester), person(target), r.Reason, r.Expires
	n.Lines = []string{
		"Duration asked: " + FormatDuration(r.Duration),
		fmt.Sprintf("Request %s waits for a decision until %s", r.ID, r.Expires.Format(time.RFC1123)),
		"Decide in the console (Approvals tab) or: actas requests approve " + r.ID,
	}
	if err := t.toChannels(ev, n); err != nil {
		return err
	}
	orgs, err := t.Orgs()
	if err != nil {
		return err
	}
	om := make(map[string]Org, len(orgs))
	for _, o := range orgs {
		om[o.ID] = o
	}
	// Approvers are staff: the candidates are the staff, read in the
	// transaction (ID order, so mail goes out in a stable order).
	staff, err := t.StaffUsers()
	if err != nil {
		return err
	}
	for _, a := range staff {
		if a.ID == r.Requester || !grants(a, CapApprove) || !inSubtree(om, a.Org, r.Org) {
			continue
		}
		if err := t.toPerson(ev, a, n); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) routeDecision(ev Event) error {
	r, err := t.Request(ev.Request)
	if err != nil {
		return err
	}
	if ev.Type == EvRequestApproved && r.Status != RequestApproved {
		return nil // one of two approvals: the requester hears when it is decided
	}
	pol, err := t.currentPolicy()
	if err != nil {
		return err
	}
	requester, err := t.User(r.Requester)
	if err != nil {
		return nil
	}
	target, _ := t.User(r.Target)
	verb := map[string]string{EvRequestApproved: "approved", EvRequestDenied: "denied", EvRequestExpired: "expired"}[ev.Type]
	n := t.notice(ev, pol, fmt.Sprintf("Your request to act as %s was %s", target.DisplayName(), verb))
	n.Who, n.Whom, n.Why = person(requester), person(target), r.Reason
	switch ev.Type {
	case EvRequestApproved:
		n.Until = r.Expires
		n.Lines = append(n.Lines, fmt.Sprintf("Approved for %s by %s. Start the session before %s; the approval is used once.",
			FormatDuration(r.Duration), ev.Actor.String(), r.Expires.Format(time.RFC1123)))
	case EvRequestDenied:
		n.Lines = append(n.Lines, "Denied by "+ev.Actor.String()+".")
	case EvRequestExpired:
		n.Lines = append(n.Lines, "Nobody decided it in time. Ask again if you still need it.")
	}
	if ev.Reason != "" {
		n.Lines = append(n.Lines, "Note: "+ev.Reason)
	}
	return t.toPerson(ev, requester, n)
}

func (t *txn) routeSession(ev Event) error {
	pol, err := t.currentPolicy()
	if err != nil {
		return err
	}
	if !pol.Alerting && !pol.NotifyTarget {
		return nil
	}
	s, err := t.Session(ev.Session)
	if err != nil {
		return err
	}
	imp, _ := t.User(s.Impersonator)
	target, _ := t.User(s.Target)
	var n Notice
	if ev.Type == EvSessionStarted {
		n = t.notice(ev, pol, fmt.Sprintf("%s started acting as %s", imp.DisplayName(), target.DisplayName()))
		n.Lines = []string{"Session " + s.ID + " ends at the latest " + s.Ends.Format(time.RFC1123) + "."}
	} else {
		n = t.notice(ev, pol, fmt.Sprintf("%s stopped acting as %s", imp.DisplayName(), target.DisplayName()))
		n.Lines = []string{
			"Duration: " + s.Ended.Sub(s.Started).Round(time.Second).String(),
			"Ended: " + string(s.EndReason),
		}
	}
	n.Who, n.Whom, n.Why, n.Until = person(imp), person(target), s.Reason, s.Ends
	if pol.Alerting {
		if err := t.toChannels(ev, n); err != nil {
			return err
		}
	}
	if !pol.NotifyTarget {
		return nil
	}
	// The target's own mail speaks to them.
	mine := n
	if ev.Type == EvSessionStarted {
		mine.Subject = envPrefix(pol) + imp.DisplayName() + " is now acting as you"
		mine.Lines = []string{
			fmt.Sprintf("%s started a support session on your account at %s.", person(imp), s.Started.Format(time.RFC1123)),
			"It ends at the latest " + s.Ends.Format(time.RFC1123) + ". You will get a receipt of what was done.",
			"You can end it at any time by revoking consent under Account.",
		}
	} else {
		mine.Subject = envPrefix(pol) + "Receipt: " + imp.DisplayName() + " acted as you"
		actions, err := t.sessionActions(s.ID)
		if err != nil {
			return err
		}
		mine.Lines = append(mine.Lines[:len(mine.Lines):len(mine.Lines)],
			fmt.Sprintf("Started %s, ended %s.", s.Started.Format(time.RFC1123), s.Ended.Format(time.RFC1123)))
		if len(actions) == 0 {
			mine.Lines = append(mine.Lines, "Actions done: none.")
		} else {
			mine.Lines = append(mine.Lines, fmt.Sprintf("Actions done (%d):", len(actions)))
			mine.Lines = append(mine.Lines, actions...)
		}
	}
	return t.toPerson(ev, target, mine)
}

// maxReceiptActions bounds the actions a receipt lists.
const maxReceiptActions = 200

// sessionActions lists what was done in a session, one line an action,
// for the target's receipt.
func (t *txn) sessionActions(sessionID string) ([]string, error) {
	var lines []string
	total := 0
	var derr error
	err := t.ScanAuditIndex("session", sessionID, 0, false, func(seq uint64) bool {
		rec, err := t.AuditRecord(seq)
		if err != nil {
			derr = err
			return false
		}
		e, err := DecodeEvent(rec)
		if err != nil {
			derr = err
			return false
		}
		if e.Type != EvActionPerformed && e.Type != EvActionBlocked {
			return true
		}
		total++
		if len(lines) < maxReceiptActions {
			what := actionText(e)
			if e.Type == EvActionBlocked {
				what = "BLOCKED " + what
			}
			lines = append(lines, fmt.Sprintf("- %s %s", e.Time.Format("15:04:05"), Display(what)))
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if total > len(lines) {
		lines = append(lines, fmt.Sprintf("… and %d more (see the session's audit)", total-len(lines)))
	}
	return lines, err
}

// actionText is one action for a receipt: "GET /invoices → 200" for what
// a host product reported, else the recorded details.
func actionText(e Event) string {
	m := e.DetailsMap()
	method, _ := m["method"].(string)
	path, _ := m["path"].(string)
	if method == "" || path == "" {
		return e.DetailsText()
	}
	s := method + " " + path
	if st, ok := m["status"].(float64); ok {
		s += fmt.Sprintf(" → %d", int(st))
	}
	return s
}

// recentlyDenied is how far back a denied request makes its requester hear
// of a new consent.
const recentlyDenied = 7 * 24 * time.Hour

func (t *txn) routeConsent(ev Event) error {
	u, err := t.User(ev.Subject.ID)
	if err != nil {
		return nil
	}
	pol, err := t.currentPolicy()
	if err != nil {
		return err
	}
	// Each requester hears once, about their newest request for the user.
	why := map[string]Request{}
	var order []string
	add := func(r Request) {
		if _, ok := why[r.Requester]; r.Target == u.ID && !ok {
			why[r.Requester] = r
			order = append(order, r.Requester)
		}
	}
	pending, err := t.Requests(RequestPending, 0)
	if err != nil {
		return err
	}
	for _, r := range pending {
		add(r)
	}
	denied, err := t.Requests(RequestDenied, 1000)
	if err != nil {
		return err
	}
	for _, r := range denied {
		if t.now.Sub(r.Decided) <= recentlyDenied {
			add(r)
		}
	}
	for _, id := range order {
		s, err := t.User(id)
		if err != nil || s.Status != StatusActive {
			continue
		}
		r := why[id]
		n := t.notice(ev, pol, fmt.Sprintf("%s enabled impersonation until %s", u.DisplayName(), u.ConsentUntil.Format("Jan 2 15:04 MST")))
		n.Whom, n.Why, n.Until, n.Request = person(u), r.Reason, u.ConsentUntil, r.ID
		n.Lines = []string{fmt.Sprintf("%s granted consent until %s.", person(u), u.ConsentUntil.Format(time.RFC1123))}
		if r.Status == RequestPending {
			n.Lines = append(n.Lines, fmt.Sprintf("Your request %s is still pending: once approved, you can start.", r.ID))
		} else {
			n.Lines = append(n.Lines, fmt.Sprintf("Your request %s was denied; ask again if you still need to act as them.", r.ID))
		}
		if err := t.toPerson(ev, s, n); err != nil {
			return err
		}
	}
	return nil
}

// warnEnding tells the impersonator, by mail and in the console, that the
// session enters its last minutes. It is not an audit event: the mail is
// queued in the transaction that decides to send it, once per session and
// process (a session never outlives its process).
func (t *txn) warnEnding(s Session) error {
	if !s.Active() || s.Ends.Sub(t.now) > warnBefore || !s.Ends.After(t.now) || s.Ends.Sub(s.Started) <= warnBefore {
		return nil
	}
	if t.c.wasWarned(s.ID) {
		return nil
	}
	pol, err := t.currentPolicy()
	if err != nil {
		return err
	}
	imp, err := t.User(s.Impersonator)
	if err != nil {
		return nil
	}
	target, _ := t.User(s.Target)
	left := s.Ends.Sub(t.now).Round(time.Minute)
	text := fmt.Sprintf("Your session as %s ends in %s (at %s)", target.DisplayName(), left, s.Ends.Format("15:04 MST"))
	n := Notice{Type: NoticeSessionEnding, Environment: pol.Environment, Subject: envPrefix(pol) + text,
		Who: person(imp), Whom: person(target), Why: s.Reason, Until: s.Ends, Session: s.ID, Time: t.now,
		Lines: []string{text + ".", "Finish what you are doing; ask for a new approval if you need more time."}}
	if err := t.toPerson(Event{Session: s.ID}, imp, n); err != nil {
		return err
	}
	t.warned = append(t.warned, s.ID)
	t.publish(Change{Kind: ChangeNotice, Notice: &UserNotice{User: imp.ID, Text: text}})
	return nil
}

// UserNotice is a one-line message for one person's consoles.
type UserNotice struct {
	User string // user ID
	Text string
}
