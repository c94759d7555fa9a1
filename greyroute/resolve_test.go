package greyroute

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// TestBucketMatchesFNV checks bucket against hash/fnv over the same
// bytes: the Atomic-mode script and every router must agree on it.
func TestBucketMatchesFNV(t *testing.T) {
	for _, c := range []struct{ tenant, service string }{
		{"", ""}, {"acme", "billing"}, {"ab", "c"}, {"a", "bc"}, {"租户", "服务"}, {"t\x00", "s"},
	} {
		h := fnv.New64a()
		h.Write([]byte(c.tenant + "\x00" + c.service))
		if got, want := bucket(c.tenant, c.service), uint32(h.Sum64()%10000); got != want {
			t.Errorf("bucket(%q, %q) = %d, want %d", c.tenant, c.service, got, want)
		}
	}
	if bucket("ab", "c") == bucket("a", "bc") {
		t.Error("the separator does not keep (ab,c) and (a,bc) apart")
	}
	if n := testing.AllocsPerRun(100, func() { sinkBucket = bucket("tenant-42", "billing") }); n != 0 {
		t.Errorf("bucket allocates %v times", n)
	}
}

// tenantWithBucket returns a tenant whose bucket for service is in [lo, hi).
func tenantWithBucket(t *testing.T, service string, lo, hi uint32) string {
	t.Helper()
	for i := range 1_000_000 {
		tn := fmt.Sprintf("t%d", i)
		if b := bucket(tn, service); b >= lo && b < hi {
			return tn
		}
	}
	t.Fatalf("no tenant with a bucket in [%d,%d)", lo, hi)
	return ""
}

func TestResolve(t *testing.T) {
	const svc = "billing"
	in := tenantWithBucket(t, svc, 0, 1000)      // inside a 10%+ rollout
	out := tenantWithBucket(t, svc, 5000, 10000) // outside anything below 50%
	pins := map[string]string{"pinned": "v0.9", "pinnedNew": "v2", "pinnedStable": "v1"}
	req := map[string]int{"v2": 3, "v0.9": 0}
	cases := []struct {
		name    string
		r       route
		tenant  string
		schema  int
		want    string
		via     int
		wantErr error
	}{
		{"stable only", route{stable: "v1"}, out, 0, "v1", viaStable, nil},
		{"no stable, no pin", route{}, out, 0, "", 0, ErrUnknownTenant},
		{"no stable, pinned", route{pins: pins}, "pinned", 0, "v0.9", viaPin, nil},
		{"pin beats stable", route{stable: "v1", pins: pins}, "pinned", 0, "v0.9", viaPin, nil},
		{"pin beats rollout", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000, pins: pins}, "pinned", 5, "v0.9", viaPin, nil},
		{"pin to stable beats rollout", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000, pins: pins}, "pinnedStable", 5, "v1", viaPin, nil},
		{"inside rollout", route{stable: "v1", rolloutTo: "v2", rolloutBP: 1000}, in, 0, "v2", viaRollout, nil},
		{"outside rollout", route{stable: "v1", rolloutTo: "v2", rolloutBP: 1000}, out, 0, "v1", viaStable, nil},
		{"rollout 0%", route{stable: "v1", rolloutTo: "v2", rolloutBP: 0}, in, 0, "v1", viaStable, nil},
		{"rollout 100%", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000}, out, 0, "v2", viaRollout, nil},
		{"rollout to stable is no rollout", route{stable: "v1", rolloutTo: "v1", rolloutBP: 10000}, out, 0, "v1", viaStable, nil},
		{"rollout without target", route{stable: "v1", rolloutBP: 10000}, out, 0, "v1", viaStable, nil},
		{"rollout, no stable, outside", route{rolloutTo: "v2", rolloutBP: 1000}, out, 0, "", 0, ErrUnknownTenant},
		{"rollout, no stable, inside", route{rolloutTo: "v2", rolloutBP: 1000}, in, 0, "v2", viaRollout, nil},
		{"rollout gated: schema too old", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000, schemaReq: req}, in, 2, "v1", viaGated, nil},
		{"rollout gate met exactly", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000, schemaReq: req}, in, 3, "v2", viaRollout, nil},
		{"rollout gate exceeded", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000, schemaReq: req}, in, 9, "v2", viaRollout, nil},
		{"gate irrelevant outside rollout", route{stable: "v1", rolloutTo: "v2", rolloutBP: 1000, schemaReq: req}, out, 0, "v1", viaStable, nil},
		{"pin gated falls to stable", route{stable: "v1", pins: pins, schemaReq: req}, "pinnedNew", 2, "v1", viaGated, nil},
		{"pin gated, rollout gated too", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000, pins: pins, schemaReq: req}, "pinnedNew", 0, "v1", viaGated, nil},
		{"pin gate met", route{stable: "v1", pins: pins, schemaReq: req}, "pinnedNew", 3, "v2", viaPin, nil},
		{"pin gated, no stable", route{pins: pins, schemaReq: req}, "pinnedNew", 0, "", 0, ErrUnknownTenant},
		{"stable gated is ErrSchema", route{stable: "v2", schemaReq: req}, out, 1, "", 0, ErrSchema},
		{"stable gate met", route{stable: "v2", schemaReq: req}, out, 3, "v2", viaStable, nil},
		{"unrecorded schema meets no requirement", route{stable: "v1", rolloutTo: "v2", rolloutBP: 10000, schemaReq: req}, in, 0, "v1", viaGated, nil},
		{"empty tenant is just a tenant", route{stable: "v1"}, "", 0, "v1", viaStable, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, via, err := resolve(&c.r, c.tenant, svc, c.schema)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || v != c.want || via != c.via {
				t.Fatalf("resolve = (%q, %d, %v), want (%q, %d)", v, via, err, c.want, c.via)
			}
		})
	}
}

