package logship_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/groundwork-go/groundwork/logship"
)

// An Alerter driven by a clock of its caller: a service logs 1% errors
// for half an hour, then 30%.
func ExampleNewAlerter() {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	a := logship.NewAlerter(logship.AlertOptions{
		Now: func() time.Time { return now },
		OnAlert: func(al logship.Alert) {
			fmt.Printf("%s: %.0f%% errors against a %.0f%% baseline (z=%.1f)\n", al.Service, al.Rate*100, al.Baseline*100, al.Z)
		},
	})
	if err := a.Err(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	for step := range 190 { // 10-second steps
		errorsPer100 := 1
		if step >= 180 {
			errorsPer100 = 30
		}
		for i := range 100 {
			level := slog.LevelInfo
			if i < errorsPer100 {
				level = slog.LevelError
			}
			a.Observe("checkout", level, now)
		}
		now = now.Add(10 * time.Second)
		_, _ = a.Evaluate(context.Background(), now)
	}
	// Output:
	// checkout: 6% errors against a 1% baseline (z=4.8)
}
