package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/actas/actas/core"
)

// MailText is the plain-text part of a notice's mail.
func MailText(n core.Notice) string {
	var b strings.Builder
	b.WriteString(core.Display(n.Subject) + "\n\n")
	for _, f := range noticeFields(n) {
		fmt.Fprintf(&b, "%-12s %s\n", f.label+":", core.Display(f.value))
	}
	if len(n.Lines) > 0 {
		b.WriteByte('\n')
		for _, l := range n.Lines {
			b.WriteString(core.Display(l) + "\n")
		}
	}
	b.WriteString("\n-- \nactas")
	if n.Session != "" {
		b.WriteString(" · " + n.Session)
	}
	if n.Request != "" {
		b.WriteString(" · " + n.Request)
	}
	b.WriteByte('\n')
	return b.String()
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html>
<html><body style="font-family: sans-serif">
<h2>{{.Subject}}</h2>
<table>
{{range .Rows}}<tr><th align="left">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
{{if .Lines}}<ul>
{{range .Lines}}<li>{{.}}</li>
{{end}}</ul>{{end}}
<p style="color: #888">actas{{if .Session}} · {{.Session}}{{end}}{{if .Request}} · {{.Request}}{{end}}</p>
</body></html>
`))

// MailHTML is the HTML part of a notice's mail; every value is escaped.
func MailHTML(n core.Notice) (string, error) {
	data := struct {
		Subject, Session, Request string
		Rows                      [][2]string
		Lines                     []string
	}{Subject: core.Display(n.Subject), Session: n.Session, Request: n.Request}
	for _, f := range noticeFields(n) {
		data.Rows = append(data.Rows, [2]string{f.label, core.Display(f.value)})
	}
	for _, l := range n.Lines {
		data.Lines = append(data.Lines, core.Display(l))
	}
	var b bytes.Buffer
	err := mailHTML.Execute(&b, data)
	return b.String(), err
}

// errNoMailServer is what mail without actas smtp set fails with; the
// worker retries, so mail queued before the server was set still goes out.
var errNoMailServer = errors.New("no mail server is set — run actas smtp set")

func (s *Sender) mail(ctx context.Context, cfg core.SMTPConfig, to []string, m core.OutboxMessage) error {
	if !cfg.Configured() {
		return errNoMailServer
	}
	msg := mail.NewMsg()
	if err := msg.From(cfg.From); err != nil {
		return fmt.Errorf("from address %s: %v", cfg.From, err)
	}
	if err := msg.To(to...); err != nil {
		return fmt.Errorf("to address: %v", err)
	}
	msg.Subject(core.Display(m.Notice.Subject))
	// The same message sent again (at least once) keeps its Message-ID.
	msg.SetMessageIDWithValue(m.ID + "@actas")
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, MailText(m.Notice))
	html, err := MailHTML(m.Notice)
	if err != nil {
		return err
	}
	msg.AddAlternativeString(mail.TypeTextHTML, html)

	policy := mail.TLSMandatory
	if cfg.StartTLS == core.StartTLSOpportunistic {
		policy = mail.TLSOpportunistic
	}
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if s.tls != nil {
		tc = s.tls.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
	}
	opts := []mail.Option{mail.WithPort(cfg.Port), mail.WithTLSPolicy(policy), mail.WithTLSConfig(tc)}
	if deadline, ok := ctx.Deadline(); ok {
		opts = append(opts, mail.WithTimeout(time.Until(deadline)))
	}
	if cfg.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.User), mail.WithPassword(cfg.Password))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail server %s: %v", cfg.Host, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail via %s:%d: %s", cfg.Host, cfg.Port, scrub(err.Error(), cfg.Password))
	}
	return nil
}

// scrub removes the password from an error text, should a server echo it.
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, core.Redacted)
}
