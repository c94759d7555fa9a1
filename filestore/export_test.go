package filestore

import "time"

// SetClock makes svc read the time from now: tests move it forward to
// make records, uploads and objects stale without waiting.
func SetClock(svc *Service, now func() time.Time) { svc.now = now }
