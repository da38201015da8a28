package core_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// outbox lists the queued messages as "destination notice-type", in order.
func (w *world) outbox() []string {
	w.t.Helper()
	msgs, err := w.c.Outbox(w.cli)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Destination()+" "+m.Notice.Type)
	}
	return out
}

// drain empties the outbox, as if everything had been delivered, so a
// step's messages can be told from the ones before.
func (w *world) queued(step func()) []string {
	w.t.Helper()
	before := len(w.outbox())
	step()
	return w.outbox()[before:]
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, wt := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(wt)
	if !slices.Equal(g, wt) {
		t.Errorf("%s queued\n  %q\nwant\n  %q", what, g, wt)
	}
}

// mailServer sets a mail server: without one, nobody is mailed.
func (w *world) mailServer() {
	w.t.Helper()
	w.must(nil, w.c.SetSMTP(w.cli, core.SMTPConfig{Host: "smtp.example", Port: 587, From: "actas@acme.test"}))
}

// Who hears what (DESIGN "Notifications"), one row per rule.
func TestRouting(t *testing.T) {
	w := newWorld(t)
	ch := must(w.c.AddChannel(w.cli, core.ChannelWebhook, "https://siem.example/hooks?token=abc"))
	// Without a mail server only the channels hear of anything.
	got := w.queued(func() {
		r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "ticket 0", time.Hour))
		w.must(w.c.Cancel(w.as("support"), r.ID))
	})
	sameSet(t, "request.created without a mail server", got, []string{ch.ID + " request.created"})
	w.mailServer()
	// support is an approver too, but never hears of their own request.
	var r core.Request
	got = w.queued(func() { r = must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "ticket 1", time.Hour)) })
	sameSet(t, "request.created", got, []string{ch.ID + " request.created",
		"approver@acme.test request.created", "approver2@acme.test request.created", "owner@acme.test request.created"})

	got = w.queued(func() { w.must(w.c.Decide(w.as("approver"), r.ID, true, 0, "")) })
	sameSet(t, "request.approved", got, []string{"support@acme.test request.approved"})

	var s core.Session
	got = w.queued(func() { s = must(w.c.Start(w.as("support"), w.u["jane"].ID, "")) })
	sameSet(t, "session.started", got, []string{ch.ID + " session.started", "jane@globex.test session.started"})
	got = w.queued(func() { w.must(nil, w.c.End(w.as("support"), core.EndExit)) })
	sameSet(t, "session.ended", got, []string{ch.ID + " session.ended", "jane@globex.test session.ended"})
	_ = s

	// alerting off: channels hear nothing of sessions; the target still does.
	w.must(w.c.SetPolicy(w.cli, map[string]string{"alerting": "false"}))
	got = w.queued(func() { w.must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket 9")) })
	sameSet(t, "session.started without alerting", got, []string{"jane@globex.test session.started"})
	w.must(nil, w.c.End(w.as("lead"), core.EndExit))
	// notify_target off as well: nobody.
	w.must(w.c.SetPolicy(w.cli, map[string]string{"notify_target": "false"}))
	got = w.queued(func() {
		w.must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket 9"))
		w.must(nil, w.c.End(w.as("lead"), core.EndExit))
	})
	sameSet(t, "session without alerting and notify_target", got, nil)

	// Two approvals: the requester hears once, when it is decided.
	w.must(w.c.SetPolicy(w.cli, map[string]string{"approvals_required": "2"}))
	r2 := must(w.c.CreateRequest(w.as("support"), w.u["joe"].ID, "ticket 2", time.Hour))
	got = w.queued(func() { w.must(w.c.Decide(w.as("approver"), r2.ID, true, 0, "")) })
	sameSet(t, "first of two approvals", got, nil)
	got = w.queued(func() { w.must(w.c.Decide(w.as("approver2"), r2.ID, true, 0, "")) })
	sameSet(t, "second approval", got, []string{"support@acme.test request.approved"})

	// Denied, then the user enables consent: the requester hears. Staff
	// without a request for her (lead) do not.
	r3 := must(w.c.CreateRequest(w.as("support"), w.u["bob"].ID, "ticket 3", time.Hour))
	got = w.queued(func() { w.must(w.c.Decide(w.as("approver"), r3.ID, false, 0, "no")) })
	sameSet(t, "request.denied", got, []string{"support@acme.test request.denied"})
	got = w.queued(func() { w.consent("bob", 24*time.Hour) })
	sameSet(t, "consent.granted after a denial", got, []string{"support@acme.test consent.granted"})
	// A denial older than a week no longer counts.
	w.clock.Advance(8 * 24 * time.Hour)
	got = w.queued(func() { w.consent("bob", 24*time.Hour) })
	sameSet(t, "consent.granted a week after a denial", got, nil)

	// An expired request: the requester hears.
	w.must(w.c.SetPolicy(w.cli, map[string]string{"approvals_required": "1"}))
	r4 := must(w.c.CreateRequest(w.as("support"), w.u["ivan"].ID, "ticket 4", time.Hour))
	_ = r4
	got = w.queued(func() { w.clock.Advance(25 * time.Hour) })
	if !slices.Contains(got, "support@acme.test request.expired") {
		t.Errorf("expiry queued %q, want the requester's mail", got)
	}
	// No event of the hot path queues anything.
	got = w.queued(func() { w.must(w.c.RecordAction(w.as("owner"), "look around", nil)) })
	sameSet(t, "action.performed", got, nil)
	w.verify()
}

// The impersonator hears, by mail and in the console, once, when the
// session enters its last 10 minutes.
func TestSessionEndingNotice(t *testing.T) {
	w := newWorld(t)
	w.mailServer()
	sub := w.c.Hub().Subscribe(100)
	defer sub.Close()
	s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket 9"))
	if s.Ends.Sub(s.Started) != time.Hour {
		t.Fatalf("session of %s, want the default 1h", s.Ends.Sub(s.Started))
	}
	got := w.queued(func() { w.clock.Advance(49 * time.Minute) })
	sameSet(t, "49 minutes in", got, nil)
	got = w.queued(func() { w.clock.Advance(time.Minute + time.Second) })
	sameSet(t, "50 minutes in", got, []string{"lead@acme.test " + core.NoticeSessionEnding})
	msgs := must(w.c.Outbox(w.cli))
	last := msgs[len(msgs)-1]
	if !strings.Contains(last.Notice.Subject, "Your session as Jane Doe ends in 10m") || last.Notice.Session != s.ID {
		t.Errorf("notice: %+v", last.Notice)
	}
	var notice *core.UserNotice
	for len(sub.C) > 0 {
		if ch := <-sub.C; ch.Kind == core.ChangeNotice {
			notice = ch.Notice
		}
	}
	if notice == nil || notice.User != w.u["lead"].ID || !strings.Contains(notice.Text, "ends in 10m") {
		t.Errorf("console notice: %+v", notice)
	}
	got = w.queued(func() { w.clock.Advance(5 * time.Minute) })
	sameSet(t, "55 minutes in", got, nil)
}

// fakeNotifier answers every delivery with err and counts them.
type fakeNotifier struct {
	mu   sync.Mutex
	err  error
	got  []core.Delivery
	seen chan struct{}
}

func (f *fakeNotifier) Deliver(_ context.Context, d core.Delivery) error {
	f.mu.Lock()
	f.got = append(f.got, d)
	err := f.err
	f.mu.Unlock()
	select {
	case f.seen <- struct{}{}:
	default:
	}
	return err
}

// waitFor polls cond; the bound only keeps a broken worker from hanging
// the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

// A failing endpoint is retried with backoff (5 s, 10 s, … at most 1 h)
// for 24 h, then the message is marked failed with an alert.failed event.
func TestRetriesThenAlertFailed(t *testing.T) {
	w := newWorld(t)
	f := &fakeNotifier{err: errors.New("POST https://hooks.example/x: answered 500"), seen: make(chan struct{}, 1)}
	w.close()
	w.opt.Notifier = f
	w.open()
	w.mailServer()
	ch := must(w.c.AddChannel(w.cli, core.ChannelSlack, "https://hooks.slack.com/services/T1/B1/SECRET"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.c.RunOutbox(ctx) }()
	defer func() { cancel(); <-done }()

	w.must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket 9"))
	chanMsg := func() core.OutboxMessage {
		for _, m := range must(w.c.Outbox(w.cli)) {
			if m.Channel == ch.ID {
				return m
			}
		}
		t.Fatal("the channel's message left the outbox")
		return core.OutboxMessage{}
	}
	created := chanMsg().Created
	for n := 1; n <= 8; n++ {
		waitFor(t, "attempt", func() bool { return chanMsg().Attempts == n })
		m := chanMsg()
		if want := core.Backoff(n); m.NextAt.Sub(w.clock.Now()) != want {
			t.Errorf("after attempt %d: next try in %s, want %s", n, m.NextAt.Sub(w.clock.Now()), want)
		}
		if m.LastError == "" || m.Failed {
			t.Errorf("after attempt %d: %+v", n, m)
		}
		w.clock.Advance(core.Backoff(n))
	}
	if core.Backoff(20) != time.Hour || core.Backoff(1) != 5*time.Second || core.Backoff(2) != 10*time.Second {
		t.Errorf("backoff 1, 2, 20 = %s %s %s", core.Backoff(1), core.Backoff(2), core.Backoff(20))
	}
	// Hour after hour until a day has passed.
	for w.clock.Now().Sub(created) < core.MaxDeliveryAge {
		n := chanMsg().Attempts
		w.clock.Advance(time.Hour)
		waitFor(t, "an hourly attempt", func() bool { return chanMsg().Attempts > n || chanMsg().Failed })
	}
	waitFor(t, "giving up", func() bool { return chanMsg().Failed })
	var d map[string]any
	for _, ev := range w.events(core.EvAlertFailed) {
		if ev.DetailsMap()["destination"] == ch.ID {
			d = ev.DetailsMap()
		}
	}
	if d == nil || d["notice"] != core.EvSessionStarted || !strings.Contains(d["error"].(string), "answered 500") {
		t.Errorf("alert.failed details: %v", d)
	}
	// A failed message is not tried again.
	n := chanMsg().Attempts
	w.clock.Advance(2 * time.Hour)
	time.Sleep(50 * time.Millisecond)
	if chanMsg().Attempts != n {
		t.Error("a failed message was tried again")
	}
	// The channel shows its last error; the list shows no secret.
	chs := must(w.c.Channels(w.cli))
	if len(chs) != 1 || chs[0].LastError == "" || strings.Contains(chs[0].URL, "SECRET") {
		t.Errorf("channel list: %+v", chs)
	}
	// A week later another message fails for good: the old failures
	// leave the listing (their alert.failed events stay).
	first := chanMsg().ID
	w.clock.Advance(8 * 24 * time.Hour)
	later := must(w.c.CreateRequest(w.as("support"), w.u["joe"].ID, "later", time.Hour))
	laterFailed := func() bool {
		for _, m := range must(w.c.Outbox(w.cli)) {
			if m.Channel == ch.ID && m.Notice.Request == later.ID {
				return m.Failed
			}
		}
		return false
	}
	for i := 0; i < 60 && !laterFailed(); i++ {
		w.clock.Advance(time.Hour)
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, "the new message to fail", laterFailed)
	for _, m := range must(w.c.Outbox(w.cli)) {
		if m.ID == first {
			t.Errorf("a message that failed 9 days ago is still listed: %+v", m)
		}
	}
	if len(w.events(core.EvAlertFailed)) < 3 {
		t.Errorf("alert.failed events: %d", len(w.events(core.EvAlertFailed)))
	}
}

// failingOutbox is a store whose outbox cannot be written.
type failingOutbox struct{ core.Store }

type failingOutboxTx struct{ core.Tx }

func (failingOutboxTx) PutOutbox(core.OutboxMessage) error { return errors.New("disk full") }

func (s failingOutbox) Update(fn func(core.Tx) error) error {
	return s.Store.Update(func(tx core.Tx) error { return fn(failingOutboxTx{tx}) })
}

// Queueing is part of the change: if the message cannot be queued, the
// request is not created and no event is recorded (fail closed).
func TestQueueFailureFailsTheChange(t *testing.T) {
	w := newWorld(t)
	w.must(w.c.AddChannel(w.cli, core.ChannelEmail, "sec@acme.test"))
	head := w.c.AuditCount()
	c, err := core.Open(failingOutbox{w.db}, core.Options{Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	support := w.as("support")
	_, err = c.CreateRequest(support, w.u["jane"].ID, "ticket", time.Hour)
	if core.CodeOf(err) != core.CodeAuditFailed || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("CreateRequest with a broken outbox: %v", err)
	}
	if reqs := must(w.c.Requests(w.cli, core.RequestPending, 0)); len(reqs) != 0 {
		t.Errorf("a request was stored: %+v", reqs)
	}
	if w.c.AuditCount() != head {
		t.Errorf("audit grew from %d to %d", head, w.c.AuditCount())
	}
	// What notifies nobody still works.
	if _, err := c.RecordAction(w.as("owner"), "look", nil); err != nil {
		t.Errorf("an action with a broken outbox: %v", err)
	}
}

// Secrets never reach the audit log: not the webhook secret, not a Slack
// URL's path, not the SMTP password.
func TestAlertSecretsStayOut(t *testing.T) {
	w := newWorld(t)
	wh := must(w.c.AddChannel(w.cli, core.ChannelWebhook, "https://siem.example/hook?key=QUERYSECRET"))
	if !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("webhook secret %q", wh.Secret)
	}
	w.must(w.c.AddChannel(w.cli, core.ChannelSlack, "https://hooks.slack.com/services/T1/B1/SLACKSECRET"))
	w.must(nil, w.c.SetSMTP(w.cli, core.SMTPConfig{Host: "smtp.example", Port: 587, From: "actas@acme.test", User: "actas", Password: "SMTPSECRET"}))
	var b strings.Builder
	if _, err := w.c.ExportAudit(w.cli, &b, "jsonl", core.AuditQuery{}); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{wh.Secret, "QUERYSECRET", "SLACKSECRET", "SMTPSECRET"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("the audit export holds %q", secret)
		}
	}
	for _, typ := range []string{core.EvAlertAdded, core.EvPolicyChanged} {
		if len(w.events(typ)) == 0 {
			t.Errorf("no %s event", typ)
		}
	}
	s := must(w.c.SMTP(w.cli))
	if s.Password != core.Redacted || strings.Contains(s.String(), "SMTPSECRET") {
		t.Errorf("SMTP as shown: %+v %s", s, s)
	}
	for _, ch := range must(w.c.Channels(w.cli)) {
		if ch.Secret != "" || strings.Contains(ch.URL+ch.Destination(), "SECRET") {
			t.Errorf("channel as listed: %+v", ch)
		}
	}
	// A member may not list or add channels.
	if _, err := w.c.Channels(w.as("jane")); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("jane lists channels: %v", err)
	}
	if _, err := w.c.AddChannel(w.as("support"), core.ChannelEmail, "x@acme.test"); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("support adds a channel: %v", err)
	}
	// Bad input is refused with the reason.
	for _, bad := range []struct {
		kind   core.ChannelKind
		target string
	}{{core.ChannelSlack, "ftp://x"}, {core.ChannelWebhook, ""}, {core.ChannelEmail, "not-an-address"}, {"pager", "x"}} {
		if _, err := w.c.AddChannel(w.cli, bad.kind, bad.target); core.CodeOf(err) != core.CodeInvalid {
			t.Errorf("AddChannel(%s, %q): %v", bad.kind, bad.target, err)
		}
	}
	if _, err := w.c.SetPolicy(w.cli, map[string]string{"alert_channels": "#sec"}); core.CodeOf(err) != core.CodeInvalid ||
		!strings.Contains(err.Error(), "actas alert add") {
		t.Errorf("alert_channels: %v", err)
	}
}

func TestLoggableArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alert add slack --webhook-url https://hooks.slack.com/services/T1/B1/SECRET", "alert add slack --webhook-url https://hooks.slack.com/…"},
		{"alert add slack --webhook-url=https://hooks.slack.com/services/T1/B1/SECRET", "alert add slack --webhook-url=https://hooks.slack.com/…"},
		{"alert add webhook --url https://siem.example/h?token=SECRET", "alert add webhook --url https://siem.example/h?…"},
		{"smtp set --host h --password-file /run/SECRET --user u", "smtp set --host h --password-file [REDACTED] --user u"},
		{"user list --json", "user list --json"},
		{"requests deny req_1 --note no", "requests deny req_1 --note no"},
	} {
		got := strings.Join(core.LoggableArgs(strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("LoggableArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// MessageID is fmt's "msg_%012d", built without fmt: twelve digits at
// least, so IDs sort in queue order, and all of a larger number.
func TestMessageIDIsTwelveDigitsAtLeast(t *testing.T) {
	for _, n := range []uint64{0, 1, 7, 42, 999_999_999_999, 1_000_000_000_000, 123_456_789_012_345, math.MaxUint64} {
		if got, want := core.MessageID(n), fmt.Sprintf("msg_%012d", n); got != want {
			t.Errorf("MessageID(%d) = %q, want %q", n, got, want)
		}
	}
}
