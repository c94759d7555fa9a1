// Command greyrollout rolls a new version of a service out to a share of
// 1,000 tenants with greyroute, raises the share 5% → 25% → 50%, promotes
// it, and then watches a failing canary being rolled back automatically,
// printing at each stage which version served which tenants.
//
//	go run ./examples/greyrollout
//
// Three versions of a small HTTP service, "orders", run as real HTTP
// servers on loopback, two instances each, registered with the Admin and
// kept alive by heartbeats. A front door reads each caller's tenant
// (TenantMiddleware) and calls orders through a Router's RoundTripper,
// which picks the tenant's version (pin > rollout > stable) and balances
// over its instances. Routing state lives in Redis: an embedded one
// (miniredis) unless GROUNDWORK_REDIS_URL names a server. Rollback events
// also go out on an mq topic (mem://), where a consumer reads them.
//
// The output is the same on every run: a tenant's place in a rollout is
// a stable hash of its name, and each stage waits for the Router to have
// applied the change before it counts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/greyroute/greymq"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "greyrollout:", err)
		os.Exit(1)
	}
}

// enterprise tenants have contracts that freeze their version: they are
// pinned, and a pin outranks any rollout.
var enterprise = []string{"acme", "globex", "initech"}

// tenants returns the 1,000 tenants: the enterprise ones and t0001…t0997.
func tenants() []string {
	ts := append([]string(nil), enterprise...)
	for i := 1; len(ts) < 1000; i++ {
		ts = append(ts, fmt.Sprintf("t%04d", i))
	}
	return ts
}

// deadline bounds each wait on the Router: generous, as a wait ends as
// soon as what it waits for has happened.
const deadline = time.Minute

// rollbacks is the mq topic the Router's rollback events are published on.
const rollbacks = "greyroute.rollbacks"

