package main

import (
	"context"
	"testing"
)

// TestTour runs the tour as CI: it must work with no server.
func TestTour(t *testing.T) {
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
