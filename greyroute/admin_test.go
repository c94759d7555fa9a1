package greyroute_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// patience bounds every wait for an event; tests never sleep.
const patience = 10 * time.Second

// noLeaks checks, when t ends (after the cleanups registered later, which
// run first), that no goroutine outlived the test. Per test rather than
// in a TestMain, which the package's other test files may define.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// clock is a test clock the Admin stamps expiries with.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.UnixMilli(1_800_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func standalone(t *testing.T, addr string, o *redis.Options) redis.UniversalClient {
	t.Helper()
	if o == nil {
		o = &redis.Options{}
	}
	o.Addr = addr
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// topologies are the two Redis deployments a write must work on: a
// standalone server and a 3-master Cluster.
var topologies = []struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
}{
	{"standalone", func(t *testing.T) redis.UniversalClient {
		return newRedis(t)
	}},
	{"cluster", cluster},
}

// newRedis starts a standalone server and returns a client of it.
func newRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	return standalone(t, testserver.StartRedis(t, nil).Addr, nil)
}

// cluster returns a client of the package's shared Redis Cluster, emptied
// for t (data and scripts), so that each test starts from a fresh one.
func cluster(t *testing.T) redis.UniversalClient {
	t.Helper()
	rc := sharedCluster.Get(t)
	c := redis.NewClusterClient(clusterOptions(rc.Addrs...))
	t.Cleanup(func() { c.Close() })
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		if err := m.FlushAll(ctx).Err(); err != nil {
			return err
		}
		return m.ScriptFlush(ctx).Err()
	})
	if err != nil {
		t.Fatalf("emptying the shared cluster: %v", err)
	}
	return c
}

// sharedCluster is the Cluster the topology tests share: one takes over
// two seconds to form, and no test stops or pauses it.
var sharedCluster = testserver.NewShared(testserver.StartRedisCluster)

func TestMain(m *testing.M) { os.Exit(sharedCluster.StopAfter(m).Run()) }

// clusterOptions are a test Cluster client's. Maintenance notifications
// (a Redis Cloud feature redis-server 7.0 lacks) are off: with them, a
// node client the ClusterClient makes in a background state reload as it
// closes starts a goroutine nothing stops, which goleak reports.
func clusterOptions(addrs ...string) *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: addrs,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}}
}

