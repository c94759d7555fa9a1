package testserver

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Outage takes the NameNode and the DataNode off the network until
// restore is called: their ports refuse connections and the open ones are
// cut, as when the cluster goes down. The namespace and the blocks stay.
// (colinmarc's client, once a NameNode connection failed, waits 5 s before
// dialling that NameNode again.)
func (h *HDFS) Outage(t testing.TB) (restore func()) {
	t.Helper()
	h.nnLn.down()
	h.dnLn.down()
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, l := range []*switchListener{h.nnLn, h.dnLn} {
				if err := l.restore(); err != nil {
					t.Errorf("testserver: bring HDFS listener %s back: %v", l.addr, err)
				}
			}
		})
	}
}

// Held returns how many answers Pause is holding back now, so a test can
// wait until a request has reached the paused double.
func (h *HDFS) Held() int { return int(h.gate.waiting.Load()) }

// Pause stops the NameNode and the DataNode answering until resume is
// called: connections are accepted and stay open, requests are read, and
// nothing is answered (a hung server, or one in a long GC pause). Calling
// resume again does nothing.
func (h *HDFS) Pause() (resume func()) {
	return h.gate.pause()
}

// DropDataNodeAfter makes the DataNode, as one dying mid-write would, cut
// the write connection that would take the block data it receives past n
// more bytes: the packet that would cross is neither stored nor
// acknowledged, the replica is never finalized, so the writer's Write or
// Close fails and the file is never completed. It fires once; a new call
// re-arms it.
func (h *HDFS) DropDataNodeAfter(n int64) {
	h.dn.dropAfter.arm(n)
}

// gate holds answers back while paused.
type gate struct {
	mu      sync.Mutex
	paused  chan struct{} // nil while running; closed by resume
	waiting atomic.Int64  // answers held back now, for tests to wait on
}

func (g *gate) pause() (resume func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused == nil {
		g.paused = make(chan struct{})
	}
	ch := g.paused
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.paused == ch {
			close(ch)
			g.paused = nil
		}
	}
}

// wait blocks while paused; false means done closed first (the double is
// stopping).
func (g *gate) wait(done <-chan struct{}) bool {
	g.mu.Lock()
	ch := g.paused
	g.mu.Unlock()
	if ch == nil {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case <-ch:
		return true
	case <-done:
		return false
	}
}

// dropSwitch is DropDataNodeAfter's one-shot byte budget.
type dropSwitch struct {
	mu    sync.Mutex
	armed bool
	left  int64
}

func (d *dropSwitch) arm(n int64) {
	d.mu.Lock()
	d.armed, d.left = true, max(n, 0)
	d.mu.Unlock()
}

// drop spends n bytes of the budget; true (and disarmed) when they would
// pass it: the connection must be cut before the packet is kept.
func (d *dropSwitch) drop(n int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.armed {
		return false
	}
	if n > d.left {
		d.armed = false
		return true
	}
	d.left -= n
	return false
}
