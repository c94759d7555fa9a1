package logship

import "errors"

// errArchiverKilled is what the handlers of a killed Archiver return.
var errArchiverKilled = errors.New("logship: archiver killed")

// kill stops the Archiver as a crash would, for tests: nothing buffered
// is written, its messages are left unacknowledged.
func (a *Archiver) kill() {
	a.shutOnce.Do(func() {
		a.mu.Lock()
		a.closing = true
		due := a.takeAllLocked()
		a.mu.Unlock()
		for _, b := range due {
			for _, w := range b.waiters {
				w <- errArchiverKilled
			}
		}
		a.cancelWork()
		a.shutErr = a.sub.Close()
		a.stop()
	})
}
