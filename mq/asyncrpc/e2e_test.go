package asyncrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/asyncrpc"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

func open(t *testing.T, url string) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// redisParams keep redismq's hand-overs and reads short for tests.
const redisParams = "?visibility_timeout=3s&heartbeat_interval=100ms&block=100ms&ack_interval=20ms"

// TestManyCallsOnBrokers: 1,000 concurrent calls from 2 client instances,
// each with its own mq connection, to 2 server instances sharing a Redis
// idempotency store: every callback runs exactly once, with its own
// response.
func TestManyCallsOnBrokers(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	brokers := map[string]func() string{
		"redis": func() string { return r.URL + redisParams },
		"kafka": func() string {
			k := testserver.StartKafka(t)
			return "kafka://" + strings.Join(k.Brokers, ",") + "?session_timeout=3s&heartbeat_interval=100ms&commit_interval=100ms"
		},
	}
	for name, url := range brokers {
		t.Run(name, func(t *testing.T) {
			u := url()
			store := asyncrpc.NewRedisIdempotency(rdb, "e2e:"+name+":")
			var servers []string
			for range 2 {
				_, addr := serve(t, open(t, u), echo, asyncrpc.ServerOptions{Idempotency: store})
				servers = append(servers, addr)
			}
			clients := []*asyncrpc.Client{
				client(t, open(t, u), asyncrpc.ClientOptions{ResponseTopic: "e2e.responses", Timeout: time.Minute}),
				client(t, open(t, u), asyncrpc.ClientOptions{ResponseTopic: "e2e.responses", Timeout: time.Minute}),
			}
			const n = 1000
			out := newOutcome()
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprint("call-", i)
					_, err := clients[i%2].Post(context.Background(), servers[(i/2)%2], "text/plain", strings.NewReader(id), out.callback(id))
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			out.checkEachOnce(t, clients, n)
			for i, c := range clients {
				if s := c.Stats(); s.Late != 0 {
					t.Errorf("client %d: %d late responses", i, s.Late)
				}
			}
			testTimeoutOn(t, u)
		})
	}
}

// TestRedisIdempotencyStore: the claim protocol on a real redis-server.
func TestRedisIdempotencyStore(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	s := asyncrpc.NewRedisIdempotency(rdb, "")
	ctx := context.Background()
	step := func(what string, want asyncrpc.ClaimResult, owner string, lease time.Duration) []byte {
		t.Helper()
		got, stored, err := s.Claim(ctx, "k", owner, lease)
		if err != nil || got != want {
			t.Fatalf("%s: %v, %v; want %v", what, got, err, want)
		}
		return stored
	}
	step("first claim", asyncrpc.Claimed, "a", time.Minute)
	step("claim while a runs it", asyncrpc.Running, "b", time.Minute)
	if ok, err := s.Renew(ctx, "k", "b", time.Minute); ok || err != nil {
		t.Fatalf("b renewed a's claim: %v %v", ok, err)
	}
	if ok, err := s.Complete(ctx, "k", "b", []byte("b's"), time.Hour); ok || err != nil {
		t.Fatalf("b completed a's claim: %v %v", ok, err)
	}
	if err := s.Release(ctx, "k", "b"); err != nil {
		t.Fatal(err)
	}
	step("b's release did not drop a's claim", asyncrpc.Running, "b", time.Minute)
	if err := s.Release(ctx, "k", "a"); err != nil {
		t.Fatal(err)
	}
	step("claim after a released", asyncrpc.Claimed, "b", 50*time.Millisecond)
	waitFor(t, "b's short lease to expire", func() bool {
		got, _, err := s.Claim(ctx, "k", "c", time.Minute)
		return err == nil && got == asyncrpc.Claimed
	})
	stored := []byte("c's response \x00\xff, binary-safe")
	if ok, err := s.Complete(ctx, "k", "c", stored, time.Hour); !ok || err != nil {
		t.Fatalf("c completed its claim: %v %v", ok, err)
	}
	if got := step("claim after completion", asyncrpc.Completed, "d", time.Minute); string(got) != string(stored) {
		t.Fatalf("stored response %q, want %q", got, stored)
	}
	if ok, err := s.Complete(ctx, "k", "d", []byte("again"), time.Hour); ok || err != nil {
		t.Fatalf("a completed key completed again: %v %v", ok, err)
	}
	// A lease that ran out with nobody claiming since: the late owner's
	// completion still counts (the work did run).
	if got, _, err := s.Claim(ctx, "k2", "e", 50*time.Millisecond); got != asyncrpc.Claimed || err != nil {
		t.Fatalf("claim of k2: %v %v", got, err)
	}
	waitFor(t, "e's lease on k2 to run out", func() bool { return rdb.Exists(ctx, "asyncrpc:k2").Val() == 0 })
	if ok, err := s.Complete(ctx, "k2", "e", []byte("late"), time.Hour); !ok || err != nil {
		t.Fatalf("completion after the lease ran out, unclaimed since: %v %v", ok, err)
	}
}

