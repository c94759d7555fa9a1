// Package otelcheck reads OpenTelemetry metrics in tests: it collects a
// ManualReader of the real SDK once and hands back its data points,
// flattened, so that a test states only which points it wants and how it
// names them.
package otelcheck

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Kind is the type of a Point's instrument.
type Kind int

// The instrument types Groundwork records.
const (
	Sum       Kind = iota // an int64 counter or up-down counter
	Gauge                 // an int64 gauge
	Histogram             // a float64 histogram
)

// Point is one data point of a collection.
type Point struct {
	Metric string        // the instrument's name
	Kind   Kind          // the instrument's type
	Attrs  attribute.Set // the point's attributes
	Value  int64         // a sum's or gauge's value; a histogram's count
}

// Attr is p's value of attribute key, "" when p has none.
func (p Point) Attr(key string) string {
	v, _ := p.Attrs.Value(attribute.Key(key))
	return v.AsString()
}

// Points collects reader and returns every data point. A metric of a type
// Groundwork does not record (a float64 sum, an int64 histogram...) fails
// t, rather than be left out of what the test checks.
func Points(t testing.TB, reader *sdkmetric.ManualReader) []Point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("otelcheck: collect: %v", err)
	}
	var ps []Point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					ps = append(ps, Point{m.Name, Sum, dp.Attributes, dp.Value})
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					ps = append(ps, Point{m.Name, Gauge, dp.Attributes, dp.Value})
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					ps = append(ps, Point{m.Name, Histogram, dp.Attributes, int64(dp.Count)})
				}
			default:
				t.Fatalf("otelcheck: %s: unexpected metric type %T", m.Name, d)
			}
		}
	}
	return ps
}

// Totals collects reader and adds up the points' values by key(p),
// leaving out the points for which key returns "".
func Totals(t testing.TB, reader *sdkmetric.ManualReader, key func(p Point) string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for _, p := range Points(t, reader) {
		if k := key(p); k != "" {
			got[k] += p.Value
		}
	}
	return got
}
