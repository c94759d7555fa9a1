package logship

import (
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// ecsVersion is the ECS version the documents follow (ecs.version).
const ecsVersion = "8.11.0"

// reservedRoots are the top-level names the encoder writes itself. A
// top-level user attribute named one of them, or dotted under one
// ("service.name", "log.level"), would make a duplicate key (which
// Elasticsearch refuses) or a mapping conflict (a string where ECS has an
// object): it is written under labels instead ("labels.service").
var reservedRoots = [...]string{"@timestamp", "message", "log", "service", "event", "trace", "span", "error", "ecs", "labels"}

func isReserved(key string) bool {
	if key == "" {
		return false
	}
	// The first byte picks the one or two roots worth comparing: most
	// keys start with none of these letters and cost one switch.
	switch key[0] {
	case '@':
		return hasRoot(key, "@timestamp")
	case 'm':
		return hasRoot(key, "message")
	case 'l':
		return hasRoot(key, "log") || hasRoot(key, "labels")
	case 's':
		return hasRoot(key, "service") || hasRoot(key, "span")
	case 'e':
		return hasRoot(key, "event") || hasRoot(key, "error") || hasRoot(key, "ecs")
	case 't':
		return hasRoot(key, "trace")
	}
	return false
}

// hasRoot reports whether key is root or dotted under it.
func hasRoot(key, root string) bool {
	return len(key) >= len(root) && key[:len(root)] == root && (len(key) == len(root) || key[len(root)] == '.')
}

// encode writes r as one ECS JSON document into fb.b, and the offset of
// its event id in it into fb.idAt.
func (h *handler) encode(fb *frontBuf, r *slog.Record) {
	c := h.c
	b := append(fb.b, `{"@timestamp":"`...)
	b = appendTimestamp(b, r.Time)
	b = append(b, `","log.level":`...)
	b = appendLevel(b, r.Level)
	b = append(b, `,"message":`...)
	if c.rd != nil {
		b = c.rd.appendString(b, "", r.Message, true)
	} else {
		b = appendJSONString(b, r.Message)
	}
	b = append(b, c.static...)
	b = append(b, `,"event.id":"`...)
	fb.idAt = len(b)
	b = c.front.appendEventID(b, r.Time)
	b = append(b, '"')
	if sc := trace.SpanContextFromContext(fb.ctx); sc.IsValid() {
		tid, sid := sc.TraceID(), sc.SpanID()
		b = append(b, `,"trace.id":"`...)
		b = hex.AppendEncode(b, tid[:])
		b = append(b, `","span.id":"`...)
		b = hex.AppendEncode(b, sid[:])
		b = append(b, '"')
	}
	if c.source && r.PC != 0 {
		b = appendOrigin(b, r.PC)
	}
	prefixAt := len(b)
	b = append(b, h.prefix...)
	fb.b = b
	fb.errv = h.preErr
	atRoot := len(h.openAt) == 0
	r.Attrs(func(a slog.Attr) bool {
		h.appendAttr(fb, a, true, atRoot)
		return true
	})
	b = fb.b
	// Close the WithGroup groups; one left empty is removed, as slog
	// omits a group without attributes.
	for i := len(h.openAt) - 1; i >= 0; i-- {
		if b[len(b)-1] == '{' {
			b = b[:prefixAt+h.openAt[i]]
		} else {
			b = append(b, '}')
		}
	}
	if fb.errv != nil {
		b = h.appendError(fb, b, r.Level)
	}
	fb.b = append(b, '}')
}

// appendTimestamp writes t in UTC as RFC 3339 with nanoseconds, always
// nine digits (a fixed width sorts as text); time.AppendFormat does the
// same at several times the cost. The text up to the second is formatted
// once a second and shared (lastSecond): a record then costs a load, a
// copy and the nine digits. A record of another second (a time given to
// Handle, loggers racing across a second's edge) replaces the shared one:
// a 32-byte allocation, never a wrong text.
func appendTimestamp(b []byte, t time.Time) []byte {
	sec := t.Unix()
	p := lastSecond.Load()
	if p == nil || p.unix != sec {
		u := t.UTC()
		if y := u.Year(); y < 0 || y > 9999 {
			return u.AppendFormat(b, time.RFC3339Nano)
		}
		p = &secondText{unix: sec}
		formatSecond(p.text[:0], u)
		lastSecond.Store(p)
	}
	b = append(b, p.text[:]...)
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// secondText is "2006-01-02T15:04:05." for one Unix second.
type secondText struct {
	unix int64
	text [20]byte
}

// lastSecond is the second the latest record was stamped in: records
// come in time order, nearly, so most find their second there.
var lastSecond atomic.Pointer[secondText]

func formatSecond(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	return append(b, '.')
}

func appendDigits(b []byte, v, width int) []byte {
	var d [9]byte
	i := width
	for ; i >= 2; i -= 2 { // two digits a division
		q := v / 100
		r := (v - q*100) * 2
		d[i-2], d[i-1] = digitPairs[r], digitPairs[r+1]
		v = q
	}
	if i == 1 {
		d[0] = byte('0' + v%10)
	}
	return append(b, d[:width]...)
}

// digitPairs holds "00" to "99", for appendDigits.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

func appendLevel(b []byte, l slog.Level) []byte {
	switch l {
	case slog.LevelDebug:
		return append(b, `"debug"`...)
	case slog.LevelInfo:
		return append(b, `"info"`...)
	case slog.LevelWarn:
		return append(b, `"warn"`...)
	case slog.LevelError:
		return append(b, `"error"`...)
	}
	return appendJSONString(b, l.String()) // "WARN+2": slog's own name
}

func appendOrigin(b []byte, pc uintptr) []byte {
	fs := runtime.CallersFrames([]uintptr{pc})
	f, _ := fs.Next()
	b = append(b, `,"log.origin":{"file.name":`...)
	b = appendJSONString(b, f.File)
	b = append(b, `,"file.line":`...)
	b = strconv.AppendInt(b, int64(f.Line), 10)
	b = append(b, `,"function":`...)
	b = appendJSONString(b, f.Function)
	return append(b, '}')
}

// appendError writes the ECS error fields of the record's first
// error-valued attribute.
func (h *handler) appendError(fb *frontBuf, b []byte, level slog.Level) []byte {
	err := fb.errv
	b = append(b, `,"error":{"type":`...)
	b = appendJSONString(b, reflect.TypeOf(err).String())
	b = append(b, `,"message":`...)
	msg := safeError(err)
	if h.c.rd != nil {
		b = h.c.rd.appendString(b, "error", msg, false)
	} else {
		b = appendJSONString(b, msg)
	}
	if h.c.stack && level >= slog.LevelError {
		if cap(fb.tmp) < 8<<10 {
			fb.tmp = make([]byte, 8<<10)
		}
		n := runtime.Stack(fb.tmp[:cap(fb.tmp)], false)
		b = append(b, `,"stack_trace":`...)
		b = appendJSONString(b, unsafe.String(unsafe.SliceData(fb.tmp), n))
	}
	return append(b, '}')
}

// safeError returns err.Error(), or a note if it panics (a nil pointer
// inside a non-nil error interface): logging must not crash the caller.
func safeError(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = "!PANIC in Error()"
		}
	}()
	return err.Error()
}

