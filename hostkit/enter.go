package hostkit

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"strings"
	"time"
)

// EnterHandler serves the "Open as" link of the actas console; mount it at
// /actas/enter (the path in actas's policy product_url). It redeems the
// ticket from the query (?ticket=…) with POST /v1/tickets/redeem, keeps the
// session's token in an HttpOnly, SameSite=Lax cookie (Secure unless the
// request came over plain HTTP to a loopback host, as on a laptop) and
// redirects to Config.AfterEnter. A used or expired ticket gets a 410 page
// that says to open the link again from the console.
func (k *Kit) EnterHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the ticket
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			notice(w, http.StatusMethodNotAllowed, "Method not allowed", "Open the link from the actas console.")
			return
		}
		ticket := r.FormValue("ticket")
		if ticket == "" {
			notice(w, http.StatusBadRequest, "No ticket", "This address needs the one-time link from the actas console (Open as …).")
			return
		}
		var out struct {
			Session json.RawMessage `json:"session"`
			Token   string          `json:"token"`
		}
		header := http.Header{}
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			header.Set("X-Forwarded-For", ip)
		}
		if ua := r.UserAgent(); ua != "" {
			// actas records the redeeming user agent in session.entered:
			// the browser's, not hostkit's.
			header.Set("User-Agent", ua)
		}
		body, _ := json.Marshal(map[string]string{"ticket": ticket})
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		err := k.send(ctx, http.MethodPost, "/v1/tickets/redeem", bytes.NewReader(body), header, &out)
		switch {
		case statusOf(err) == http.StatusGone || statusOf(err) == http.StatusNotFound:
			notice(w, http.StatusGone, "This link was already used or has expired",
				"Links from the actas console work once, for two minutes. Open the session's link again from the console.")
			return
		case statusOf(err) >= 400 && statusOf(err) < 500:
			k.log.Warn("actas refused a ticket", "err", err)
			notice(w, http.StatusBadRequest, "actas refused this link", err.Error())
			return
		case err != nil:
			k.log.Warn("could not redeem a ticket", "err", err)
			notice(w, http.StatusBadGateway, "actas could not be reached", "Try the link again in a moment.")
			return
		}
		v, err := k.verify(ctx, out.Token, true)
		if err != nil {
			k.log.Warn("actas gave a token hostkit cannot accept", "err", err)
			notice(w, http.StatusBadGateway, "The session could not be checked", err.Error())
			return
		}
		// Read the session now, so the first page already shows the names
		// and the end in its banner.
		k.readSession(ctx, k.enter(v))
		k.setCookie(w, r, v.raw)
		http.Redirect(w, r, k.cfg.AfterEnter, http.StatusSeeOther)
	})
}

// EndHandler ends the impersonation of the request's cookie: it asks actas
// to end the session (POST /v1/sessions/{sid}/end), forgets the session in
// this product whatever actas answers, clears the cookie and redirects to
// Config.AfterEnter. Mount it at Config.EndPath (default /actas/end); the
// End button of [Kit.Banner] posts there. Only POST is accepted, so a link
// or an image cannot end a session; the SameSite=Lax cookie keeps other
// sites' forms out.
func (k *Kit) EndHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			notice(w, http.StatusMethodNotAllowed, "Method not allowed", "Use the End button of the banner.")
			return
		}
		c, err := r.Cookie(k.cfg.CookieName)
		if err == nil {
			if s, _, _ := k.current(r.Context(), c.Value); s != nil {
				ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
				err := k.call(ctx, http.MethodPost, "/v1/sessions/"+s.id+"/end", struct{}{}, nil)
				cancel()
				if err != nil && statusOf(err) != http.StatusGone {
					// The product stops impersonating anyway; the console
					// still shows the session until it ends there (an actas
					// without POST /v1/sessions/{sid}/end answers 404).
					k.log.Warn("actas did not end the session; ended in this product only", "session", s.id, "err", err)
				}
				k.drop(s.id)
			}
		}
		k.clearCookie(w, r)
		http.Redirect(w, r, k.cfg.AfterEnter, http.StatusSeeOther)
	})
}

// secure reports whether the cookie must be Secure: always, except for a
// plain-HTTP request to a loopback host (a product tried on a laptop).
func secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip == nil || !ip.IsLoopback()
}

func (k *Kit) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: k.cfg.CookieName, Value: token, Path: "/",
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (k *Kit) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: k.cfg.CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

var noticePage = template.Must(template.New("notice").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto">
<h1>{{.Title}}</h1><p>{{.Text}}</p><p><a href="/">Back to the start page</a></p>
</body></html>
`))

// notice writes a small HTML page.
func notice(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = noticePage.Execute(w, struct{ Title, Text string }{title, text})
}

func blockedPage(w http.ResponseWriter, _ *http.Request) {
	notice(w, http.StatusForbidden, "Not allowed while impersonating",
		"This action is not available while someone acts as this user through actas. It was recorded in the session's audit log.")
}
