package mq

import "time"

// SetTestHookQuarantined sets the hook that runs after an entry is durably
// in the quarantine and before its buffer record is acknowledged, for the
// crash-safety test of package mq_test; nil removes it. Set it before
// making the Client.
func SetTestHookQuarantined(f func()) { testHookQuarantined = f }

// SetTestHookSwept sets the hook that runs in Shutdown right after it
// swept the retry timers; nil removes it. Set it before Subscribe.
func SetTestHookSwept(f func()) { testHookSwept = f }

// SetTestHookRetry sets the hook that runs when a handler failure is about
// to be retried, before the retry is armed, with the wait before it; nil
// removes it. Set it before Subscribe.
func SetTestHookRetry(f func(wait time.Duration)) { testHookRetry = f }
