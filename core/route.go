package core

import (
	"errors"
	"fmt"
	"time"
)

// Who hears what (DESIGN "Notifications"). route runs inside the write
// transaction of every audit event, right after the append, and queues the
// messages the event causes in the same transaction: if queueing fails, the
// change fails with it (fail closed), and a committed change always has its
// messages. Events that notify nobody return before reading anything, so
// the audit hot path (actions, logins) pays one switch.
//
// A queued message only says which event goes to whom (and how: Variant);
// what it says is rendered from the event when it is read (render). The
// outbox entry is then a few dozen bytes beside the event's record, so
// queueing adds little to the commit that appends the event.
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

// Variants of a message: how the event is told to its recipient.
const (
	variantTarget = "target" // the impersonated user's own notice or receipt
	// a consent.granted message's Variant is the ID of the request it is about
)

// queue puts a message about ev into the outbox of this transaction.
func (t *txn) queue(ev Event, m OutboxMessage) error {
	m.Event = ev.Seq
	if err := QueueMessage(t.Tx, &m); err != nil {
		return err
	}
	t.queued++
	return nil
}

// QueueMessage stores m in the outbox with a new ID, inside tx. A message
// about an audit event (Event set) is rendered from it when read; any
// other carries its Notice, Created and NextAt.
func QueueMessage(tx Tx, m *OutboxMessage) error {
	n, err := tx.NextID("outbox")
	if err != nil {
		return err
	}
	m.ID = MessageID(n)
	if err := tx.PutOutbox(*m); err != nil {
		return &Error{Code: CodeAuditFailed, Message: "the notification could not be queued, so nothing was changed: " + err.Error(), Err: err}
	}
	return nil
}

// MessageID is "msg_" and n in at least 12 digits, so that IDs sort in
// queue order. It runs once per queued message inside the commit, so it
// builds the string in one allocation rather than through fmt.
func MessageID(n uint64) string {
	var b [4 + 20]byte
	copy(b[:], "msg_")
	i := len(b)
	for n > 0 || i > len(b)-12 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	digits := copy(b[4:], b[i:])
	return string(b[:4+digits])
}

// toChannels queues ev once for every alert channel.
func (t *txn) toChannels(ev Event) error {
	chs, err := t.Channels()
	if err != nil {
		return err
	}
	for _, ch := range chs {
		if err := t.queue(ev, OutboxMessage{Channel: ch.ID}); err != nil {
			return err
		}
	}
	return nil
}

