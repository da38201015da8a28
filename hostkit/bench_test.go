package hostkit

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/actas/actas/internal/fakeactas"
)

// ok is the product's handler in the benchmarks: it writes 200.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
})

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the middleware rather than a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// benchRequest runs h b.N times and returns the time per request.
func benchRequest(b *testing.B, h http.Handler, cookie string) time.Duration {
	r := httptest.NewRequest("GET", "http://127.0.0.1/invoices", nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: "actas_session", Value: cookie})
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	return b.Elapsed() / time.Duration(b.N)
}

// reportOverhead times the bare handler for as many requests and reports
// what the middleware added per request.
func reportOverhead(b *testing.B, per time.Duration) {
	r := httptest.NewRequest("GET", "http://127.0.0.1/invoices", nil)
	w := &discardWriter{h: http.Header{}}
	start := time.Now()
	for range b.N {
		ok.ServeHTTP(w, r)
	}
	plain := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64((per-plain).Nanoseconds())/1e3, "overhead-µs")
}

// BenchmarkPlainHandler is the product's handler alone: the baseline.
func BenchmarkPlainHandler(b *testing.B) {
	benchRequest(b, ok, "")
}

// BenchmarkMiddleware is an impersonated request with a cached token through
// the middleware, reported to a responsive actas.
func BenchmarkMiddleware(b *testing.B) {
	fake := newFake(b)
	k := newKit(b, fake, func(c *Config) { c.FlushInterval = 50 * time.Millisecond })
	_, cookie := enter(b, fake, k)
	per := benchRequest(b, k.Middleware(ok), cookie)
	b.StopTimer()
	reportOverhead(b, per)
	b.ReportMetric(float64(k.sent.Load()), "reported")
}

// BenchmarkMiddlewareActasStalled is the same with actas taking requests but
// never answering: the queue fills and requests are counted as dropped,
// and the request path must cost what it costs with actas responsive.
func BenchmarkMiddlewareActasStalled(b *testing.B) {
	fake := newFake(b)
	k := newKit(b, fake, func(c *Config) { c.FlushInterval = time.Millisecond })
	_, cookie := enter(b, fake, k)
	fake.Stall()
	h := k.Middleware(ok)
	per := benchRequest(b, h, cookie)
	b.StopTimer()
	reportOverhead(b, per)
	k.dropMu.Lock()
	dropped := 0
	for _, d := range k.dropped {
		dropped += d.n
	}
	k.dropMu.Unlock()
	b.ReportMetric(float64(dropped), "dropped")
	fake.Release()
}

// BenchmarkMiddlewareOwnUser is a request of the product's own user (no
// actas cookie) through the middleware.
func BenchmarkMiddlewareOwnUser(b *testing.B) {
	fake := fakeactas.New()
	b.Cleanup(fake.Close)
	k := newKit(b, fake, nil)
	benchRequest(b, k.Middleware(ok), "")
}
