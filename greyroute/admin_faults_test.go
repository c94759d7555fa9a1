package greyroute_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestBadInput: every malformed argument is an ErrInvalid naming it, and
// nothing reaches Redis.
func TestBadInput(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	ctx := context.Background()
	ok := inst("i1", "v1")
	with := func(f func(*greyroute.Instance)) greyroute.Instance { i := ok; f(&i); return i }
	long := strings.Repeat("x", 129)
	for _, tc := range []struct {
		name, field string
		err         error
	}{
		{"empty service", "service", a.SetStable(ctx, "", "v1")},
		{"long service", "service", a.SetStable(ctx, long, "v1")},
		{"brace in service", "service", a.SetStable(ctx, "a{b}", "v1")},
		{"control in version", "version", a.SetStable(ctx, "s", "v\n1")},
		{"invalid UTF-8 tenant", "tenant", a.Pin(ctx, "\xff", "s", "v1")},
		{"DEL in id", "id", a.Heartbeat(ctx, "s", "i\x7f", time.Second)},
		{"bad instance ID", "Instance.ID", a.Register(ctx, with(func(i *greyroute.Instance) { i.ID = "}" }), time.Second)},
		{"empty address", "Instance.Addr", a.Register(ctx, with(func(i *greyroute.Instance) { i.Addr = "" }), time.Second)},
		{"negative weight", "Instance.Weight", a.Register(ctx, with(func(i *greyroute.Instance) { i.Weight = -1 }), time.Second)},
		{"meta not UTF-8", "Instance.Meta", a.Register(ctx, with(func(i *greyroute.Instance) { i.Meta = map[string]string{"k": "\xfe"} }), time.Second)},
		{"meta too large", "Instance.Meta", a.Register(ctx, with(func(i *greyroute.Instance) { i.Meta = map[string]string{"k": strings.Repeat("m", 70<<10)} }), time.Second)},
		{"zero ttl", "ttl", a.Register(ctx, ok, 0)},
		{"huge ttl", "ttl", a.Heartbeat(ctx, "s", "i", greyroute.MaxTTL+time.Millisecond)},
		{"percent above 100", "Rollout.Percent", a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 100.5})},
		{"negative percent", "Rollout.Percent", a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: -1})},
		{"NaN percent", "Rollout.Percent", a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: math.NaN()})},
		{"percent below a step", "Rollout.Percent", a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 0.004})},
		{"empty rollout target", "Rollout.To", a.SetRollout(ctx, "s", greyroute.Rollout{Percent: 5})},
		{"negative schema", "negative", a.SetSchema(ctx, "t", -1)},
		{"negative requirement", "negative", a.RequireSchema(ctx, "s", "v1", -2)},
		{"health above 100", "score", a.SetHealth(ctx, "s", "i", 101)},
		{"bad fallback", "version", a.SetFallback(ctx, "s", "{v}")},
		{"bad tenant in MoveTenant", "tenant", a.MoveTenant(ctx, "", "s", "v", func(context.Context) (int, error) { return 0, nil })},
	} {
		if !errors.Is(tc.err, greyroute.ErrInvalid) || !strings.Contains(tc.err.Error(), tc.field) {
			t.Errorf("%s: %v, want ErrInvalid naming %s", tc.name, tc.err, tc.field)
		}
	}
	if _, err := a.Snapshot(ctx, "a}"); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("Snapshot of a bad name: %v", err)
	}
	if _, err := a.TenantSchemas(ctx, "ok", ""); !errors.Is(err, greyroute.ErrInvalid) || !strings.Contains(err.Error(), "tenants[1]") {
		t.Errorf("TenantSchemas with an empty name: %v", err)
	}
	if keys, _ := c.Keys(ctx, "*").Result(); len(keys) != 0 {
		t.Errorf("bad input wrote %v", keys)
	}
	for name, opt := range map[string]greyroute.AdminOption{
		"brace prefix": greyroute.WithPrefix("a{"), "nil clock": greyroute.WithClock(nil),
		"nil meter": greyroute.WithAdminMeterProvider(nil), "nil option": nil,
	} {
		if _, err := greyroute.NewAdmin(c, opt); !errors.Is(err, greyroute.ErrInvalid) {
			t.Errorf("NewAdmin with %s: %v", name, err)
		}
	}
	if _, err := greyroute.NewAdmin(nil); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("NewAdmin(nil): %v", err)
	}
}

