package logship

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// DefaultIndex is the index pattern used when IndexOptions names neither
// an Index nor a DataStream: one index per service and UTC day.
const DefaultIndex = "logs-{service}-{2006.01.02}"

// IndexOptions says where ElasticsearchSink and the Indexer put records.
type IndexOptions struct {
	// Index is the index name pattern: "{service}" is the record's
	// service.name (lower-cased, characters an index name cannot hold
	// replaced by '-', "unknown" when empty), and any other "{...}" is a
	// Go time layout applied to the record's @timestamp in UTC — so
	// "logs-{service}-{2006.01.02}" (DefaultIndex) gives daily indices
	// like "logs-billing-2026.11.30". Documents are sent with the index
	// action and _id = event id: a redelivery overwrites itself.
	Index string
	// DataStream, instead of Index, names a data stream ("{service}" is
	// substituted as above; no date: the stream rolls over by ILM).
	// Documents are sent with the create action that data streams
	// require; a 409 (already there) counts as stored.
	DataStream string
	// Pipeline is the ingest pipeline to run, if any.
	Pipeline string
	// Refresh is the bulk refresh parameter ("", "true", "wait_for").
	Refresh string
}

// indexTarget is an IndexOptions compiled once: which action, and how to
// name the index of a record.
type indexTarget struct {
	action   bulkAction
	parts    []indexPart
	pipeline string
	refresh  string
}

// indexPart is a literal, the service, or a time layout.
type indexPart struct {
	literal string
	service bool
	layout  string
}

func compileIndex(o IndexOptions) (*indexTarget, error) {
	if o.Index != "" && o.DataStream != "" {
		return nil, fmt.Errorf("%w: IndexOptions: both Index %q and DataStream %q", ErrInvalid, o.Index, o.DataStream)
	}
	switch o.Refresh {
	case "", "true", "false", "wait_for":
	default:
		return nil, fmt.Errorf("%w: IndexOptions.Refresh %q: want \"\", true, false or wait_for", ErrInvalid, o.Refresh)
	}
	t := &indexTarget{action: actionIndex, pipeline: o.Pipeline, refresh: o.Refresh}
	pattern := o.Index
	if o.DataStream != "" {
		t.action, pattern = actionCreate, o.DataStream
	}
	if pattern == "" {
		pattern = DefaultIndex
	}
	rest := pattern
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			t.parts = append(t.parts, indexPart{literal: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, indexPart{literal: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%w: index pattern %q: unclosed {", ErrInvalid, pattern)
		}
		name := rest[open+1 : open+end]
		switch {
		case name == "service":
			t.parts = append(t.parts, indexPart{service: true})
		case name == "" || strings.ContainsAny(name, "{"):
			return nil, fmt.Errorf("%w: index pattern %q: empty or nested {}", ErrInvalid, pattern)
		case o.DataStream != "":
			return nil, fmt.Errorf("%w: data stream %q: only {service} may be substituted", ErrInvalid, pattern)
		default:
			t.parts = append(t.parts, indexPart{layout: name})
		}
		rest = rest[open+end+1:]
	}
	for _, p := range t.parts {
		if p.literal != "" && (strings.ToLower(p.literal) != p.literal || strings.ContainsAny(p.literal, ` \/*?"<>|,#:`)) {
			return nil, fmt.Errorf("%w: index pattern %q: an index name is lower case, without spaces or any of \\/*?\"<>|,#: characters", ErrInvalid, pattern)
		}
	}
	if first := t.parts[0]; first.literal != "" && strings.ContainsAny(first.literal[:1], "-_+.") {
		return nil, fmt.Errorf("%w: index pattern %q: an index name cannot start with any of - _ + . characters", ErrInvalid, pattern)
	}
	return t, nil
}

// name is the index (or data stream) for r; now stands in for a record
// without a time.
func (t *indexTarget) name(r Record, now time.Time) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.service:
			b.WriteString(indexSafe(r.Service))
		case p.layout != "":
			ts := r.Time
			if ts.IsZero() {
				ts = now
			}
			b.WriteString(indexSafe(ts.UTC().Format(p.layout)))
		default:
			b.WriteString(p.literal)
		}
	}
	return b.String()
}

// wildcard is the index pattern matching every name t makes, for the
// index template.
func (t *indexTarget) wildcard() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.literal != "" {
			b.WriteString(p.literal)
		} else if !strings.HasSuffix(b.String(), "*") {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// indexSafe makes s usable inside an index name: lower case, and '-' for
// anything outside [a-z0-9._-].
func indexSafe(s string) string {
	if s == "" {
		return "unknown"
	}
	ok := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			ok = false
			break
		}
	}
	if ok && len(s) <= 100 {
		return s
	}
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
		if b.Len() >= 100 { // index names are at most 255 bytes
			break
		}
	}
	return b.String()
}

