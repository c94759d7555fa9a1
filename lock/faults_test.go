package lock_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

const childEnv = "GROUNDWORK_LOCK_CHILD"

// lockerFromEnv builds the child's Locker: CHILD_ADDRS is one address
// (standalone), or several (Redlock), or "cluster:" and the masters.
func lockerFromEnv() (*lock.Locker, *redis.Client) {
	addrs := os.Getenv("CHILD_ADDRS")
	data := redis.NewClient(&redis.Options{Addr: os.Getenv("CHILD_DATA")})
	if rest, ok := strings.CutPrefix(addrs, "cluster:"); ok {
		return lock.New(redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(rest, ",")})), data
	}
	list := strings.Split(addrs, ",")
	if len(list) == 1 {
		return lock.New(redis.NewClient(&redis.Options{Addr: list[0]})), data
	}
	var cs []redis.UniversalClient
	for _, a := range list {
		cs = append(cs, redis.NewClient(&redis.Options{Addr: a}))
	}
	l, err := lock.NewRedlock(cs)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	return l, data
}

// contendMaxWait caps a contender's wait between attempts. Most attempts
// fail (the lock is held), and a failed Redlock attempt costs ten round
// trips (an obtain and a release on each of five instances): with 64
// contenders retrying every 20ms, the race-built children spent their
// CPU on failed attempts and the redlock5 run took ~50s of the suite.
// The wait only paces the contenders.
var contendMaxWait = 100 * time.Millisecond

// contendChild: 16 goroutines each take the lock 10 times and, inside,
// do a non-atomic read-modify-write of a shared counter and append their
// token to a list.
func contendChild() {
	l, data := lockerFromEnv()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				lk, err := l.Obtain(ctx, "contended", 5*time.Second, lock.WithRetry(lock.ExponentialRetry(time.Millisecond, contendMaxWait)))
				for errors.Is(err, lock.ErrNotObtained) { // retrying stops after a ttl: go on
					lk, err = l.Obtain(ctx, "contended", 5*time.Second, lock.WithRetry(lock.ExponentialRetry(time.Millisecond, contendMaxWait)))
				}
				if err != nil {
					fmt.Println("error", err)
					os.Exit(2)
				}
				n, _ := data.Get(ctx, "counter").Int()
				data.Set(ctx, "counter", n+1, 0)
				data.RPush(ctx, "tokens", lk.Token())
				if err := lk.Release(ctx); err != nil {
					fmt.Println("error", err)
					os.Exit(2)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println("done")
	os.Exit(0)
}

func runChildren(t *testing.T, mode string, n int, env ...string) []*exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for range n {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
		cmd.Stderr = os.Stderr
		cmds = append(cmds, cmd)
	}
	return cmds
}

// TestMutualExclusion: 4 processes × 16 goroutines on one key. The
// counter they increment without atomicity ends at the number of
// acquisitions, and the tokens, in the order the critical sections ran,
// strictly increase.
func TestMutualExclusion(t *testing.T) {
	data := testserver.StartRedis(t, nil)
	var five []string
	for range 5 {
		five = append(five, testserver.StartRedis(t, nil).Addr)
	}
	setups := map[string]string{
		"standalone": testserver.StartRedis(t, nil).Addr,
		"redlock5":   strings.Join(five, ","),
		"cluster":    "cluster:" + strings.Join(testserver.StartRedisCluster(t).Addrs, ","),
	}
	for name, addrs := range setups {
		t.Run(name, func(t *testing.T) {
			rdb := client(t, data.Addr)
			rdb.FlushAll(context.Background())
			cmds := runChildren(t, "contend", 4, "CHILD_ADDRS="+addrs, "CHILD_DATA="+data.Addr)
			var wg sync.WaitGroup
			for _, cmd := range cmds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, err := cmd.Output()
					if err != nil || strings.TrimSpace(string(out)) != "done" {
						t.Errorf("child: %v: %s", err, out)
					}
				}()
			}
			wg.Wait()
			const total = 4 * 16 * 10
			if n, _ := rdb.Get(context.Background(), "counter").Int(); n != total {
				t.Fatalf("counter %d after %d acquisitions: two holders overlapped", n, total)
			}
			tokens, _ := rdb.LRange(context.Background(), "tokens", 0, -1).Result()
			if len(tokens) != total {
				t.Fatalf("%d tokens", len(tokens))
			}
			prev := uint64(0)
			for i, s := range tokens {
				tok, _ := strconv.ParseUint(s, 10, 64)
				if tok <= prev {
					t.Fatalf("token %d at %d after %d: not strictly increasing", tok, i, prev)
				}
				prev = tok
			}
		})
	}
}

// holdChild takes the lock, reports its token, and on a line on stdin
// reports what Refresh and Release say and whether its Context ended.
func holdChild() {
	l, _ := lockerFromEnv()
	ctx := context.Background()
	lk, err := l.Obtain(ctx, "paused", 300*time.Millisecond)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("held", lk.Token())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	refresh := lk.Refresh(ctx, time.Second)
	release := lk.Release(ctx)
	fmt.Printf("refresh=%v release=%v ctx=%v cause=%v\n", errors.Is(refresh, lock.ErrNotHeld), errors.Is(release, lock.ErrNotHeld),
		lk.Context().Err() != nil, context.Cause(lk.Context()))
	os.Exit(0)
}

