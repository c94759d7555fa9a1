package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// deadline bounds each wait for the pipeline to have carried every
// record: generous, since a wait ends as soon as the records are there.
const deadline = time.Minute

// waitFor calls done until it reports true, its error, or deadline.
func waitFor(ctx context.Context, what string, done func() (bool, error)) error {
	end := time.Now().Add(deadline)
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if time.Now().After(end) {
			return fmt.Errorf("%s: not done within %v", what, deadline)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// esCall runs an Elasticsearch API call and decodes its JSON answer
// into v, making a non-2xx answer an error.
func esCall(ctx context.Context, es *elasticsearch.Client, req esapi.Request, v any) error {
	res, err := req.Do(ctx, es)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.IsError() {
		return fmt.Errorf("elasticsearch: %s: %s", res.Status(), body)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(body, v)
}

// count is the number of searchable documents in indices matching
// pattern. It refreshes them first: a real cluster makes documents
// searchable only at its next refresh (every 30s with the template).
func count(ctx context.Context, es *elasticsearch.Client, pattern string) (int, error) {
	if err := esCall(ctx, es, esapi.IndicesRefreshRequest{Index: []string{pattern}}, nil); err != nil {
		return 0, err
	}
	var c struct {
		Count int `json:"count"`
	}
	err := esCall(ctx, es, esapi.CountRequest{Index: []string{pattern}}, &c)
	return c.Count, err
}

// document is a stored ECS document, its fields by their dotted names.
type document map[string]any

// str is the field's value as text ("" when absent). ECS allows both
// {"error.message": ...} and {"error": {"message": ...}}: a dotted name
// is looked up both ways.
func (d document) str(field string) string {
	if v, ok := d[field]; ok {
		return fmt.Sprint(v)
	}
	if head, rest, ok := strings.Cut(field, "."); ok {
		if m, ok := d[head].(map[string]any); ok {
			return document(m).str(rest)
		}
	}
	return ""
}

// documents returns up to n documents of the indices matching pattern,
// in @timestamp order, then by event id.
func documents(ctx context.Context, es *elasticsearch.Client, pattern string, n int) ([]document, error) {
	var r struct {
		Hits struct {
			Hits []struct {
				Source document `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := esCall(ctx, es, esapi.SearchRequest{Index: []string{pattern}, Size: &n}, &r); err != nil {
		return nil, err
	}
	docs := make([]document, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		docs = append(docs, h.Source)
	}
	sort.SliceStable(docs, func(i, j int) bool {
		if a, b := docs[i].str("@timestamp"), docs[j].str("@timestamp"); a != b {
			return a < b
		}
		return docs[i].str("event.id") < docs[j].str("event.id")
	})
	return docs, nil
}

// collect drains a sequence of records or errors into a slice, stopping
// at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
