package estest

import (
	"net/http"
	"path"
	"sort"
	"strconv"
)

// search answers {pattern}/_search as match_all, whatever the query
// says: the hits of the indices matching pattern, sorted by index then
// _id, at most ?size= of them (10 by default, as Elasticsearch). It is
// enough to read documents back (an example, a test against either
// this double or a real cluster); no query, sort or mapping is applied.
func (s *Server) search(w http.ResponseWriter, r *http.Request, pattern string) {
	size := 10
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSON(w, 400, errorBody("illegal_argument_exception", "estest: bad size "+strconv.Quote(v)))
			return
		}
		size = n
	}
	type hit struct {
		Index  string `json:"_index"`
		ID     string `json:"_id"`
		Source any    `json:"_source"`
	}
	var hits []hit
	s.mu.Lock()
	for name, docs := range s.indices {
		if ok, _ := path.Match(pattern, name); !ok {
			continue
		}
		for id, src := range docs {
			hits = append(hits, hit{Index: name, ID: id, Source: src})
		}
	}
	s.mu.Unlock()
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Index != hits[j].Index {
			return hits[i].Index < hits[j].Index
		}
		return hits[i].ID < hits[j].ID
	})
	total := len(hits)
	if len(hits) > size {
		hits = hits[:size]
	}
	writeJSON(w, 200, map[string]any{
		"took": 1, "timed_out": false,
		"hits": map[string]any{"total": map[string]any{"value": total, "relation": "eq"}, "hits": hits},
	})
}

// refresh answers _refresh: documents are searchable at once here, so
// there is nothing to do, but code written for a real cluster calls it.
func (s *Server) refresh(w http.ResponseWriter) {
	writeJSON(w, 200, map[string]any{"_shards": map[string]any{"total": 1, "successful": 1, "failed": 0}})
}
