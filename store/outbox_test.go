package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// queueIDs queues one message per channel in one transaction and returns
// their IDs, in order.
func queueIDs(t *testing.T, tx core.Tx, event uint64, channels ...string) []string {
	t.Helper()
	var ids []string
	for _, ch := range channels {
		m := core.OutboxMessage{Event: event, Channel: ch}
		if err := core.QueueMessage(tx, &m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func scanIDs(t *testing.T, tx core.ReadTx) []string {
	t.Helper()
	var ids []string
	if err := tx.ScanOutbox(func(m core.OutboxMessage) bool { ids = append(ids, m.ID); return true }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// The messages one transaction queues are stored together, after its last
// audit record (outbox.go);
// each is still found, changed and removed on its own, in queue order,
// and what a transaction queued it reads back before it ends.
func TestOutboxGroupsActLikeSingleMessages(t *testing.T) {
	db, _ := openTemp(t)
	var first, second []string
	evs := []core.Event{testEvent(1), testEvent(2)}
	update(t, db, func(tx core.Tx) error {
		if err := core.AppendEvent(tx, &evs[0]); err != nil {
			return err
		}
		first = queueIDs(t, tx, 7, "ch_a", "ch_b", "ch_c", "ch_d")
		// Read before the end of the transaction that queued them.
		if got := scanIDs(t, tx); !slices.Equal(got, first) {
			t.Errorf("inside the queueing transaction the outbox is %v, want %v", got, first)
		}
		// Queued after that read, in the same transaction.
		first = append(first, queueIDs(t, tx, 8, "ch_e")...)
		return nil
	})
	update(t, db, func(tx core.Tx) error {
		second = queueIDs(t, tx, 9, "ch_f", "ch_g")
		return core.AppendEvent(tx, &evs[1])
	})
	all := slices.Concat(first, second)
	view(t, db, func(tx core.ReadTx) error {
		if got := scanIDs(t, tx); !slices.Equal(got, all) {
			t.Errorf("outbox is %v, want %v", got, all)
		}
		for i, id := range all {
			m, err := tx.OutboxMessage(id)
			if err != nil || m.ID != id || m.Channel != "ch_"+string(rune('a'+i)) {
				t.Errorf("OutboxMessage(%s) = %+v, %v", id, m, err)
			}
		}
		if _, err := tx.OutboxMessage("msg_999999999999"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("a message never queued: %v, want ErrNotFound", err)
		}
		return nil
	})

	// A retry changes one member; its neighbours stay as they were.
	retry := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	update(t, db, func(tx core.Tx) error {
		m, err := tx.OutboxMessage(first[1])
		if err != nil {
			return err
		}
		m.Attempts, m.LastError, m.NextAt, m.Created = 1, "HTTP 500", retry, retry.Add(-time.Minute)
		return tx.PutOutbox(m)
	})
	// The first member leaves (its group keeps its key), then a middle
	// one, then all of the second transaction's.
	for _, gone := range [][]string{{first[0]}, {first[2]}, second} {
		update(t, db, func(tx core.Tx) error {
			for _, id := range gone {
				if err := tx.DeleteOutbox(id); err != nil {
					return err
				}
			}
			return nil
		})
	}
	want := []string{first[1], first[3], first[4]}
	view(t, db, func(tx core.ReadTx) error {
		if got := scanIDs(t, tx); !slices.Equal(got, want) {
			t.Errorf("after deliveries the outbox is %v, want %v", got, want)
		}
		m, err := tx.OutboxMessage(first[1])
		if err != nil || m.Attempts != 1 || m.LastError != "HTTP 500" || !m.NextAt.Equal(retry) || m.Channel != "ch_b" {
			t.Errorf("the retried message reads %+v, %v", m, err)
		}
		for _, id := range slices.Concat([]string{first[0], first[2]}, second) {
			if _, err := tx.OutboxMessage(id); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("delivered %s is still found: %v", id, err)
			}
		}
		return nil
	})
	update(t, db, func(tx core.Tx) error {
		for _, id := range want {
			if err := tx.DeleteOutbox(id); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx core.ReadTx) error {
		if got := scanIDs(t, tx); len(got) != 0 {
			t.Errorf("outbox after every delivery: %v", got)
		}
		return nil
	})
}

// A transaction that fails queues nothing, and the batch it was in loses
// none of its own messages.
func TestOutboxOfAFailedTransactionIsDropped(t *testing.T) {
	db, _ := openTemp(t)
	boom := errors.New("boom")
	var kept []string
	err := db.Update(func(tx core.Tx) error {
		queueIDs(t, tx, 1, "ch_x", "ch_y")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	update(t, db, func(tx core.Tx) error { kept = queueIDs(t, tx, 2, "ch_z"); return nil })
	view(t, db, func(tx core.ReadTx) error {
		if got := scanIDs(t, tx); !slices.Equal(got, kept) {
			t.Errorf("outbox is %v, want only %v", got, kept)
		}
		return nil
	})
}
