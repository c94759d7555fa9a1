package nfsstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestOnServerDisk: what nfsstore writes is, byte for byte, the file in
// ganesha's export directory, and a file put there by the server's side
// is an object.
func TestOnServerDisk(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	srv, s := server(t, "")
	ctx := context.Background()
	data := make([]byte, 3<<20+17)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "reports/2026/q3.bin", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(srv.Export, "reports", "2026", "q3.bin"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("the export's file: %d bytes, %v; want the %d bytes put", len(onDisk), err, len(data))
	}
	if err := os.WriteFile(filepath.Join(srv.Export, "server-side.txt"), []byte("from the server"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "server-side.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != "from the server" {
		t.Fatalf("a server-side file read over NFS: %q %v", got, err)
	}
}

// TestServerPaused: ganesha stops answering mid-Put; the Put fails once
// the RPC timeout passes, nothing becomes visible, and once the server is
// back the store reconnects and works.
func TestServerPaused(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	srv, s := server(t, "timeout=1s")
	ctx := context.Background()
	if _, err := s.Put(ctx, "before", bytes.NewReader([]byte("ok")), nil); err != nil {
		t.Fatal(err)
	}
	src := &pausingReader{n: 8 << 20, at: 2 << 20, pause: srv.Pause}
	_, err := s.Put(ctx, "during", src, nil)
	if err == nil {
		t.Fatal("Put succeeded against a paused server")
	}
	if !s.IsRetryable(err) {
		t.Fatalf("a timed-out RPC should be retryable: %v", err)
	}
	srv.Resume()
	if _, err := s.Stat(ctx, "during"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after the failed Put: %v, want ErrNotExist", err)
	}
	if _, err := s.Put(ctx, "after", bytes.NewReader([]byte("reconnected")), nil); err != nil {
		t.Fatalf("Put after the server came back: %v", err)
	}
	for _, name := range []string{"before", "after"} {
		if _, err := s.Stat(ctx, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The caller's deadline bounds a call too, shorter than the timeout:
	// through a store whose own timeout is far off, the Stat returns only
	// if the deadline is applied to the RPC (else it hangs the test).
	patient, err := filestore.Open(ctx, "nfs://"+srv.Host+srv.Export+"?timeout=1h")
	if err != nil {
		t.Fatal(err)
	}
	defer patient.Close()
	srv.Pause()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = patient.Stat(short, "after")
	cancel()
	srv.Resume()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stat against a paused server with a 300ms deadline: %v", err)
	}
	if _, err := patient.Stat(ctx, "after"); err != nil {
		t.Fatalf("Stat once the server is back: %v", err)
	}
}

// pausingReader yields n zero bytes and calls pause once at bytes in.
type pausingReader struct {
	n, at, off int64
	pause      func()
	paused     bool
}

func (p *pausingReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if p.off >= p.at && !p.paused {
		p.paused = true
		p.pause()
	}
	k := min(int64(len(b)), p.n-p.off)
	clear(b[:k])
	p.off += k
	return int(k), nil
}

// TestPutMemoryBounded: a 1 GiB Put over NFS grows RSS by well under
// 64 MiB (run alone in its namespace's process; not under -race).
func TestPutMemoryBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("RSS under -race measures the race detector; scripts/test runs this test without -race")
	}
	if testserver.InNetns(t) {
		return
	}
	_, s := server(t, "")
	ctx := context.Background()
	const size = 1 << 30
	var info *filestore.Info
	var err error
	growth := testserver.PeakRSSGrowth(t, func() { info, err = s.Put(ctx, "gib", testserver.Zeros(size), nil) })
	if err != nil || info.Size != size {
		t.Fatalf("Put: %+v %v", info, err)
	}
	if growth >= 64<<20 {
		t.Fatalf("RSS grew by %d MiB during a 1 GiB Put, want well under 64 MiB", growth>>20)
	}
}
