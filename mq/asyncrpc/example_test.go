package asyncrpc_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/asyncrpc"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
)

// A server and a client with default options on the embedded broker: the
// request is accepted at once and its response comes back over the MQ.
func Example() {
	ctx := context.Background()
	mqc, err := mq.Open(ctx, "mem://example-asyncrpc")
	if err != nil {
		panic(err)
	}
	defer mqc.Close()

	srv, err := asyncrpc.NewServer(mqc, func(_ context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		return &asyncrpc.Response{StatusCode: 200, Body: []byte("confirmed " + string(r.Body))}, nil
	}, asyncrpc.ServerOptions{})
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); _ = srv.Shutdown(ctx) }()

	// The default server publishes only to topics named "<name>.responses".
	c, err := asyncrpc.NewClient(ctx, mqc, asyncrpc.ClientOptions{ResponseTopic: "orders.responses"})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	call, err := c.Post(ctx, hs.URL, "text/plain", strings.NewReader("A-1"), nil)
	if err != nil {
		panic(err)
	}
	r, err := call.Wait(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.StatusCode, string(r.Body))
	// Output: 200 confirmed A-1
}

// A server that must publish wherever its callers say chooses so
// explicitly.
func ExampleAllowAnyResponseTopic() {
	opts := asyncrpc.ServerOptions{AllowResponseTopic: asyncrpc.AllowAnyResponseTopic}
	fmt.Println(opts.AllowResponseTopic("payments.commands"), asyncrpc.IsResponseTopic("payments.commands"))
	// Output: true false
}
