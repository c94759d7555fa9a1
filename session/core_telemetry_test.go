package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/groundwork-go/groundwork/session"
)

// TestTelemetry checks the counters with the real OpenTelemetry SDK.
func TestTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer mp.Shutdown(ctx)
	m, _ := newManager(t, session.NewMemoryStore(), session.WithMeterProvider(mp), session.WithPublicPaths("/pub"))
	h := whoami(m)
	c := login(t, m, "alice", nil)
	_, _ = m.Login(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil), "alice", "wrong")
	wantUser(t, h, c, "id-alice")
	wantDenied(t, h, nil)
	get(h, "/pub", nil, "")
	r := httptest.NewRequest("POST", "/logout", nil)
	r.AddCookie(c)
	if err := m.Logout(httptest.NewRecorder(), r); err != nil {
		t.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			sum, ok := mt.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					got[mt.Name+"/"+kv.Value.AsString()] += dp.Value
				}
			}
		}
	}
	for k, want := range map[string]int64{
		"session.logins/ok": 1, "session.logins/invalid_credentials": 1,
		"session.middleware.requests/cookie": 1, "session.middleware.requests/unauthenticated": 1,
		"session.middleware.requests/public": 1, "session.sessions.created/primary": 1,
		"session.sessions.ended/logout": 1, "session.store.errors/primary": 0,
	} {
		if got[k] != want {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], want, got)
		}
	}
	_ = http.StatusOK
}
