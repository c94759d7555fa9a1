package testserver

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	hdfs "github.com/colinmarc/hdfs/v2"
	"go.uber.org/goleak"
)

func TestHDFSOutage(t *testing.T) {
	h, c := startHDFSClient(t, "alice")
	data := pattern(1<<20+10, 7)
	writeHDFS(t, c, "/f", data, 0)

	restore := h.Outage(t)
	// The client's calls fail with connection errors, not NameNode answers.
	for range 2 {
		_, err := c.Stat("/f")
		if err == nil || errors.Is(err, os.ErrNotExist) || exception(err) != "" {
			t.Fatalf("Stat during the outage: %v, want a connection error", err)
		}
	}
	if _, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{h.NameNode()}, User: "alice"}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a new client during the outage: %v, want connection refused", err)
	}
	if conn, err := net.Dial("tcp", h.DataNode()); err == nil {
		conn.Close()
		t.Fatal("the DataNode accepted a connection during the outage")
	}

	restore()
	// The client dials a NameNode that failed again only after 5 s.
	WaitFor(t, 60*time.Second, "the client to reach the NameNode again", func() bool {
		_, err := c.Stat("/f")
		return err == nil
	})
	if got, err := c.ReadFile("/f"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile after the outage: %d bytes, %v", len(got), err)
	}
	writeHDFS(t, dialHDFS(t, h, "alice"), "/g", data, 0)
}

func TestHDFSPause(t *testing.T) {
	h, c := startHDFSClient(t, "alice")
	resume := h.Pause()
	done := make(chan error, 1)
	go func() {
		_, err := c.Stat("/")
		done <- err
	}()
	WaitFor(t, 30*time.Second, "a call to reach the paused NameNode", func() bool { return h.Held() > 0 })
	select {
	case err := <-done:
		t.Fatalf("Stat answered while paused: %v", err)
	default:
	}
	resume()
	resume() // idempotent
	if err := <-done; err != nil {
		t.Fatalf("Stat after resume: %v", err)
	}
}

// TestHDFSStopWhilePaused: the double's goroutines end at cleanup even
// with a connection held by Pause (goleak checks, after the cleanup).
func TestHDFSStopWhilePaused(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	h := StartHDFS(t)
	h.Pause() // never resumed
	conn, err := net.Dial("tcp", h.NameNode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write(nameNodeSeed(t)); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 30*time.Second, "the call to reach the paused NameNode", func() bool { return h.Held() > 0 })
}

// clientAckLeak is a goroutine colinmarc/hdfs v2.4.0 leaks when a block
// write fails: blockWriteStream.finish returns on the failed write of the
// last packet before closing s.packets, and ackPackets, its ack reader
// already ended by the failure, waits for ever draining that channel. Any
// DataNode dying mid-write does it; the double does not hide it.
var clientAckLeak = goleak.IgnoreTopFunction("github.com/colinmarc/hdfs/v2/internal/transfer.(*blockWriteStream).ackPackets")

// startHDFSClientDying is startHDFSClient for tests that kill the
// DataNode under a writer: goleak ignores the client's own leak.
func startHDFSClientDying(t *testing.T) (*HDFS, *hdfs.Client) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before, clientAckLeak) })
	h := StartHDFS(t)
	return h, dialHDFS(t, h, "alice")
}

func TestHDFSDropDataNodeMidWrite(t *testing.T) {
	h, c := startHDFSClientDying(t)
	data := pattern(5<<19, 8) // 2.5 blocks
	h.DropDataNodeAfter(3 << 19)
	w, err := c.Create("/f")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.Write(data)
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("Write and Close succeeded through a DataNode that died mid-block")
	}
	t.Logf("Write: %v; Close: %v", werr, cerr)

	// Not complete: still under the writer's lease, with only the block
	// committed before the failure visible.
	if uc := h.UnderConstruction(); uc["/f"] != c.Name() {
		t.Errorf("UnderConstruction() = %v, want /f held by %s", uc, c.Name())
	}
	if st, err := c.Stat("/f"); err != nil || st.Size() != 1<<20 {
		t.Errorf("Stat = %v, %v; want the 1 MiB committed before the failure", st, err)
	}
	if got, err := c.ReadFile("/f"); err != nil || !bytes.Equal(got, data[:1<<20]) {
		t.Errorf("ReadFile: %d bytes, %v; want the first block", len(got), err)
	}
	if _, err := dialHDFS(t, h, "alice").CreateFile("/f", 1, 1<<20, 0o644); !errors.Is(err, os.ErrExist) {
		t.Errorf("another client's CreateFile of the abandoned file: %v, want os.ErrExist", err)
	}

	// Deleting it frees the name and the blocks; the DataNode fault fired
	// once, so the next write goes through.
	if err := c.Remove("/f"); err != nil {
		t.Fatal(err)
	}
	if files := h.Files(); len(files) != 0 {
		t.Errorf("Files() after Remove = %v", files)
	}
	writeHDFS(t, c, "/f", data, 0)
	if got, err := c.ReadFile("/f"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile after a clean rewrite: %d bytes, %v", len(got), err)
	}
	h.dn.mu.Lock()
	n := len(h.dn.replicas)
	h.dn.mu.Unlock()
	if n != 3 {
		t.Errorf("%d replicas, want the rewrite's 3 (the failed write's dropped)", n)
	}
}

// TestHDFSDropDataNodeSmallWrite: a write smaller than a packet is sent at
// Close, and Close is where it fails.
func TestHDFSDropDataNodeSmallWrite(t *testing.T) {
	h, c := startHDFSClientDying(t)
	h.DropDataNodeAfter(0)
	w, err := c.Create("/small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatalf("buffered Write: %v", err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close succeeded through a DataNode that died")
	}
	if files, uc := h.Files(), h.UnderConstruction(); files["/small"] != 0 || uc["/small"] == "" {
		t.Errorf("Files() = %v, UnderConstruction() = %v; want /small empty and under construction", files, uc)
	}
}
