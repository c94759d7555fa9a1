// Command asyncrpc shows an asynchronous HTTP call: the client posts an
// order, the server answers 202 at once and confirms the order later, over
// the message queue, to a callback.
//
//	go run ./examples/asyncrpc
//
// It runs on the in-process broker (mem://) unless GROUNDWORK_KAFKA_BROKERS
// or GROUNDWORK_REDIS_URL names a real one.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/asyncrpc"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "asyncrpc:", err)
		os.Exit(1)
	}
}

func brokerURL() string {
	if b := os.Getenv("GROUNDWORK_KAFKA_BROKERS"); b != "" {
		return "kafka://" + b
	}
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		return u
	}
	return "mem://asyncrpc-example"
}

type order struct {
	ID    string `json:"id"`
	Items int    `json:"items"`
}

// confirm is the server's slow work: it takes the time a payment takes.
func confirm(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
	var o order
	if err := json.Unmarshal(r.Body, &o); err != nil {
		return nil, fmt.Errorf("bad order: %w", err)
	}
	if o.Items == 0 {
		return nil, errors.New("an order needs at least one item")
	}
	select {
	case <-time.After(50 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	body, _ := json.Marshal(map[string]string{"order": o.ID, "status": "confirmed"})
	return &asyncrpc.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, nil
}

// run writes what it does to w, which the test reads.
func run(ctx context.Context, w io.Writer) error {
	fmt.Fprintf(w, "== asyncrpc over %s\n", brokerURL())
	mqc, err := mq.Open(ctx, brokerURL())
	if err != nil {
		return err
	}
	defer mqc.Close()

	// The server: an ordinary http.Handler.
	srv, err := asyncrpc.NewServer(mqc, confirm, asyncrpc.ServerOptions{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/orders", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		_ = hs.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
	}()
	url := "http://" + ln.Addr().String() + "/orders"

	// The client: subscribed to its response topic before any call.
	c, err := asyncrpc.NewClient(ctx, mqc, asyncrpc.ClientOptions{ResponseTopic: "orders.responses", Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()

	var mu sync.Mutex
	var lines []string
	var calls []*asyncrpc.Call
	for _, o := range []order{{"A-1", 2}, {"A-2", 1}, {"A-3", 0}} {
		body, _ := json.Marshal(o)
		call, err := c.Post(ctx, url, "application/json", strings.NewReader(string(body)), func(r *asyncrpc.Response, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lines = append(lines, fmt.Sprintf("   callback for %s: %v", o.ID, err))
				return
			}
			lines = append(lines, fmt.Sprintf("   callback for %s: %d %s", o.ID, r.StatusCode, r.Body))
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "   POST order %s: 202 Accepted at once\n", o.ID)
		calls = append(calls, call)
	}
	for _, call := range calls {
		if _, err := call.Wait(ctx); err != nil {
			return err
		}
	}
	mu.Lock()
	sort.Strings(lines) // callbacks run concurrently; print them by order
	for _, l := range lines {
		fmt.Fprintln(w, strings.TrimRight(l, "\n"))
	}
	mu.Unlock()

	// A request the server refuses comes back from Post itself; its
	// callback never runs.
	if _, err := c.Post(ctx, url+"/unknown", "application/json", strings.NewReader("{}"), nil); err != nil {
		fmt.Fprintf(w, "   a refused request fails at once: %v\n", err)
	} else {
		return errors.New("a request to an unknown path was accepted")
	}
	return nil
}
