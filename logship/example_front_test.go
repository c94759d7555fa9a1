package logship_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/groundwork-go/groundwork/logship"
)

// printSink prints a few fields of each document it receives.
type printSink struct{}

func (printSink) Write(_ context.Context, batch []logship.Record) (logship.Result, error) {
	for _, r := range batch {
		var doc map[string]any
		_ = json.Unmarshal(r.JSON, &doc)
		fmt.Println(doc["log.level"], doc["message"], doc["service.name"], doc["user"], doc["password"])
	}
	return logship.Result{}, nil
}

func (printSink) Close(context.Context) error { return nil }

func ExampleShipper_Handler() {
	s, err := logship.NewShipper(printSink{})
	if err != nil {
		panic(err)
	}
	defer s.Shutdown(context.Background())
	log := slog.New(s.Handler(&logship.HandlerOptions{Service: "orders", Redact: logship.DefaultRules()}))
	log.Info("signed in as ann@example.org", "user", "ann", "password", "hunter2")
	// Output:
	// info signed in as [REDACTED] orders ann [REDACTED]
}
