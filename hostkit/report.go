package hostkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyJSON
	bodyForm
)

// event is one request of an impersonation, waiting to be reported. It is
// redacted and encoded on the reporter goroutine, not on the request path.
type event struct {
	sid     string
	time    time.Time
	method  string
	path    string
	query   string
	status  int
	blocked string // the Protect pattern that refused it
	kind    bodyKind
	body    []byte
	note    string // why the body is not recorded
}

// dropCount is what was not queued for one session.
type dropCount struct {
	n    int
	last time.Time // the last dropped request's time, inside the session
	path string    // and its path
}

// Batch limits of POST /v1/sessions/{sid}/events.
const (
	maxBatchEvents = 1000
	maxBatchBytes  = 1 << 20
)

// report queues ev without ever waiting: when the queue is full the request
// is counted instead.
func (k *Kit) report(ev event) {
	select {
	case k.queue <- ev:
	default:
		k.dropMu.Lock()
		d := k.dropped[ev.sid]
		d.n++
		d.last, d.path = ev.time, ev.path
		k.dropped[ev.sid] = d
		k.dropMu.Unlock()
	}
}

// wireEvent is one event of POST /v1/sessions/{sid}/events.
type wireEvent struct {
	Time    time.Time      `json:"time"`
	Method  string         `json:"method"`
	Path    string         `json:"path"`
	Status  int            `json:"status"`
	Blocked bool           `json:"blocked"`
	Request any            `json:"request,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// wire redacts ev and shapes it for the API.
func (ev *event) wire() wireEvent {
	w := wireEvent{Time: ev.time.UTC(), Method: wireMethod(ev.method), Path: wirePath(ev.path), Status: ev.status, Blocked: ev.blocked != ""}
	details := map[string]any{}
	if ev.query != "" {
		if q, err := url.ParseQuery(ev.query); err == nil {
			details["query"] = redact(flatten(q))
		} else {
			details["query"] = scrubText(ev.query)
		}
	}
	switch ev.kind {
	case bodyJSON:
		var v any
		d := json.NewDecoder(bytes.NewReader(ev.body))
		d.UseNumber()
		if d.Decode(&v) == nil {
			if m, ok := redact(v).(map[string]any); ok {
				w.Request = m
			} else {
				w.Request = map[string]any{"body": redact(v)}
			}
		} else {
			details["body"] = "not recorded: invalid JSON"
		}
	case bodyForm:
		if q, err := url.ParseQuery(string(ev.body)); err == nil {
			w.Request = redact(flatten(q))
		}
	}
	if ev.note != "" {
		details["body"] = ev.note
	}
	if ev.blocked != "" {
		details["protected"] = ev.blocked
	}
	if len(details) > 0 {
		w.Details = details
	}
	return w
}

// wireMethod is the method as actas takes it: 1–16 letters A–Z.
func wireMethod(m string) string {
	m = strings.ToUpper(m)
	if m == "" || len(m) > 16 || strings.IndexFunc(m, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return "OTHER"
	}
	return m
}

// wirePath is the escaped path (printable ASCII) within actas's 2048 bytes.
func wirePath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	if len(p) > 2048 {
		p = p[:2048]
	}
	return p
}

// flatten turns url.Values into a map of strings, or of lists for repeated
// keys.
func flatten(q url.Values) map[string]any {
	m := make(map[string]any, len(q))
	for key, vs := range q {
		if len(vs) == 1 {
			m[key] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		m[key] = list
	}
	return m
}

// reporter batches queued events per session and posts them. It holds at
// most one batch besides the queue: while actas is down it retries that
// batch and the queue fills, so memory stays bounded.
func (k *Kit) reporter() {
	defer k.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []event
	for {
		select {
		case <-k.ctx.Done():
			k.finalFlush(batch)
			return
		case ev := <-k.queue:
			if len(batch) == 0 {
				timer.Reset(k.cfg.FlushInterval)
			}
			batch = append(batch, ev)
			if len(batch) < maxBatchEvents {
				continue
			}
			timer.Stop()
		case <-timer.C:
		}
		k.flush(k.ctx, batch, true)
		batch = batch[:0]
	}
}

// finalFlush gives what is left one try of at most two seconds.
func (k *Kit) finalFlush(batch []event) {
	for {
		select {
		case ev := <-k.queue:
			batch = append(batch, ev)
			continue
		default:
		}
		break
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	k.flush(ctx, batch, false)
}

// flush posts batch, grouped by session in order, retrying while actas is
// unreachable (when retry is set), then reports any drops.
func (k *Kit) flush(ctx context.Context, batch []event, retry bool) {
	var order []string
	groups := map[string][]event{}
	for _, ev := range batch {
		if _, ok := groups[ev.sid]; !ok {
			order = append(order, ev.sid)
		}
		groups[ev.sid] = append(groups[ev.sid], ev)
	}
	delivered := false
	for _, sid := range order {
		for _, chunk := range chunks(groups[sid]) {
			if k.post(ctx, sid, chunk, retry) == nil {
				delivered = true
			}
		}
	}
	if delivered {
		k.reportDrops(ctx, retry)
	}
}

// chunks encodes events and splits them within the API's batch limits.
func chunks(evs []event) [][]json.RawMessage {
	var out [][]json.RawMessage
	var cur []json.RawMessage
	size := 0
	for i := range evs {
		b, err := json.Marshal(evs[i].wire())
		if err != nil {
			continue
		}
		if len(cur) > 0 && (len(cur) == maxBatchEvents || size+len(b)+64 > maxBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, b)
		size += len(b) + 1
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// post sends one batch of a session's events. It retries while actas is
// unreachable, overloaded or failing; it gives up on a refusal (the session
// is gone, the key revoked, the events invalid). nil means actas took them.
func (k *Kit) post(ctx context.Context, sid string, evs []json.RawMessage, retry bool) error {
	body, _ := json.Marshal(struct {
		Events []json.RawMessage `json:"events"`
	}{evs})
	wait := k.cfg.retryMin
	for {
		err := k.send(ctx, http.MethodPost, "/v1/sessions/"+sid+"/events", bytes.NewReader(body), nil, nil)
		if err == nil {
			k.sent.Add(int64(len(evs)))
			return nil
		}
		if statusOf(err) == http.StatusUnprocessableEntity && len(evs) > 1 {
			// One bad event refuses the whole batch (one timed after the
			// session's end plus its grace, say): halve it, so the others
			// still land.
			mid := len(evs) / 2
			return errors.Join(k.post(ctx, sid, evs[:mid], retry), k.post(ctx, sid, evs[mid:], retry))
		}
		if !retry || !isTransient(err) {
			if ctx.Err() == nil {
				k.log.Warn("actas did not take a session's requests; they are not in its audit log", "session", sid, "requests", len(evs), "err", err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, k.cfg.retryMax)
	}
}

// reportDrops posts, for each session, one event counting the requests that
// found the queue full.
func (k *Kit) reportDrops(ctx context.Context, retry bool) {
	k.dropMu.Lock()
	if len(k.dropped) == 0 {
		k.dropMu.Unlock()
		return
	}
	drops := k.dropped
	k.dropped = map[string]dropCount{}
	k.dropMu.Unlock()
	for sid, d := range drops {
		b, _ := json.Marshal(wireEvent{
			Time: d.last.UTC(), Method: "DROPPED", Path: wirePath(d.path), Status: 0,
			Details: map[string]any{
				"dropped": d.n,
				"note":    "hostkit could not queue these requests while actas was unreachable; they are not recorded one by one",
			},
		})
		if err := k.post(ctx, sid, []json.RawMessage{b}, retry); err != nil && (isTransient(err) || ctx.Err() != nil) {
			k.dropMu.Lock()
			cur := k.dropped[sid]
			cur.n += d.n
			if d.last.After(cur.last) {
				cur.last, cur.path = d.last, d.path
			}
			k.dropped[sid] = cur
			k.dropMu.Unlock()
		}
	}
}
