package logship

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func esSent(ids ...string) []bulkItem {
	out := make([]bulkItem, len(ids))
	for i, id := range ids {
		out[i] = bulkItem{batchIndex: i, id: id}
	}
	return out
}

// TestParseBulkResponse: items are classified one by one, and an answer
// that does not match what was sent is an error, never a misattribution.
func TestParseBulkResponse(t *testing.T) {
	const ok = `{"took":3,"errors":true,"items":[
		{"create":{"_index":"s","_id":"a","status":201}},
		{"create":{"_index":"s","_id":"b","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
		{"create":{"_index":"s","_id":"c","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
		{"create":{"_index":"s","_id":"d","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}},
		{"create":{"_index":"s","_id":"e","status":503,"error":{"type":"unavailable_shards_exception","reason":"no shard"}}}]}`
	fs, err := parseBulkResponse(strings.NewReader(ok), esSent("a", "b", "c", "d", "e"), actionCreate)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 || fs[0].Index != 2 || !fs[0].Retryable || fs[1].Index != 3 || fs[1].Retryable || fs[2].Index != 4 || !fs[2].Retryable {
		t.Fatalf("failures: %+v", fs)
	}
	var ie *ItemError
	if !errors.As(fs[1].Err, &ie) || ie.Type != "mapper_parsing_exception" || ie.Reason != "failed to parse field [x]" || ie.ID != "d" {
		t.Fatalf("mapping failure: %v", fs[1].Err)
	}
	// 409 on index (not create) is a failure, not a success.
	fs, err = parseBulkResponse(strings.NewReader(`{"items":[{"index":{"_id":"a","status":409}}]}`), esSent("a"), actionIndex)
	if err != nil || len(fs) != 1 || fs[0].Retryable {
		t.Fatalf("409 on index: %+v %v", fs, err)
	}

	bad := map[string]string{
		"fewer items":    `{"items":[{"create":{"_id":"a","status":201}}]}`,
		"more items":     `{"items":[{"create":{"_id":"a","status":201}},{"create":{"_id":"b","status":201}},{"create":{"_id":"c","status":201}}]}`,
		"unknown action": `{"items":[{"update":{"_id":"a","status":201}},{"create":{"_id":"b","status":201}}]}`,
		"two actions":    `{"items":[{"create":{"_id":"a","status":201},"index":{"_id":"a","status":201}},{"create":{"_id":"b","status":201}}]}`,
		"no status":      `{"items":[{"create":{"_id":"a"}},{"create":{"_id":"b","status":201}}]}`,
		"swapped ids":    `{"items":[{"create":{"_id":"b","status":201}},{"create":{"_id":"a","status":400}}]}`,
		"truncated":      `{"items":[{"create":{"_id":"a","status":201}},`,
		"not json":       `<html>bad gateway</html>`,
		"no items":       `{"took":1,"errors":false}`,
		"items twice":    `{"items":[{"create":{"_id":"a","status":201}},{"create":{"_id":"b","status":201}}],"items":[]}`,
		"items not list": `{"items":{}}`,
		"null item":      `{"items":[null,{"create":{"_id":"b","status":201}}]}`,
	}
	for name, body := range bad {
		if fs, err := parseBulkResponse(strings.NewReader(body), esSent("a", "b"), actionCreate); err == nil || !errors.Is(err, errBulkAnswer) {
			t.Errorf("%s: got %+v, %v; want a malformed-answer error", name, fs, err)
		}
	}
	// A store that keeps no _id answers without one: read by position.
	fs, err = parseBulkResponse(strings.NewReader(`{"errors":false,"items":[{"create":{"status":201}},{"create":{"_id":"","status":201}}]}`), esSent("a", "b"), actionCreate)
	if err != nil || len(fs) != 0 {
		t.Fatalf("no _id in the answer: %+v %v", fs, err)
	}
}

// TestAppendBulk: a record whose JSON would break the NDJSON framing is
// compacted or refused; ids and index names are escaped.
func TestAppendBulk(t *testing.T) {
	var buf bytes.Buffer
	if err := appendBulk(&buf, actionIndex, "logs-x", Record{ID: `a"b`, JSON: []byte("{\n\"m\": \"x\"\n}")}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || lines[0] != `{"index":{"_index":"logs-x","_id":"a\"b"}}` || lines[1] != `{"m":"x"}` {
		t.Fatalf("bulk lines: %q", lines)
	}
	for _, bad := range []string{"", "[1]", "{\"a\":1}\n{\"index\":{}}", "{", "\"s\""} {
		buf.Reset()
		if err := appendBulk(&buf, actionIndex, "i", Record{ID: "x", JSON: []byte(bad)}); err == nil || buf.Len() != 0 {
			t.Errorf("%q: err %v, wrote %q", bad, err, buf.String())
		}
	}
}

// TestIndexPattern: daily names per service, sanitised; bad patterns are
// refused with ErrInvalid.
func TestIndexPattern(t *testing.T) {
	tg, err := compileIndex(IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 30, 23, 30, 0, 0, time.FixedZone("x", -3600))
	if got := tg.name(Record{Service: "Billing API/v2", Time: ts}, time.Time{}); got != "logs-billing-api-v2-2026.12.01" {
		t.Fatalf("name %q", got)
	}
	if got := tg.name(Record{}, ts); got != "logs-unknown-2026.12.01" {
		t.Fatalf("no service, no time: %q", got)
	}
	if w := tg.wildcard(); w != "logs-*-*" {
		t.Fatalf("wildcard %q", w)
	}
	ds, err := compileIndex(IndexOptions{DataStream: "logs-{service}-default"})
	if err != nil || ds.action != actionCreate || ds.name(Record{Service: "a"}, ts) != "logs-a-default" {
		t.Fatalf("data stream: %v %+v", err, ds)
	}
	for _, o := range []IndexOptions{
		{Index: "a", DataStream: "b"}, {Index: "Logs-{service}"}, {Index: "logs-{service"}, {Index: "logs-{}"},
		{DataStream: "logs-{2006}"}, {Index: "_x"}, {Index: "a b"}, {Refresh: "sometimes"},
	} {
		if _, err := compileIndex(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", o, err)
		}
	}
}

// FuzzParseBulkResponse: any answer gives failures within range, in
// order, or an error; never a panic.
func FuzzParseBulkResponse(f *testing.F) {
	f.Add(`{"items":[{"create":{"_id":"a","status":201}},{"create":{"_id":"b","status":429,"error":{"type":"x","reason":"y"}}}]}`, 2)
	f.Add(`{"items":[{"index":{"_id":"a","status":400,"error":"plain"}}]}`, 1)
	f.Add(`{"items":[]}`, 0)
	f.Add(`{"errors":true,"items":[{"create":{"status":500}}]}`, 3)
	f.Fuzz(func(t *testing.T, body string, n int) {
		n = min(max(n, 0), 64)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = string(rune('a' + i%26))
		}
		for _, action := range []bulkAction{actionCreate, actionIndex} {
			fs, err := parseBulkResponse(strings.NewReader(body), esSent(ids...), action)
			if err != nil {
				if fs != nil {
					t.Fatalf("failures with an error: %+v", fs)
				}
				continue
			}
			last := -1
			for _, f := range fs {
				if f.Index <= last || f.Index >= n || f.Err == nil {
					t.Fatalf("failure out of range or order: %+v of %d", f, n)
				}
				last = f.Index
			}
			_ = json.Valid([]byte(body))
		}
	})
}
