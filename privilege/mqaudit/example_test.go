package mqaudit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/mqaudit"
)

// An engine audits its decisions to a topic; a consumer reads them back
// as JSON.
func Example() {
	ctx := context.Background()
	client, err := mq.Open(ctx, "mem://mqaudit-example")
	if err != nil {
		panic(err)
	}
	defer client.Close()

	// The consumer: one line per decision.
	got := make(chan mqaudit.Event, 10)
	sub, err := client.Subscribe(ctx, "privilege-audit", "auditors", func(_ context.Context, m *mq.Message) error {
		var ev mqaudit.Event
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			return err
		}
		got <- ev
		return nil
	})
	if err != nil {
		panic(err)
	}
	defer sub.Close()

	// The engine, audited to the topic.
	sink, err := mqaudit.New(client, "privilege-audit")
	if err != nil {
		panic(err)
	}
	store := privilege.NewMemoryStore()
	defer store.Close()
	_ = store.PutRole(ctx, privilege.Role{ID: "reader", Name: "Reader", Active: true})
	_ = store.PutPermission(ctx, "reader", privilege.Permission{Resource: "wiki/*", Action: "read"})
	_ = store.Grant(ctx, "alice", "reader", time.Time{})
	e, err := privilege.NewEngine(store, privilege.WithAudit(sink, 1))
	if err != nil {
		panic(err)
	}
	for _, action := range []string{"read", "delete"} {
		_, _ = e.Check(ctx, privilege.Request{Subject: "alice", Resource: "wiki/home", Action: action})
	}
	_ = e.Close()
	_ = sink.Shutdown(ctx) // publishes what is queued

	for range 2 {
		select {
		case ev := <-got:
			fmt.Printf("%s %s %s allowed=%v role=%q version=%d source=%s: %s\n",
				ev.Subject, ev.Action, ev.Resource, ev.Allowed, ev.Role, ev.Version, ev.Source, ev.Reason)
		case <-time.After(time.Minute):
			fmt.Println("no message")
			return
		}
	}
	// Output:
	// alice read wiki/home allowed=true role="reader" version=3 source=computed: role "reader" permits "read" on "wiki/*"
	// alice delete wiki/home allowed=false role="" version=3 source=computed: no role or policy permits "delete" on "wiki/home"
}
