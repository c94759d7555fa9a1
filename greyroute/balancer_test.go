package greyroute

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

type namedBalancer struct {
	name string
	bal  Balancer
}

func allBalancers() []namedBalancer {
	return []namedBalancer{
		{"RoundRobin", RoundRobin()},
		{"Random", Random()},
		{"SmoothWeightedRoundRobin", SmoothWeightedRoundRobin()},
		{"SmoothWeightedRoundRobin/live", swrrLiveBalancer{}},
		{"LeastConnections", LeastConnections()},
		{"P2CEWMA", P2CEWMA()},
		{"HealthAware", HealthAware()},
	}
}

// swrrLiveBalancer builds the live SWRR picker, which SmoothWeightedRoundRobin
// uses only for weight sets too large to precompute.
type swrrLiveBalancer struct{}

func (swrrLiveBalancer) Build(eps []*Endpoint) Picker {
	p, _ := newSWRRLive(eps)
	return p
}

func endpoints(t testing.TB, weights ...int) []*Endpoint {
	t.Helper()
	eps := make([]*Endpoint, len(weights))
	for i, w := range weights {
		eps[i] = newTestEndpoint(t, fmt.Sprintf("i%02d", i), resilience.BreakerPolicy{OpenTimeout: time.Hour})
		eps[i].inst.Weight = w
	}
	return eps
}

// chiSquare001 holds the χ² critical values for p = 0.001 by degrees of
// freedom: a fair balancer exceeds them one run in a thousand, and with a
// fixed seed the outcome is the same every run.
var chiSquare001 = map[int]float64{1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322, 8: 26.124, 9: 27.877}

// checkChiSquare compares observed counts with expected shares (zero
// shares must see zero picks).
func checkChiSquare(t *testing.T, counts []int, shares []float64) {
	t.Helper()
	total, sum := 0, 0.0
	for i := range counts {
		total += counts[i]
		sum += shares[i]
	}
	chi, df := 0.0, -1
	for i, c := range counts {
		if shares[i] == 0 {
			if c != 0 {
				t.Errorf("endpoint %d has no share but got %d picks", i, c)
			}
			continue
		}
		exp := float64(total) * shares[i] / sum
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
		df++
	}
	if crit := chiSquare001[df]; chi > crit {
		t.Errorf("χ² = %.2f > %.3f (df %d, p=0.001): counts %v, shares %v", chi, crit, df, counts, shares)
	}
}

// draw picks n times, ending each call at once with latency lat.
func draw(t *testing.T, p Picker, eps []*Endpoint, n int) []int {
	t.Helper()
	idx := map[*Endpoint]int{}
	for i, e := range eps {
		idx[e] = i
	}
	counts := make([]int, len(eps))
	for range n {
		e := p.Pick("tenant")
		if e == nil {
			t.Fatal("Pick returned nil with endpoints available")
		}
		call(t, e, nil, time.Millisecond)
		counts[idx[e]]++
	}
	return counts
}

