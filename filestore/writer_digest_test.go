package filestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/memstore"
)

// TestWriterDigest: the digest the Writer computes is that of the bytes
// written, whatever the mix of Write sizes, ReadFrom's short reads and
// buffer fills.
func TestWriterDigest(t *testing.T) {
	ctx := context.Background()
	s, err := filestore.NewStore(memstore.New(), filestore.WithBufferSize(128<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := make([]byte, 1<<20+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	want := sha256.Sum256(data)
	w, err := s.NewWriter(ctx, "writes", nil)
	if err != nil {
		t.Fatal(err)
	}
	for rest, k := data, 1; len(rest) > 0; k = k*3 + 1 { // 1, 4, 13, ... bytes, then the rest
		k = min(k, len(rest))
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Info().SHA256, want[:]) {
		t.Fatalf("Write: SHA256 %x, want %x", w.Info().SHA256, want)
	}
	// ReadFrom with reads of 1 byte, then of 100 KiB (a buffer flushed
	// part full at Close), and the digest checked against PutOptions.
	r := io.MultiReader(iotest.OneByteReader(bytes.NewReader(data[:1000])), bytes.NewReader(data[1000:]))
	info, err := s.Put(ctx, "readfrom", r, &filestore.PutOptions{SHA256: want[:]})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(info.SHA256, want[:]) {
		t.Fatalf("Put: SHA256 %x, want %x", info.SHA256, want)
	}
	got, err := s.Stat(ctx, "readfrom")
	if err != nil || !bytes.Equal(got.SHA256, want[:]) {
		t.Fatalf("Stat: %v, %v; want SHA256 %x", got, err, want)
	}
}

// BenchmarkPutMem: a Put into memstore, whose writes cost little beside
// the SHA-256 the Writer computes in line.
func BenchmarkPutMem(b *testing.B) {
	ctx := context.Background()
	s, err := filestore.NewStore(memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, n := range []int{4 << 10, 1 << 20, 64 << 20} {
		data := make([]byte, n)
		b.Run(byteSize(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Put(ctx, "obj", bytes.NewReader(data), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + "MiB"
	default:
		return strconv.Itoa(n>>10) + "KiB"
	}
}
