//go:build race

package logship

// frontRace: sync.Pool drops items at random under the race detector,
// so allocation counts mean nothing there.
const frontRace = true
