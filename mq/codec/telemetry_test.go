package codec_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/mq/codec"
)

// TestMetrics: encodes and decodes are counted per type and outcome, read
// through the real OpenTelemetry SDK.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	r, err := codec.NewRegistry(codec.JSON, codec.WithMeterProvider(mp))
	must(t, err)
	must(t, codec.Register[Customer](r, "c", 2))
	must(t, r.Upcast("c", 1, v1to2))

	data, _, err := r.Encode("c", Customer{First: "A", Last: "B"})
	must(t, err)
	_, _, _ = r.Encode("nope", Customer{})
	_, err = codec.Decode[Customer](r, "c", 2, data)
	must(t, err)
	_, err = codec.Decode[Customer](r, "c", 1, []byte(`{"name":"A B"}`))
	must(t, err)
	_, _ = codec.Decode[Customer](r, "c", 3, data) // newer
	_, _ = codec.Decode[Customer](r, "nope", 1, data)

	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Kind != otelcheck.Sum {
			return ""
		}
		return p.Metric + "/" + p.Attr("message.type") + "/" + p.Attr("outcome")
	})
	for k, want := range map[string]int64{
		"codec.encoded/c/ok":          1,
		"codec.encoded/c/error":       0,
		"codec.encoded//unknown_type": 1,
		"codec.decoded/c/ok":          1,
		"codec.decoded/c/upcast":      1,
		"codec.decoded/c/error":       1,
		"codec.decoded//unknown_type": 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], want, got)
		}
	}
	if _, err := codec.NewRegistry(nil, codec.WithMeterProvider(nil)); err == nil {
		t.Error("WithMeterProvider(nil) accepted")
	}
	if _, err := codec.NewRegistry(nil, nil); err == nil {
		t.Error("a nil Option accepted")
	}
}