func TestResolveErrorsNameWhat(t *testing.T) {
	_, _, err := resolve(&route{stable: "v2", schemaReq: map[string]int{"v2": 3}}, "acme", "billing", 1)
	want := `greyroute: route tenant "acme" to service "billing": stable version "v2" needs schema 3, tenant has 1: greyroute: schema too old`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
}

func TestResolveDoesNotAllocate(t *testing.T) {
	r := &route{stable: "v1", rolloutTo: "v2", rolloutBP: 2500,
		pins: map[string]string{"p": "v0"}, schemaReq: map[string]int{"v2": 1}}
	for _, tn := range []string{"p", "acme", "globex"} {
		if n := testing.AllocsPerRun(100, func() { _, _, _ = resolve(r, tn, "billing", 2) }); n != 0 {
			t.Errorf("resolve(%q) allocates %v times", tn, n)
		}
	}
}

// TestRolloutSticky is the property behind sticky rollouts: raising the
// percentage never moves a tenant off the new version, lowering it moves
// back exactly the tenants above the new line, and the share on the new
// version is the percentage.
func TestRolloutSticky(t *testing.T) {
	const svc = "billing"
	rng := rand.New(rand.NewPCG(17, 42))
	tenants := make([]string, 20000)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%x", rng.Uint64())
	}
	at := func(bp int) []bool {
		r := &route{stable: "v1", rolloutTo: "v2", rolloutBP: bp}
		on := make([]bool, len(tenants))
		for i, tn := range tenants {
			v, _, err := resolve(r, tn, svc, 0)
			if err != nil {
				t.Fatal(err)
			}
			on[i] = v == "v2"
		}
		return on
	}
	cache := map[int][]bool{}
	get := func(bp int) []bool {
		if cache[bp] == nil {
			cache[bp] = at(bp)
		}
		return cache[bp]
	}
	steps := []int{0, 1, 500, 2000, 2500, 5000, 9999, 10000}
	for range 40 {
		steps = append(steps, rng.IntN(10001))
	}
	for _, lo := range steps {
		for _, hi := range steps {
			if lo > hi {
				continue
			}
			low, high := get(lo), get(hi)
			moved := 0
			for i := range tenants {
				if low[i] && !high[i] {
					t.Fatalf("raising %d → %d bp moved %s off the new version", lo, hi, tenants[i])
				}
				if high[i] && !low[i] {
					moved++
					// Lowering hi → lo moves this tenant back: it must be
					// one whose bucket lies in [lo, hi), the excess.
					if b := int(bucket(tenants[i], svc)); b < lo || b >= hi {
						t.Fatalf("lowering %d → %d bp moved %s (bucket %d) which is not in the excess", hi, lo, tenants[i], b)
					}
				}
			}
			// The number moved is binomial(n, (hi-lo)/10000): within 6σ.
			p := float64(hi-lo) / 10000
			mean, sd := p*float64(len(tenants)), math.Sqrt(p*(1-p)*float64(len(tenants)))
			if math.Abs(float64(moved)-mean) > 6*sd+1 {
				t.Fatalf("%d → %d bp moved %d tenants, expected about %.0f", lo, hi, moved, mean)
			}
		}
	}
}

// sinkBucket keeps the allocation test's call from being optimised away.
var sinkBucket uint32
