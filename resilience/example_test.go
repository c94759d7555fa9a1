package resilience_test

import (
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

// A policy states only what it changes; every zero field takes its
// default. Validate names the field that is wrong.
func Example() {
	retry := resilience.RetryPolicy{MaxAttempts: 10, MaxInterval: 2 * time.Second}
	breaker := resilience.BreakerPolicy{
		ConsecutiveFailures: 3,
		OpenTimeout:         30 * time.Second,
		OnStateChange: func(name string, from, to resilience.BreakerState) {
			fmt.Printf("%s: %v -> %v\n", name, from, to)
		},
	}
	fmt.Println(retry.Validate(), breaker.Validate())

	bad := resilience.RetryPolicy{Jitter: 1.5}
	fmt.Println(bad.Validate())
	// Output:
	// <nil> <nil>
	// retry policy: Jitter 1.5 is outside [0,1)
}
