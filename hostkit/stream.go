package hostkit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// streamIdle is how long the stream may stay silent before hostkit assumes
// the connection died without a word and reconnects (resuming, so nothing
// is missed).
const streamIdle = 90 * time.Second

// streamRetryMax bounds the wait between two connection attempts: while
// the stream is down, ended sessions go unnoticed, and an attempt costs
// actas one refused connection.
const streamRetryMax = 2 * time.Second

// followStream follows GET /v1/stream (Server-Sent Events of
// session.started|ended for this key) and drops a session the moment its
// end arrives. It reconnects with backoff and resumes with Last-Event-ID.
func (k *Kit) followStream() {
	defer k.wg.Done()
	lastID := ""
	wait := k.cfg.retryMin
	for k.ctx.Err() == nil {
		connected, err := k.readStream(&lastID)
		if k.ctx.Err() != nil {
			return
		}
		if connected {
			wait = k.cfg.retryMin
		}
		k.log.Debug("actas stream interrupted; reconnecting", "err", err, "in", wait)
		jitter := time.Duration(rand.Int64N(int64(wait)/4 + 1))
		select {
		case <-k.ctx.Done():
			return
		case <-time.After(wait + jitter):
		}
		wait = min(wait*2, k.cfg.retryMax, streamRetryMax)
	}
}

// readStream reads one connection of the stream until it ends. connected
// reports whether actas answered 200.
func (k *Kit) readStream(lastID *string) (connected bool, err error) {
	ctx, cancel := context.WithCancel(k.ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.endpoint("/v1/stream"), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+k.cfg.APIKey)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resuming := *lastID != ""
	if resuming {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	resp, err := k.streamClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("actas stream: %s", resp.Status)
	}
	if !resuming {
		// Sessions may have ended while no stream was followed, and there is
		// no position to resume from: ask actas about each one.
		k.recheckAll()
	}
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4096), 1<<20)
	var name, id string
	var data strings.Builder
	for sc.Scan() {
		idle.Reset(streamIdle)
		line := sc.Text()
		if line == "" { // dispatch
			if id != "" {
				*lastID = id
			}
			k.streamEvent(name, data.String())
			name, id = "", ""
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment, used as a heartbeat
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		case "id":
			if !strings.ContainsRune(value, 0) {
				id = value
			}
		}
	}
	return true, sc.Err()
}

// streamEvent acts on one event of the stream. Only session.ended matters:
// the session's cookies stop working at once.
func (k *Kit) streamEvent(name, data string) {
	var body struct {
		Type    string          `json:"type"`
		Session json.RawMessage `json:"session"`
		Sid     string          `json:"sid"`
		ID      string          `json:"id"`
	}
	if data == "" || json.Unmarshal([]byte(data), &body) != nil {
		return
	}
	if name == "" {
		name = body.Type
	}
	if name != "session.ended" {
		return
	}
	sid := body.Sid
	if len(body.Session) > 0 {
		var s string
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body.Session, &s) == nil {
			sid = s
		} else if json.Unmarshal(body.Session, &obj) == nil && obj.ID != "" {
			sid = obj.ID
		}
	}
	if sid == "" && strings.HasPrefix(body.ID, "imp_") {
		sid = body.ID
	}
	if sid != "" {
		k.drop(sid)
	}
}
