//go:build !race

package logship

const frontRace = false
