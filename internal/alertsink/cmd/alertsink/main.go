// Command alertsink receives actas alerts on this machine, to try them by
// hand: mail on --smtp, webhooks (signature checked with --secret) and
// Slack posts on --http. It prints what arrives.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/actas/actas/internal/alertsink"
)

func main() {
	smtpAddr := flag.String("smtp", "127.0.0.1:2525", "SMTP listen address")
	httpAddr := flag.String("http", "127.0.0.1:8025", "HTTP listen address for webhooks and Slack")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "whsec_ secret to verify webhooks (env WEBHOOK_SECRET)")
	flag.Parse()
	s, err := alertsink.StartSMTP(*smtpAddr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("SMTP sink on %s, HTTP sink on %s\n", s.Addr, *httpAddr)
	hooks := alertsink.NewHTTP(*secret)
	go func() {
		seen := 0
		for range time.Tick(200 * time.Millisecond) {
			ms := s.Mails()
			for _, m := range ms[seen:] {
				fmt.Printf("\n=== %s MAIL to %s\nSubject: %s\nMessage-ID: %s\n%s", time.Now().Format("15:04:05"), strings.Join(m.To, ","), m.Subject, m.ID, m.Text)
			}
			seen = len(ms)
		}
	}()
	go func() {
		seen := 0
		for range time.Tick(200 * time.Millisecond) {
			hs := hooks.Hooks()
			for _, h := range hs[seen:] {
				v := "signature ok"
				if h.Verified != nil {
					v = "signature BAD: " + h.Verified.Error()
				} else if h.ID == "" {
					v = "no signature (Slack)"
				}
				fmt.Printf("\n=== %s HTTP webhook-id=%s (%s) answered %d\n%s\n", time.Now().Format("15:04:05"), h.ID, v, h.Status, h.Body)
			}
			seen = len(hs)
		}
	}()
	log.Fatal(http.ListenAndServe(*httpAddr, hooks))
}
