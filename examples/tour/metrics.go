package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// installMetrics installs the OpenTelemetry SDK as the global
// MeterProvider, as a service does at start-up: every Groundwork package
// defaults to the global provider, so each one's instruments report
// through it without further wiring. The Go runtime's metrics (memory,
// GC goal, goroutines, GOMAXPROCS, GOGC, scheduling latency) come from
// go.opentelemetry.io/contrib/instrumentation/runtime.
//
// A service would give the provider a periodic reader with an OTLP or
// Prometheus exporter; the tour reads by hand (a ManualReader) and prints
// at the end.
func installMetrics() (*sdkmetric.ManualReader, *sdkmetric.MeterProvider, error) {
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(runtime.NewProducer()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	otel.SetMeterProvider(keepCallbacks{mp})
	if err := runtime.Start(runtime.WithMeterProvider(mp)); err != nil {
		return nil, nil, err
	}
	return reader, mp, nil
}

// keepCallbacks is the tour's one departure from what a service does.
// Each section closes its clients, and a closed client unregisters its
// metric callbacks, so a summary printed at the end would miss them. This
// provider keeps every callback until the provider's Shutdown, so the
// summary shows each client's final counts (the callbacks read atomics,
// which stay valid after Close). A service keeps its clients for its
// life and installs the SDK's provider itself.
type keepCallbacks struct{ metric.MeterProvider }

func (p keepCallbacks) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return keepMeter{p.MeterProvider.Meter(name, opts...)}
}

type keepMeter struct{ metric.Meter }

func (m keepMeter) RegisterCallback(f metric.Callback, instruments ...metric.Observable) (metric.Registration, error) {
	if _, err := m.Meter.RegisterCallback(f, instruments...); err != nil {
		return nil, err
	}
	return keptRegistration{}, nil
}

type keptRegistration struct{ embedded.Registration }

// Unregister leaves the callback to the provider's Shutdown.
func (keptRegistration) Unregister() error { return nil }

// printMetrics collects once and prints every instrument's points, one
// line each, and returns the names of the instruments seen.
func printMetrics(ctx context.Context, reader *sdkmetric.ManualReader) (map[string]bool, error) {
	fmt.Println("\n== metrics: what the OpenTelemetry SDK collected during the tour")
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			seen[m.Name] = true
			for _, p := range points(m.Data) {
				lines = append(lines, fmt.Sprintf("   %s%s %s", m.Name, p.attrs, p.value))
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	return seen, nil
}

type point struct{ attrs, value string }

// points renders the data points of the aggregations the SDK produces
// by default for counters, gauges and histograms.
func points(data metricdata.Aggregation) []point {
	var out []point
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{attrs(dp.Attributes), fmt.Sprint(dp.Value)})
		}
	case metricdata.Sum[float64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{attrs(dp.Attributes), fmt.Sprintf("%g", dp.Value)})
		}
	case metricdata.Gauge[int64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{attrs(dp.Attributes), fmt.Sprint(dp.Value)})
		}
	case metricdata.Gauge[float64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{attrs(dp.Attributes), fmt.Sprintf("%g", dp.Value)})
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{attrs(dp.Attributes), fmt.Sprintf("count=%d sum=%.4g", dp.Count, dp.Sum)})
		}
	case metricdata.Histogram[int64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{attrs(dp.Attributes), fmt.Sprintf("count=%d sum=%d", dp.Count, dp.Sum)})
		}
	case metricdata.ExponentialHistogram[float64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{attrs(dp.Attributes), fmt.Sprintf("count=%d sum=%.4g", dp.Count, dp.Sum)})
		}
	}
	return out
}

func attrs(s attribute.Set) string {
	if s.Len() == 0 {
		return ""
	}
	var kv []string
	for _, a := range s.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.String())
	}
	return "{" + strings.Join(kv, ",") + "}"
}
