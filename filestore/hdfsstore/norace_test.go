//go:build !race

package hdfsstore_test

const raceEnabled = false
