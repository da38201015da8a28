package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/actas/actas/core"
)

// BenchmarkEventIntake posts batches of 10 actions over real HTTP on
// loopback, each answered 202 once durable, from 1 and from 64 clients.
// One op is one batch.
func BenchmarkEventIntake(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			w := newWorld(b)
			_, ticket := w.start(b)
			sid, _ := w.redeem(b, "billing", ticket)
			body, _ := json.Marshal(w.events(10, map[string]any{"invoice": "INV-4711", "amount": 129.5, "password": "hunter2"}))
			url := w.srv.URL + "/v1/sessions/" + sid + "/events"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			defer client.CloseIdleConnections()
			latencies := make([][]time.Duration, clients)
			var wg sync.WaitGroup
			b.ResetTimer()
			for c := range clients {
				n := b.N / clients
				if c < b.N%clients {
					n++
				}
				wg.Go(func() {
					lat := make([]time.Duration, 0, n)
					for range n {
						req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+w.secrets["billing"])
						start := time.Now()
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusAccepted {
							b.Errorf("answered %d", resp.StatusCode)
							return
						}
						lat = append(lat, time.Since(start))
					}
					latencies[c] = lat
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
			all := slices.Concat(latencies...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(all[(len(all)*99)/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// BenchmarkRedeemAndVerify redeems a ticket over HTTP and verifies the
// grant against the JWKS (fetched once, as a product caches it). One op is
// one redeem and one verification.
func BenchmarkRedeemAndVerify(b *testing.B) {
	w := newWorld(b)
	w.start(b)
	lead := core.Principal{User: w.user(b, "lead@acme.test")}
	tickets := make([]string, b.N)
	for i := range tickets {
		link, err := w.c.RenewProductLink(lead)
		if err != nil {
			b.Fatal(err)
		}
		tickets[i] = ticketOf(b, link.URL)
	}
	set := w.jwks(b)
	client := w.srv.Client()
	b.ResetTimer()
	for i := range b.N {
		body, _ := json.Marshal(map[string]string{"ticket": tickets[i]})
		req, _ := http.NewRequest("POST", w.srv.URL+"/v1/tickets/redeem", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+w.secrets["billing"])
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var g struct{ Session, Token string }
		err = json.NewDecoder(resp.Body).Decode(&g)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("redeem: %d %v", resp.StatusCode, err)
		}
		jws, err := jose.ParseSignedCompact(g.Token, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			b.Fatal(err)
		}
		keys := set.Key(jws.Signatures[0].Header.KeyID)
		if len(keys) != 1 {
			b.Fatal("kid not in the JWKS")
		}
		if _, err := jws.Verify(keys[0].Key); err != nil {
			b.Fatal(err)
		}
	}
}
