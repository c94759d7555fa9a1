package logship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unsafe"
)

// HandlerOptions configures a Handler. The zero value (or nil) is valid
// except for Service, which should be set.
type HandlerOptions struct {
	// Level is the minimum level handled; nil means slog.LevelInfo.
	Level slog.Leveler
	// Service is service.name, the records' routing key; empty means
	// "unknown_service" (OpenTelemetry's convention) and is reported.
	Service string
	// Env is service.environment ("production"); omitted when empty.
	Env string
	// Version is service.version; omitted when empty.
	Version string
	// Dataset is event.dataset; empty means Service + ".log", the
	// convention of Elastic's ECS loggers that Kibana's Logs UI filters on.
	Dataset string
	// Redact lists the redaction rules, applied in order (the first name
	// rule that selects an attribute decides its fate; every content rule
	// applies). Nil means no redaction; DefaultRules() is the usual set.
	Redact []Rule
	// Sample, when set, thins repetitive records below Error.
	Sample *Sampling
	// AddSource adds log.origin (file, line, function). It costs an
	// allocation or two per record.
	AddSource bool
	// ErrorStack adds error.stack_trace — the logging goroutine's stack —
	// to records at Error or above that carry an error attribute.
	ErrorStack bool
}

// Validate reports the first invalid option, wrapping ErrInvalid and
// naming it. Handler accepts invalid options (it cannot return an error):
// it leaves out the invalid rules or sampling, and says so in an ERROR
// record of its own; call Validate first to refuse them instead.
func (o *HandlerOptions) Validate() error {
	if o == nil {
		return fmt.Errorf("%w: nil HandlerOptions: Service is required", ErrInvalid)
	}
	if o.Service == "" {
		return fmt.Errorf("%w: HandlerOptions.Service is empty", ErrInvalid)
	}
	if _, err := compileRules(o.Redact); err != nil {
		return err
	}
	if o.Sample != nil {
		if err := o.Sample.validate(); err != nil {
			return err
		}
	}
	return nil
}

// handlerConfig is what every Handler derived by WithAttrs/WithGroup
// from one Handler call shares; it never changes.
type handlerConfig struct {
	front *frontState
	// submit is Shipper.submitAt (tests swap it): the Record's ID is a
	// view of its JSON at the offset given, so the copy holds it once.
	submit  func(ctx context.Context, r Record, idAt int)
	level   slog.Leveler
	service string
	static  []byte // ,"ecs.version":…,"service.name":…,"event.dataset":…
	rd      *redactor
	sm      *sampler
	source  bool
	stack   bool
	keys    *keyClasses // attribute keys classified with rd (ecs_keyclass.go)
}

// handler is the slog.Handler of a Shipper. WithAttrs and WithGroup
// encode their attributes once, into prefix (zap's trick), so Handle
// copies them rather than encoding them per record.
type handler struct {
	c        *handlerConfig
	prefix   []byte   // `,"k":v` … and `,"group":{` openings
	openAt   []int    // offset in prefix of each open group's opening
	keys     []string // keys already at the innermost level (duplicates)
	preErr   error    // the first error-valued WithAttrs attribute
	subjects []slog.Attr
}

// Handler returns a slog.Handler that encodes records as ECS JSON
// documents (see # Records), redacts and samples them as opts say, and
// hands them to the Shipper. Handle never fails and never blocks longer
// than the Shipper's queue policy allows.
func (s *Shipper) Handler(opts *HandlerOptions) slog.Handler {
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	var bad []error
	if o.Service == "" {
		o.Service = "unknown_service"
		bad = append(bad, errors.New("HandlerOptions.Service is empty: using unknown_service"))
	}
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	if o.Dataset == "" {
		o.Dataset = o.Service + ".log"
	}
	rd, err := compileRules(o.Redact)
	if err != nil {
		bad = append(bad, fmt.Errorf("%w (rule left out)", err))
	}
	var sm *sampler
	if o.Sample != nil {
		if err := o.Sample.validate(); err != nil {
			bad = append(bad, fmt.Errorf("%w (not sampling)", err))
		} else {
			sm = newSampler(*o.Sample)
		}
	}
	c := &handlerConfig{front: &s.front, submit: s.submitAt, level: o.Level, service: o.Service, rd: rd, sm: sm, source: o.AddSource, stack: o.ErrorStack, keys: new(keyClasses)}
	c.static = appendStatic(nil, &o)
	h := &handler{c: c}
	if len(bad) > 0 {
		// Handler cannot return an error: the misconfiguration goes where
		// the operator looks, the log itself.
		r := slog.NewRecord(time.Now(), slog.LevelError, "logship: invalid HandlerOptions", 0)
		r.AddAttrs(slog.Any("error", errors.Join(bad...)))
		_ = h.Handle(context.Background(), r)
	}
	return h
}

