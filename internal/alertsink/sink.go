// Package alertsink receives what actas sends, for tests and for trying
// alerts by hand: an SMTP server (emersion/go-smtp) that keeps every mail,
// and an HTTP receiver that checks Standard Webhooks signatures as a real
// receiver would and keeps every request. Nothing here is part of actas.
package alertsink

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/actas/actas/notify"
)

// Mail is one received message, decoded.
type Mail struct {
	From    string
	To      []string // envelope recipients
	Subject string
	ID      string // Message-ID
	Text    string // the text/plain part
	HTML    string // the text/html part
	Raw     []byte
}

// SMTP is a mail sink on a TCP listener.
type SMTP struct {
	Addr  string
	srv   *smtp.Server
	mails inbox[Mail]
}

// StartSMTP listens on addr ("127.0.0.1:0" for any port) without TLS.
func StartSMTP(addr string) (*SMTP, error) { return StartSMTPTLS(addr, nil) }

// StartSMTPTLS listens on addr and offers STARTTLS with tc (nil: no TLS).
func StartSMTPTLS(addr string, tc *tls.Config) (*SMTP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &SMTP{Addr: ln.Addr().String(), mails: newInbox[Mail]()}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "sink.local"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.TLSConfig = tc
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *SMTP) Close() error { return s.srv.Close() }

// Mails returns what arrived so far.
func (s *SMTP) Mails() []Mail { return s.mails.all() }

// Wait returns the first mail for which match holds, waiting up to d.
func (s *SMTP) Wait(d time.Duration, match func(Mail) bool) (Mail, bool) {
	return s.mails.wait(d, match)
}

// inbox keeps what a sink received and wakes whoever waits for more.
type inbox[T any] struct {
	mu     sync.Mutex
	items  []T
	notify chan struct{}
}

func newInbox[T any]() inbox[T] { return inbox[T]{notify: make(chan struct{}, 1)} }

func (b *inbox[T]) add(x T) {
	b.mu.Lock()
	b.items = append(b.items, x)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *inbox[T]) all() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]T(nil), b.items...)
}

// wait returns the first item for which match holds, waiting up to d.
func (b *inbox[T]) wait(d time.Duration, match func(T) bool) (T, bool) {
	deadline := time.After(d)
	for {
		for _, x := range b.all() {
			if match(x) {
				return x, true
			}
		}
		select {
		case <-b.notify:
		case <-deadline:
			var zero T
			return zero, false
		}
	}
}

type session struct {
	sink *SMTP
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return err
	}
	m.From, m.To = ss.from, ss.to
	ss.sink.mails.add(m)
	return nil
}

// Parse decodes a message: subject, Message-ID and its text and HTML parts
// (quoted-printable undone).
func Parse(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	m := Mail{Subject: subj, ID: msg.Header.Get("Message-Id"), Raw: raw}
	err = walkParts(msg.Header.Get("Content-Type"), msg.Body, &m)
	return m, err
}

func walkParts(ctype string, body io.Reader, m *Mail) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(body)
		switch mt {
		case "text/plain":
			m.Text = string(b)
		case "text/html":
			m.HTML = string(b)
		}
		return err
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := walkParts(p.Header.Get("Content-Type"), p, m); err != nil {
			return err
		}
	}
}

// Hook is one request an HTTP receiver got.
type Hook struct {
	ID       string // webhook-id ("" for Slack)
	Body     []byte
	Status   int   // what the receiver answered
	Verified error // the signature check; nil when it passed (or for Slack)
}

// HTTP is a webhook receiver; with a secret it verifies signatures per
// Standard Webhooks and answers 401 to a bad one (except under /slack).
type HTTP struct {
	Secret string
	mu     sync.Mutex // guards Secret and Status
	// Status, when set, decides the answer to a verified request (tests
	// make an endpoint fail); nil means 200.
	Status func(Hook) int
	hooks  inbox[Hook]
}

// NewHTTP returns a receiver; Secret may be set before use.
func NewHTTP(secret string) *HTTP { return &HTTP{Secret: secret, hooks: newInbox[Hook]()} }

func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	hk := Hook{ID: r.Header.Get(notify.HeaderID), Body: body, Status: http.StatusOK}
	h.mu.Lock()
	secret, status := h.Secret, h.Status
	h.mu.Unlock()
	// Slack posts are not signed: point Slack channels at /slack.
	if secret != "" && !strings.HasPrefix(r.URL.Path, "/slack") {
		if _, err := notify.Verify(secret, r.Header, body, time.Now()); err != nil {
			hk.Verified, hk.Status = err, http.StatusUnauthorized
		}
	}
	if hk.Verified == nil && status != nil {
		hk.Status = status(hk)
	}
	h.hooks.add(hk)
	w.WriteHeader(hk.Status)
	fmt.Fprintln(w, http.StatusText(hk.Status))
}

// SetSecret changes the secret (the one printed at alert add webhook).
func (h *HTTP) SetSecret(s string) {
	h.mu.Lock()
	h.Secret = s
	h.mu.Unlock()
}

// Hooks returns the requests so far.
func (h *HTTP) Hooks() []Hook { return h.hooks.all() }

// Wait returns the first request for which match holds, waiting up to d.
func (h *HTTP) Wait(d time.Duration, match func(Hook) bool) (Hook, bool) {
	return h.hooks.wait(d, match)
}
