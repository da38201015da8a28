package httpapi_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// TestRevocationReachesStream measures, over 100 revocations, how long a
// target's consent revoke takes to reach a product following the stream
// as session.ended: from the revoke call to the event read. It reports
// the figures (README "Connect your product"); it asserts no time. Set
// ACTAS_LATENCY=1 to run it.
func TestRevocationReachesStream(t *testing.T) {
	if os.Getenv("ACTAS_LATENCY") == "" {
		t.Skip("set ACTAS_LATENCY=1 to measure")
	}
	w := newWorld(t)
	stream := w.openStream(t, "billing", "")
	lead := core.Principal{User: w.user(t, "lead@acme.test"), Conn: "latency"}
	jane := core.Principal{User: w.user(t, "jane@globex.test")}
	var lat []time.Duration
	for range 100 {
		if _, err := w.c.GrantConsent(jane, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		s, err := w.c.Start(lead, jane.User.ID, "latency")
		if err != nil {
			t.Fatal(err)
		}
		if e := next(t, stream); e.event != core.EvSessionStarted {
			t.Fatalf("got %+v", e)
		}
		start := time.Now()
		if _, err := w.c.RevokeConsent(jane); err != nil {
			t.Fatal(err)
		}
		e := next(t, stream)
		lat = append(lat, time.Since(start))
		if e.event != core.EvSessionEnded || !strings.Contains(e.data, s.ID) {
			t.Fatalf("got %+v, want session.ended of %s", e, s.ID)
		}
	}
	slices.Sort(lat)
	t.Logf("revocation to stream over %d revocations: p50 %s p99 %s max %s (the revoke's durable commit included)",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}