func appendStatic(b []byte, o *HandlerOptions) []byte {
	field := func(name, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = appendJSONString(b, v)
		}
	}
	field("ecs.version", ecsVersion)
	field("service.name", o.Service)
	field("service.version", o.Version)
	field("service.environment", o.Env)
	field("event.dataset", o.Dataset)
	return b
}

// Enabled reports whether level reaches the Handler's Level.
func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.c.level.Level()
}

// Handle encodes r and submits it. It returns nil: a record the pipeline
// cannot take is counted by the Shipper, not reported to the caller.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	c := h.c
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if c.sm != nil && r.Level < slog.LevelError && !c.sm.allow(r.Time, r.Level, r.Message) {
		c.front.sampled.Add(1)
		return nil
	}
	fb := getFrontBuf(ctx)
	if c.rd != nil && len(c.rd.subjects) > 0 {
		fb.rec, fb.hasRec = r, true
	}
	if !h.encodeSafe(fb, &r) {
		// A caller's rule or KeyProvider panicked: the half-encoded record
		// may hold what redaction had not yet removed, so it is replaced
		// by a note carrying nothing of it, and its buffer is not reused.
		// The note is encoded without the rules: its fixed text holds no
		// secret, and a rule that panics on every string would panic
		// again here, out of the logging call.
		fb = getFrontBuf(ctx)
		note := slog.NewRecord(r.Time, r.Level, "logship: a redaction rule or KeyProvider panicked; record dropped", 0)
		bare := *h.c
		bare.rd, bare.keys = nil, new(keyClasses) // classes made without rd
		hn := &handler{c: &bare}
		hn.encode(fb, &note)
	}
	id := unsafe.String(&fb.b[fb.idAt], eventIDLen)
	c.submit(ctx, Record{ID: id, Service: c.service, Time: r.Time, Level: r.Level, JSON: fb.b}, fb.idAt)
	putFrontBuf(fb)
	return nil
}

// encodeSafe is encode turning a panic into false.
func (h *handler) encodeSafe(fb *frontBuf, r *slog.Record) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	h.encode(fb, r)
	return true
}

// WithAttrs returns a Handler whose records carry attrs, encoded (and
// redacted) once, now.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	fb := getFrontBuf(context.Background())
	defer putFrontBuf(fb)
	h2.subjects = h.subjects[:len(h.subjects):len(h.subjects)]
	if h.c.rd != nil {
		for _, a := range attrs {
			for _, k := range h.c.rd.subjects {
				if a.Key == k && a.Value.Kind() == slog.KindString {
					h2.subjects = append(h2.subjects, a)
				}
			}
		}
	}
	fb.b = append(fb.b, h.prefix...)
	fb.keys = append(fb.keys, h.keys...)
	fb.errv = h.preErr
	h3 := h2
	h3.keys = nil // fb.keys holds them: duplicates are checked against both
	if !h3.appendAttrsSafe(fb, attrs) {
		// A caller's rule panicked: keep nothing of these attributes
		// rather than something redaction may not have finished with.
		fb.b = fb.b[:len(h.prefix)]
		fb.keys, fb.lvl, fb.errv = fb.keys[:len(h.keys)], 0, h.preErr
		h3.appendKey(fb, "logship.dropped", true, false)
		fb.b = append(fb.b, `"attributes: a redaction rule panicked"`...)
	}
	h2.prefix = append([]byte(nil), fb.b...)
	h2.keys = append([]string(nil), fb.keys...)
	h2.preErr = fb.errv
	return &h2
}

func (h *handler) appendAttrsSafe(fb *frontBuf, attrs []slog.Attr) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	for _, a := range attrs {
		h.appendAttr(fb, a, true, len(h.openAt) == 0)
	}
	return true
}

// WithGroup returns a Handler whose later attributes nest under name.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	fb := getFrontBuf(context.Background())
	defer putFrontBuf(fb)
	fb.b = append(fb.b, h.prefix...)
	at := len(fb.b)
	fb.keys = append(fb.keys, h.keys...)
	h3 := h2
	h3.keys = nil
	h3.appendKey(fb, name, true, len(h.openAt) == 0)
	fb.b = append(fb.b, '{')
	h2.prefix = append([]byte(nil), fb.b...)
	h2.openAt = append(h.openAt[:len(h.openAt):len(h.openAt)], at)
	h2.keys = nil
	return &h2
}