// The child process of TestServerKilledMidWork: a server on Redis that
// starts the work, counts it, and hangs until it is killed.
const childEnv = "GROUNDWORK_ASYNCRPC_CHILD"

func runChild() {
	url, redisAddr := os.Getenv("CHILD_MQ_URL"), os.Getenv("CHILD_REDIS_ADDR")
	mqc, err := mq.Open(context.Background(), url)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	s, err := asyncrpc.NewServer(mqc, func(ctx context.Context, _ *asyncrpc.Request) (*asyncrpc.Response, error) {
		rdb.Incr(ctx, "work-started")
		select {} // mid-work until SIGKILL
	}, asyncrpc.ServerOptions{Idempotency: asyncrpc.NewRedisIdempotency(rdb, ""), Lease: time.Second})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	hs := httptest.NewServer(s)
	fmt.Println(hs.URL)
	select {}
}

// TestServerKilledMidWork: a server process dies while running a call;
// the client resends the same request, which reaches another server once
// the dead one's lease has run out. The work completes exactly once and
// the callback runs once, with the second server's response.
func TestServerKilledMidWork(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	u := r.URL + redisParams
	child := startChild(t, u, r.Addr)

	var completed int64
	var mu sync.Mutex
	_, survivorURL := serve(t, open(t, u), func(ctx context.Context, req *asyncrpc.Request) (*asyncrpc.Response, error) {
		rdb.Incr(ctx, "work-started")
		mu.Lock()
		completed++
		mu.Unlock()
		return &asyncrpc.Response{StatusCode: 200, Body: []byte("done by the survivor")}, nil
	}, asyncrpc.ServerOptions{Idempotency: asyncrpc.NewRedisIdempotency(rdb, ""), Lease: time.Second})
	// One address for the callers, as a load balancer gives: the child
	// first, the survivor once the child is gone.
	var target sync.Map
	target.Store("url", child.url)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		to, _ := target.Load("url")
		out, _ := http.NewRequestWithContext(req.Context(), req.Method, to.(string)+req.URL.Path, req.Body)
		out.Header = req.Header.Clone()
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	defer front.Close()

	c := client(t, open(t, u), asyncrpc.ClientOptions{ResponseTopic: "killed.responses", Timeout: time.Minute})
	out := newOutcome()
	call, err := c.Post(context.Background(), front.URL, "text/plain", strings.NewReader("order-1"), out.callback("order-1"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to start the work", func() bool { return rdb.Get(context.Background(), "work-started").Val() == "1" })
	child.kill()
	target.Store("url", survivorURL)
	// Resend until the survivor takes the call over: while the dead
	// server's lease lasts, a resend is accepted without running.
	waitFor(t, "the survivor to complete the call", func() bool {
		if err := call.Resend(context.Background()); err != nil {
			t.Logf("resend: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		return completed > 0
	})
	resp, err := call.Wait(context.Background())
	if err != nil || string(resp.Body) != "done by the survivor" {
		t.Fatalf("outcome %v %v", resp, err)
	}
	time.Sleep(200 * time.Millisecond) // a second completion or callback would land now
	mu.Lock()
	defer mu.Unlock()
	if completed != 1 || out.count("order-1") != 1 {
		t.Fatalf("work completed %d times, callback ran %d times; want 1 and 1", completed, out.count("order-1"))
	}
	if started := rdb.Get(context.Background(), "work-started").Val(); started != "2" {
		t.Fatalf("work started %s times, want 2 (the killed run and the survivor's)", started)
	}
}

// testTimeoutOn: a call whose work outlasts the client's timeout gets
// ErrTimeout once, and its response, when it comes, is counted as late.
func testTimeoutOn(t *testing.T, u string) {
	release, unblock := gate()
	defer unblock()
	_, url := serve(t, open(t, u), func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		<-release
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	c := client(t, open(t, u), asyncrpc.ClientOptions{ResponseTopic: "timeouts.responses", Timeout: 200 * time.Millisecond})
	out := newOutcome()
	call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader("slow"), out.callback("slow"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(context.Background()); !errors.Is(err, asyncrpc.ErrTimeout) {
		t.Fatalf("Wait: %v, want ErrTimeout", err)
	}
	unblock()
	waitFor(t, "the late response", func() bool { return c.Stats().Late == 1 })
	if n := out.count("slow"); n != 1 {
		t.Fatalf("callback ran %d times", n)
	}
}
