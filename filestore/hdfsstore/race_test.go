//go:build race

package hdfsstore_test

// raceEnabled: the race detector multiplies the memory every allocation
// costs, so RSS figures mean nothing under it; scripts/test runs the
// memory tests again without -race.
const raceEnabled = true
