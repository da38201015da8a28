package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// sse is one event read from a stream.
type sse struct {
	id, event, data string
	comment         bool
}

// openStream follows GET /v1/stream with the key; lastID "" sends no
// Last-Event-ID. Events and comments arrive on the channel, which closes
// when the stream ends.
func (w *world) openStream(t *testing.T, key, lastID string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", w.srv.URL+"/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+w.secrets[key])
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sse, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" {
					out <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, ":"):
				out <- sse{comment: true, data: line}
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
	}()
	return out
}

// next is the next event (comments skipped), or a failure after 5 s.
func next(t *testing.T, c <-chan sse) sse {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-c:
			if !ok {
				t.Fatal("the stream ended")
			}
			if !e.comment {
				return e
			}
		case <-timeout:
			t.Fatal("no event within 5 s")
		}
	}
}

func TestStreamLiveAndResume(t *testing.T) {
	w := newWorld(t)
	live := w.openStream(t, "crm", "") // any key hears of every session
	s, _ := w.start(t)
	started := next(t, live)
	var data map[string]any
	if err := json.Unmarshal([]byte(started.data), &data); err != nil {
		t.Fatal(err)
	}
	evs := w.sessionEvents(t, s.ID, core.EvSessionStarted)
	if started.event != "session.started" || started.id != strconv.FormatUint(evs[0].Seq, 10) || data["id"] != s.ID || data["state"] != "active" {
		t.Fatalf("first event %+v, want session.started of %s with id %d", started, s.ID, evs[0].Seq)
	}
	// Actions and other events do not reach the stream.
	sid, _ := w.redeem(t, "billing", ticketOfSession(t, w))
	if r := w.call(t, "POST", "/v1/sessions/"+sid+"/events", "billing", w.events(3, nil)); r.status != 202 {
		t.Fatal(r.status, string(r.body))
	}
	lead := core.Principal{User: w.user(t, "lead@acme.test")}
	if err := w.c.End(lead, core.EndExit); err != nil {
		t.Fatal(err)
	}
	ended := next(t, live)
	if ended.event != "session.ended" || !strings.Contains(ended.data, `"end_reason":"exit"`) {
		t.Fatalf("second event %+v, want session.ended", ended)
	}

	// Resuming after the start replays the end only; from 0 the whole history.
	again := w.openStream(t, "billing", started.id)
	if e := next(t, again); e != ended {
		t.Errorf("resumed after %s: %+v, want %+v", started.id, e, ended)
	}
	all := w.openStream(t, "billing", "0")
	var seen []string
	for {
		e := next(t, all)
		seen = append(seen, e.event+" "+e.id)
		if e.id == ended.id {
			break
		}
	}
	if len(seen) < 4 || seen[len(seen)-2] != "session.started "+started.id { // the demo's finished sessions first
		t.Errorf("replay from 0: %v", seen)
	}
}

// ticketOfSession is the product link ticket of lead's running session.
func ticketOfSession(t *testing.T, w *world) string {
	t.Helper()
	link, ok := w.c.ProductLinkOf(core.Principal{User: w.user(t, "lead@acme.test")})
	if !ok {
		t.Fatal("no link")
	}
	return ticketOf(t, link.URL)
}

func TestStreamKeepAliveAndRevoke(t *testing.T) {
	w := newWorld(t, func(o *worldOpt) { o.keepAlive = 20 * time.Millisecond })
	c := w.openStream(t, "billing", "")
	timeout := time.After(5 * time.Second)
	for got := 0; got < 2; {
		select {
		case e := <-c:
			if e.comment && e.data == ": keep-alive" {
				got++
			}
		case <-timeout:
			t.Fatal("no keep-alive comment lines")
		}
	}
	if _, err := w.c.RevokeAPIKey(core.SystemPrincipal("test"), "billing"); err != nil {
		t.Fatal(err)
	}
	timeout = time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-c:
			if !ok {
				return // closed
			}
		case <-timeout:
			t.Fatal("the stream of a revoked key stays open")
		}
	}
}

// A stream that falls behind replays what it missed from the log: a kill
// switch ends several sessions in one commit, more than its buffer holds,
// and each session.ended arrives once.
func TestStreamCatchesUpAfterOverflow(t *testing.T) {
	w := newWorld(t, func(o *worldOpt) { o.buffer = 1 })
	direct := core.ModeDirect
	if _, err := w.c.UpdateUser(core.SystemPrincipal("test"), "approver@acme.test", core.UserChange{Mode: &direct}); err != nil {
		t.Fatal(err)
	}
	live := w.openStream(t, "billing", "")
	var ids []string
	for _, who := range []string{"lead@acme.test", "owner@acme.test", "approver@acme.test"} {
		s, _ := w.startAs(t, who)
		ids = append(ids, s.ID)
	}
	for range ids {
		if e := next(t, live); e.event != "session.started" {
			t.Fatalf("got %+v", e)
		}
	}
	if _, err := w.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"enabled": "false"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range ids {
		e := next(t, live)
		var d struct{ ID, State string }
		_ = json.Unmarshal([]byte(e.data), &d)
		if e.event != "session.ended" || d.State != "ended" {
			t.Fatalf("got %+v", e)
		}
		got[d.ID]++
	}
	// Nothing more: no duplicate follows.
	if _, err := w.c.SetPolicy(core.SystemPrincipal("test"), map[string]string{"enabled": "true"}); err != nil {
		t.Fatal(err)
	}
	s, _ := w.startAs(t, "lead@acme.test")
	if e := next(t, live); e.event != "session.started" || !strings.Contains(e.data, s.ID) {
		t.Errorf("after the catch-up: %+v, want the next session's start", e)
	}
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("session.ended of %s arrived %d times", id, got[id])
		}
	}
}