// appendKey writes `,"key":` — renamed under labels when it would clash
// with a field the encoder owns (atRoot), and suffixed "_2", "_3"… when
// the level already has the key (Elasticsearch refuses a document with a
// duplicate key). The level's keys are fb.keys[fb.lvl:] and, when top (the
// level record attributes land on), h.keys; they hold the names as
// written, suffix included, so that a suffixed "k_2" and the caller's own
// "k_2" are told apart too.
func (h *handler) appendKey(fb *frontBuf, key string, top, atRoot bool) {
	h.appendKeyClass(fb, key, keyClass{reserved: isReserved(key), plain: plainASCII(key)}, top, atRoot)
}

// appendKeyClass is appendKey with key's classification already made.
func (h *handler) appendKeyClass(fb *frontBuf, key string, kc keyClass, top, atRoot bool) {
	b := fb.b
	if len(b) == 0 || b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	if atRoot && kc.reserved {
		b = append(b, "labels."...)
	}
	if kc.plain {
		b = append(b, key...) // the common key: nothing to check or escape
	} else {
		if !utf8.ValidString(key) {
			// Invalid bytes are written as U+FFFD: compare what is written.
			key = validKey(key)
		}
		b = appendEscaped(b, key)
	}
	name := key
	for n := 2; h.keyTaken(fb, name, top); n++ {
		name = key + "_" + strconv.Itoa(n) // allocates: duplicates only
	}
	b = append(b, name[len(key):]...)
	fb.keys = append(fb.keys, name)
	fb.b = append(b, '"', ':')
}

