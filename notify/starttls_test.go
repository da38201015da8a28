package notify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/alertsink"
	"github.com/actas/actas/notify"
)

func mailDelivery(t *testing.T, addr, starttls string, to string) core.Delivery {
	host, p := splitAddr(t, addr)
	return core.Delivery{
		Message: core.OutboxMessage{ID: "msg_000000000007", To: []string{to},
			Notice: core.Notice{Type: core.NoticeTest, Subject: "STARTTLS test", Time: time.Now()}},
		SMTP: core.SMTPConfig{Host: host, Port: p, From: "actas@acme.test", StartTLS: starttls},
	}
}

// STARTTLS is required unless the setting says opportunistic: a server
// that offers none is refused, with a reason; one that offers it gets the
// mail over TLS.
func TestSTARTTLS(t *testing.T) {
	plain, err := alertsink.StartSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := notify.New(notify.Options{})
	err = s.Deliver(ctx, mailDelivery(t, plain.Addr, core.StartTLSRequired, "a@acme.test"))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "starttls") {
		t.Fatalf("required STARTTLS against a plain server: %v", err)
	}
	if len(plain.Mails()) != 0 {
		t.Fatal("mail went out in plain text although STARTTLS is required")
	}
	if err := s.Deliver(ctx, mailDelivery(t, plain.Addr, core.StartTLSOpportunistic, "b@acme.test")); err != nil {
		t.Fatalf("opportunistic against a plain server: %v", err)
	}

	// httptest's certificate (for 127.0.0.1) serves the mail server too.
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	defer cert.Close()
	secure, err := alertsink.StartSMTPTLS("127.0.0.1:0", &tls.Config{Certificates: cert.TLS.Certificates})
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	roots := x509.NewCertPool()
	roots.AddCert(cert.Certificate())
	s = notify.New(notify.Options{TLSConfig: &tls.Config{RootCAs: roots}})
	if err := s.Deliver(ctx, mailDelivery(t, secure.Addr, core.StartTLSRequired, "c@acme.test")); err != nil {
		t.Fatalf("required STARTTLS against a TLS server: %v", err)
	}
	if m := secure.Mails(); len(m) != 1 || m[0].Subject != "STARTTLS test" || m[0].ID != "<msg_000000000007@actas>" {
		t.Fatalf("the TLS server got %+v", m)
	}
	// An untrusted certificate is refused, not accepted quietly.
	s = notify.New(notify.Options{})
	if err := s.Deliver(ctx, mailDelivery(t, secure.Addr, core.StartTLSRequired, "d@acme.test")); err == nil {
		t.Fatal("a certificate nobody trusts was accepted")
	}
}
