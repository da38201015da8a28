package hostkit

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"time"
)

// maxBody is the largest request body reported with a request.
const maxBody = 16 << 10

// Middleware recognises the requests of an impersonation and passes every
// request on to next. For a request whose cookie holds a valid token of a
// live session it:
//
//   - puts the impersonation into the request's context, read with [From];
//   - renews the cookie when hostkit holds a fresher token;
//   - reports the request (method, path, status, a JSON or form body up to
//     16 KB, redacted) to actas in the background.
//
// A cookie with a bad, foreign or ended token is cleared and the request
// goes on as the product's own. Nothing here waits for actas: tokens are
// checked against cached keys, and reports go through a bounded queue.
func (k *Kit) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(k.cfg.CookieName)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		s, fresh, stale := k.current(r.Context(), c.Value)
		if s == nil {
			if stale {
				k.clearCookie(w, r)
			}
			next.ServeHTTP(w, r)
			return
		}
		if fresh != "" {
			k.setCookie(w, r, fresh)
		}
		start := time.Now()
		st := &reqState{imp: s.view.Load()}
		ev := event{sid: s.id, time: start, method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery}
		ev.kind, ev.body, ev.note = captureBody(r)
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)))
		ev.status = rec.status
		if ev.status == 0 {
			ev.status = http.StatusOK
		}
		ev.blocked = st.blocked
		k.report(ev)
	})
}

// captureBody keeps a copy of a JSON or form body of at most maxBody bytes
// for the report and hands the handler the same bytes.
func captureBody(r *http.Request) (kind bodyKind, body []byte, note string) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return bodyNone, nil, ""
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "application/json" || (len(mt) > 5 && mt[len(mt)-5:] == "+json"):
		kind = bodyJSON
	case mt == "application/x-www-form-urlencoded":
		kind = bodyForm
	default:
		if mt == "" {
			mt = "no content type"
		}
		return bodyNone, nil, "not recorded: " + mt
	}
	if r.ContentLength > maxBody {
		return bodyNone, nil, fmt.Sprintf("not recorded: %d bytes, over 16 KB", r.ContentLength)
	}
	size := int64(maxBody + 1)
	if r.ContentLength > 0 {
		size = r.ContentLength + 1 // one more, to notice a body longer than announced
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r.Body, buf)
	buf = buf[:n]
	orig := r.Body
	r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), errReader{err}, orig), orig}
	if n > maxBody {
		return bodyNone, nil, "not recorded: over 16 KB"
	}
	return kind, buf, ""
}

// errReader hands the handler a read error hit while capturing, in place.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil || e.err == io.EOF || e.err == io.ErrUnexpectedEOF {
		return 0, io.EOF
	}
	return 0, e.err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// recorder notes the status a handler answers with.
type recorder struct {
	http.ResponseWriter
	status int
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 && code >= 200 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the recorder.
func (rec *recorder) Flush() {
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the real writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Protect returns a middleware that refuses impersonated requests matching
// any of patterns, which are written as for http.ServeMux ("POST
// /settings/password", "/admin/", "DELETE /users/{id}"). A refused request
// gets Config.Blocked (a 403 page by default) and is reported as
// action.blocked. The product's own users pass untouched. Use it inside
// [Kit.Middleware], which it needs to recognise impersonation. Protect
// panics on an invalid pattern, as http.ServeMux does.
func (k *Kit) Protect(patterns ...string) func(http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.Handle(p, http.NotFoundHandler())
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := stateFrom(r.Context())
			if st == nil {
				next.ServeHTTP(w, r)
				return
			}
			// An empty pattern: no match, or only another method matched.
			if _, pattern := mux.Handler(r); pattern != "" {
				st.blocked = pattern
				k.protectPage.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

var bannerTmpl = template.Must(template.New("banner").Parse(`<div class="actas-banner" role="status" ` +
	`style="background:#fde68a;color:#3b2f00;border-bottom:2px solid #b45309;padding:.5rem 1rem;font:14px/1.4 system-ui,sans-serif">` +
	`You are viewing as <strong>{{.Target}}</strong> — {{.Impersonator}} is acting` +
	`{{if .Left}} · ends in {{.Left}}{{end}} · ` +
	`<form method="post" action="{{.EndPath}}" style="display:inline;margin:0">` +
	`<button type="submit" class="actas-end">End</button></form></div>`))

// Banner renders the notice a product shows on every page while a request
// is impersonated: "You are viewing as NAME — IMPERSONATOR is acting · ends
// in 42m · End". End posts to Config.EndPath. It is empty for the
// product's own users.
func (k *Kit) Banner(ctx context.Context) template.HTML {
	imp, ok := From(ctx)
	if !ok {
		return ""
	}
	var b bytes.Buffer
	_ = bannerTmpl.Execute(&b, struct{ Target, Impersonator, Left, EndPath string }{
		imp.Target.Label(), imp.Impersonator.Label(), left(imp.EndsAt, time.Now()), k.cfg.EndPath,
	})
	return template.HTML(b.String()) // #nosec: built by html/template
}

// left renders the time until end as "42m", "2h 5m" or "30s"; empty when
// the end is not known yet.
func left(end, now time.Time) string {
	if end.IsZero() {
		return ""
	}
	d := end.Sub(now)
	switch {
	case d <= 0:
		return "0m"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
}
