package hdfsstore

// SetBeforePrune makes every Delete call f between removing its file and
// pruning the directories it emptied, until restore.
func SetBeforePrune(f func()) (restore func()) {
	testBeforePrune.Store(&f)
	return func() { testBeforePrune.Store(nil) }
}

// SetOpenHook makes every NewRangeReader call f with step 1 once it has
// opened the file and step 2 before it returns, until restore.
func SetOpenHook(f func(step int)) (restore func()) {
	testOpenHook.Store(&f)
	return func() { testOpenHook.Store(nil) }
}
