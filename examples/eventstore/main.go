// Command eventstore is an event store on Redis and mq: bank accounts
// whose events are appended with an optimistic version check, replayed
// from any version, and projected into balances by a subscriber that sees
// each account's events in order.
//
//	go run ./examples/eventstore
//
// It runs on an embedded Redis (miniredis) and mem:// unless
// GROUNDWORK_REDIS_URL names a Redis server (then both the store and the
// events topic use it).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "eventstore:", err)
		os.Exit(1)
	}
}

type amount struct {
	Cents int `json:"cents"`
}

// balances is the projection: each account's balance and the last
// version applied, which must grow by one each time.
type balances struct {
	mu      sync.Mutex
	cents   map[string]int
	version map[string]int
	errs    []string
}

func (b *balances) apply(_ context.Context, m *mq.Message) error {
	var e Event
	if err := json.Unmarshal(m.Payload, &e); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch last := b.version[e.Aggregate]; {
	case e.Version <= last:
		return nil // a redelivery: already applied
	case e.Version != last+1:
		b.errs = append(b.errs, fmt.Sprintf("%s: version %d after %d", e.Aggregate, e.Version, last))
		return nil
	}
	var a amount
	_ = json.Unmarshal(e.Data, &a)
	switch e.Type {
	case "Deposited":
		b.cents[e.Aggregate] += a.Cents
	case "Withdrawn":
		b.cents[e.Aggregate] -= a.Cents
	}
	b.version[e.Aggregate] = e.Version
	return nil
}

func (b *balances) applied(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	total := 0
	for _, v := range b.version {
		total += v
	}
	return total == n
}

// run writes what it does to w, which the test reads.
func run(ctx context.Context, w io.Writer) error {
	redisURL, mqURL := os.Getenv("GROUNDWORK_REDIS_URL"), "mem://eventstore-example"
	if redisURL == "" {
		mr, err := miniredis.Run()
		if err != nil {
			return err
		}
		defer mr.Close()
		redisURL = "redis://" + mr.Addr()
	} else {
		mqURL = redisURL
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	mqc, err := mq.Open(ctx, mqURL)
	if err != nil {
		return err
	}
	defer mqc.Close()
	topic := "accounts.events"
	store := &Store{rdb: rdb, mqc: mqc, topic: topic}

	proj := &balances{cents: map[string]int{}, version: map[string]int{}}
	sub, err := mqc.Subscribe(ctx, topic, "balances", proj.apply, mq.WithConcurrency(4))
	if err != nil {
		return err
	}
	defer sub.Close()

	fmt.Fprintln(w, "== eventstore: accounts on Redis, events on", mqURL)
	appended := 0
	for _, acct := range []string{"alice", "bob"} {
		v, err := store.Append(ctx, acct, 0, []string{"Opened", "Deposited"}, []any{struct{}{}, amount{10000}})
		if err != nil {
			return err
		}
		appended += v
		fmt.Fprintf(w, "   %s opened with $100.00 (version %d)\n", acct, v)
	}

	// Two writers read alice at version 2 and both try to withdraw.
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, cents := range []int{3000, 9000} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = store.Append(ctx, "alice", 2, []string{"Withdrawn"}, []any{amount{cents}})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range results {
		switch {
		case err == nil:
			won++
			fmt.Fprintf(w, "   writer %d appended version 3\n", i+1)
		case errors.Is(err, ErrConflict):
			fmt.Fprintf(w, "   writer %d lost the race: %v\n", i+1, err)
		default:
			return err
		}
	}
	if won != 1 {
		return fmt.Errorf("%d writers appended version 3, want exactly 1", won)
	}
	appended++
	if _, err := store.Append(ctx, "bob", 2, []string{"Deposited"}, []any{amount{2500}}); err != nil {
		return err
	}
	appended++

	history, err := store.Load(ctx, "alice", 2)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "   alice's history from version 2:")
	for _, e := range history {
		fmt.Fprintf(w, "     v%d %s %s\n", e.Version, e.Type, e.Data)
	}

	deadline := time.Now().Add(time.Minute)
	for !proj.applied(appended) {
		if time.Now().After(deadline) {
			return errors.New("the projection did not catch up within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	proj.mu.Lock()
	defer proj.mu.Unlock()
	if len(proj.errs) > 0 {
		return fmt.Errorf("projection saw events out of order: %v", proj.errs)
	}
	names := make([]string, 0, len(proj.cents))
	for n := range proj.cents {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "   projected balances (built by a subscriber, in per-account order):")
	for _, n := range names {
		fmt.Fprintf(w, "     %-5s $%d.%02d at version %d\n", n, proj.cents[n]/100, proj.cents[n]%100, proj.version[n])
	}
	return nil
}
