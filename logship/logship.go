// Package logship ships a service's logs reliably — a log/slog Handler
// whose records are batched, optionally buffered on disk, redacted and
// sampled, and delivered to a Sink (an mq topic, Elasticsearch's bulk
// API, a file) — and holds the pipeline behind it: the Indexer that
// drains a topic into Elasticsearch, the Archiver that keeps a cold copy,
// and the Alerter that watches error rates.
//
// Work in progress (issue 18): this commit holds the types the pieces
// share — Record, Sink and its per-record outcomes, the errors. Nothing
// ships yet.
//
// # Alerts
//
// An Alerter (NewAlerter) watches each service's error rate — records at
// slog.LevelError and above over all records — over a sliding Window
// (default 1 minute, sliding by Window/Buckets, 10 s by default), and
// compares each window with that service's own baseline: an exponentially
// weighted mean and variance of its past windows (HalfLife, default 10
// minutes). A window alerts when z = (rate − mean) / σ reaches Threshold
// (default 3), where σ is the baseline's deviation floored twice — by the
// sampling noise of a rate over that many records, √(p(1−p)/n), and by
// MinStdDev (default one percentage point) — so that neither a perfectly
// flat baseline nor a small window makes a blip look infinitely
// anomalous. Alerts go to OnAlert and, as JSON, to an mq topic, with a
// message ID made of service and window, so that a republished alert is
// one message to a consumer with dedup.
//
// Feed it with Observe (cheap: lock-free counters, no allocation for a
// known service), a Shipper's Sink wrapped in AlertingSink, its own
// consumer group on the log topic (MessageHandler), or the Indexer
// calling ObserveRecord for each record it indexed. Records are counted
// in the step of their @timestamp, except that a record older than the
// current step (a backlog being caught up) counts in the current step,
// and one more than a step ahead in the next one: evaluated windows are
// final. With the real clock the Alerter evaluates at every step itself;
// with AlertOptions.Now set, the caller calls Evaluate. A bad option
// leaves the Alerter inert and is reported by Err (or AlertOptions.Validate
// beforehand): NewAlerter's signature has no error.
//
// What it catches: a sudden rise of a service's error rate against what is
// normal for that service — a bad deploy, a dependency going down. What it
// does not: a slow degradation. The baseline learns every normal window,
// so a rate creeping up by 0.05 points a window follows along and never
// alerts (a test holds it to that); catch those with a fixed MinErrorRate
// alert in your dashboards or an SLO burn rate. It also does not see
// services that stop logging, nor errors logged below LevelError.
//
// Against false positives: MinVolume (default 50 records a window) keeps
// quiet hours from alerting on 3 errors out of 4 records, and those
// windows teach the baseline nothing; note that the window's volume
// counts, so while traffic falls the last busy minute still lends volume
// and a burst of errors right then can alert. Warmup (default 5 windows
// of volume) precedes a new service's first alert; Cooldown (default 10
// minutes) spaces one service's alerts. Anomalous windows are kept out of
// the baseline, so a sustained incident goes on alerting once per
// Cooldown rather than becoming the new normal — until it has lasted
// Relearn (default 1 hour): then the current rate is taken as the new
// normal (logged, counted) and the baseline warms up again. Raise
// Threshold or MinStdDev to alert less, lengthen HalfLife to follow drifts
// more slowly (and so catch slower ramps), and set MinErrorRate to ignore
// rises that stay small in absolute terms. MaxServices (default 1000)
// bounds the services tracked: a service name taken from input cannot
// grow memory.
//
// Metrics: logship.alerter.alerts{outcome=fired|cooldown|relearned},
// logship.alerter.deliveries{outcome=published|publish_failed|callback_panic},
// logship.alerter.evaluations, logship.alerter.untracked and the gauge
// logship.alerter.services.
package logship

import "errors"

// Errors of the package, matched with errors.Is.
var (
	// ErrClosed is returned by every call after Shutdown.
	ErrClosed = errors.New("logship: closed")
	// ErrInvalid wraps a bad argument or option, named in the message.
	ErrInvalid = errors.New("logship: invalid argument")
	// ErrDropped is reported (to the error handler and the metrics, never
	// to slog, whose Handle cannot fail a caller) for a record the full
	// queue's policy dropped.
	ErrDropped = errors.New("logship: record dropped")
)
