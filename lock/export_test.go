package lock

// SetBeforeRaise makes every Redlock Obtain call f between winning its
// quorum and raising the fencing counters, until restore is called. Tests
// that set it do not run in parallel.
func SetBeforeRaise(f func()) (restore func()) {
	testHookBeforeRaise = f
	return func() { testHookBeforeRaise = nil }
}

// SetStoppingWatchdog makes Release call f after telling a Lock's
// watchdog to stop and before waiting for it to end, until restore is
// called.
// Tests that set it do not run in parallel.
func SetStoppingWatchdog(f func()) (restore func()) {
	testHookStoppingWatchdog = f
	return func() { testHookStoppingWatchdog = nil }
}

// SetExpiry makes a Lock's local-expiry timer (no watchdog) hand its work
// to f instead of doing it, until restore is called. Tests that set it do
// not run in parallel.
func SetExpiry(f func(expire func())) (restore func()) {
	testHookExpiry = f
	return func() { testHookExpiry = nil }
}
