package main

import (
	"context"
	"strings"
	"testing"
)

// TestExample runs the example as CI (it must work with no server) and
// checks what it computes: one of the two racing withdrawals wins and the
// other gets a version conflict, the history from version 2 holds the
// deposit and the winning withdrawal, and the projected balances are
// $100 less the winner's withdrawal for alice and $125 for bob, both at
// version 3.
func TestExample(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	t.Log("\n" + got)
	withdrawals := map[string]struct{ cents, balance string }{
		"1": {"3000", "$70.00"},
		"2": {"9000", "$10.00"},
	}
	winner, loser := "", ""
	for w := range withdrawals {
		switch {
		case strings.Contains(got, "   writer "+w+" appended version 3\n"):
			winner += w
		case strings.Contains(got, "   writer "+w+" lost the race: eventstore: version conflict"):
			loser += w
		}
	}
	if len(winner) != 1 || len(loser) != 1 {
		t.Fatalf("winners %q, losers %q: want one of each", winner, loser)
	}
	won := withdrawals[winner]
	for _, want := range []string{
		"   alice opened with $100.00 (version 2)\n",
		"   bob opened with $100.00 (version 2)\n",
		"     v2 Deposited {\"cents\":10000}\n",
		"     v3 Withdrawn {\"cents\":" + won.cents + "}\n",
		"     alice " + won.balance + " at version 3\n",
		"     bob   $125.00 at version 3\n",
	} {
		if n := strings.Count(got, want); n != 1 {
			t.Errorf("%q appears %d times, want once", want, n)
		}
	}
}
