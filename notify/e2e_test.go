package notify_test

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/alertsink"
	"github.com/actas/actas/notify"
	"github.com/actas/actas/store"
)

// wait bounds how long a test waits for a delivery before it fails (a
// liveness bound, not a timing assertion).
const wait = 20 * time.Second

// alertWorld is the demo data set with a running outbox worker, a mail
// sink as the SMTP server, and Slack and webhook receivers.
type alertWorld struct {
	t       *testing.T
	c       *core.Core
	clock   *core.FakeClock
	mail    *alertsink.SMTP
	slack   *alertsink.HTTP
	hook    *alertsink.HTTP
	owner   core.Principal
	channel map[core.ChannelKind]core.Channel
}

func newAlertWorld(t *testing.T, opt core.Options) *alertWorld {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "actas.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := core.NewFakeClock(time.Now().Add(-3 * time.Hour))
	opt.Clock = clock
	if opt.Notifier == nil {
		opt.Notifier = notify.New(notify.Options{})
	}
	c, err := core.Open(db, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.SeedDemo(c, clock, 3); err != nil {
		t.Fatal(err)
	}
	// The demo's pending request (support for Jane) is withdrawn before any
	// channel exists, so each test asks afresh and hears only of its own.
	support, _ := c.SystemUserByEmail(core.DemoSupport)
	if _, err := c.Cancel(core.Principal{User: support, Conn: "test-support"}, "req_00000001"); err != nil {
		t.Fatal(err)
	}
	w := &alertWorld{t: t, c: c, clock: clock, slack: alertsink.NewHTTP(""), hook: alertsink.NewHTTP(""),
		channel: map[core.ChannelKind]core.Channel{}}
	if w.mail, err = alertsink.StartSMTP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	slackSrv, hookSrv := httptest.NewServer(w.slack), httptest.NewServer(w.hook)
	owner, _ := c.SystemUserByEmail(core.DemoOwner)
	w.owner = core.Principal{User: owner, Conn: "test-owner"}
	cli := core.SystemPrincipal("test")
	host, port := splitAddr(t, w.mail.Addr)
	if err := c.SetSMTP(cli, core.SMTPConfig{Host: host, Port: port, From: "actas@acme.test", StartTLS: core.StartTLSOpportunistic}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetPolicy(cli, map[string]string{"environment": "staging"}); err != nil {
		t.Fatal(err)
	}
	for kind, target := range map[core.ChannelKind]string{core.ChannelSlack: slackSrv.URL + "/services/T1/B1/secret",
		core.ChannelWebhook: hookSrv.URL + "/hooks/actas"} {
		ch, err := c.AddChannel(cli, kind, target)
		if err != nil {
			t.Fatal(err)
		}
		w.channel[kind] = ch
	}
	w.hook.SetSecret(w.channel[core.ChannelWebhook].Secret)
	done := make(chan struct{})
	stop := make(chan struct{})
	ctx, cancel := contextWithCancel()
	go func() {
		defer close(done)
		c.RunOutbox(ctx)
	}()
	t.Cleanup(func() {
		close(stop)
		cancel()
		<-done
		slackSrv.Close()
		hookSrv.Close()
		w.mail.Close()
		c.Close()
		db.Close()
	})
	return w
}

func (w *alertWorld) as(email string) core.Principal {
	u, err := w.c.SystemUserByEmail(email)
	if err != nil {
		w.t.Fatal(err)
	}
	return core.Principal{User: u, Conn: "test-" + email}
}

// mailTo waits for a mail to addr whose subject contains subject.
func (w *alertWorld) mailTo(addr, subject string) alertsink.Mail {
	w.t.Helper()
	m, ok := w.mail.Wait(wait, func(m alertsink.Mail) bool {
		return slices.Contains(m.To, addr) && strings.Contains(m.Subject, subject)
	})
	if !ok {
		var got []string
		for _, m := range w.mail.Mails() {
			got = append(got, strings.Join(m.To, ",")+": "+m.Subject)
		}
		w.t.Fatalf("no mail to %s with subject %q; got:\n%s", addr, subject, strings.Join(got, "\n"))
	}
	return m
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// The story of the README: support asks to help Jane; the approvers, Slack
// and the webhook hear of it; a denial and an approval reach support; Jane
// enabling consent after the denial reaches support; Jane gets the start
// notice and the receipt listing what was done.
func TestAlertsReachEveryone(t *testing.T) {
	w := newAlertWorld(t, core.Options{})
	c := w.c
	support, jane, approver := w.as(core.DemoSupport), w.as(core.DemoJane), w.as(core.DemoApprover)

	r, err := c.CreateRequest(support, jane.User.ID, "ticket #5150: invoices do not load", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{core.DemoApprover, core.DemoOwner} {
		m := w.mailTo(to, "[staging] Sam Support asks to act as Jane Doe")
		if m.From != "actas@acme.test" || !strings.HasPrefix(m.ID, "<msg_") || !strings.HasSuffix(m.ID, "@actas>") {
			t.Errorf("mail to %s: from %q, Message-ID %q", to, m.From, m.ID)
		}
		mustContain(t, "approver mail text", m.Text, "Sam Support <support@acme.test>", "Jane Doe <jane@globex.test>",
			"ticket #5150: invoices do not load", "Duration asked: 2h", r.ID, "Environment: staging")
		mustContain(t, "approver mail HTML", m.HTML, "<h2>[staging] Sam Support asks to act as Jane Doe</h2>", "ticket #5150")
	}
	if _, ok := w.mail.Wait(0, func(m alertsink.Mail) bool {
		return slices.Contains(m.To, core.DemoSupport) && strings.Contains(m.Subject, "asks to act")
	}); ok {
		t.Error("the requester got the approvers' mail")
	}
	sl, ok := w.slack.Wait(wait, func(h alertsink.Hook) bool { return strings.Contains(string(h.Body), r.ID) })
	if !ok {
		t.Fatal("Slack never heard of the request")
	}
	var blocks struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type   string `json:"type"`
			Text   *struct{ Text string }
			Fields []struct{ Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal(sl.Body, &blocks); err != nil {
		t.Fatal(err)
	}
	if len(blocks.Blocks) < 3 || blocks.Blocks[0].Type != "header" || blocks.Blocks[0].Text.Text != "[staging] Sam Support asks to act as Jane Doe" {
		t.Fatalf("Slack blocks: %s", sl.Body)
	}
	var fields []string
	for _, f := range blocks.Blocks[1].Fields {
		fields = append(fields, f.Text)
	}
	mustContain(t, "Slack fields", strings.Join(fields, "|"), "*Who*\nSam Support &lt;support@acme.test&gt;",
		"*Whom*\nJane Doe &lt;jane@globex.test&gt;", "*Why*\nticket #5150", "*Until*\n", "*Environment*\nstaging")

	wh, ok := w.hook.Wait(wait, func(h alertsink.Hook) bool { return strings.Contains(string(h.Body), r.ID) })
	if !ok || wh.Verified != nil || wh.Status != 200 || !strings.HasPrefix(wh.ID, "msg_") {
		t.Fatalf("webhook: arrived %v, verified %v, status %d, id %q", ok, wh.Verified, wh.Status, wh.ID)
	}
	var payload notify.WebhookPayload
	if err := json.Unmarshal(wh.Body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Type != core.EvRequestCreated || payload.Data.ID != wh.ID || payload.Data.Request != r.ID || payload.Data.Why != r.Reason {
		t.Errorf("webhook payload: %+v", payload)
	}

	// Denied; then Jane enables impersonation again: support hears both.
	if _, err := c.Decide(approver, r.ID, false, 0, "no ticket number in the CRM"); err != nil {
		t.Fatal(err)
	}
	m := w.mailTo(core.DemoSupport, "[staging] Your request to act as Jane Doe was denied")
	mustContain(t, "denial mail", m.Text, "Denied by approver@acme.test.", "Note: no ticket number in the CRM")
	if _, err := c.RevokeConsent(jane); err != nil {
		t.Fatal(err)
	}
	u, err := c.GrantConsent(jane, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m = w.mailTo(core.DemoSupport, "[staging] Jane Doe enabled impersonation until")
	mustContain(t, "consent mail", m.Text, u.ConsentUntil.Format(time.RFC1123), "Jane Doe <jane@globex.test> granted consent",
		"Your request "+r.ID+" was denied; ask again")
	if _, ok := w.mail.Wait(0, func(m alertsink.Mail) bool {
		return slices.Contains(m.To, core.DemoLead) && strings.Contains(m.Subject, "enabled impersonation")
	}); ok {
		t.Error("staff without a request for Jane heard of her consent")
	}

	// Asked again and approved: support hears; the session starts and ends.
	r2, err := c.CreateRequest(support, jane.User.ID, "ticket #5151: invoices still do not load", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decide(approver, r2.ID, true, 0, "go ahead"); err != nil {
		t.Fatal(err)
	}
	m = w.mailTo(core.DemoSupport, "[staging] Your request to act as Jane Doe was approved")
	mustContain(t, "approval mail", m.Text, "Approved for 1h by approver@acme.test", "Note: go ahead")
	s, err := c.Start(support, jane.User.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	m = w.mailTo(core.DemoJane, "[staging] Sam Support is now acting as you")
	mustContain(t, "start notice", m.Text, "Sam Support <support@acme.test> started a support session on your account",
		"ticket #5151: invoices still do not load", s.Ends.Format(time.RFC1123))
	w.clock.Advance(7 * time.Minute)
	if _, err := c.RecordAction(support, "view invoices", map[string]any{"path": "/billing/invoices"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecordAction(support, "resend invoice", map[string]any{"invoice": "inv_000042"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecordAction(support, "http", map[string]any{"method": "POST", "path": "/invoices/42/resend", "status": 202}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(5 * time.Minute)
	if err := c.End(support, core.EndExit); err != nil {
		t.Fatal(err)
	}
	m = w.mailTo(core.DemoJane, "[staging] Receipt: Sam Support acted as you")
	mustContain(t, "receipt", m.Text, "Duration: 12m0s", "Ended: exit", "Actions done (3):", "POST /invoices/42/resend → 202",
		"action=view invoices path=/billing/invoices", "action=resend invoice invoice=inv_000042")
	mustContain(t, "receipt HTML", m.HTML, "<li>Actions done (3):</li>", "inv_000042")
	for _, sub := range []string{"started acting as Jane Doe", "stopped acting as Jane Doe"} {
		if _, ok := w.slack.Wait(wait, func(h alertsink.Hook) bool { return strings.Contains(string(h.Body), sub) }); !ok {
			t.Errorf("Slack never heard %q", sub)
		}
		if _, ok := w.hook.Wait(wait, func(h alertsink.Hook) bool {
			return h.Verified == nil && strings.Contains(string(h.Body), sub)
		}); !ok {
			t.Errorf("the webhook never heard %q", sub)
		}
	}
	// The webhook's secret was printed once: the list does not show it.
	chs, err := c.Channels(w.owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chs {
		if ch.Secret != "" || strings.Contains(ch.URL, "secret") || strings.Contains(ch.Destination(), "secret") {
			t.Errorf("Channels shows a secret: %+v", ch)
		}
	}
}
