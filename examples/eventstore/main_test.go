package main

import (
	"context"
	"testing"
)

// TestExample runs the example as CI: it must work with no server.
func TestExample(t *testing.T) {
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
