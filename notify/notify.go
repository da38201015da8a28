// Package notify delivers core's outbox: Slack incoming webhooks (Block
// Kit), email through an SMTP server, and generic webhooks signed per
// Standard Webhooks. Each channel is a small adapter behind core.Notifier;
// core decides who hears what, when to retry and when to give up.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/actas/actas/core"
)

// Options configure a Sender. The zero value is ready to use.
type Options struct {
	// HTTPClient posts webhooks; nil means a client of its own. Its
	// timeout is the context's, which the worker bounds.
	HTTPClient *http.Client
	// TLSConfig is used for STARTTLS; nil means the system's roots and the
	// configured host name. Tests hand in their own CA here.
	TLSConfig *tls.Config
}

// Sender is the core.Notifier of actas.
type Sender struct {
	http *http.Client
	tls  *tls.Config
}

var _ core.Notifier = (*Sender)(nil)

// New returns a Sender.
func New(opt Options) *Sender {
	c := opt.HTTPClient
	if c == nil {
		c = &http.Client{
			// A webhook that redirects is misconfigured; following it could
			// hand the signed payload to somebody else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Sender{http: c, tls: opt.TLSConfig}
}

// Deliver sends one message to its destination.
func (s *Sender) Deliver(ctx context.Context, d core.Delivery) error {
	if d.Message.Channel == "" {
		return s.mail(ctx, d.SMTP, d.Message.To, d.Message)
	}
	switch d.Channel.Kind {
	case core.ChannelSlack:
		return s.slack(ctx, d.Channel, d.Message)
	case core.ChannelWebhook:
		return s.webhook(ctx, d.Channel, d.Message)
	case core.ChannelEmail:
		return s.mail(ctx, d.SMTP, d.Channel.To, d.Message)
	}
	return fmt.Errorf("channel %s has unknown kind %q", d.Channel.ID, d.Channel.Kind)
}

// post sends body to the channel's URL and wants a 2xx answer. Errors name
// the channel's Destination, never the URL whole: a Slack URL is a
// credential, a webhook's query may be one.
func (s *Sender) post(ctx context.Context, ch core.Channel, header http.Header, body []byte) error {
	rawURL, shown := ch.URL, ch.Destination()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("cannot build the request to %s", shown)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "actas-notify/1")
	resp, err := s.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("POST %s: no answer in time", shown)
		}
		return fmt.Errorf("POST %s: %v", shown, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("POST %s: answered %s", shown, resp.Status)
		if t := strings.TrimSpace(core.Display(string(snippet))); t != "" {
			msg += ": " + t
		}
		return errors.New(msg)
	}
	return nil
}

// noticeField is one labelled value of a notice, as every channel shows it.
type noticeField struct{ label, value string }

// noticeFields are the who / whom / why / until / environment of a notice,
// those that are set, in the order mail and Slack show them. Values are
// raw: each channel escapes them its own way.
func noticeFields(n core.Notice) []noticeField {
	var out []noticeField
	add := func(label, v string) {
		if v != "" {
			out = append(out, noticeField{label, v})
		}
	}
	add("Who", n.Who)
	add("Whom", n.Whom)
	add("Why", n.Why)
	if !n.Until.IsZero() {
		add("Until", n.Until.UTC().Format(time.RFC1123))
	}
	add("Environment", n.Environment)
	return out
}
