package mq

import (
	"context"
	"net/url"
	"testing"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// noopConn accepts every publish and never delivers: it isolates the cost
// of the portable layer.
type noopConn struct{}

func (noopConn) Publish(context.Context, []driver.Message) error { return nil }
func (noopConn) Subscribe(context.Context, string, string) (driver.Receiver, error) {
	return nil, driver.ErrUnsupported
}
func (noopConn) IsRetryable(error) bool { return false }
func (noopConn) As(any) bool            { return false }
func (noopConn) Close() error           { return nil }

type noopDriver struct{}

func (noopDriver) Open(context.Context, *url.URL) (driver.Conn, error) { return noopConn{}, nil }

func BenchmarkPublishNoopDriver(b *testing.B) {
	c, err := NewClient(noopConn{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	m := &Message{Topic: "t", Key: "k", Payload: make([]byte, 1024)}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		m.ID, m.Time = "", zeroTime
		if err := c.Publish(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
