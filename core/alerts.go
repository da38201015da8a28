package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ChannelKind is where an alert channel delivers.
type ChannelKind string

const (
	ChannelSlack   ChannelKind = "slack"   // a Slack incoming webhook
	ChannelEmail   ChannelKind = "email"   // mail to fixed addresses, through the SMTP server
	ChannelWebhook ChannelKind = "webhook" // a POST signed per Standard Webhooks
)

// Channel is an alert channel: where session starts and ends and new
// requests are announced (DESIGN "Notifications").
type Channel struct {
	ID        string      `json:"id"` // ch_…
	Kind      ChannelKind `json:"kind"`
	URL       string      `json:"url,omitempty"`    // slack and webhook; a Slack URL is itself a credential
	To        []string    `json:"to,omitempty"`     // email
	Secret    string      `json:"secret,omitempty"` // webhook: whsec_…, shown once at creation
	Created   time.Time   `json:"created"`
	CreatedBy string      `json:"created_by"`
	// What the worker last saw, for Settings → Alerts and alert list.
	LastDelivered time.Time `json:"last_delivered,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
}

// Destination is where the channel delivers, safe to show: a Slack URL
// keeps only its host, a webhook URL loses its query and user info.
func (ch Channel) Destination() string {
	switch ch.Kind {
	case ChannelEmail:
		return strings.Join(ch.To, ", ")
	case ChannelSlack:
		u, err := url.Parse(ch.URL)
		if err != nil {
			return "slack webhook"
		}
		return u.Scheme + "://" + u.Host + "/…"
	}
	return MaskURL(ch.URL)
}

// MaskURL shows a URL without what may be a credential in it: user info
// and query are dropped.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unreadable URL)"
	}
	s := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

// public is the channel as it may be shown: no secret, no full Slack URL.
func (ch Channel) public() Channel {
	ch.Secret = ""
	if ch.Kind == ChannelSlack {
		ch.URL = ch.Destination()
	} else if ch.Kind == ChannelWebhook {
		ch.URL = MaskURL(ch.URL)
	}
	return ch
}

// SMTPConfig is the mail server email alerts go through.
type SMTPConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	From     string `json:"from"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"` // stored so it can be used; never shown, logged or exported
	// StartTLS is "required" (the default: a server without STARTTLS is
	// refused) or "opportunistic" (plain text when the server offers none).
	StartTLS string `json:"starttls"`
}

// STARTTLS policies of SMTPConfig.
const (
	StartTLSRequired      = "required"
	StartTLSOpportunistic = "opportunistic"
)

// Configured reports whether a mail server was set.
func (s SMTPConfig) Configured() bool { return s.Host != "" }

// String describes the server without its password.
func (s SMTPConfig) String() string {
	if !s.Configured() {
		return "no mail server (actas smtp set)"
	}
	str := fmt.Sprintf("%s from %s, STARTTLS %s", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), s.From, s.StartTLS)
	if s.User != "" {
		str += ", login " + s.User
		if s.Password != "" {
			str += " (password set)"
		}
	}
	return str
}

// Notice is what a message says, in parts the channels lay out their own
// way (Slack blocks, email text and HTML, webhook JSON).
type Notice struct {
	Type        string    `json:"type"` // audit event type, or NoticeSessionEnding / NoticeTest
	Environment string    `json:"environment,omitempty"`
	Subject     string    `json:"subject"`        // one line, the email subject and Slack headline
	Who         string    `json:"who,omitempty"`  // the staff member acting or asking
	Whom        string    `json:"whom,omitempty"` // the user acted on
	Why         string    `json:"why,omitempty"`
	Until       time.Time `json:"until,omitzero"`
	Lines       []string  `json:"lines,omitempty"` // more to say, one fact a line (a receipt's actions)
	Request     string    `json:"request,omitempty"`
	Session     string    `json:"session,omitempty"`
	// Checkpoint is the signed audit checkpoint of a NoticeCheckpoint, as
	// a note (text), for the receiver to keep and check.
	Checkpoint string    `json:"checkpoint,omitempty"`
	Time       time.Time `json:"time"`
}

