package greyroute

import (
	"fmt"
	"testing"
)

// BenchmarkLeastConnBusy is LeastConnections' Pick alone when no endpoint
// is idle (each has 1–4 calls in progress), so every pick scans them all:
// its worst case, the one a loaded service lives in.
func BenchmarkLeastConnBusy(b *testing.B) {
	for _, n := range []int{10, 100, 200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			eps := endpoints(b, make([]int, n)...)
			for i, e := range eps {
				e.state.conns.Store(int64(1 + i%4))
			}
			p := LeastConnections().Build(eps)
			b.ReportAllocs()
			for b.Loop() {
				if p.Pick("tenant") == nil {
					b.Fatal("nil pick")
				}
			}
		})
	}
}
