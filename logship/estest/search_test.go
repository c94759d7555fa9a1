package estest_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/groundwork-go/groundwork/logship/estest"
)

// TestSearch reads documents back the way code written for a real
// cluster does: refresh, then search (as match_all) with a size.
func TestSearch(t *testing.T) {
	srv := estest.New(t, nil)
	es, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	do := func(req esapi.Request) (int, string) {
		t.Helper()
		res, err := req.Do(ctx, es)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	body := `{"index":{"_index":"logs-b","_id":"2"}}
{"n":2}
{"index":{"_index":"logs-a","_id":"1"}}
{"n":1}
{"index":{"_index":"other","_id":"3"}}
{"n":3}
`
	if code, b := do(esapi.BulkRequest{Body: strings.NewReader(body)}); code != 200 {
		t.Fatalf("bulk: %d %s", code, b)
	}
	if code, b := do(esapi.IndicesRefreshRequest{Index: []string{"logs-*"}}); code != 200 {
		t.Fatalf("refresh: %d %s", code, b)
	}
	if code, b := do(esapi.IndicesRefreshRequest{}); code != 200 {
		t.Fatalf("refresh of all: %d %s", code, b)
	}
	size := 1
	code, b := do(esapi.SearchRequest{Index: []string{"logs-*"}, Size: &size})
	if code != 200 {
		t.Fatalf("search: %d %s", code, b)
	}
	var r struct {
		Hits struct {
			Total struct{ Value int }
			Hits  []struct {
				Index  string          `json:"_index"`
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			}
		}
	}
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		t.Fatal(err)
	}
	if r.Hits.Total.Value != 2 || len(r.Hits.Hits) != 1 || r.Hits.Hits[0].ID != "1" || string(r.Hits.Hits[0].Source) != `{"n":1}` {
		t.Errorf("search logs-* size 1 = %s, want 2 in total, the hit logs-a/1", b)
	}
	if code, b := do(esapi.SearchRequest{Index: []string{"logs-*"}, Size: new(-1)}); code != 400 {
		t.Errorf("size -1: %d %s, want 400", code, b)
	}
}
