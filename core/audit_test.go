package core_test

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func TestEventRecordRoundTrip(t *testing.T) {
	ev := core.Event{Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Type: core.EvActionPerformed,
		Actor: core.Ref{ID: "usr_1", Email: "a@x.test"}, Subject: core.Ref{ID: "usr_2", Email: "ü@x.test"},
		Org: "org_2", Session: "imp_3", Request: "req_4", Result: core.ResultOK, Reason: "why",
		Details: json.RawMessage(`{"k":"v"}`), Prev: core.Hash{1, 2, 3}}
	rec := core.EncodeEvent(&ev)
	got, err := core.DecodeEvent(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, ev)
	}
	session, actor, subject, err := core.RecordRefs(rec)
	if err != nil || string(session) != ev.Session || string(actor) != ev.Actor.ID || string(subject) != ev.Subject.ID {
		t.Fatalf("RecordRefs = %q, %q, %q, %v; want %q, %q, %q", session, actor, subject, err, ev.Session, ev.Actor.ID, ev.Subject.ID)
	}
	for cut := 1; cut < len(rec)-74; cut += 3 {
		if _, err := core.DecodeEvent(rec[:len(rec)-cut]); err == nil {
			t.Fatalf("record cut by %d bytes decoded without error", cut)
		}
	}
	// RecordRefs reads up to the session: any cut into it or before fails.
	// (The record of the first seven fields alone ends in four empty ones.)
	sessionEnd := len(core.EncodeEvent(&core.Event{Type: ev.Type, Actor: ev.Actor, Subject: ev.Subject, Org: ev.Org, Session: ev.Session})) - 4
	for cut := len(rec) - sessionEnd + 1; cut < len(rec)-74; cut++ {
		if _, _, _, err := core.RecordRefs(rec[:len(rec)-cut]); err == nil {
			t.Fatalf("RecordRefs of a record cut by %d bytes (into its first seven fields) gave no error", cut)
		}
	}
	// The hash covers every byte of the body, prev included.
	for i := 32; i < len(rec); i++ {
		bad := append([]byte(nil), rec[32:]...)
		bad[i-32] ^= 1
		if sha256.Sum256(bad) == [32]byte(ev.Hash) {
			t.Fatalf("flipping byte %d keeps the hash", i)
		}
	}
	if sha256.Sum256(rec[32:]) != [32]byte(ev.Hash) || core.Hash(rec[:32]) != ev.Hash {
		t.Fatal("stored hash is not SHA-256 of the body")
	}
}
