package greyroute_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestScriptCacheLost: after SCRIPT FLUSH, or a Redis restart, EVALSHA
// answers NOSCRIPT and the write falls back to EVAL; a lost reply to that
// EVAL, retried, still makes one change and one event.
func TestScriptCacheLost(t *testing.T) {
	noLeaks(t)
	r := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true, FsyncAlways: true})
	direct := standalone(t, r.Addr, &redis.Options{MaxRetries: -1})
	p := testserver.NewRedisProxy(t, r.Addr)
	c := standalone(t, p.Addr(), &redis.Options{MaxRetries: 1})
	a := newAdmin(t, c, nil)
	events := subscribe(t, direct, greyroute.DefaultPrefix)
	ctx := context.Background()

	must(t, a.SetStable(ctx, "orders", "v1"))
	expect(t, events, "orders 1")
	must(t, direct.ScriptFlush(ctx).Err())
	dropped := p.DropReply(testserver.Drop{Command: testserver.ScriptCall("rollout_to")}) // the EVAL (its body), not the EVALSHA
	must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 5}))
	select {
	case <-dropped:
	case <-time.After(patience):
		t.Fatal("the proxy lost no reply")
	}
	expect(t, events, "orders 2")

	r.Kill()
	r.Restart(t)
	must(t, a.Pin(ctx, "acme", "orders", "v2"))
	tab, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if tab.Rev != 3 || tab.RolloutBP != 500 || tab.Pins["acme"] != "v2" {
		t.Fatalf("after a flush and a restart: %+v", tab)
	}
}