// keyTaken reports whether the current level already has name.
func (h *handler) keyTaken(fb *frontBuf, name string, top bool) bool {
	if top && slices.Contains(h.keys, name) {
		return true
	}
	return slices.Contains(fb.keys[fb.lvl:], name)
}

// validKey is key with each invalid byte replaced by U+FFFD, as
// appendEscaped writes it.
func validKey(key string) string {
	var b []byte
	for i := 0; i < len(key); {
		r, size := utf8.DecodeRuneInString(key[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, key[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// maxGroupDepth bounds how deep attribute groups nest inside one
// attribute (Elasticsearch's own default limit is 20 object levels).
const maxGroupDepth = 32

// appendAttr writes one attribute (redacted) to fb.b.
func (h *handler) appendAttr(fb *frontBuf, a slog.Attr, top, atRoot bool) {
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
	}
	v := a.Value
	kind := v.Kind()
	if a.Key == "" && kind == slog.KindAny && v.Any() == nil {
		return // slog: an empty Attr is ignored
	}
	kc := h.c.keys.classify(a.Key, h.c.rd)
	if kr := kc.rule; kr != nil {
		if kr.drop {
			return
		}
		repl := kr.repl
		if kr.pseudo != nil {
			repl = h.pseudonym(fb, kr.pseudo, v)
		}
		h.appendKeyClass(fb, a.Key, kc, top, atRoot)
		fb.b = appendJSONString(fb.b, repl)
		return
	}
	if kind == slog.KindGroup {
		if fb.depth >= maxGroupDepth {
			// A LogValuer whose value holds another of itself would
			// recurse until the stack overflows, a fatal error no
			// recover catches: the nesting stops here, said so.
			h.appendKey(fb, a.Key, top, atRoot)
			fb.b = append(fb.b, `"!ERROR:groups nested too deep"`...)
			return
		}
		fb.depth++
		h.appendGroup(fb, a.Key, v.Group(), top, atRoot)
		fb.depth--
		return
	}
	if kind == slog.KindAny {
		if err, ok := v.Any().(error); ok && fb.errv == nil {
			fb.errv = err // becomes error.*, written at the end
			return
		}
	}
	h.appendKeyClass(fb, a.Key, kc, top, atRoot)
	h.appendValue(fb, a.Key, v)
}

// appendGroup writes the group key holds (inlined when key is "").
func (h *handler) appendGroup(fb *frontBuf, key string, attrs []slog.Attr, top, atRoot bool) {
	if key == "" { // inlined, as slog says
		for _, x := range attrs {
			h.appendAttr(fb, x, top, atRoot)
		}
		return
	}
	if len(attrs) == 0 {
		return
	}
	start := len(fb.b)
	h.appendKey(fb, key, top, atRoot)
	fb.b = append(fb.b, '{')
	// The group is a level of its own: its keys are checked for
	// duplicates among themselves, then forgotten.
	outer := fb.lvl
	fb.lvl = len(fb.keys)
	for _, x := range attrs {
		h.appendAttr(fb, x, false, false)
	}
	clear(fb.keys[fb.lvl:])
	fb.keys, fb.lvl = fb.keys[:fb.lvl], outer
	if fb.b[len(fb.b)-1] == '{' {
		fb.b = fb.b[:start]
	} else {
		fb.b = append(fb.b, '}')
	}
}

func (h *handler) appendString(fb *frontBuf, key, s string) {
	if h.c.rd != nil {
		fb.b = h.c.rd.appendString(fb.b, key, s, false)
	} else {
		fb.b = appendJSONString(fb.b, s)
	}
}

// appendNumber writes a formatted integer, as a redacted string instead
// when a content rule matches it (a card number logged as an int).
func (h *handler) appendNumber(fb *frontBuf, key string, digits []byte) {
	if h.c.rd != nil && len(digits) >= 13 {
		s := unsafe.String(unsafe.SliceData(digits), len(digits))
		if h.c.rd.matches(key, s) {
			fb.b = h.c.rd.appendString(fb.b, key, s, false)
			return
		}
	}
	fb.b = append(fb.b, digits...)
}

func (h *handler) appendValue(fb *frontBuf, key string, v slog.Value) {
	switch v.Kind() {
	case slog.KindString:
		h.appendString(fb, key, v.String())
	case slog.KindInt64:
		fb.tmp = strconv.AppendInt(fb.tmp[:0], v.Int64(), 10)
		h.appendNumber(fb, key, fb.tmp)
	case slog.KindUint64:
		fb.tmp = strconv.AppendUint(fb.tmp[:0], v.Uint64(), 10)
		h.appendNumber(fb, key, fb.tmp)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			fb.b = appendJSONString(fb.b, strconv.FormatFloat(f, 'g', -1, 64))
		} else {
			fb.b = strconv.AppendFloat(fb.b, f, 'g', -1, 64)
		}
	case slog.KindBool:
		fb.b = strconv.AppendBool(fb.b, v.Bool())
	case slog.KindDuration:
		// Nanoseconds, as slog's JSONHandler and ECS's event.duration.
		fb.b = strconv.AppendInt(fb.b, int64(v.Duration()), 10)
	case slog.KindTime:
		fb.b = append(fb.b, '"')
		fb.b = v.Time().AppendFormat(fb.b, time.RFC3339Nano)
		fb.b = append(fb.b, '"')
	default:
		h.appendAny(fb, key, v.Any())
	}
}

// appendAny writes any other value as encoding/json does (slog's
// JSONHandler does the same); a value json cannot encode is written as
// the string "!ERROR:" and the reason. JSON that a content rule matches
// is written as a redacted string, keeping the document valid.
func (h *handler) appendAny(fb *frontBuf, key string, x any) {
	switch x := x.(type) {
	case nil:
		fb.b = append(fb.b, "null"...)
		return
	case error: // a second error attribute: its message
		h.appendString(fb, key, safeError(x))
		return
	case []byte:
		// encoding/json writes bytes as base64, where no content rule
		// sees a secret: bytes holding one are written as redacted text.
		if h.c.rd != nil && h.c.rd.matches(key, string(x)) {
			fb.b = h.c.rd.appendString(fb.b, key, string(x), false)
			return
		}
	}
	j, err := marshalSafe(x)
	if err != nil {
		h.appendString(fb, key, "!ERROR:"+err.Error())
		return
	}
	if h.c.rd != nil {
		j = h.redactJSONNames(fb, j)
	}
	if h.c.rd != nil && h.c.rd.matches(key, string(j)) {
		fb.b = h.c.rd.appendString(fb.b, key, string(j), false)
		return
	}
	fb.b = append(fb.b, j...)
}

// marshalSafe is json.Marshal turning a panicking MarshalJSON into an error.
func marshalSafe(x any) (j []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			j, err = nil, errPanicMarshal
		}
	}()
	return json.Marshal(x)
}

var errPanicMarshal = jsonError("panic in MarshalJSON")

type jsonError string

func (e jsonError) Error() string { return string(e) }

// pseudonym returns the replacement of v under p, finding the subject.
func (h *handler) pseudonym(fb *frontBuf, p *Pseudonymizer, v slog.Value) string {
	value := v.String()
	subject := value
	if p.Subject != "" {
		subject = ""
		if fb.hasRec {
			fb.rec.Attrs(func(a slog.Attr) bool {
				if a.Key == p.Subject && a.Value.Kind() == slog.KindString {
					subject = a.Value.String()
					return false
				}
				return true
			})
		}
		if subject == "" {
			for i := len(h.subjects) - 1; i >= 0; i-- {
				if h.subjects[i].Key == p.Subject {
					subject = h.subjects[i].Value.String()
					break
				}
			}
		}
		if subject == "" {
			return DefaultReplacement
		}
	}
	return p.pseudonym(fb.ctx, subject, value)
}
