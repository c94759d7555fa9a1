package testserver

import (
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RSS is the process's resident set size in bytes (Linux /proc).
func RSS(t testing.TB) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(data))[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// PeakRSSGrowth runs fn and returns how far RSS rose above where it was
// (after a GC) while fn ran, sampled every 5 ms.
func PeakRSSGrowth(t testing.TB, fn func()) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	base := RSS(t)
	peak := base
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				peak = max(peak, RSS(t))
			}
		}
	}()
	fn()
	close(stop)
	<-sampled
	peak = max(peak, RSS(t))
	t.Logf("RSS %d MiB before, peak %d MiB: +%d MiB", base>>20, peak>>20, (peak-base)>>20)
	return peak - base
}

// Zeros is a reader of n zero bytes that holds none of them.
func Zeros(n int64) io.Reader { return &zeros{n} }

type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}
