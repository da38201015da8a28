package notify_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/alertsink"
)

// A dead endpoint (it takes the connection and never answers) holds up
// neither the console's actions nor the other channels: its deliveries
// wait in their own lane (in production bounded by the 10 s timeout). The
// dead handler is only released when the test ends, so if anything waited
// for it the test would fail at its wait bound instead of passing.
func TestDeadEndpointBlocksNobody(t *testing.T) {
	release := make(chan struct{})
	hit := make(chan struct{}, 100)
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer dead.Close()
	defer close(release)

	// No timeout rescues the others here: the dead endpoint hangs for the
	// whole test, so only lanes of their own let them through.
	w := newAlertWorld(t, core.Options{DeliveryTimeout: time.Hour})
	if _, err := w.c.AddChannel(core.SystemPrincipal("test"), core.ChannelWebhook, dead.URL); err != nil {
		t.Fatal(err)
	}
	support, jane, approver := w.as(core.DemoSupport), w.as(core.DemoJane), w.as(core.DemoApprover)
	r, err := w.c.CreateRequest(support, jane.User.ID, "dead endpoint test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-hit:
	case <-time.After(wait):
		t.Fatal("the dead endpoint was never called")
	}
	// While its delivery hangs: console actions go through, and the other
	// channels and the mail get theirs.
	if _, err := w.c.Decide(approver, r.ID, true, 0, ""); err != nil {
		t.Fatal(err)
	}
	s, err := w.c.Start(support, jane.User.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.c.End(support, core.EndExit); err != nil {
		t.Fatal(err)
	}
	w.mailTo(core.DemoSupport, "was approved")
	w.mailTo(core.DemoJane, "Receipt:")
	for _, sink := range []*alertsink.HTTP{w.slack, w.hook} {
		if _, ok := sink.Wait(wait, func(h alertsink.Hook) bool {
			return strings.Contains(string(h.Body), s.ID) && strings.Contains(string(h.Body), "stopped acting")
		}); !ok {
			t.Fatal("a healthy channel did not get the session's end while another hung")
		}
	}
	// The dead lane still holds its messages.
	pending := 0
	msgs, err := w.c.Outbox(w.owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if !m.Failed && m.Channel != w.channel[core.ChannelSlack].ID && m.Channel != w.channel[core.ChannelWebhook].ID && m.Channel != "" {
			pending++
		}
	}
	if pending < 3 { // request.created, session.started, session.ended
		t.Errorf("dead channel has %d undelivered messages, want its 3 or more", pending)
	}
}
