package logship

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// BulkError is a whole bulk request that failed: nothing of it can be
// counted as indexed. Retryable says whether sending it again can help
// (a 429, a 5xx, a connection that failed, an answer that could not be
// read — all safe to resend, since every document carries its _id);
// a 4xx other than 429 (bad credentials, a bad request) is not.
type BulkError struct {
	// Status is the HTTP status, 0 when no answer was read.
	Status int
	// Retryable is true when sending the request again can help.
	Retryable bool
	// Err says what went wrong.
	Err error
}

func (e *BulkError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("logship: elasticsearch bulk: status %d: %v", e.Status, e.Err)
	}
	return fmt.Sprintf("logship: elasticsearch bulk: %v", e.Err)
}

// Unwrap returns the cause.
func (e *BulkError) Unwrap() error { return e.Err }

// IsRetryable reports whether trying again can help.
func (e *BulkError) IsRetryable() bool { return e.Retryable }

// ItemError is one document a bulk request refused, as the store put it.
type ItemError struct {
	// ID is the document's _id (the record's event id).
	ID string
	// Status is the item's HTTP status.
	Status int
	// Type and Reason are the item's error.type and error.reason
	// ("mapper_parsing_exception", "failed to parse field ...").
	Type, Reason string
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("logship: elasticsearch refused document %q: status %d: %s: %s", e.ID, e.Status, e.Type, e.Reason)
}

// statusRetryable reports whether an HTTP status (of a request or an item)
// is worth another try: too many requests, or a server-side failure.
func statusRetryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// bulkAction is the action line's verb: "index" for indices (a redelivery
// overwrites the same _id), "create" for data streams, which accept
// nothing else (a redelivery is a 409, counted as success).
type bulkAction string

const (
	actionIndex  bulkAction = "index"
	actionCreate bulkAction = "create"
)

// bulkItem is one document sent: its index into the caller's batch, and
// the _id the answer must name.
type bulkItem struct {
	batchIndex int
	id         string
}

// appendBulk appends to buf the action line and source of r, for index
// (one NDJSON pair). A source that is not one JSON object on one line —
// which would shift every later item of the answer onto the wrong
// record — is returned as an error and nothing is appended.
func appendBulk(buf *bytes.Buffer, action bulkAction, index string, r Record) error {
	if !utf8.ValidString(r.ID) {
		// JSON would carry it as U+FFFD: the store's answer would name
		// another _id, and two such ids could overwrite each other.
		return fmt.Errorf("logship: record %q: event id is not valid UTF-8", r.ID)
	}
	src := r.JSON
	if !json.Valid(src) {
		return fmt.Errorf("logship: record %q: not valid JSON", r.ID)
	}
	src = bytes.TrimSpace(src)
	if len(src) == 0 || src[0] != '{' {
		return fmt.Errorf("logship: record %q: not a JSON object", r.ID)
	}
	start := buf.Len()
	buf.WriteString(`{"`)
	buf.WriteString(string(action))
	buf.WriteString(`":{"_index":`)
	writeJSONString(buf, index)
	if r.ID != "" {
		buf.WriteString(`,"_id":`)
		writeJSONString(buf, r.ID)
	}
	buf.WriteString("}}\n")
	if bytes.IndexByte(src, '\n') >= 0 || bytes.IndexByte(src, '\r') >= 0 {
		// Valid JSON keeps newlines only as whitespace between tokens:
		// compacting removes them.
		if err := json.Compact(buf, src); err != nil {
			buf.Truncate(start)
			return fmt.Errorf("logship: record %q: %w", r.ID, err)
		}
	} else {
		buf.Write(src)
	}
	buf.WriteByte('\n')
	return nil
}

// writeJSONString writes s as a JSON string; the fast path covers the
// names and ids that need no escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s) // a string always marshals
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}

// errBulkAnswer marks an answer that could not be read as a bulk response.
var errBulkAnswer = errors.New("malformed bulk response")

// itemResult is the part of one bulk response item read.
type itemResult struct {
	ID     *string         `json:"_id"`
	Status *int            `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// parseBulkResponse reads a bulk response body item by item and returns
// the Failures of the items sent (by their batchIndex). An answer that
// does not account for exactly the items sent, in order, with the
// expected action and _id, is an error: attributing a failure to the
// wrong record would drop one and dead-letter another.
func parseBulkResponse(body io.Reader, sent []bulkItem, action bulkAction) ([]Failure, error) {
	dec := json.NewDecoder(body)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errBulkAnswer, fmt.Sprintf(format, args...))
	}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, bad("%v", err)
	}
	var failures []Failure
	seenItems := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("%v", err)
		}
		key, _ := tok.(string)
		if key != "items" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, bad("field %q: %v", key, err)
			}
			continue
		}
		if seenItems {
			return nil, bad("two items arrays")
		}
		seenItems = true
		if err := expectDelim(dec, '['); err != nil {
			return nil, bad("items: %v", err)
		}
		n := 0
		for dec.More() {
			if n >= len(sent) {
				return nil, bad("more items than the %d documents sent", len(sent))
			}
			var item map[string]*itemResult
			if err := dec.Decode(&item); err != nil {
				return nil, bad("item %d: %v", n, err)
			}
			// Elasticsearch echoes the action sent; VictoriaLogs answers
			// "create" for every item. Either is a result for this item;
			// how to read its status is decided by what was sent.
			res, ok := item[string(actionIndex)]
			if !ok {
				res, ok = item[string(actionCreate)]
			}
			if len(item) != 1 || !ok || res == nil {
				return nil, bad("item %d: want one index or create result, got %d keys", n, len(item))
			}
			f, err := itemFailure(res, sent[n], action)
			if err != nil {
				return nil, bad("item %d: %v", n, err)
			}
			if f != nil {
				failures = append(failures, *f)
			}
			n++
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, bad("items: %v", err)
		}
		if n != len(sent) {
			return nil, bad("%d items for the %d documents sent", n, len(sent))
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, bad("%v", err)
	}
	if !seenItems {
		return nil, bad("no items")
	}
	return failures, nil
}

// itemFailure classifies one item: nil for a document stored (a 409 on
// create is one stored before), a Failure otherwise.
func itemFailure(res *itemResult, it bulkItem, action bulkAction) (*Failure, error) {
	if res.Status == nil {
		return nil, errors.New("no status")
	}
	// A store that keeps no _id (VictoriaLogs) answers without one or
	// with its own; Elasticsearch echoes ours, and one that differs means
	// the items are not in the order sent.
	if res.ID != nil && it.id != "" && *res.ID != "" && *res.ID != it.id {
		return nil, fmt.Errorf("_id %q where %q was sent", *res.ID, it.id)
	}
	status := *res.Status
	switch {
	case status >= 200 && status < 300:
		return nil, nil
	case status == http.StatusConflict && action == actionCreate:
		return nil, nil
	}
	ie := &ItemError{ID: it.id, Status: status}
	var e struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	if !isNullOrEmpty(res.Error) {
		if json.Unmarshal(res.Error, &e) == nil {
			ie.Type, ie.Reason = e.Type, e.Reason
		} else {
			// Some stores put a plain string here.
			var s string
			if json.Unmarshal(res.Error, &s) == nil {
				ie.Reason = s
			}
		}
	}
	if ie.Type == "" && ie.Reason == "" {
		ie.Reason = "status " + strconv.Itoa(status) + " with no error object"
	}
	return &Failure{Index: it.batchIndex, Err: ie, Retryable: statusRetryable(status)}, nil
}

func isNullOrEmpty(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}