// TestLostReply: the reply to a write's script is lost (the proxy cuts
// the connection after the server ran it). go-redis runs the script again
// (MaxRetries 1), or, without retries, the caller calls again after the
// error: either way the table ends as after one call, with one rev bump
// and one event per write.
func TestLostReply(t *testing.T) {
	for _, retries := range []int{1, -1} {
		name := map[int]string{1: "go-redis retries", -1: "caller retries"}[retries]
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			r := testserver.StartRedis(t, nil)
			direct := standalone(t, r.Addr, nil)
			p := testserver.NewRedisProxy(t, r.Addr)
			c := standalone(t, p.Addr(), &redis.Options{MaxRetries: retries})
			clk := newClock()
			a := newAdmin(t, c, clk)
			events := subscribe(t, direct, greyroute.DefaultPrefix)
			ctx := context.Background()

			rev := 0
			for _, w := range []struct {
				name  string
				call  func() error
				event string // "" for the service's next rev
			}{
				{"register", func() error { return a.Register(ctx, inst("i1", "v1"), time.Minute) }, ""},
				// A shorter ttl moves the expiry earlier: announced (a later
				// one is not: TestHeartbeatsAreQuiet).
				{"heartbeat", func() error { return a.Heartbeat(ctx, "orders", "i1", 30*time.Second) }, ""},
				{"set stable", func() error { return a.SetStable(ctx, "orders", "v1") }, ""},
				{"set rollout", func() error { return a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 20}) }, ""},
				{"pin", func() error { return a.Pin(ctx, "acme", "orders", "v2") }, ""},
				{"require schema", func() error { return a.RequireSchema(ctx, "orders", "v3", 2) }, ""},
				{"set health", func() error { return a.SetHealth(ctx, "orders", "i1", 30) }, ""},
				{"unpin", func() error { return a.Unpin(ctx, "acme", "orders") }, ""},
				{"deregister", func() error { return a.Deregister(ctx, "orders", "i1") }, ""},
				{"set schema", func() error { return a.SetSchema(ctx, "acme", 4) }, "{tenants} 1"},
			} {
				dropped := p.DropReply(testserver.Drop{Command: testserver.ScriptCall("")})
				err := w.call()
				select {
				case <-dropped:
				case <-time.After(patience):
					t.Fatalf("%s: the proxy lost no reply", w.name)
				}
				if retries < 0 {
					if !errors.Is(err, greyroute.ErrUnavailable) {
						t.Fatalf("%s, reply lost, no retries: %v, want ErrUnavailable", w.name, err)
					}
					err = w.call()
				}
				if err != nil {
					t.Fatalf("%s retried: %v", w.name, err)
				}
				want := w.event
				if want == "" {
					rev++
					want = "orders " + itoa(rev)
				}
				expect(t, events, want)
			}
			// A marker: had a retry published, its event would come first.
			must(t, a.SetStable(ctx, "orders", "v9"))
			expect(t, events, "orders "+itoa(rev+1))
			tab, err := a.Snapshot(ctx, "orders")
			must(t, err)
			if len(tab.Instances) != 0 || len(tab.Pins) != 0 || tab.RolloutTo != "v2" || tab.RolloutBP != 2000 || tab.SchemaReq["v3"] != 2 {
				t.Fatalf("table after retried writes: %+v", tab)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRedisKilled: with Redis gone, every call fails with an error
// wrapping ErrUnavailable (and go-redis's own), not a hang or a panic.
func TestRedisKilled(t *testing.T) {
	noLeaks(t)
	r := testserver.StartRedis(t, nil)
	c := standalone(t, r.Addr, &redis.Options{MaxRetries: -1})
	a := newAdmin(t, c, nil)
	ctx := context.Background()
	must(t, a.SetStable(ctx, "orders", "v1"))
	r.Kill()
	for name, err := range map[string]error{
		"register":  a.Register(ctx, inst("i1", "v1"), time.Minute),
		"heartbeat": a.Heartbeat(ctx, "orders", "i1", time.Minute),
		"pin":       a.Pin(ctx, "acme", "orders", "v1"),
		"schema":    a.SetSchema(ctx, "acme", 1),
		"move":      a.MoveTenant(ctx, "acme", "orders", "v1", func(context.Context) (int, error) { return 1, nil }),
	} {
		if !errors.Is(err, greyroute.ErrUnavailable) {
			t.Errorf("%s with Redis killed: %v, want ErrUnavailable", name, err)
		}
	}
	if _, err := a.Snapshot(ctx, "orders"); !errors.Is(err, greyroute.ErrUnavailable) {
		t.Errorf("Snapshot with Redis killed: %v", err)
	}
	if _, err := a.TenantSchemas(ctx); !errors.Is(err, greyroute.ErrUnavailable) {
		t.Errorf("TenantSchemas with Redis killed: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.SetStable(cctx, "orders", "v2"); err != context.Canceled {
		t.Errorf("a call with a cancelled ctx: %v, want context.Canceled unwrapped", err)
	}
}
