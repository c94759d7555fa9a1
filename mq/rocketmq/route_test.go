package rocketmq

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// TestEnsureTopicGivesUp: a topic Subscribe created that the name
// servers never route ends the wait after topicRouteWait with an error
// naming it, even with no deadline on the context, and is asked for ever
// less often. (No client is built: ensureTopic speaks the remoting
// protocol itself, so this runs under -race.)
func TestEnsureTopicGivesUp(t *testing.T) {
	srv := testserver.StartRocketMQ(t, testserver.RocketMQCreatedTopicsUnrouted())
	defer SetTopicRouteWait(2 * time.Second)()
	c := &conn{nameServers: []string{srv.NameServer()}, opts: (&Options{}).withDefaults()}
	ctx, cancel := context.WithCancel(context.Background()) // no deadline; ends the wait of a failing run
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.ensureTopic(ctx, "never-routed") }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("ensureTopic still waiting 30 s into a %v bound (%d route queries)", topicRouteWait, srv.RouteQueries("never-routed"))
	}
	if !errors.Is(err, driver.ErrUnreachable) || !strings.Contains(err.Error(), `"never-routed"`) {
		t.Fatalf("err = %v, want one wrapping ErrUnreachable that names the topic", err)
	}
	// Pauses from 20 ms doubling: under a dozen queries in 2 s, where a
	// fixed 20 ms poll makes a hundred.
	if n := srv.RouteQueries("never-routed"); n == 0 || n > 20 {
		t.Errorf("%d route queries in %v, want a few (growing pauses)", n, topicRouteWait)
	}
}
