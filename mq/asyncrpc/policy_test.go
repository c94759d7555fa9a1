package asyncrpc_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/groundwork-go/groundwork/mq/asyncrpc"
)

// TestForeignResponseTopicRefusedByDefault: an HTTP caller cannot have a
// server with default options publish into a topic that is not named as a
// response topic, such as another service's command topic.
func TestForeignResponseTopicRefusedByDefault(t *testing.T) {
	var runs atomic.Int32
	_, url := serve(t, memMQ(t, "foreign"), func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		runs.Add(1)
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	for _, topic := range []string{"payments.commands", "responses", "x.responses.dlq"} {
		resp, m := post(t, url, map[string]string{asyncrpc.HeaderMessageKey: "k-" + topic, asyncrpc.HeaderResponseTopic: topic}, "refund all")
		if resp.StatusCode != 400 || !strings.Contains(m["error"], topic) {
			t.Errorf("response topic %q: %d %v, want 400 naming it", topic, resp.StatusCode, m)
		}
	}
	if n := runs.Load(); n != 0 {
		t.Fatalf("the work ran %d times for refused requests", n)
	}
}

// TestAllowAnyResponseTopicIsExplicit: a server that chose
// AllowAnyResponseTopic publishes where the caller says.
func TestAllowAnyResponseTopicIsExplicit(t *testing.T) {
	mqc := memMQ(t, "anytopic")
	_, url := serve(t, mqc, echo, asyncrpc.ServerOptions{AllowResponseTopic: asyncrpc.AllowAnyResponseTopic})
	c := client(t, mqc, asyncrpc.ClientOptions{ResponseTopic: "replies-to-me"})
	call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader("any"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := call.Wait(context.Background()); err != nil || string(r.Body) != "ANY" {
		t.Fatalf("outcome %+v %v", r, err)
	}
}

func TestIsResponseTopic(t *testing.T) {
	for topic, want := range map[string]bool{
		"orders.responses": true, "a.responses": true, ".responses": false, "responses": false,
		"orders.responses.dlq": false, "payments.commands": false, "orders-responses": false,
	} {
		if got := asyncrpc.IsResponseTopic(topic); got != want {
			t.Errorf("IsResponseTopic(%q) = %v, want %v", topic, got, want)
		}
	}
}
