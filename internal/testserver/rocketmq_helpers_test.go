package testserver

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// patience bounds every wait on the client: generous, since the client
// works on its own timers (rebalance every 20 s at worst).
const patience = 60 * time.Second

// startRmqDouble starts a double and registers, before its own cleanup,
// a check that none of the double's goroutines outlive it (the client's
// own goroutines linger for seconds after Shutdown and are not ours to
// check; see noDoubleGoroutines).
func startRmqDouble(t *testing.T, opts ...RocketMQOption) *RocketMQ {
	t.Helper()
	t.Cleanup(func() { noDoubleGoroutines(t) })
	return StartRocketMQ(t, opts...)
}

// noDoubleGoroutines fails t if a goroutine running the double's code is
// left once the double has stopped. It looks for frames of this
// package's rocketmq code and switchListener in every goroutine's stack.
func noDoubleGoroutines(t *testing.T) {
	t.Helper()
	var left string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		left = ""
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "testserver.(*RocketMQ)") || strings.Contains(g, "testserver.(*rmqConn)") ||
				strings.Contains(g, "testserver.(*switchListener)") {
				left += g + "\n\n"
			}
		}
		if left == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines of the rocketmq double outlived it:\n%s", left)
}
