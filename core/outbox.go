package core

import (
	"context"
	"errors"
	"time"
)

// The outbox worker delivers what route queued (transactional outbox):
// messages are read after their transaction committed, delivered outside
// any transaction, and their outcome is written back in a transaction of
// its own. Delivery is at least once: a crash between a delivery and its
// write-back means the message is sent again, with the same ID.
//
// One message per lane (an alert channel, or the mail server for mail to
// people) is in flight at a time, each attempt bounded by the delivery
// timeout, so a dead endpoint delays only its own lane.

// WakeOutbox makes the worker look for due messages now.
func (c *Core) WakeOutbox() {
	select {
	case c.outboxWake <- struct{}{}:
	default:
	}
}

type deliveryResult struct {
	m   OutboxMessage
	err error
}

// RunOutbox delivers the outbox until ctx ends. The long-running writers
// run it: actas serve and the local console. Without a Notifier it returns
// at once.
func (c *Core) RunOutbox(ctx context.Context) {
	if c.notifier == nil {
		return
	}
	results := make(chan deliveryResult)
	busy := map[string]bool{}
	for {
		due, next, err := c.dueDeliveries(busy)
		if err != nil && ctx.Err() == nil {
			// The store is unreadable for now (closing, or damaged):
			// look again in a while rather than spin.
			next = c.clock.Now().Add(FirstRetry)
		}
		for _, d := range due {
			busy[d.Message.lane()] = true
			go func(d Delivery) {
				dctx, cancel := context.WithTimeout(ctx, c.deliveryTimeout)
				derr := c.notifier.Deliver(dctx, d)
				cancel()
				select {
				case results <- deliveryResult{d.Message, derr}:
				case <-ctx.Done():
				}
			}(d)
		}
		var timer Stopper
		if !next.IsZero() {
			timer = c.clock.AfterFunc(max(next.Sub(c.clock.Now()), 0), c.WakeOutbox)
		}
		select {
		case <-ctx.Done():
		case <-c.outboxWake:
		case r := <-results:
			delete(busy, r.m.lane())
			c.finishDelivery(r.m, r.err)
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// dueDeliveries reads, in one snapshot, the first due message of every
// lane that is not busy, with what delivering it needs, and the time the
// next message not yet due will be.
func (c *Core) dueDeliveries(busy map[string]bool) (due []Delivery, next time.Time, err error) {
	now := c.clock.Now()
	err = c.st.View(func(tx ReadTx) error {
		due, next = nil, time.Time{}
		smtp, err := tx.SMTP()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		taken := map[string]bool{}
		return tx.ScanOutbox(func(m OutboxMessage) bool {
			lane := m.lane()
			if m.Failed || busy[lane] || taken[lane] {
				return true
			}
			if m.NextAt.After(now) {
				if next.IsZero() || m.NextAt.Before(next) {
					next = m.NextAt
				}
				return true
			}
			if err := render(tx, &m); err != nil {
				// Unreadable, so undeliverable: it fails like a dead
				// endpoint would, and ends as alert.failed.
				m.Notice = Notice{Type: "unreadable", Subject: "actas could not read message " + m.ID + ": " + err.Error(), Time: now}
			}
			d := Delivery{Message: m, SMTP: smtp}
			if m.Channel != "" {
				ch, err := tx.Channel(m.Channel)
				if err != nil {
					return true // removed: RemoveChannel drops its messages
				}
				d.Channel = ch
			}
			taken[lane] = true
			due = append(due, d)
			return true
		})
	})
	return due, next, err
}

// finishDelivery writes an attempt's outcome: a delivered message leaves
// the outbox; a failed one waits for its next try, or after MaxDeliveryAge
// is marked failed with an alert.failed event.
func (c *Core) finishDelivery(m OutboxMessage, derr error) {
	err := c.update(func(t *txn) error {
		cur, err := t.OutboxMessage(m.ID)
		if err != nil {
			return nil // removed with its channel meanwhile
		}
		// What the attempt delivered was rendered when it was read; the
		// write transaction does not render again.
		if cur.Created.IsZero() {
			cur.Created = m.Created
		}
		t.alerts = true
		if cur.Channel != "" {
			if err := t.noteChannel(cur.Channel, derr); err != nil {
				return err
			}
		}
		if derr == nil {
			return t.DeleteOutbox(cur.ID)
		}
		cur.Attempts++
		cur.LastError = cutBytes(derr.Error(), 500)
		if t.now.Sub(cur.Created) < MaxDeliveryAge {
			cur.NextAt = t.now.Add(backoff(t.c.firstRetry, cur.Attempts))
			return t.PutOutbox(cur)
		}
		cur.Failed = true
		if err := t.PutOutbox(cur); err != nil {
			return err
		}
		if err := t.pruneFailed(); err != nil {
			return err
		}
		_, err = t.record(Event{Type: EvAlertFailed, Actor: Ref{ID: "system"}, Org: t.c.RootOrg().ID,
			Result: ResultError, Reason: "delivery_failed"},
			map[string]any{"message": cur.ID, "destination": cur.Destination(), "notice": m.Notice.Type,
				"session": m.Notice.Session, "request": m.Notice.Request,
				"attempts": cur.Attempts, "error": cur.LastError})
		return err
	})
	if err != nil {
		// Not written: the message is still due and is tried again.
		c.WakeOutbox()
	}
}

// keepFailed is how long a failed message stays listed (Settings → Alerts,
// alert outbox) after it failed; its alert.failed event stays in the audit
// log for good.
const keepFailed = 7 * 24 * time.Hour

// pruneFailed drops failed messages queued more than a day and keepFailed
// ago. It runs when another message fails, so the outbox holds at most a
// week of failures.
func (t *txn) pruneFailed() error {
	var old []string
	err := t.ScanOutbox(func(m OutboxMessage) bool {
		if m.Failed && t.now.Sub(m.Created) > keepFailed+MaxDeliveryAge {
			old = append(old, m.ID)
		}
		return true
	})
	for _, id := range old {
		if err == nil {
			err = t.DeleteOutbox(id)
		}
	}
	return err
}

// wasWarned reports whether the impersonator of the session was already
// told that it is ending.
func (c *Core) wasWarned(id string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.warned[id]
}