// TestPausedHolderLosesTheLock: a holder stopped with SIGSTOP past its ttl
// loses the lock to another process, which gets a higher token; resumed,
// the first one's Refresh and Release say ErrNotHeld and its Context has
// ended.
func TestPausedHolderLosesTheLock(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	cmd := runChildren(t, "hold", 1, "CHILD_ADDRS="+r.Addr, "CHILD_DATA="+r.Addr)[0]
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	out := bufio.NewReader(stdout)
	line, _ := out.ReadString('\n')
	first, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(line), "held "), 10, 64)
	if err != nil {
		t.Fatalf("child: %q", line)
	}
	if err := testserver.PauseProcess(cmd.Process); err != nil {
		t.Fatal(err)
	}
	l := lock.New(client(t, r.Addr))
	var lk *lock.Lock
	waitFor(t, "the paused holder's lock to expire", func() bool {
		lk, err = l.Obtain(context.Background(), "paused", 10*time.Second)
		return err == nil
	})
	defer lk.Release(context.Background())
	if lk.Token() <= first {
		t.Fatalf("token %d after the paused holder's %d", lk.Token(), first)
	}
	if err := testserver.ResumeProcess(cmd.Process); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, "go")
	line, _ = out.ReadString('\n')
	if !strings.HasPrefix(line, "refresh=true release=true ctx=true cause=lock: lost") {
		t.Fatalf("resumed holder: %q", line)
	}
	if _, err := lk.TTL(context.Background()); err != nil {
		t.Fatalf("the new holder's lock was touched by the resumed one: %v", err)
	}
}

// TestWatchdog keeps a lock through work of 10× its ttl, stops on
// Release, and cancels the lock's Context before the ttl runs out when
// redis-server is killed.
func TestWatchdog(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	l := lock.New(client(t, r.Addr))
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	lk, err := l.Obtain(ctx, "dog", ttl, lock.WithWatchdog())
	if err != nil {
		t.Fatal(err)
	}
	// Ten ttls of work, checking all along that nobody else can take it.
	for end := time.Now().Add(10 * ttl); time.Now().Before(end); time.Sleep(ttl / 4) {
		if _, err := l.Obtain(ctx, "dog", ttl); !errors.Is(err, lock.ErrNotObtained) {
			t.Fatalf("the lock was taken while the watchdog kept it: %v", err)
		}
		if lk.Context().Err() != nil {
			t.Fatalf("lost while kept: %v", context.Cause(lk.Context()))
		}
	}
	if err := lk.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Holder(ctx, "dog"); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("still held after Release: %v", err)
	}

	lk, err = l.Obtain(ctx, "dog", ttl, lock.WithWatchdog())
	if err != nil {
		t.Fatal(err)
	}
	obtained := time.Now()
	r.Kill()
	<-lk.Context().Done()
	cancelled := time.Now()
	cause := context.Cause(lk.Context())
	if !errors.Is(cause, lock.ErrLost) || !strings.Contains(cause.Error(), "could not be refreshed") {
		t.Fatalf("cause %v", cause)
	}
	// The watchdog's last refresh was at most ttl/3 before the kill, so
	// the lock in Redis would have lasted until at least obtained + ttl.
	if !cancelled.Before(obtained.Add(ttl).Add(ttl)) {
		t.Fatalf("Context cancelled %v after obtain, later than the lock could have lived", cancelled.Sub(obtained))
	}
	_ = lk.Release(ctx)
}

// TestRedlockSurvivesMinorityOutage: with 2 of 5 instances down Redlock
// still locks; with 3 down it fails and leaves nothing held on the live
// ones; tokens keep growing across instance restarts (AOF on).
func TestRedlockSurvivesMinorityOutage(t *testing.T) {
	var servers []*testserver.Redis
	var clients []redis.UniversalClient
	for range 5 {
		s := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true})
		servers = append(servers, s)
		clients = append(clients, client(t, s.Addr))
	}
	l, err := lock.NewRedlock(clients)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var last uint64
	take := func(what string) *lock.Lock {
		t.Helper()
		lk, err := l.Obtain(ctx, "red", 2*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if lk.Token() <= last {
			t.Fatalf("%s: token %d after %d", what, lk.Token(), last)
		}
		last = lk.Token()
		return lk
	}
	lk := take("all up")
	if err := lk.Release(ctx); err != nil {
		t.Fatal(err)
	}
	servers[0].Stop()
	servers[1].Stop()
	lk = take("2 of 5 down")
	if err := lk.Release(ctx); err != nil {
		t.Fatal(err)
	}
	servers[2].Stop()
	if _, err := l.Obtain(ctx, "red", 2*time.Second); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("3 of 5 down: %v, want ErrNotObtained", err)
	}
	for i := 3; i < 5; i++ {
		if n, _ := clients[i].Exists(ctx, "lock:{red}").Result(); n != 0 {
			t.Fatalf("instance %d still holds the failed attempt's lock", i)
		}
	}
	// Bring the three back (their AOF kept the counters); the attempts
	// that failed incremented a minority, and tokens still only grow.
	for i := range 3 {
		servers[i].Restart(t)
	}
	for range 3 {
		lk = take("after restarts")
		if err := lk.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