// run tells the story on w, which the test reads.
func run(ctx context.Context, w io.Writer) error {
	rdb, closeRedis, err := redisClient()
	if err != nil {
		return err
	}
	defer closeRedis()
	// Keys of this run's own: on a shared Redis (GROUNDWORK_REDIS_URL),
	// an earlier run's table (its rollout, its dead instances) is not
	// this one's. Admins and Routers of one table share a prefix.
	keys := fmt.Sprintf("greyrollout-%d:", time.Now().UnixNano())
	defer deleteKeys(rdb, keys) // last, when nothing uses them any more
	prefix := greyroute.WithPrefix(keys)
	admin, err := greyroute.NewAdmin(rdb, prefix)
	if err != nil {
		return err
	}
	defer admin.Close()

	// The instances. v3 works until broken is set: a canary that passes
	// its first checks and fails once real traffic finds its bug.
	var broken atomic.Bool
	f := newFleet(admin)
	defer f.stop()
	for _, v := range versions {
		var b *atomic.Bool
		if v == "v3" {
			b = &broken
		}
		if err := f.startVersion(ctx, v, 2, b); err != nil {
			return err
		}
	}
	if err := admin.SetStable(ctx, service, "v1"); err != nil {
		return err
	}
	for _, t := range enterprise {
		if err := admin.Pin(ctx, t, service, "v1"); err != nil {
			return err
		}
	}

	// Rollback events: to a callback, and to an mq topic that an
	// operations consumer reads (a pager, a chat channel, an audit log).
	mqc, err := mq.Open(ctx, "mem://greyrollout")
	if err != nil {
		return err
	}
	defer mqc.Close()
	fromMQ := make(chan greyroute.RollbackEvent, 1)
	sub, err := mqc.Subscribe(ctx, rollbacks, "ops", func(_ context.Context, m *mq.Message) error {
		var e greyroute.RollbackEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			return mq.Permanent(err)
		}
		select {
		case fromMQ <- e:
		default: // a redelivery: the event was seen
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sub.Close()
	rolledBack := make(chan greyroute.RollbackEvent, 1)
	router, err := greyroute.NewRouter(rdb, prefix,
		greyroute.WithBalancer(service, greyroute.RoundRobin()),
		// More than 5% of at least 20 calls on the canary failing within
		// a minute ends its rollout.
		greyroute.WithAutoRollback(greyroute.RollbackPolicy{
			Window: time.Minute, Threshold: 0.05, MinRequests: 20,
			Name: "front-door",
			OnRollback: func(e greyroute.RollbackEvent) {
				select { // it runs on the Router's goroutine: never block it
				case rolledBack <- e:
				default:
				}
			},
			Sink: greymq.Sink(mqc, rollbacks),
		}))
	if err != nil {
		return err
	}
	defer router.Close()
	base := transport()
	defer base.CloseIdleConnections()
	door := newFrontDoor(router, base)
	defer door.Close()
	tr := transport()
	defer tr.CloseIdleConnections()
	all := tenants()
	callers := &crowd{client: &http.Client{Transport: tr}, door: door.URL, tenants: all}

	fmt.Fprintf(w, "== greyrollout: %d tenants call the %s service through a front door\n", len(all), service)
	fmt.Fprintf(w, "   v1, v2 and v3 run 2 instances each; %s are pinned to v1\n\n", strings.Join(enterprise, ", "))
	header(w)
	// NewRouter loaded the table before it returned: no wait needed.
	start, err := callers.round(ctx)
	if err != nil {
		return err
	}
	report(w, "v1 stable", nil, start)

	// Raise the rollout. A tenant is in it when its bucket (a stable hash
	// of tenant and service into 10,000) is below the percentage, so a
	// raise only adds tenants: nobody already on v2 goes back.
	prev := start
	for _, pct := range []float64{5, 25, 50} {
		if err := admin.SetRollout(ctx, service, greyroute.Rollout{To: "v2", Percent: pct}); err != nil {
			return err
		}
		cur, err := callers.settle(ctx, func(c census) bool { return differs(prev, c) })
		if err != nil {
			return err
		}
		report(w, fmt.Sprintf("v2 at %g%%", pct), prev, cur)
		if kept, of := stayed(prev, cur, "v2"); of > 0 {
			note(w, "%d of the %d tenants already on v2 stayed there", kept, of)
		}
		prev = cur
	}

	// v2 did well: it becomes the stable version. The pinned tenants
	// stay on v1 until someone unpins them.
	if err := admin.SetStable(ctx, service, "v2"); err != nil {
		return err
	}
	promoted, err := callers.settle(ctx, func(c census) bool { return differs(prev, c) })
	if err != nil {
		return err
	}
	report(w, "v2 promoted to stable", prev, promoted)

	// The next canary: v3 to 5% of the tenants, from the stable v2. They
	// are the tenants that went first to v2: a bucket is a hash of tenant
	// and service, not of the version, so a service's early adopters are
	// the same in every rollout.
	if err := admin.SetRollout(ctx, service, greyroute.Rollout{To: "v3", Percent: 5}); err != nil {
		return err
	}
	canary, err := callers.settle(ctx, func(c census) bool { return differs(promoted, c) })
	if err != nil {
		return err
	}
	report(w, "v3 at 5%", promoted, canary)

	// Then v3 breaks. Its 500s count against it in the Router's window
	// until the error rate trips the rollback; the tenants keep calling
	// meanwhile, as they would.
	broken.Store(true)
	fmt.Fprintf(w, "\n   v3 starts answering 500s; the tenants keep calling ...\n")
	e, err := callers.untilRollback(ctx, rolledBack)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   OnRollback: %s %s rolled back by %s: error rate above 5%% over the last %v\n", e.Service, e.Version, e.Router, e.Window)
	select {
	case m := <-fromMQ:
		fmt.Fprintf(w, "   mq consumer on %q: %s %s rolled back (same event: %t)\n", rollbacks, m.Service, m.Version, m.ID == e.ID)
	case <-time.After(deadline):
		return errors.New("the rollback event never reached the mq consumer")
	}
	back, err := callers.settle(ctx, func(c census) bool { return count(c, "v3") == 0 && count(c, "error") == 0 })
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	header(w)
	report(w, "v3 rolled back", canary, back)
	if differs(promoted, back) {
		return errors.New("after the rollback some tenants are not where they were before v3")
	}
	note(w, "every tenant is back where it was before v3")

	tab, err := admin.Snapshot(ctx, service)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n   the table in Redis: stable %s, rollout %q, last rollback: %s by %s\n",
		tab.Stable, tab.RolloutTo, tab.LastRollback.Version, tab.LastRollback.Router)
	return nil
}

// count is how many tenants of c version answered.
func count(c census, version string) int {
	n := 0
	for _, v := range c {
		if v == version {
			n++
		}
	}
	return n
}

// deleteKeys removes the keys under prefix (a run's table).
func deleteKeys(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// redisClient returns a client for GROUNDWORK_REDIS_URL, or for an
// embedded Redis when it is unset, and what closes them.
func redisClient() (*redis.Client, func(), error) {
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			return nil, nil, err
		}
		rdb := redis.NewClient(opts)
		return rdb, func() { rdb.Close() }, nil
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, func() { rdb.Close(); mr.Close() }, nil
}