func newAdmin(t *testing.T, c redis.UniversalClient, clk *clock, opts ...greyroute.AdminOption) *greyroute.Admin {
	t.Helper()
	if clk != nil {
		opts = append(opts, greyroute.WithClock(clk.Now))
	}
	a, err := greyroute.NewAdmin(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// subscribe returns the change events of prefix, subscribed before it
// returns.
func subscribe(t *testing.T, c redis.UniversalClient, prefix string) <-chan *redis.Message {
	t.Helper()
	ps := c.Subscribe(context.Background(), prefix+"changed")
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() { ps.Close() })
	return ps.Channel()
}

// expect fails t unless the next event is want.
func expect(t *testing.T, events <-chan *redis.Message, want string) {
	t.Helper()
	select {
	case m := <-events:
		if m.Payload != want {
			t.Fatalf("event %q, want %q", m.Payload, want)
		}
	case <-time.After(patience):
		t.Fatalf("no event %q within %v", want, patience)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func inst(id, version string) greyroute.Instance {
	return greyroute.Instance{ID: id, Service: "orders", Version: version, Addr: "10.0.0.1:80" + id[len(id)-1:], Weight: 2,
		Meta: map[string]string{"zone": "a"}}
}

// TestWritesAndEvents runs every write on a standalone server and on a
// 3-master Cluster: each announces "<service> <rev>" with the next rev,
// Snapshot reads back what was written, and each write repeated (what a
// retry after a lost reply does) changes nothing and announces nothing.
func TestWritesAndEvents(t *testing.T) {
	for _, tc := range topologies {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			c := tc.client(t)
			clk := newClock()
			a := newAdmin(t, c, clk)
			events := subscribe(t, c, greyroute.DefaultPrefix)
			ctx := context.Background()
			beaten := false // the clock moves before the first heartbeat only

			steps := []struct {
				name  string
				write func() error
				event string
			}{
				{"register i2", func() error { return a.Register(ctx, inst("i2", "v2"), time.Minute) }, "orders 1"},
				{"register i1", func() error { return a.Register(ctx, inst("i1", "v1"), time.Minute) }, "orders 2"},
				{"set stable", func() error { return a.SetStable(ctx, "orders", "v1") }, "orders 3"},
				{"set rollout", func() error {
					return a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 12.5})
				}, "orders 4"},
				{"pin", func() error { return a.Pin(ctx, "acme", "orders", "v2") }, "orders 5"},
				{"pin another", func() error { return a.Pin(ctx, "globex", "orders", "v1") }, "orders 6"},
				{"set fallback", func() error { return a.SetFallback(ctx, "orders", "v1") }, "orders 7"},
				{"require schema", func() error { return a.RequireSchema(ctx, "orders", "v3", 4) }, "orders 8"},
				{"set health", func() error { return a.SetHealth(ctx, "orders", "i1", 40) }, "orders 9"},
				{"heartbeat", func() error {
					if !beaten {
						clk.Advance(time.Second)
						beaten = true
					}
					return a.Heartbeat(ctx, "orders", "i2", time.Minute)
				}, ""}, // a later expiry: not announced (TestHeartbeatsAreQuiet)
				{"unpin", func() error { return a.Unpin(ctx, "globex", "orders") }, "orders 10"},
				{"register i3", func() error { return a.Register(ctx, inst("i3", "v2"), time.Minute) }, "orders 11"},
				{"deregister i3", func() error { return a.Deregister(ctx, "orders", "i3") }, "orders 12"},
				{"set schema", func() error { return a.SetSchema(ctx, "acme", 2) }, "{tenants} 1"},
			}
			for _, s := range steps {
				if err := s.write(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if s.event != "" {
					expect(t, events, s.event)
				}
			}
			// Repeated, each finds its work done: no event, no rev. The
			// Heartbeat repeats at the same clock reading, as go-redis's
			// own retry of the script does. (Register repeats at a later
			// reading would move the expiry: TestLostReply covers it; the
			// pin globex later undid would be a change again.)
			for _, s := range steps {
				if strings.HasPrefix(s.name, "register") || s.name == "pin another" {
					continue
				}
				if err := s.write(); err != nil {
					t.Fatalf("%s repeated: %v", s.name, err)
				}
			}
			// A marker write: the next event must be its own.
			must(t, a.SetSchema(ctx, "acme", 3))
			expect(t, events, "{tenants} 2")
			must(t, a.Unpin(ctx, "acme", "orders"))
			expect(t, events, "orders 13")

			tab, err := a.Snapshot(ctx, "orders")
			must(t, err)
			if tab.Rev != 13 || tab.Stable != "v1" || tab.RolloutTo != "v2" || tab.RolloutBP != 1250 || tab.Fallback != "v1" {
				t.Errorf("route: %+v", tab)
			}
			if len(tab.Pins) != 0 || tab.SchemaReq["v3"] != 4 || len(tab.SchemaReq) != 1 {
				t.Errorf("pins %v, schema requirements %v", tab.Pins, tab.SchemaReq)
			}
			ids := []string{}
			for _, in := range tab.Instances {
				ids = append(ids, in.ID)
			}
			if !slices.Equal(ids, []string{"i1", "i2"}) {
				t.Fatalf("instances %v, want i1 i2 sorted", ids)
			}
			if got := tab.Instances[1]; got.Service != "orders" || got.Version != "v2" || got.Addr != "10.0.0.1:802" || got.Weight != 2 || got.Meta["zone"] != "a" {
				t.Errorf("instance read back: %+v", got)
			}
			if e := tab.Expires["i2"]; !e.Equal(newClock().Now().Add(time.Second + time.Minute)) {
				t.Errorf("i2 expires %v: want the heartbeat's now + ttl", e)
			}
			if tab.Health["i1"] != 40 || len(tab.Health) != 1 {
				t.Errorf("health %v", tab.Health)
			}
			schemas, err := a.TenantSchemas(ctx)
			must(t, err)
			if len(schemas) != 1 || schemas["acme"] != 3 {
				t.Errorf("tenant schemas %v", schemas)
			}
			if s, _ := a.TenantSchemas(ctx, "acme", "nobody"); len(s) != 1 || s["acme"] != 3 {
				t.Errorf("TenantSchemas(acme, nobody) = %v", s)
			}
			if svcs, err := a.Services(ctx); err != nil || !slices.Equal(svcs, []string{"orders"}) {
				t.Errorf("Services = %v, %v", svcs, err)
			}

			// Making the rollout's target stable completes the rollout.
			must(t, a.SetStable(ctx, "orders", "v2"))
			expect(t, events, "orders 14")
			tab, _ = a.Snapshot(ctx, "orders")
			if tab.Stable != "v2" || tab.RolloutTo != "" || tab.RolloutBP != 0 {
				t.Errorf("after promoting the target: %+v", tab)
			}
			// Percent 0 ends a rollout whatever To says.
			must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v3", Percent: 5}))
			expect(t, events, "orders 15")
			must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{Percent: 0}))
			expect(t, events, "orders 16")
			if tab, _ = a.Snapshot(ctx, "orders"); tab.RolloutTo != "" {
				t.Errorf("rollout after Percent 0: %q", tab.RolloutTo)
			}
		})
	}
}

// TestRolloutRefusals: a rollout needs a stable version to start from,
// and a target other than it; both are read in the script.
func TestRolloutRefusals(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	ctx := context.Background()
	err := a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 10})
	if !errors.Is(err, greyroute.ErrInvalid) {
		t.Fatalf("rollout without a stable version: %v", err)
	}
	must(t, a.SetStable(ctx, "s", "v2"))
	if err := a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 10}); !errors.Is(err, greyroute.ErrInvalid) {
		t.Fatalf("rollout to the stable version: %v", err)
	}
	if tab, _ := a.Snapshot(ctx, "s"); tab.RolloutTo != "" || tab.Rev != 1 {
		t.Fatalf("refused rollouts wrote: %+v", tab)
	}
}

// TestClose: after Close every call is ErrClosed; Close is idempotent.
func TestClose(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	must(t, a.Close())
	must(t, a.Close())
	ctx := context.Background()
	for name, err := range map[string]error{
		"pin":        a.Pin(ctx, "t", "s", "v"),
		"set stable": a.SetStable(ctx, "s", "v"),
		"set schema": a.SetSchema(ctx, "t", 1),
		"move":       a.MoveTenant(ctx, "t", "s", "v", func(context.Context) (int, error) { return 1, nil }),
	} {
		if !errors.Is(err, greyroute.ErrClosed) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
	if _, err := a.Snapshot(ctx, "s"); !errors.Is(err, greyroute.ErrClosed) {
		t.Errorf("Snapshot after Close: %v", err)
	}
	if n, _ := c.Exists(ctx, "greyroute:services").Result(); n != 0 {
		t.Errorf("a closed Admin wrote")
	}
}
