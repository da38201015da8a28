package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/actas/actas/core"
)

// writeWait bounds each write to a stream: a reader that stops reading is
// dropped instead of holding the server.
const writeWait = 30 * time.Second

// parseLastEventID validates Last-Event-ID: a decimal audit seq, nothing
// else. It is never echoed back, so nothing in it can reach the stream.
func parseLastEventID(v string) (uint64, error) {
	bad := &core.Error{Code: core.CodeInvalid, Field: "Last-Event-ID", Message: "Last-Event-ID must be the decimal id of an event this stream sent"}
	if v == "" || len(v) > 20 {
		return 0, bad
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, bad
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, bad
	}
	return n, nil
}

// stream sends session.started and session.ended as Server-Sent Events:
// id = the event's audit seq, data = the session as GET /v1/sessions/{sid}
// shows it. With Last-Event-ID it first replays what came after that id.
// A comment line every KeepAlive keeps proxies from closing it; it ends
// when the client goes, the server stops or the key is revoked.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, p core.Principal) {
	var last uint64
	resume := false
	if vals := r.Header.Values("Last-Event-ID"); len(vals) > 0 {
		if len(vals) > 1 {
			s.fail(w, &core.Error{Code: core.CodeInvalid, Field: "Last-Event-ID", Message: "send Last-Event-ID once"})
			return
		}
		var err error
		if last, err = parseLastEventID(vals[0]); err != nil {
			s.fail(w, err)
			return
		}
		resume = true
	}
	rc := http.NewResponseController(w)
	// Subscribe before reading the backlog, so nothing falls between them.
	sub, err := s.core.SubscribeSessionChanges(p, s.streamBuffer)
	if err != nil {
		s.fail(w, err)
		return
	}
	defer sub.Close()
	// floor: every session event up to it was in the backlog (or came
	// before the stream began); sent: what went out live above it. Commits
	// of one group may publish out of seq order, so the stream keeps what
	// it sent rather than the last id alone.
	var floor uint64
	sent := map[uint64]bool{}
	var backlog []core.SessionChange
	if resume {
		var err error
		if backlog, floor, err = s.catchUp(p, last); err != nil {
			s.fail(w, err)
			return
		}
	} else {
		floor = s.core.AuditCount()
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	send := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeWait))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	buf.WriteString("retry: 1000\n: actas stream open\n\n")
	for _, sc := range backlog {
		writeEvent(&buf, sc)
	}
	if !send() {
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	tick := time.NewTicker(s.keepAlive)
	defer tick.Stop()
	// Once a keep-alive period has passed, everything committed before the
	// previous tick has long been published: the floor moves up to it, so
	// sent stays small on a stream that runs for weeks.
	prevHead := s.core.AuditCount()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case <-tick.C:
			if !s.core.APIKeyActive(p.APIKey) {
				return
			}
			buf.WriteString(": keep-alive\n\n")
			if prevHead > floor {
				floor = prevHead
				for seq := range sent {
					if seq <= floor {
						delete(sent, seq)
					}
				}
			}
			prevHead = s.core.AuditCount()
		case ch, ok := <-sub.C:
			if !ok {
				return
			}
			switch {
			case ch.Kind == core.ChangeResync:
				// We read too slowly and missed changes: replay them.
				more, head, err := s.catchUp(p, floor)
				if err != nil {
					return
				}
				for _, sc := range more {
					if !sent[sc.Seq] {
						writeEvent(&buf, sc)
					}
				}
				floor = head
				clear(sent)
			case ch.Kind == core.ChangeAPIKey:
				return // this key was revoked
			default:
				sc, ok := s.core.IsSessionChange(ch)
				if !ok || sc.Seq <= floor || sent[sc.Seq] {
					continue
				}
				writeEvent(&buf, sc)
				sent[sc.Seq] = true
			}
		}
		if buf.Len() > 0 && !send() {
			return
		}
	}
}

// catchUp reads every session change after seq, and the head it read to.
func (s *Server) catchUp(p core.Principal, seq uint64) ([]core.SessionChange, uint64, error) {
	var out []core.SessionChange
	for {
		page, through, done, err := s.core.SessionChangesSince(p, seq, 1000)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, page...)
		if done {
			return out, through, nil
		}
		seq = through
	}
}

func writeEvent(buf *bytes.Buffer, sc core.SessionChange) {
	fmt.Fprintf(buf, "id: %d\nevent: %s\ndata: %s\n\n", sc.Seq, sc.Type, marshalSession(sc.Info))
}
