package hdfsstore

// SetBeforePrune makes every Delete call f between removing its file and
// pruning the directories it emptied, until restore.
func SetBeforePrune(f func()) (restore func()) {
	testBeforePrune.Store(&f)
	return func() { testBeforePrune.Store(nil) }
}
