package hdfsstore_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
)

// pattern yields n bytes; when it has yielded at (once), it calls hook.
type pattern struct {
	off, n, at int64
	hook       func()
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if p.hook != nil && p.off >= p.at {
		h := p.hook
		p.hook = nil
		h()
	}
	k := min(int64(len(b)), p.n-p.off)
	if p.hook != nil {
		k = min(k, p.at-p.off)
	}
	for i := range b[:k] {
		b[i] = byte(p.off + int64(i))
	}
	p.off += k
	return int(k), nil
}

func readAll(t *testing.T, s *filestore.Store, name string) string {
	t.Helper()
	r, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readAfterFailure reads name once the client is past its back-off: after
// a connection fails, colinmarc's client skips that namenode for 5 s, and
// with one namenode every call fails meanwhile ("no available namenodes",
// which IsRetryable reports) — the test waits for that to pass, with a
// generous bound.
func readAfterFailure(t *testing.T, s *filestore.Store, name string) string {
	t.Helper()
	ctx := context.Background()
	end := time.Now().Add(time.Minute)
	for {
		r, err := s.Open(ctx, name)
		if err == nil {
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}
		if !strings.Contains(err.Error(), "no available namenodes") || time.Now().After(end) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tmpFiles are the double's files under .filestore/tmp.
func tmpFiles(files map[string]int64) []string {
	var out []string
	for p := range files {
		if strings.Contains(p, "/.filestore/tmp/") {
			out = append(out, p)
		}
	}
	return out
}

// TestOutageMidPut: the namenode and datanode go away in the middle of a
// Put that replaces an object: the Put fails, and once they are back the
// name holds the old object, whole.
func TestOutageMidPut(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", strings.NewReader("old version"), nil); err != nil {
		t.Fatal(err)
	}
	var restore func()
	_, err := s.Put(ctx, "k", &pattern{n: 3 << 20, at: 1<<20 + 100, hook: func() { restore = srv.Outage(t) }}, nil)
	if restore == nil {
		t.Fatal("the outage never started")
	}
	restore()
	if err == nil {
		t.Fatal("a Put through an outage succeeded")
	}
	if got := readAfterFailure(t, s, "k"); got != "old version" {
		t.Fatalf("k after the failed Put: %q", got)
	}
}

// TestDataNodeLostMidPut: the datanode drops the write connection after
// 1.5 MiB of a 3 MiB Put (a datanode dying mid-block, the second block):
// the Put fails, nothing is visible under the name, and no temporary
// file is left (the namenode still answers, so the Put removes it).
func TestDataNodeLostMidPut(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	srv.DropDataNodeAfter(3 << 19)
	if _, err := s.Put(ctx, "lost", &pattern{n: 3 << 20}, nil); err == nil {
		t.Fatal("a Put whose datanode dropped the connection succeeded")
	}
	if _, err := s.Stat(ctx, "lost"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after the failed Put: %v, want fs.ErrNotExist", err)
	}
	for info, err := range s.List(ctx, "") {
		t.Fatalf("listed after the failed Put: %v %v", info, err)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
	// The store goes on working.
	if _, err := s.Put(ctx, "lost", &pattern{n: 3 << 20}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCancelMidPut: the caller's ctx ends in the middle of a Put (after
// 1.5 MiB of 4): the Put returns the ctx's error, the name is as it was,
// and the temporary file is gone.
func TestCancelMidPut(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", strings.NewReader("old version"), nil); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err := s.Put(cctx, "k", &pattern{n: 4 << 20, at: 3 << 19, hook: cancel}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put whose ctx was cancelled: %v", err)
	}
	if got := readAll(t, s, "k"); got != "old version" {
		t.Fatalf("k after the cancelled Put: %q", got)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}

// TestCancelStalledPut: a Put stalled by a server that stops answering
// (connections open, nothing answered) returns once its ctx is cancelled
// and the stalled write reaches the store's timeout — not when the
// server comes back — with the ctx's error; after the server resumes,
// the name is as it was.
func TestCancelStalledPut(t *testing.T) {
	srv, _ := server(t)
	ss := newStores(srv.NameNode(), "groundwork", "timeout=2s")
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", strings.NewReader("old version"), nil); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var resume func()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(cctx, "k", &pattern{n: 4 << 20, at: 3 << 19, hook: func() { resume = srv.Pause(); cancel() }}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("stalled Put whose ctx was cancelled: %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("a cancelled Put stalled by a paused server did not return")
	}
	resume()
	if t.Failed() {
		t.FailNow()
	}
	if got := readAfterFailure(t, s, "k"); got != "old version" {
		t.Fatalf("k after the cancelled Put: %q", got)
	}
}
