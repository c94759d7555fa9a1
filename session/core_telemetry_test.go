package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
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

	got := map[string]int64{}
	for _, p := range otelcheck.Points(t, reader) {
		if p.Kind != otelcheck.Sum {
			continue
		}
		for _, kv := range p.Attrs.ToSlice() {
			got[p.Metric+"/"+kv.Value.AsString()] += p.Value
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
