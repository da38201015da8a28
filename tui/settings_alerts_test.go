package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
	tea "github.com/charmbracelet/bubbletea"
)

// recordingNotifier keeps what it was asked to deliver and answers err.
type recordingNotifier struct {
	mu  sync.Mutex
	err error
	got []core.Delivery
}

func (n *recordingNotifier) Deliver(_ context.Context, d core.Delivery) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, d)
	return n.err
}

// Settings → Alerts lists the channels (no secrets), the outbox, and t
// sends a test to the selected channel, saying how it went.
func TestSettingsAlerts(t *testing.T) {
	f := newFixture(t, 30)
	f.c.Close()
	n := &recordingNotifier{}
	c, err := core.Open(f.db, core.Options{Clock: f.clock, Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.c = c
	cli := core.SystemPrincipal("test")
	slack, err := c.AddChannel(cli, core.ChannelSlack, "https://hooks.slack.com/services/T1/B1/SLACKSECRET")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddChannel(cli, core.ChannelWebhook, "https://siem.example/hook"); err != nil {
		t.Fatal(err)
	}
	// A new request queues a message for each channel.
	if _, err := c.CreateRequest(f.principal(t, core.DemoSupport), f.principal(t, core.DemoBob).User.ID, "ticket 7", time.Hour); err != nil {
		t.Fatal(err)
	}
	p := f.openPage(t, NewSettingsPage, core.DemoOwner)
	out, err := c.Outbox(cli)
	if err != nil || len(out) != 2 {
		t.Fatalf("the outbox: %d messages, %v", len(out), err)
	}
	pageKeys(t, p, "G", "k") // the first channel
	v := p.View()
	mustContain(t, v, "Alerts (2)", "ch_00000001 slack   https://hooks.slack.com/…", "ch_00000002 webhook https://siem.example/hook",
		"never", "t sends a test to ch_00000001")
	if strings.Contains(v, "SLACKSECRET") || strings.Contains(v, "whsec_") {
		t.Fatalf("Settings shows a secret:\n%s", v)
	}
	msgs := pageKeys(t, p, "t")
	noErrors(t, msgs)
	if !slices.Contains(noticesOf(msgs), "Test message delivered to ch_00000001") {
		t.Errorf("notices after t: %q", noticesOf(msgs))
	}
	if len(n.got) != 1 || n.got[0].Channel.ID != slack.ID || n.got[0].Message.Notice.Type != core.NoticeTest {
		t.Fatalf("deliveries: %+v", n.got)
	}
	mustContain(t, p.View(), "ch_00000001 slack   https://hooks.slack.com/…      2025-03-10 ")

	n.err = errors.New("POST https://hooks.slack.com/…: answered 404 Not Found: no_team")
	msgs = pageKeys(t, p, "t")
	if errs := errorsOf(msgs); len(errs) != 1 || !strings.Contains(errs[0], "test to ch_00000001 failed") || !strings.Contains(errs[0], "no_team") {
		t.Errorf("errors after a failed test: %q", errs)
	}
	mustContain(t, p.View(), "answered 404", "Last error")
	// On a tall screen the outbox shows too: the request's messages wait
	// there (no worker runs here).
	drivePage(t, p, tea.WindowSizeMsg{Width: 120, Height: 80})
	mustContain(t, p.View(), fmt.Sprintf("Outbox: %d pending, 0 failed", len(out)), "request.created → ch_00000001 · pending, try 1 at")
	// A support engineer has no Settings tab; core refuses the list anyway.
	if _, err := c.Channels(f.principal(t, core.DemoSupport)); core.CodeOf(err) != core.CodeNotPermitted {
		t.Errorf("support lists channels: %v", err)
	}
}

// The impersonator's console says when the session enters its last 10
// minutes; another person's console does not.
func TestSessionEndingNoticeInConsole(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(256)
	defer sub.Close()
	m := f.newModel(t, core.DemoOwner, 100, 30)
	other := f.newModel(t, core.DemoLead, 100, 30)
	impersonate(t, m, "jane")
	for len(sub.C) > 0 {
		<-sub.C
	}
	f.clock.Advance(50*time.Minute + time.Second)
	for len(sub.C) > 0 {
		ch := ChangeMsg{Change: <-sub.C}
		drive(t, m, ch)
		drive(t, other, ch)
	}
	mustContain(t, m.View(), "Your session as Jane Doe ends in 10m")
	mustNotContain(t, other.View(), "ends in 10m")
}
