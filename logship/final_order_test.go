package logship

import (
	"context"
	"slices"
	"testing"
)

// TestShipperKeepsSubmitOrder holds the package doc's ordering promise:
// records reach the sink in submit order, except that a record written
// again comes right after the batch it was part of — with the memory
// queue and with the disk buffer.
func TestShipperKeepsSubmitOrder(t *testing.T) {
	for name, opts := range map[string][]Option{
		"memory": nil,
		"buffer": {WithBuffer(t.TempDir())},
	} {
		t.Run(name, func(t *testing.T) {
			engineNoLeaks(t)
			sink := newEngineSink()
			sink.outcome = func(call int, batch []Record) (Result, error) {
				if call == 0 { // the first batch's middle record: refused once
					return Result{Failures: []Failure{{Index: 1, Retryable: true}}}, nil
				}
				return Result{}, nil
			}
			s := engineShipper(t, sink, nil, append(opts, engineNoSleep)...)
			for i := range 9 {
				s.submit(context.Background(), engineRecord(i))
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := []string{"e000", "e002", "e001", "e003", "e004", "e005", "e006", "e007", "e008"}
			if got := sink.gotIDs(); !slices.Equal(got, want) {
				t.Fatalf("delivered %v, want %v", got, want)
			}
		})
	}
}
