package rocketmq_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests. The client's
// background goroutines end up to ~10 s after Close (see the package doc,
// "Global state and goroutines"), longer than goleak waits by itself: it
// is asked again for up to 30 s, rather than told to ignore them, so that
// one that never ends is still caught. Ignored, by function name, are
// the goroutines the client cannot stop (see the package doc): the
// janitor of its package-level request/reply cache, and each push
// consumer's three statistics printers.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(30 * time.Second)
		ignore := []goleak.Option{goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run")}
		for _, f := range []string{"func4", "func5", "func6"} {
			// The consumer's statistics printers: they sleep until the next
			// minute, hour and month before they look at their stop
			// channel (see the package doc).
			ignore = append(ignore, goleak.IgnoreAnyFunction("github.com/apache/rocketmq-client-go/v2/consumer.(*statsItemSet).init."+f))
		}
		for err := goleak.Find(ignore...); err != nil; err = goleak.Find(ignore...) {
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goleak: goroutines still running 30 s after the tests: %v\n", err)
				code = 1
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	os.Exit(code)
}