// esSink is the Sink ElasticsearchSink returns.
type esSink struct {
	es     *elasticsearch.Client
	target *indexTarget
	err    error // a bad IndexOptions, returned by every Write
	now    func() time.Time
}

// ElasticsearchSink returns a Sink that writes each batch as one bulk
// request through es (its _bulk API, esapi.BulkRequest) and reads the
// answer item by item: a 429 or 5xx item is a retryable Failure, a
// mapping error a permanent one with the store's type and reason, a 409 on
// a data stream's create a success (the document was there already). A
// request that fails as a whole is a *BulkError saying whether it is
// retryable; a 413 (request too large) splits the batch in halves, down to
// a single document, which then fails alone, permanently. A record whose
// JSON is not one object fails alone, permanently, without being sent.
//
// Bad IndexOptions (see IndexOptions) make every Write fail with
// ErrInvalid; the Indexer checks them at construction.
func ElasticsearchSink(es *elasticsearch.Client, opts IndexOptions) Sink {
	t, err := compileIndex(opts)
	if err == nil && es == nil {
		err = fmt.Errorf("%w: nil elasticsearch client", ErrInvalid)
	}
	return &esSink{es: es, target: t, err: err, now: time.Now}
}

func (s *esSink) Write(ctx context.Context, batch []Record) (Result, error) {
	if s.err != nil {
		return Result{}, s.err
	}
	failures, err := s.write(ctx, batch, 0)
	return Result{Failures: failures}, err
}

// write sends batch (which starts at offset in the caller's batch).
func (s *esSink) write(ctx context.Context, batch []Record, offset int) ([]Failure, error) {
	var buf bytes.Buffer
	sent := make([]bulkItem, 0, len(batch))
	var failures []Failure
	now := s.now()
	for i, r := range batch {
		if err := appendBulk(&buf, s.target.action, s.target.name(r, now), r); err != nil {
			failures = append(failures, Failure{Index: offset + i, Err: err})
			continue
		}
		sent = append(sent, bulkItem{batchIndex: offset + i, id: r.ID})
	}
	if len(sent) == 0 {
		return failures, nil
	}
	req := esapi.BulkRequest{Body: &buf, Pipeline: s.target.pipeline, Refresh: s.target.refresh}
	res, err := req.Do(ctx, s.es)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &BulkError{Retryable: true, Err: err}
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusRequestEntityTooLarge {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return s.split(ctx, batch, offset)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return nil, &BulkError{Status: res.StatusCode, Retryable: statusRetryable(res.StatusCode), Err: errors.New(strings.TrimSpace(string(msg)))}
	}
	itemFailures, err := parseBulkResponse(&cappedReader{r: res.Body, left: maxBulkAnswer(len(sent))}, sent, s.target.action)
	if err != nil {
		// What was stored is unknown; sending again is safe (the _id
		// makes it idempotent) and the only way to know.
		return nil, &BulkError{Status: res.StatusCode, Retryable: true, Err: err}
	}
	return mergeFailures(failures, itemFailures), nil
}

// maxBulkAnswer bounds the answer to a bulk request of n documents: an
// item takes a few hundred bytes, with an error's reason a few KiB; a
// larger answer is not one (a store or a proxy gone wrong), and reading
// it whole would take memory without bound.
func maxBulkAnswer(n int) int64 { return 1<<20 + int64(n)*(64<<10) }

// errAnswerTooLarge ends the reading of an answer over maxBulkAnswer.
var errAnswerTooLarge = errors.New("answer larger than any bulk response for the documents sent")

// cappedReader reads at most left bytes of r, then fails.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errAnswerTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// split answers a 413: each half is sent on its own; a single document
// that is too large fails alone, permanently.
func (s *esSink) split(ctx context.Context, batch []Record, offset int) ([]Failure, error) {
	if len(batch) == 1 {
		return []Failure{{Index: offset, Err: &ItemError{ID: batch[0].ID, Status: http.StatusRequestEntityTooLarge, Type: "request_entity_too_large", Reason: "the document alone exceeds the store's request size limit"}}}, nil
	}
	mid := len(batch) / 2
	a, err := s.write(ctx, batch[:mid], offset)
	if err != nil {
		return nil, err
	}
	b, err := s.write(ctx, batch[mid:], offset+mid)
	if err != nil {
		// The first half is stored; reporting the whole batch as failed
		// resends it, which its _ids make harmless.
		return nil, err
	}
	return append(a, b...), nil
}

// mergeFailures merges two lists sorted by Index.
func mergeFailures(a, b []Failure) []Failure {
	if len(a) == 0 {
		return b
	}
	out := make([]Failure, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Index < b[0].Index {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

func (s *esSink) Close(context.Context) error { return nil }