func TestDistributions(t *testing.T) {
	const draws = 100_000
	for _, b := range allBalancers() {
		t.Run(b.name, func(t *testing.T) {
			seedRand(t, 1)
			useFakeClock(t) // equal latencies give equal EWMAs; no stale-sample probes
			eps := endpoints(t, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
			counts := draw(t, b.bal.Build(eps), eps, draws)
			checkChiSquare(t, counts, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
		})
		t.Run(b.name+"/skips unavailable", func(t *testing.T) {
			seedRand(t, 2)
			useFakeClock(t)
			eps := endpoints(t, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
			eps[3].state.setHealth(40) // health ≤ 50
			for range 5 {              // breaker open (5 failures by default)
				call(t, eps[7], errBoom, time.Millisecond)
			}
			if eps[7].Breaker() != resilience.StateOpen {
				t.Fatal("setup: breaker not open")
			}
			counts := draw(t, b.bal.Build(eps), eps, draws)
			checkChiSquare(t, counts, []float64{1, 1, 1, 0, 1, 1, 1, 0, 1, 1})
		})
		t.Run(b.name+"/none available", func(t *testing.T) {
			eps := endpoints(t, 1, 1, 1)
			for _, e := range eps {
				e.state.setHealth(0)
			}
			if e := b.bal.Build(eps).Pick("t"); e != nil {
				t.Fatalf("picked %s with none available", e.inst.ID)
			}
			if e := b.bal.Build(nil).Pick("t"); e != nil {
				t.Fatal("picked from an empty set")
			}
			if e := b.bal.Build([]*Endpoint{{}}).Pick("t"); e != nil {
				t.Fatal("picked a zero Endpoint")
			}
		})
	}
}

func TestWeightedDistributions(t *testing.T) {
	seedRand(t, 3)
	eps := endpoints(t, 5, 1, 1, 3, 0) // 0 counts as 1
	counts := draw(t, SmoothWeightedRoundRobin().Build(eps), eps, 110_000)
	checkChiSquare(t, counts, []float64{5, 1, 1, 3, 1})
	counts = draw(t, swrrLiveBalancer{}.Build(eps), eps, 110_000)
	checkChiSquare(t, counts, []float64{5, 1, 1, 3, 1})

	// An unavailable endpoint's turns leave the cycle: the others keep
	// their proportions (5:1:3:1, not the next one in line taking them).
	for range 5 {
		call(t, eps[1], errBoom, time.Millisecond)
	}
	for _, bal := range []Balancer{SmoothWeightedRoundRobin(), swrrLiveBalancer{}} {
		counts = draw(t, bal.Build(eps), eps, 100_000)
		checkChiSquare(t, counts, []float64{5, 0, 1, 3, 1})
	}
	// Huge weights are capped, not overflowed.
	eps = endpoints(t, math.MaxInt, math.MaxInt, 1)
	if e := SmoothWeightedRoundRobin().Build(eps).Pick("t"); e == nil {
		t.Fatal("no pick with huge weights")
	}

	eps = endpoints(t, 1, 1, 1, 1)
	for i, h := range []int{100, 80, 60, 51} {
		eps[i].state.setHealth(h)
	}
	counts = draw(t, HealthAware().Build(eps), eps, 100_000)
	checkChiSquare(t, counts, []float64{100, 80, 60, 51})
}

// TestSWRRNeverWInARow: the seed's "weighted round robin" sent w calls in
// a row to one instance; smooth WRR interleaves them.
func TestSWRRNeverWInARow(t *testing.T) {
	for _, b := range []namedBalancer{{"schedule", SmoothWeightedRoundRobin()}, {"live", swrrLiveBalancer{}}} {
		t.Run(b.name, func(t *testing.T) { testSWRRSequence(t, b.bal) })
	}
}

func testSWRRSequence(t *testing.T, bal Balancer) {
	if _, live := bal.Build(nil).(*swrrLive); !live {
		if _, sched := bal.Build(endpoints(t, 1)).(*swrrSchedule); !sched {
			t.Fatal("SmoothWeightedRoundRobin did not precompute a small cycle")
		}
	}
	eps := endpoints(t, 5, 1, 1)
	p := bal.Build(eps)
	var seq strings.Builder
	for range 7 * 20 {
		seq.WriteString(map[string]string{"i00": "a", "i01": "b", "i02": "c"}[p.Pick("t").inst.ID])
	}
	if want := strings.Repeat("aabacaa", 20); seq.String() != want {
		t.Fatalf("sequence\n%s\nwant\n%s", seq.String(), want)
	}
	if strings.Contains(seq.String(), "aaaaa") {
		t.Fatal("five a's in a row")
	}

	// Any weights: over each cycle of Σw picks every endpoint gets exactly
	// its weight.
	eps = endpoints(t, 7, 3, 2, 1, 9)
	p = bal.Build(eps)
	for cycle := range 5 {
		got := map[string]int{}
		for range 22 {
			got[p.Pick("t").inst.ID]++
		}
		for _, e := range eps {
			if got[e.inst.ID] != e.inst.Weight {
				t.Fatalf("cycle %d: %s got %d picks, weight %d", cycle, e.inst.ID, got[e.inst.ID], e.inst.Weight)
			}
		}
	}
}

func TestLeastConnectionsFollowsDone(t *testing.T) {
	eps := endpoints(t, 1, 1, 1)
	p := LeastConnections().Build(eps)
	held := map[string]ticket{}
	for range 3 { // each idle endpoint once
		e := p.Pick("t")
		if _, dup := held[e.inst.ID]; dup {
			t.Fatalf("%s picked twice while others were idle", e.inst.ID)
		}
		held[e.inst.ID], _ = e.state.acquire()
	}
	eps[1].state.release(held["i01"], nil, time.Millisecond)
	for range 3 {
		if e := p.Pick("t"); e != eps[1] {
			t.Fatalf("picked %s, want i01 (the only one with no call in progress)", e.inst.ID)
		}
	}
	tk, _ := eps[1].state.acquire() // i01 back to 1; all equal
	eps[2].state.release(held["i02"], errBoom, time.Millisecond)
	if e := p.Pick("t"); e != eps[2] {
		t.Fatalf("picked %s, want i02 after its Done", e.inst.ID)
	}
	eps[1].state.release(tk, nil, 0)
}

func TestP2CPrefersFaster(t *testing.T) {
	seedRand(t, 4)
	clk := useFakeClock(t)
	eps := endpoints(t, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	for i, e := range eps {
		lat := time.Millisecond
		if i == 4 {
			lat = 50 * time.Millisecond
		}
		call(t, e, nil, lat)
	}
	p := P2CEWMA().Build(eps)
	counts := map[*Endpoint]int{}
	for range 10_000 {
		e := p.Pick("t")
		lat := time.Millisecond
		if e == eps[4] {
			lat = 50 * time.Millisecond
		}
		call(t, e, nil, lat)
		counts[e]++
		clk.advance(int64(time.Microsecond))
	}
	if counts[eps[4]] != 0 {
		t.Fatalf("the slow endpoint got %d of 10000 picks", counts[eps[4]])
	}
	// After 3s without a sample, the slow one gets exactly one call, to
	// refresh its average, and then none again.
	clk.advance(int64(4 * time.Second))
	for range 1000 {
		e := p.Pick("t")
		counts[e]++
		if e != eps[4] {
			call(t, e, nil, time.Millisecond)
		}
	}
	if counts[eps[4]] != 1 {
		t.Fatalf("the stale slow endpoint got %d forced probes, want 1", counts[eps[4]])
	}
}

// TestP2CCancellationDoesNotPenalise: kratos #3834 — a cancelled call's
// (long) latency must not make an endpoint look slow.
func TestP2CCancellationDoesNotPenalise(t *testing.T) {
	seedRand(t, 5)
	useFakeClock(t)
	eps := endpoints(t, 1, 1)
	call(t, eps[0], nil, time.Millisecond)
	call(t, eps[1], nil, 2*time.Millisecond)
	for range 100 {
		tk, _ := eps[0].state.acquire()
		eps[0].state.release(tk, fmt.Errorf("client went away: %w", context.Canceled), 10*time.Second)
	}
	p := P2CEWMA().Build(eps)
	if e := p.Pick("t"); e != eps[0] {
		t.Fatalf("picked %s: cancellations counted as latency (ewma %v)", e.inst.ID, eps[0].EWMA())
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	eps := endpoints(t, make([]int, 200)...)
	for _, b := range allBalancers() {
		p := b.bal.Build(eps)
		if n := testing.AllocsPerRun(1000, func() {
			e := p.Pick("tenant")
			tk, _ := e.state.acquire()
			e.state.release(tk, nil, time.Millisecond)
		}); n != 0 {
			t.Errorf("%s: Pick+Done allocates %v times", b.name, n)
		}
	}
}

// TestConcurrentPicks runs every balancer from many goroutines (for -race)
// and checks each call ended.
func TestConcurrentPicks(t *testing.T) {
	for _, b := range allBalancers() {
		eps := endpoints(t, 1, 2, 3, 4, 5, 6, 7, 8)
		p := b.bal.Build(eps)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 2000 {
					e := p.Pick("t")
					if e == nil {
						continue
					}
					tk, ok := e.state.acquire()
					if !ok {
						continue
					}
					var err error
					if (i+g)%50 == 0 {
						err = errBoom
					}
					e.state.release(tk, err, time.Duration(i)*time.Microsecond)
				}
			})
		}
		wg.Wait()
		for _, e := range eps {
			if e.Conns() != 0 {
				t.Errorf("%s: %s has %d calls in progress after all ended", b.name, e.inst.ID, e.Conns())
			}
		}
	}
}

// TestP2CNewEndpointNotFlooded: an endpoint without a sample is tried at
// once, but calls in progress on it cost a penalty, so it does not take
// every pick until its first Done.
func TestP2CNewEndpointNotFlooded(t *testing.T) {
	useFakeClock(t)
	eps := endpoints(t, 1, 1)
	call(t, eps[0], nil, 50*time.Microsecond) // sampled, idle: cost 50µs
	p := P2CEWMA().Build(eps)
	if e := p.Pick("t"); e != eps[1] {
		t.Fatal("the new endpoint was not tried first")
	}
	eps[1].state.acquire() // its first call in progress: 100µs > 50µs
	if e := p.Pick("t"); e != eps[0] {
		t.Fatal("the new endpoint took a second pick before its first call ended")
	}
}
