package logship

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/logship/estest"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

// esVictoriaLogs returns a go-elasticsearch client for a running
// VictoriaLogs: the client's address carries the /insert/elasticsearch
// prefix, and VictoriaLogs' VL-Msg-Field and VL-Time-Field headers name
// the ECS message and @timestamp fields (esapi.BulkRequest has no
// arbitrary query parameters, and a global header needs none).
func esVictoriaLogs(t *testing.T, v *testserver.VictoriaLogs) *elasticsearch.Client {
	t.Helper()
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:    []string{v.URL + "/insert/elasticsearch"},
		Header:       http.Header{"Vl-Msg-Field": {"message"}, "Vl-Time-Field": {"@timestamp"}},
		DisableRetry: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// esLogsQL runs a LogsQL query and returns the documents.
func esLogsQL(t *testing.T, v *testserver.VictoriaLogs, q string) []map[string]string {
	t.Helper()
	resp, err := http.PostForm(v.QueryURL(), url.Values{"query": {q}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %q: %s", q, resp.Status)
	}
	var docs []map[string]string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d map[string]string
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("query %q: %q: %v", q, sc.Text(), err)
		}
		docs = append(docs, d)
	}
	return docs
}

// TestElasticsearchSinkVictoriaLogs: ElasticsearchSink's bulk requests
// are accepted by a real log store, and the records come back from a
// LogsQL query with their fields.
func TestElasticsearchSinkVictoriaLogs(t *testing.T) {
	v := testserver.StartVictoriaLogs(t)
	es := esVictoriaLogs(t, v)
	ts := time.Now().UTC().Truncate(time.Millisecond)
	res, err := ElasticsearchSink(es, IndexOptions{}).Write(context.Background(), []Record{
		esRecord("v1", "billing", ts, "charged"), esRecord("v2", "billing", ts.Add(time.Millisecond), "declined"),
	})
	if err != nil || len(res.Failures) != 0 {
		t.Fatalf("write: %+v %v", res, err)
	}
	var got []map[string]string
	esWait(t, "2 documents in VictoriaLogs", func() bool {
		got = esLogsQL(t, v, "service.name:billing")
		return len(got) == 2
	})
	msgs := map[string]map[string]string{}
	for _, d := range got {
		msgs[d["_msg"]] = d
	}
	if d := msgs["charged"]; d == nil || d["event.id"] != "v1" || d["log.level"] != "info" || !strings.HasPrefix(d["_time"], ts.Format("2006-01-02T15:04:05")) {
		t.Fatalf("documents: %v", got)
	}
}

// TestIndexerKafkaVictoriaLogs: MQ topic on Kafka → Indexer → a real log
// store; the store keeps no templates, which Installed reports.
func TestIndexerKafkaVictoriaLogs(t *testing.T) {
	esLeakCheck(t)
	v := testserver.StartVictoriaLogs(t)
	k := testserver.StartKafka(t)
	c, err := mq.Open(context.Background(), "kafka://"+strings.Join(k.Brokers, ",")+"?session_timeout=3s&heartbeat_interval=100ms&commit_interval=100ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ix := esStartIndexer(t, c, esVictoriaLogs(t, v))
	if inst := ix.Installed(); inst.Template || inst.Policy || inst.Reason == "" {
		t.Fatalf("VictoriaLogs keeps no template or policy, Installed says %+v", inst)
	}
	ids := esIDs("k", 40)
	for _, id := range ids {
		esPublish(t, c, "logs", esRecord(id, "orders", time.Now(), "msg "+id))
	}
	esWait(t, "40 documents in VictoriaLogs", func() bool {
		return len(esLogsQL(t, v, "service.name:orders")) >= 40
	})
	seen := map[string]int{}
	for _, d := range esLogsQL(t, v, "service.name:orders") {
		seen[d["event.id"]]++
	}
	for _, id := range ids {
		if seen[id] == 0 {
			t.Fatalf("%s missing: %v", id, seen)
		}
	}
}

// TestIndexerRedis: MQ topic on Redis Streams → Indexer → the double,
// through a store outage: every event stored once by _id.
func TestIndexerRedis(t *testing.T) {
	esLeakCheck(t)
	r := testserver.StartRedis(t, nil)
	c, err := mq.Open(context.Background(), r.URL+"?block=100ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := estest.New(t, nil)
	es, err := d.Client()
	if err != nil {
		t.Fatal(err)
	}
	esStartIndexer(t, c, es)
	d.FailBulk(503, 429)
	d.Drop(1) // stored, but the answer is lost: redelivered, same _id
	for i := range 50 {
		esPublish(t, c, "logs", esRecord(fmt.Sprintf("r-%02d", i), "pay", time.Now(), "m"))
	}
	esWait(t, "50 documents", func() bool { return d.Count("logs-pay-*") == 50 })
}