// toPerson queues ev as mail to one person, if they have an address and
// a mail server is set: without one nobody is mailed, rather than queueing
// mail that would fail for a day and end as alert.failed (setting the
// server later does not send the past).
func (t *txn) toPerson(ev Event, u User, variant string) error {
	if u.Email == "" {
		return nil
	}
	if t.mail == 0 {
		t.mail = -1
		if s, err := t.SMTP(); err == nil && s.Configured() {
			t.mail = 1
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if t.mail < 0 {
		return nil
	}
	return t.queue(ev, OutboxMessage{To: []string{u.Email}, Variant: variant})
}

func (t *txn) routeRequestCreated(ev Event) error {
	r, err := t.Request(ev.Request)
	if err != nil {
		return err
	}
	if err := t.toChannels(ev); err != nil {
		return err
	}
	om, _, err := orgsByID(t)
	if err != nil {
		return err
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
		if err := t.toPerson(ev, a, ""); err != nil {
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
	requester, err := t.User(r.Requester)
	if err != nil {
		return nil
	}
	return t.toPerson(ev, requester, "")
}

func (t *txn) routeSession(ev Event) error {
	pol, err := t.currentPolicy()
	if err != nil {
		return err
	}
	if pol.Alerting {
		if err := t.toChannels(ev); err != nil {
			return err
		}
	}
	if !pol.NotifyTarget {
		return nil
	}
	target, err := t.User(ev.Subject.ID)
	if err != nil {
		return nil
	}
	return t.toPerson(ev, target, variantTarget)
}

// recentlyDenied is how far back a denied request makes its requester hear
// of a new consent.
const recentlyDenied = 7 * 24 * time.Hour

func (t *txn) routeConsent(ev Event) error {
	uid := ev.Subject.ID
	// Each requester hears once, about their newest request for the user.
	about := map[string]string{}
	var order []string
	add := func(r Request) {
		if _, ok := about[r.Requester]; r.Target == uid && !ok {
			about[r.Requester] = r.ID
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
		if err := t.toPerson(ev, s, about[id]); err != nil {
			return err
		}
	}
	return nil
}

// render fills in what a message about an audit event says, from the
// event and the records it names as they are now. Messages without an
// event carry their notice already.
func render(tx ReadTx, m *OutboxMessage) error {
	if m.Event == 0 {
		return nil
	}
	rec, err := tx.AuditRecord(m.Event)
	if err != nil {
		return fmt.Errorf("message %s: its event %d: %w", m.ID, m.Event, err)
	}
	ev, err := DecodeEvent(rec)
	if err != nil {
		return fmt.Errorf("message %s: %w", m.ID, err)
	}
	if m.Created.IsZero() {
		m.Created = ev.Time
	}
	if m.NextAt.IsZero() {
		m.NextAt = ev.Time
	}
	pol, err := tx.Policy()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	r := renderer{tx: tx, ev: ev, pol: pol}
	switch ev.Type {
	case EvRequestCreated:
		m.Notice, err = r.requestCreated()
	case EvRequestApproved, EvRequestDenied, EvRequestExpired:
		m.Notice, err = r.decision()
	case EvSessionStarted, EvSessionEnded:
		m.Notice, err = r.session(m.Variant == variantTarget)
	case EvConsentGranted:
		m.Notice, err = r.consent(m.Variant)
	default:
		m.Notice = r.notice(ev.Type + " " + ev.Subject.String())
	}
	return err
}

// renderer tells one event.
type renderer struct {
	tx  ReadTx
	ev  Event
	pol Policy
}

func (r renderer) user(id string) User {
	u, err := r.tx.User(id)
	if err != nil {
		return User{ID: id, Email: id}
	}
	return u
}

// notice starts a notice with the policy's environment label.
func (r renderer) notice(subject string) Notice {
	return Notice{Type: r.ev.Type, Environment: r.pol.Environment, Subject: envPrefix(r.pol) + subject,
		Request: r.ev.Request, Session: r.ev.Session, Time: r.ev.Time}
}

// person names a user for a message: "Jane Doe <jane@globex.test>".
func person(u User) string {
	if u.Name == "" || u.Name == u.Email {
		return u.Email
	}
	return u.Name + " <" + u.Email + ">"
}

func (r renderer) requestCreated() (Notice, error) {
	req, err := r.tx.Request(r.ev.Request)
	if err != nil {
		return Notice{}, err
	}
	requester, target := r.user(req.Requester), r.user(req.Target)
	n := r.notice(fmt.Sprintf("%s asks to act as %s", requester.DisplayName(), target.DisplayName()))
	n.Who, n.Whom, n.Why = person(requester), person(target), req.Reason
	if req.Status == RequestPending {
		n.Until = req.Expires // the decision's deadline
	}
	asked := r.ev.DetailsMap()["duration"]
	n.Lines = []string{
		fmt.Sprintf("Duration asked: %v", asked),
		fmt.Sprintf("Request %s waits for a decision until %s", req.ID, req.Expires.Format(time.RFC1123)),
		"Decide in the console (Approvals tab) or: actas requests approve " + req.ID,
	}
	if req.Status != RequestPending {
		n.Lines[1] = fmt.Sprintf("Request %s is %s by now.", req.ID, req.Status)
	}
	return n, nil
}

func (r renderer) decision() (Notice, error) {
	req, err := r.tx.Request(r.ev.Request)
	if err != nil {
		return Notice{}, err
	}
	requester, target := r.user(req.Requester), r.user(req.Target)
	verb := map[string]string{EvRequestApproved: "approved", EvRequestDenied: "denied", EvRequestExpired: "expired"}[r.ev.Type]
	n := r.notice(fmt.Sprintf("Your request to act as %s was %s", target.DisplayName(), verb))
	n.Who, n.Whom, n.Why = person(requester), person(target), req.Reason
	switch r.ev.Type {
	case EvRequestApproved:
		n.Until = req.Expires
		n.Lines = append(n.Lines, fmt.Sprintf("Approved for %v by %s. Start the session before %s; the approval is used once.",
			r.ev.DetailsMap()["duration"], r.ev.Actor.String(), req.Expires.Format(time.RFC1123)))
	case EvRequestDenied:
		n.Lines = append(n.Lines, "Denied by "+r.ev.Actor.String()+".")
	case EvRequestExpired:
		n.Lines = append(n.Lines, "Nobody decided it in time. Ask again if you still need it.")
	}
	if r.ev.Reason != "" {
		n.Lines = append(n.Lines, "Note: "+r.ev.Reason)
	}
	return n, nil
}

func (r renderer) session(forTarget bool) (Notice, error) {
	s, err := r.tx.Session(r.ev.Session)
	if err != nil {
		return Notice{}, err
	}
	imp, target := r.user(s.Impersonator), r.user(s.Target)
	started := r.ev.Type == EvSessionStarted
	var n Notice
	if started {
		n = r.notice(fmt.Sprintf("%s started acting as %s", imp.DisplayName(), target.DisplayName()))
		n.Lines = []string{"Session " + s.ID + " ends at the latest " + s.Ends.Format(time.RFC1123) + "."}
	} else {
		n = r.notice(fmt.Sprintf("%s stopped acting as %s", imp.DisplayName(), target.DisplayName()))
		n.Lines = []string{
			"Duration: " + r.ev.Time.Sub(s.Started).Round(time.Second).String(),
			"Ended: " + r.ev.Reason,
		}
	}
	n.Who, n.Whom, n.Why, n.Until = person(imp), person(target), s.Reason, s.Ends
	if !forTarget {
		return n, nil
	}
	// The target's own mail speaks to them.
	if started {
		n.Subject = envPrefix(r.pol) + imp.DisplayName() + " is now acting as you"
		n.Lines = []string{
			fmt.Sprintf("%s started a support session on your account at %s.", person(imp), s.Started.Format(time.RFC1123)),
			"It ends at the latest " + s.Ends.Format(time.RFC1123) + ". You will get a receipt of what was done.",
			"You can end it at any time by revoking consent under Account.",
		}
		return n, nil
	}
	n.Subject = envPrefix(r.pol) + "Receipt: " + imp.DisplayName() + " acted as you"
	actions, err := sessionActions(r.tx, s.ID)
	if err != nil {
		return n, err
	}
	n.Lines = append(n.Lines, fmt.Sprintf("Started %s, ended %s.", s.Started.Format(time.RFC1123), r.ev.Time.Format(time.RFC1123)))
	if len(actions) == 0 {
		n.Lines = append(n.Lines, "Actions done: none.")
	} else {
		n.Lines = append(n.Lines, fmt.Sprintf("Actions done (%d):", len(actions)))
		n.Lines = append(n.Lines, actions...)
	}
	return n, nil
}

func (r renderer) consent(requestID string) (Notice, error) {
	u := r.user(r.ev.Subject.ID)
	until := u.ConsentUntil
	if s, ok := r.ev.DetailsMap()["until"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			until = t
		}
	}
	n := r.notice(fmt.Sprintf("%s enabled impersonation until %s", u.DisplayName(), until.Format("Jan 2 15:04 MST")))
	n.Whom, n.Until, n.Request = person(u), until, requestID
	n.Lines = []string{fmt.Sprintf("%s granted consent until %s.", person(u), until.Format(time.RFC1123))}
	req, err := r.tx.Request(requestID)
	if err != nil {
		return n, nil
	}
	n.Why = req.Reason
	if req.Status == RequestDenied {
		n.Lines = append(n.Lines, fmt.Sprintf("Your request %s was denied; ask again if you still need to act as them.", req.ID))
	} else {
		n.Lines = append(n.Lines, fmt.Sprintf("Your request %s is %s: once approved, you can start.", req.ID, req.Status))
	}
	return n, nil
}

// maxReceiptActions bounds the actions a receipt lists.
const maxReceiptActions = 200

// sessionActions lists what was done in a session, one line an action,
// for the target's receipt.
func sessionActions(tx ReadTx, sessionID string) ([]string, error) {
	var lines []string
	total := 0
	var derr error
	err := tx.ScanAuditIndex("session", sessionID, 0, false, func(seq uint64) bool {
		rec, err := tx.AuditRecord(seq)
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

// warnEnding tells the impersonator, by mail and in the console, that the
// session enters its last minutes. It is not an audit event: the mail,
// with its notice, is queued in the transaction that decides to send it,
// once per session and process (a session never outlives its process).
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
	if err != nil || imp.Email == "" {
		return nil
	}
	target, _ := t.User(s.Target)
	left := s.Ends.Sub(t.now).Round(time.Minute)
	text := fmt.Sprintf("Your session as %s ends in %s (at %s)", target.DisplayName(), left, s.Ends.Format("15:04 MST"))
	n := Notice{Type: NoticeSessionEnding, Environment: pol.Environment, Subject: envPrefix(pol) + text,
		Who: person(imp), Whom: person(target), Why: s.Reason, Until: s.Ends, Session: s.ID, Time: t.now,
		Lines: []string{text + ".", "Finish what you are doing; ask for a new approval if you need more time."}}
	if smtp, err := t.SMTP(); err == nil && smtp.Configured() {
		m := OutboxMessage{To: []string{imp.Email}, Notice: n, Created: t.now, NextAt: t.now}
		if err := QueueMessage(t.Tx, &m); err != nil {
			return err
		}
		t.queued++
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
