//go:build !race

package nfsstore_test

const raceEnabled = false
