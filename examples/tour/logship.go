package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/groundwork-go/groundwork/logship"
	"github.com/groundwork-go/groundwork/mq"
)

// logShipping logs through a Shipper's slog Handler, redaction on, to an
// mq topic, and reads the record back as a consumer of the topic would
// (examples/logpipeline tells the whole story: the disk buffer, the
// Indexer into Elasticsearch, the archive, an alert on an error spike).
func logShipping(ctx context.Context) error {
	fmt.Println("\n== logship: slog records as ECS JSON, redacted in the process, shipped in batches to an mq topic")
	client, err := mq.Open(ctx, "mem://tour")
	if err != nil {
		return err
	}
	defer client.Close()
	got := make(chan map[string]any, 1)
	sub, err := client.Subscribe(ctx, "logs", "indexer", func(_ context.Context, m *mq.Message) error {
		r, err := logship.RecordFromMessage(m)
		if err != nil {
			return mq.Permanent(err) // not a log record: dead-lettered
		}
		var doc map[string]any
		if err := json.Unmarshal(r.JSON, &doc); err != nil {
			return mq.Permanent(err)
		}
		select {
		case got <- doc:
		default: // a redelivery: seen already
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sub.Close()

	sh, err := logship.NewShipper(logship.MQSink(client, "logs"))
	if err != nil {
		return err
	}
	defer sh.Shutdown(ctx) // writes what is queued; before sub and client close
	log := slog.New(sh.Handler(&logship.HandlerOptions{
		Service: "checkout", Version: "1.4.2", Redact: logship.DefaultRules(),
	}))

	section("a service logs through slog; the Handler redacts before the record leaves the process")
	log.Info("order placed", "customer", "ada@example.com", "card", "4111 1111 1111 1111", "password", "hunter2")
	fmt.Println(`   logged: "order placed" customer=ada@example.com card="4111 1111 1111 1111" password=hunter2`)
	// Records go out in batches (500 records, 5 MiB or 1s by default);
	// Flush writes now and waits until the topic has them.
	if err := sh.Flush(ctx); err != nil {
		return err
	}
	fmt.Println(`   Flush returned: the record is on the topic "logs"`)
	doc := <-got
	fmt.Printf("   a consumer of the topic reads: %v %q customer=%v card=%v password=%v service.name=%v\n",
		doc["log.level"], doc["message"], doc["customer"], doc["card"], doc["password"], doc["service.name"])
	return nil
}
