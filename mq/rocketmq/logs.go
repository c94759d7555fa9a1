package rocketmq

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// The client logs through rlog, one logger for the whole process (logrus
// at info level by default, chatty: every rebalance, lock and pull
// retry). The provider replaces it, once, with logToSlog, which passes the
// client's errors on to the *slog.Logger of the open connection made last
// and drops everything below (and everything once no connection is open:
// what the client's goroutines log while they wind down after Close). A
// closed connection's Logger gets nothing more. Being process-wide, this
// also quiets the client for code outside this package that uses it;
// rlog.SetLogger afterwards takes it back.
var (
	installLogs sync.Once
	logTarget   atomic.Pointer[slog.Logger] // read on every client log call

	routesMu  sync.Mutex
	logRoutes []*logRoute // of the open connections, oldest first
)

type logRoute struct{ l *slog.Logger }

// routeLogs makes l the target of the client's error logs until the
// returned release (called by Close) or another routeLogs.
func routeLogs(l *slog.Logger) (release func()) {
	e := &logRoute{l}
	routesMu.Lock()
	logRoutes = append(logRoutes, e)
	logTarget.Store(l)
	routesMu.Unlock()
	installLogs.Do(func() { rlog.SetLogger(logToSlog{}) })
	return sync.OnceFunc(func() {
		routesMu.Lock()
		defer routesMu.Unlock()
		logRoutes = slices.DeleteFunc(logRoutes, func(r *logRoute) bool { return r == e })
		if n := len(logRoutes); n > 0 {
			logTarget.Store(logRoutes[n-1].l)
		} else {
			logTarget.Store(nil)
		}
	})
}

// logToSlog is an rlog.Logger writing errors to logTarget.
type logToSlog struct{}

var _ rlog.Logger = logToSlog{}

func (logToSlog) Debug(string, map[string]interface{})   {}
func (logToSlog) Info(string, map[string]interface{})    {}
func (logToSlog) Warning(string, map[string]interface{}) {}
func (logToSlog) Error(msg string, fields map[string]interface{}) {
	if msg == txStateLog {
		return
	}
	logTo(slog.LevelError, msg, fields)
}

// txStateLog is what the client logs, as an error with the whole message
// (body included), whenever a local transaction answers anything but
// commit: a rollback or unknown is an ordinary outcome (see
// TransactionProducer), and a body may be confidential.
const txStateLog = "executeLocalTransaction but state unexpected"

func (logToSlog) Fatal(msg string, fields map[string]interface{}) {
	logTo(slog.LevelError, msg, fields)
}
func (logToSlog) Level(string)                  {}
func (logToSlog) OutputPath(string) (err error) { return nil }

func logTo(level slog.Level, msg string, fields map[string]interface{}) {
	l := logTarget.Load()
	if l == nil || !l.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(fields)+1)
	attrs = append(attrs, slog.String("component", "rocketmq-client-go"))
	for k, v := range fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	l.LogAttrs(context.Background(), level, "rocketmq: "+msg, attrs...)
}
