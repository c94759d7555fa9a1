package asyncrpc_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/asyncrpc"
)

// latencies collects per-call durations for percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	at := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(float64(len(l.d))/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkCall: one op is one call, request to callback, with 32 calls in
// flight per core; beside it, the same work as a plain synchronous HTTP
// round trip. The ratio is the price of asynchrony.
func BenchmarkCall(b *testing.B) {
	body := []byte(`{"order":"A-1","items":2}`)
	b.Run("sync-http", func(b *testing.B) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			in, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(bytes.ToUpper(in))
		}))
		defer hs.Close()
		var lat latencies
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				start := time.Now()
				resp, err := http.Post(hs.URL, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat.add(time.Since(start))
			}
		})
		lat.report(b)
	})
	brokers := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"mem", func(*testing.B) string { return "mem://bench-asyncrpc" }},
		{"redis", func(b *testing.B) string { return testserver.StartRedis(b, nil).URL + redisParams }},
		{"kafka", func(b *testing.B) string {
			return "kafka://" + strings.Join(testserver.StartKafka(b).Brokers, ",") + "?heartbeat_interval=100ms&linger=0s"
		}},
	}
	for _, br := range brokers {
		b.Run(br.name, func(b *testing.B) {
			mqc, err := mq.Open(context.Background(), br.url(b))
			if err != nil {
				b.Fatal(err)
			}
			defer mqc.Close()
			s, err := asyncrpc.NewServer(mqc, echo, asyncrpc.ServerOptions{Concurrency: 1024})
			if err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(s)
			defer func() { hs.Close(); _ = s.Shutdown(context.Background()) }()
			c, err := asyncrpc.NewClient(context.Background(), mqc, asyncrpc.ClientOptions{ResponseTopic: "bench.responses", CallbackConcurrency: 64})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var lat latencies
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					start := time.Now()
					call, err := c.Post(context.Background(), hs.URL, "application/json", bytes.NewReader(body), nil)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := call.Wait(context.Background()); err != nil {
						b.Error(err)
						return
					}
					lat.add(time.Since(start))
				}
			})
			lat.report(b)
		})
	}
}
