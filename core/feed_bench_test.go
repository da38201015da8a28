package core_test

import (
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// BenchmarkFeedFilter is what deciding who may see one live audit event
// costs, per console subscribed through core.Subscribe (staff and members
// mixed): the hub asks each subscription's filter inside Publish.
//
// "store read" is the filter the consoles had before (tui's FeedFor read
// the person from the store for every audit event), measured alongside.
func BenchmarkFeedFilter(b *testing.B) {
	b.Run("core.Subscribe", func(b *testing.B) {
		benchFeed(b, func(w *world, p core.Principal) *core.Subscription { return w.c.Subscribe(p, 4) })
	})
	b.Run("store read", func(b *testing.B) {
		benchFeed(b, func(w *world, p core.Principal) *core.Subscription {
			return w.c.Hub().SubscribeFunc(4, func(ch core.Change) bool {
				u, err := w.c.SystemUser(p.User.ID)
				return err != nil || u.Role.IsStaff() || ch.Event.Actor.ID == u.ID || ch.Event.Subject.ID == u.ID
			})
		})
	})
}

func benchFeed(b *testing.B, subscribe func(*world, core.Principal) *core.Subscription) {
	w := newWorld(b)
	people := []string{"lead", "jane", "approver", "gstaff", "joe", "owner"}
	var subs []*core.Subscription
	for i := 0; i < 120; i++ {
		subs = append(subs, subscribe(w, w.as(people[i%len(people)])))
	}
	defer func() {
		for _, s := range subs {
			s.Close()
		}
	}()
	ev := core.Event{Type: core.EvActionPerformed, Actor: w.u["lead"].Ref(), Subject: w.u["jane"].Ref(), Org: w.u["jane"].Org, Time: time.Now()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev.Seq = uint64(i)
		w.c.Hub().Publish(core.Change{Kind: core.ChangeAudit, Event: &ev})
		if i%3 == 0 {
			for _, s := range subs {
				for len(s.C) > 0 {
					<-s.C
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(subs)), "ns/console")
}
