package rocketmq_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests. The client's
// background goroutines end up to 30 s after Close (see the package doc,
// "Global state and goroutines": a pull the broker held when it stopped
// waits out the client's fixed 30 s pull timeout), longer than goleak
// waits by itself: it is asked again for up to 45 s, rather than told to ignore them, so that
// one that never ends is still caught. Ignored, by function name, are
// the goroutines the client cannot stop (see the package doc): the
// janitor of its package-level request/reply cache, each push
// consumer's three statistics printers, and each transaction producer's
// check-back loop.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(45 * time.Second)
		ignore := []goleak.Option{goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run"),
			// A transaction producer's check-back loop: it ranges over a
			// channel the client never closes (see the package doc).
			goleak.IgnoreAnyFunction("github.com/apache/rocketmq-client-go/v2/producer.(*transactionProducer).checkTransactionState")}
		for _, f := range []string{"func4", "func5", "func6"} {
			// The consumer's statistics printers: they sleep until the next
			// minute, hour and month before they look at their stop
			// channel (see the package doc).
			ignore = append(ignore, goleak.IgnoreAnyFunction("github.com/apache/rocketmq-client-go/v2/consumer.(*statsItemSet).init."+f))
		}
		for err := goleak.Find(ignore...); err != nil; err = goleak.Find(ignore...) {
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goleak: goroutines still running 45 s after the tests: %v\n", err)
				code = 1
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	os.Exit(code)
}