// Notice types that are not audit event types.
const (
	NoticeSessionEnding = "session.ending" // the impersonator's last 10 minutes
	NoticeTest          = "alert.test"
	NoticeCheckpoint    = "audit.checkpoint" // a signed checkpoint of the audit log, to webhook channels
)

// OutboxMessage is one notice for one destination, queued in the same
// transaction as the event that caused it and delivered by the worker.
type OutboxMessage struct {
	ID      string   `json:"id"`                // msg_…, stable: the webhook-id and the mail's Message-ID
	Event   uint64   `json:"event,omitempty"`   // audit seq of the cause, 0 for none
	Channel string   `json:"channel,omitempty"` // alert channel ID, or "" for mail to To
	To      []string `json:"to,omitempty"`      // a person's address
	Variant string   `json:"variant,omitempty"` // how the event is told (route.go)
	// Notice is what the message says. For a message about an event it is
	// rendered from the event when the message is read (render); only other
	// messages store it. Created and NextAt are then the event's time
	// until a first failed attempt.
	Notice    Notice    `json:"notice"`
	Created   time.Time `json:"created"`
	NextAt    time.Time `json:"next_at"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Failed    bool      `json:"failed,omitempty"` // gave up after MaxDeliveryAge; alert.failed recorded
}

// Destination names the message's destination for lists.
func (m OutboxMessage) Destination() string {
	if m.Channel != "" {
		return m.Channel
	}
	return strings.Join(m.To, ", ")
}

// lane is what the worker delivers one at a time: a channel, or the mail
// server for mail to people. A dead endpoint holds up only its own lane.
func (m OutboxMessage) lane() string {
	if m.Channel != "" {
		return m.Channel
	}
	return "mail"
}

// Delivery schedule (DESIGN "Notifications"): retries back off from 5 s,
// doubling, to at most 1 h, for 24 h after the message was queued.
const (
	FirstRetry     = 5 * time.Second
	MaxRetry       = time.Hour
	MaxDeliveryAge = 24 * time.Hour
	// DeliveryTimeout bounds one attempt, connection included.
	DeliveryTimeout = 10 * time.Second
	// warnBefore is when the impersonator hears the session is ending.
	warnBefore = 10 * time.Minute
)

// backoff is the wait after the n-th failed attempt (n ≥ 1): first, then
// doubling, and at most MaxRetry.
func backoff(first time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// Delivery is one attempt handed to the Notifier: the message and what it
// needs to reach its destination.
type Delivery struct {
	Message OutboxMessage
	Channel Channel    // zero for mail to Message.To
	SMTP    SMTPConfig // for email channels and mail to people
}

// Notifier delivers messages; package notify implements it. Deliver must
// honour ctx (the worker's timeout) and return an error that names no
// secret: it is stored and shown.
type Notifier interface {
	Deliver(ctx context.Context, d Delivery) error
}

// NewWebhookSecret returns a Standard Webhooks secret: whsec_ and 32
// random bytes in base64.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// checkChannelURL accepts an absolute http(s) URL without control
// characters.
func checkChannelURL(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalid(field, "%s is required", field)
	}
	if hasUnsafe(raw) || len(raw) > 2000 {
		return "", invalid(field, "%s contains control characters or is too long", field)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", invalid(field, "%s must be an http:// or https:// URL, not %q", field, MaskURL(raw))
	}
	return raw, nil
}

// AddChannel adds an alert channel and records alert.added. A webhook
// channel gets a new signing secret, returned here once: Channels never
// shows it again.
func (c *Core) AddChannel(p Principal, kind ChannelKind, target string) (Channel, error) {
	n := change(CapSettings, "adding an alert channel")
	if err := c.check(p, n); err != nil {
		return Channel{}, err
	}
	ch := Channel{Kind: kind}
	switch kind {
	case ChannelSlack:
		u, err := checkChannelURL("webhook-url", target)
		if err != nil {
			return Channel{}, err
		}
		ch.URL = u
	case ChannelWebhook:
		u, err := checkChannelURL("url", target)
		if err != nil {
			return Channel{}, err
		}
		ch.URL, ch.Secret = u, NewWebhookSecret()
	case ChannelEmail:
		for _, a := range strings.Split(target, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			e, err := checkEmail(a)
			if err != nil {
				return Channel{}, err
			}
			ch.To = append(ch.To, e)
		}
		if len(ch.To) == 0 {
			return Channel{}, invalid("to", "give at least one address: --to ADDR[,ADDR]")
		}
	default:
		return Channel{}, invalid("kind", "unknown channel kind %q: slack, email or webhook", kind)
	}
	err := c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		n, err := t.NextID("channel")
		if err != nil {
			return err
		}
		ch.ID, ch.Created, ch.CreatedBy = formatID("ch", n), t.now, p.ref().String()
		if err := t.PutChannel(ch); err != nil {
			return err
		}
		_, err = t.record(Event{Type: EvAlertAdded, Actor: p.ref(), Org: t.c.RootOrg().ID},
			map[string]any{"channel": ch.ID, "kind": string(ch.Kind), "destination": ch.Destination()})
		return err
	})
	return ch, err
}

// RemoveChannel removes a channel and drops its undelivered messages,
// recording alert.removed.
func (c *Core) RemoveChannel(p Principal, id string) error {
	n := change(CapSettings, "removing an alert channel")
	if err := c.check(p, n); err != nil {
		return err
	}
	return c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		ch, err := t.Channel(id)
		if err != nil {
			return notFound("no alert channel %s — actas alert list shows them", id)
		}
		var drop []string
		if err := t.ScanOutbox(func(m OutboxMessage) bool {
			if m.Channel == id {
				drop = append(drop, m.ID)
			}
			return true
		}); err != nil {
			return err
		}
		for _, mid := range drop {
			if err := t.DeleteOutbox(mid); err != nil {
				return err
			}
		}
		if err := t.DeleteChannel(id); err != nil {
			return err
		}
		_, err = t.record(Event{Type: EvAlertRemoved, Actor: p.ref(), Org: t.c.RootOrg().ID},
			map[string]any{"channel": ch.ID, "kind": string(ch.Kind), "destination": ch.Destination(), "dropped": len(drop)})
		return err
	})
}

// Channels lists the alert channels for owners, without secrets.
func (c *Core) Channels(p Principal) ([]Channel, error) {
	var list []Channel
	err := c.viewAs(p, see(CapSettings), func(tx ReadTx) error {
		all, err := tx.Channels()
		for _, ch := range all {
			list = append(list, ch.public())
		}
		return err
	})
	return list, err
}

// Outbox lists undelivered messages, pending and failed, oldest first.
func (c *Core) Outbox(p Principal) ([]OutboxMessage, error) {
	var list []OutboxMessage
	err := c.viewAs(p, see(CapSettings), func(tx ReadTx) error {
		return tx.ScanOutbox(func(m OutboxMessage) bool {
			if err := render(tx, &m); err != nil {
				// Listed all the same: the worker fails it the same way.
				m.Notice.Type, m.LastError = "unreadable", cutBytes(err.Error(), 500)
			}
			list = append(list, m)
			return true
		})
	})
	return list, err
}

// SMTP is the mail server setting for owners (the password is only
// reported as set).
func (c *Core) SMTP(p Principal) (SMTPConfig, error) {
	var s SMTPConfig
	err := c.viewAs(p, see(CapSettings), func(tx ReadTx) error {
		var err error
		s, err = tx.SMTP()
		if err == ErrNotFound {
			err = nil
		}
		return err
	})
	if s.Password != "" {
		s.Password = Redacted
	}
	return s, err
}

// SetSMTP sets the mail server. An empty password with the same user keeps
// the stored one. Recorded as policy.changed, without the password.
func (c *Core) SetSMTP(p Principal, s SMTPConfig) error {
	n := change(CapSettings, "setting the mail server")
	if err := c.check(p, n); err != nil {
		return err
	}
	host, err := checkText("host", s.Host, 1, 253)
	if err != nil {
		return err
	}
	if strings.ContainsAny(host, " /:@") {
		return invalid("host", "host must be a host name or address without a port, not %q", host)
	}
	s.Host = host
	if s.Port < 1 || s.Port > 65535 {
		return invalid("port", "port must be between 1 and 65535")
	}
	if s.From, err = checkEmail(s.From); err != nil {
		return invalid("from", "from: %v", err)
	}
	if s.User, err = checkText("user", s.User, 0, 254); err != nil {
		return err
	}
	if strings.ContainsAny(s.Password, "\r\n") || len(s.Password) > 1024 {
		return invalid("password", "the password must be one line of at most 1024 bytes")
	}
	switch s.StartTLS {
	case "":
		s.StartTLS = StartTLSRequired
	case StartTLSRequired, StartTLSOpportunistic:
	default:
		return invalid("starttls", "--starttls is required or opportunistic, not %q", s.StartTLS)
	}
	return c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		old, err := t.SMTP()
		if err != nil && err != ErrNotFound {
			return err
		}
		if s.Password == "" && s.User == old.User {
			s.Password = old.Password
		}
		if err := t.PutSMTP(s); err != nil {
			return err
		}
		_, err = t.record(Event{Type: EvPolicyChanged, Actor: p.ref(), Org: t.c.RootOrg().ID},
			map[string]any{"smtp": s.String()})
		return err
	})
}

// TestChannel sends a test message to one channel now, outside any
// transaction and within DeliveryTimeout, and reports the outcome; the
// channel's last delivery or error is updated for Settings → Alerts.
func (c *Core) TestChannel(ctx context.Context, p Principal, id string) error {
	if err := c.guard(p, CapSettings, "testing an alert channel"); err != nil {
		return err
	}
	if c.notifier == nil {
		return refuse(CodeFeatureDisabled, "this program cannot deliver alerts")
	}
	var d Delivery
	err := c.st.View(func(tx ReadTx) error {
		var err error
		if d.Channel, err = tx.Channel(id); err != nil {
			return notFound("no alert channel %s — actas alert list shows them", id)
		}
		d.SMTP, err = tx.SMTP()
		if err == ErrNotFound {
			err = nil
		}
		return err
	})
	if err != nil {
		return err
	}
	now := c.clock.Now()
	pol := c.Policy()
	d.Message = OutboxMessage{ID: fmt.Sprintf("test_%s_%d", id, now.UnixNano()), Channel: id, Created: now,
		Notice: Notice{Type: NoticeTest, Environment: pol.Environment, Time: now,
			Subject: envPrefix(pol) + "actas test message for " + id,
			Who:     p.ref().String(),
			Lines:   []string{"This is a test of an actas alert channel, sent by " + p.ref().String() + "."}}}
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	derr := c.notifier.Deliver(ctx, d)
	cancel()
	c.noteChannel(id, derr)
	if derr != nil {
		return refuse(CodeDeliveryFailed, "test to %s failed: %v", id, derr)
	}
	return nil
}

// noteChannel records a delivery outcome on the channel.
func (c *Core) noteChannel(id string, derr error) {
	_ = c.update(func(t *txn) error { return t.noteChannel(id, derr) })
}

func (t *txn) noteChannel(id string, derr error) error {
	ch, err := t.Channel(id)
	if err != nil {
		return nil // removed meanwhile
	}
	if derr == nil {
		ch.LastDelivered = t.now
	} else {
		ch.LastError, ch.LastErrorAt = cutBytes(derr.Error(), 500), t.now
	}
	t.alerts = true
	return t.PutChannel(ch)
}

func envPrefix(p Policy) string {
	if p.Environment == "" {
		return ""
	}
	return "[" + p.Environment + "] "
}

// LoggableArgs is a command line as a log may show it: the values of the
// flags that carry a secret (a Slack webhook URL, a webhook URL's query, a
// password) are masked. Servers log commands through it.
func LoggableArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	mask := func(flag, v string) string {
		switch {
		case flag == "--webhook-url":
			return Channel{Kind: ChannelSlack, URL: v}.Destination()
		case flag == "--url":
			return MaskURL(v)
		case strings.Contains(flag, "password") || strings.Contains(flag, "secret") || strings.Contains(flag, "token"):
			return Redacted
		}
		return v
	}
	for i := 0; i < len(out); i++ {
		a := out[i]
		if !strings.HasPrefix(a, "--") {
			continue
		}
		if flag, v, ok := strings.Cut(a, "="); ok {
			out[i] = flag + "=" + mask(flag, v)
		} else if i+1 < len(out) && mask(a, out[i+1]) != out[i+1] {
			out[i+1] = mask(a, out[i+1])
			i++
		}
	}
	return out
}
