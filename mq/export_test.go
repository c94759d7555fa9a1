package mq

// SetTestHookQuarantined sets the hook that runs after an entry is durably
// in the quarantine and before its buffer record is acknowledged, for the
// crash-safety test of package mq_test; nil removes it. Set it before
// making the Client.
func SetTestHookQuarantined(f func()) { testHookQuarantined = f }
