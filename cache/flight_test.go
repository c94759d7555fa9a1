package cache_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestLoaderPanicIsAnError: a loader that panics runs on its flight's
// goroutine; the panic must come back to the caller as an error
// (ErrPanic, carrying the value), never end the process. The check runs
// in a child process, since the old behaviour was the process's death.
func TestLoaderPanicIsAnError(t *testing.T) {
	if os.Getenv("CACHE_PANIC_CHILD") == "1" {
		c, err := cache.New[string](nil) // local only: no Redis needed
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetOrLoad(context.Background(), "k", func(context.Context) (string, error) {
			panic("loader bug")
		})
		if !errors.Is(err, cache.ErrPanic) || !strings.Contains(err.Error(), "loader bug") {
			t.Fatalf("GetOrLoad of a panicking loader: %v, want ErrPanic with the value", err)
		}
		// The flight is over: the next miss loads again.
		if v, err := c.GetOrLoad(context.Background(), "k", func(context.Context) (string, error) { return "v", nil }); err != nil || v != "v" {
			t.Fatalf("after the panic: %q %v", v, err)
		}
		_ = c.Close()
		os.Stdout.WriteString("CHILD-SURVIVED\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoaderPanicIsAnError$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CACHE_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("CHILD-SURVIVED")) {
		lines := strings.SplitN(string(out), "\n", 6)
		t.Fatalf("a panicking loader (%v): %s", err, strings.Join(lines[:min(5, len(lines))], " | "))
	}
}

// TestFlightHonoursCallersTokens: read-your-writes through a flight. B's L1 holds "old" and
// B has not heard of A's write yet; A's write was then deleted from
// Redis (Delete, eviction, expiry). GetOrLoad on B carrying the write's
// token must not return "old": the caller's lookup rightly skips L1, and
// so must the flight's look before it loads (it once ran on the cache's
// background ctx, without the tokens, and served L1's "old"). The loader
// also gets the caller's ctx values.
func TestFlightHonoursCallersTokens(t *testing.T) {
	addr := testserver.StartRedis(t, nil).Addr
	ctx := context.Background()
	a := newCache[string](t, rclient(t, addr))
	bc, first := clientWithHeldFirstConn(t, addr)
	b := newCache[string](t, bc)
	sub := <-first
	var once sync.Once
	release := func() { once.Do(sub.release) }
	t.Cleanup(release) // before b.Close (cleanups run last-in first-out)

	if err := a.Set(ctx, "p", "old"); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, b, "p")
	sub.hold()
	var tok cache.Token
	if err := a.Set(ctx, "p", "new", cache.ReturnToken(&tok)); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	hits := b.Stats().L1Hits
	if v, _ := b.Get(ctx, "p"); v != "old" || b.Stats().L1Hits == hits {
		t.Fatalf("setup: B's L1 should still hold old, got %q", v)
	}
	loads := 0
	type tenantKey struct{}
	var tenant any
	lctx := context.WithValue(cache.WithTokens(ctx, tok), tenantKey{}, "acme")
	v, err := b.GetOrLoad(lctx, "p", func(ctx context.Context) (string, error) {
		loads++
		tenant = ctx.Value(tenantKey{})
		return "new", nil
	})
	release()
	if err != nil || v != "new" {
		t.Fatalf("GetOrLoad with the token of write \"new\": %q %v (loader ran %d times); "+
			"the flight's second look served B's stale L1 copy", v, err, loads)
	}
	if tenant != "acme" {
		t.Fatalf("the loader's ctx lost the caller's values: tenant %v", tenant)
	}
}

// TestShutdownCtxBoundsHungLoader: a loader that ignores its ctx — the
// case flights are built to survive — must not hold Shutdown past its
// ctx: it returns ErrLeftBehind, and the loader ends on its own later.
func TestShutdownCtxBoundsHungLoader(t *testing.T) {
	c, err := cache.New[string](nil)
	if err != nil {
		t.Fatal(err)
	}
	g := newGate("late")
	caller := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(context.Background(), "k", g.load)
		caller <- err
	}()
	<-g.started
	sctx, cancel := context.WithCancel(context.Background())
	cancel() // the deadline has passed already
	done := make(chan error, 1)
	go func() { done <- c.Shutdown(sctx) }()
	var serr error
	hung := false
	select {
	case serr = <-done:
	case <-time.After(patience): // a hang detector, not a race driver
		hung = true
	}
	if hung {
		close(g.release) // let everything end, for goleak
		<-done
		<-caller
		t.Fatalf("Shutdown(a done ctx) still blocked %v later on a loader that ignores its ctx", patience)
	}
	// The loader is still held: its caller must have been told the cache
	// closed (once the loader returns, its value could win the race).
	select {
	case err := <-caller:
		if !errors.Is(err, cache.ErrClosed) {
			t.Errorf("the caller of the abandoned load got %v, want ErrClosed", err)
		}
	case <-time.After(patience):
		t.Errorf("the caller of the abandoned load still waits %v after Shutdown", patience)
	}
	close(g.release) // let everything end, for goleak
	if !errors.Is(serr, cache.ErrLeftBehind) {
		t.Fatalf("Shutdown with a loader left running: %v, want ErrLeftBehind", serr)
	}
}
