package filestore

import (
	"context"
	"testing"
	"time"
)

// SetClock makes svc read the time from now: tests move it forward to
// make records, uploads and objects stale without waiting.
func SetClock(svc *Service, now func() time.Time) { svc.now = now }

// CheckUploadOptions is what Upload and StartUpload check first.
func CheckUploadOptions(o UploadOptions) error { return o.check() }

// SpanAllocs measures the allocations of starting and ending the span of
// an operation through svc's TracerProvider.
func SpanAllocs(svc *Service) float64 {
	return testing.AllocsPerRun(100, func() {
		_, span := svc.tel.startSpan(context.Background(), opUpload)
		span.End()
	})
}
