package logship

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/groundwork-go/groundwork/logship/estest"
)

// esTarget is a store the Elasticsearch tests run against: the in-process
// double (faults can be staged) or, when GROUNDWORK_ES_URL is set, a real
// cluster too (double is nil: fault tests skip it).
type esTarget struct {
	name   string
	es     *elasticsearch.Client
	double *estest.Server
	prefix string // index names are unique per test on a shared cluster
}

func esTargets(t *testing.T) []esTarget {
	t.Helper()
	d := estest.New(t, nil)
	c, err := d.Client()
	if err != nil {
		t.Fatal(err)
	}
	out := []esTarget{{name: "double", es: c, double: d, prefix: "logs"}}
	if url := os.Getenv("GROUNDWORK_ES_URL"); url != "" {
		rc, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}, DisableRetry: true})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, esTarget{name: "real", es: rc, prefix: fmt.Sprintf("gwtest%d", time.Now().UnixNano())})
	}
	return out
}

// esCount is the number of documents in indices matching pattern, read
// through the _count API (after a refresh on a real cluster).
func esCount(t *testing.T, es *elasticsearch.Client, pattern string) int {
	t.Helper()
	ctx := context.Background()
	if r, err := es.Indices.Refresh(es.Indices.Refresh.WithIndex(pattern), es.Indices.Refresh.WithContext(ctx)); err == nil {
		r.Body.Close()
	}
	res, err := es.Count(es.Count.WithIndex(pattern), es.Count.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == 404 {
		return 0
	}
	var c struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		t.Fatalf("count %s: %s: %v", pattern, res.Status(), err)
	}
	return c.Count
}

// esRecord is a record as the Handler would encode it.
func esRecord(id, service string, ts time.Time, msg string) Record {
	doc := map[string]any{
		"@timestamp": ts.UTC().Format(time.RFC3339Nano),
		"message":    msg,
		"log":        map[string]any{"level": "info"},
		"service":    map[string]any{"name": service},
		"event":      map[string]any{"id": id},
	}
	b, _ := json.Marshal(doc)
	return Record{ID: id, Service: service, Time: ts, JSON: b}
}

// esWait polls cond until it holds, failing after a generous deadline;
// it asserts an outcome, not a duration.
func esWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s still waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func esIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}

func esPutTemplate(name, body string) esRequest {
	return esapi.IndicesPutIndexTemplateRequest{Name: name, Body: strings.NewReader(body)}
}
