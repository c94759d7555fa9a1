package testserver

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestVictoriaLogsBulkAndQuery: documents posted to the Elasticsearch bulk
// endpoint come back from a LogsQL query, with their fields.
func TestVictoriaLogsBulkAndQuery(t *testing.T) {
	v := StartVictoriaLogs(t)
	body := `{"create":{"_index":"logs-billing"}}
{"@timestamp":"2026-11-30T10:00:00Z","message":"charged","log":{"level":"info"},"service":{"name":"billing"}}
{"create":{"_index":"logs-billing"}}
{"@timestamp":"2026-11-30T10:00:01Z","message":"declined","log":{"level":"error"},"service":{"name":"billing"}}
`
	resp, err := http.Post(v.BulkURL(), "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var bulk struct {
		Errors bool `json:"errors"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(answer, &bulk) != nil || bulk.Errors {
		t.Fatalf("bulk: %s %s", resp.Status, answer)
	}
	// Ingested documents become searchable after the store's flush: ask
	// until both are there (the deadline is generous; no fixed wait).
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := query(t, v, "service.name:billing")
		if len(got) == 2 {
			levels := map[string]string{}
			for _, d := range got {
				levels[d["_msg"]] = d["log.level"]
			}
			if levels["charged"] != "info" || levels["declined"] != "error" {
				t.Fatalf("documents read back: %v", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the query finds %d documents, want 2: %v", len(got), got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query runs a LogsQL query and returns the documents, one map each.
func query(t *testing.T, v *VictoriaLogs, q string) []map[string]string {
	t.Helper()
	resp, err := http.PostForm(v.QueryURL(), url.Values{"query": {q}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("query %q: %s %s", q, resp.Status, b)
	}
	var docs []map[string]string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var d map[string]string
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("query %q: line %q: %v", q, sc.Text(), err)
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}
