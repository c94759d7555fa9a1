// Package estest is an in-process Elasticsearch test double: an
// httptest server speaking the parts of the REST API that logship uses —
// _bulk (index and create, _id, data streams with 409 on a duplicate
// create), _index_template, _ilm/policy, _data_stream, {index}/_count,
// {index}/_search (every query taken as match_all) and _refresh (a no-op) —
// with the product header go-elasticsearch v8 checks, and faults a test
// injects: whole requests answered 429 or 503, chosen documents answered
// 429, 500 or a mapping error, malformed answers, dropped connections, a
// server that is down.
//
// It is test support, not an Elasticsearch: no queries (a search returns
// every document, sorted by index and _id), no mappings applied, no
// persistence beyond the Server value.
package estest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/elastic/go-elasticsearch/v8"
)

// Server is a running double. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port.
	URL string

	srv *httptest.Server

	mu          sync.Mutex
	indices     map[string]map[string]json.RawMessage // index → _id → source
	streams     map[string]bool                       // data streams created
	templates   map[string]json.RawMessage
	policies    map[string]json.RawMessage
	noTemplates bool

	bulks, bulkDocs    int
	failBulks          []int // statuses for the next bulk requests
	malformed, dropped int   // next bulk requests answered garbage / cut
	hung               int   // next bulk requests never answered (< 0: all)
	released           chan struct{}
	down               bool
	docFaults          map[string]*docFault
}

type docFault struct {
	status       int
	typ, reason  string
	times, count int // times < 0: for ever
}

// Options configure a Server; the zero value is a store with every API.
type Options struct {
	// NoTemplates makes _index_template, _ilm/policy and _data_stream
	// answer 404, as a store without them does.
	NoTemplates bool
}

// New starts a Server, closed by t's Cleanup when t is given (Close it
// yourself otherwise).
func New(t interface{ Cleanup(func()) }, o *Options) *Server {
	s := &Server{
		indices:   map[string]map[string]json.RawMessage{},
		streams:   map[string]bool{},
		templates: map[string]json.RawMessage{},
		policies:  map[string]json.RawMessage{},
		docFaults: map[string]*docFault{},
		released:  make(chan struct{}),
	}
	if o != nil {
		s.noTemplates = o.NoTemplates
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.released:
	default:
		close(s.released) // hung requests end, so that Close does not wait for them
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Client returns a go-elasticsearch client for the server, with the
// client's own retries off (logship retries).
func (s *Server) Client() (*elasticsearch.Client, error) {
	return elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{s.URL}, DisableRetry: true})
}

// FailBulk answers the next len(statuses) bulk requests with these
// statuses (429, 503, 400 ...) as whole requests, storing nothing.
func (s *Server) FailBulk(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failBulks = append(s.failBulks, statuses...)
}

// FailDocument answers the document with this _id with an item status
// (429, 500, 400 ...) and error type and reason, the next times it is
// sent (times < 0: every time), storing nothing for it.
func (s *Server) FailDocument(id string, status int, errType, reason string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docFaults[id] = &docFault{status: status, typ: errType, reason: reason, times: times}
}

// Malform answers the next n bulk requests with a 200 whose body is not a
// bulk response — after storing their documents, as a store whose answer
// was mangled on the way.
func (s *Server) Malform(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.malformed += n
}

// Drop closes the connection of the next n bulk requests without an
// answer — after storing their documents, as a crash after the write.
func (s *Server) Drop(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropped += n
}

// Hang leaves the next n bulk requests (n < 0: every one) unanswered,
// storing nothing, until the client gives up or the server is closed: a
// store that accepts a connection and never answers (stopped, or a
// half-open connection).
func (s *Server) Hang(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hung = n
}

// SetDown makes the server cut every connection without an answer (down
// is true) or serve again, with what it stored before (false): a store
// killed and restarted.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Docs returns a copy of the documents of an index or data stream, by _id.
func (s *Server) Docs(index string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]json.RawMessage, len(s.indices[index]))
	for id, d := range s.indices[index] {
		out[id] = d
	}
	return out
}

// Count is the number of documents in indices whose names match pattern
// (path.Match syntax: "logs-*").
func (s *Server) Count(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for name, docs := range s.indices {
		if ok, _ := path.Match(pattern, name); ok {
			n += len(docs)
		}
	}
	return n
}

// Indices lists the indices and data streams holding documents, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.indices {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// IsDataStream reports whether name was created as a data stream.
func (s *Server) IsDataStream(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[name]
}

// Template and Policy return what was PUT under name, nil if nothing.
func (s *Server) Template(name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.templates[name]
}

// Policy returns the ILM policy PUT under name, nil if none.
func (s *Server) Policy(name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policies[name]
}

// Bulks is the number of bulk requests received and the documents they
// carried (faulted ones included).
func (s *Server) Bulks() (requests, docs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bulks, s.bulkDocs
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		cut(w)
		return
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	p := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(p, "/")
	switch {
	case p == "":
		writeJSON(w, 200, map[string]any{"name": "estest", "cluster_name": "estest", "version": map[string]any{"number": "8.19.7"}, "tagline": "You Know, for Search"})
	case p == "_bulk" && r.Method == http.MethodPost:
		s.bulk(w, r)
	case len(parts) == 2 && parts[0] == "_index_template":
		s.stored(w, r, s.templates, parts[1], "index_templates", "index_template")
	case len(parts) == 3 && parts[0] == "_ilm" && parts[1] == "policy":
		s.stored(w, r, s.policies, parts[2], "", "policy")
	case len(parts) == 2 && parts[0] == "_data_stream":
		s.dataStream(w, r, parts[1])
	case len(parts) == 2 && parts[1] == "_count":
		writeJSON(w, 200, map[string]any{"count": s.Count(parts[0])})
	case len(parts) == 2 && parts[1] == "_search":
		s.search(w, r, parts[0])
	case parts[len(parts)-1] == "_refresh" && len(parts) <= 2:
		s.refresh(w)
	default:
		writeJSON(w, 404, errorBody("illegal_argument_exception", "estest: no handler for "+r.Method+" "+r.URL.Path))
	}
}

// stored serves PUT and GET of a named JSON document (a template, a
// policy). ES answers GET of a template as {"index_templates":[{name,
// index_template}]} and of a policy as {name: {policy: ...}}.
func (s *Server) stored(w http.ResponseWriter, r *http.Request, m map[string]json.RawMessage, name, listKey, itemKey string) {
	if s.noTemplates {
		writeJSON(w, 404, errorBody("illegal_argument_exception", "estest: templates and ILM disabled"))
		return
	}
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		body, err := io.ReadAll(r.Body)
		if err != nil || !json.Valid(body) {
			writeJSON(w, 400, errorBody("parse_exception", "request body is not JSON"))
			return
		}
		s.mu.Lock()
		m[name] = body
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case http.MethodGet:
		s.mu.Lock()
		doc, ok := m[name]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, 404, errorBody("resource_not_found_exception", name+" not found"))
			return
		}
		if listKey != "" {
			writeJSON(w, 200, map[string]any{listKey: []any{map[string]any{"name": name, itemKey: doc}}})
		} else {
			var inner map[string]json.RawMessage
			_ = json.Unmarshal(doc, &inner)
			writeJSON(w, 200, map[string]any{name: map[string]any{"version": 1, itemKey: inner[itemKey]}})
		}
	default:
		writeJSON(w, 405, errorBody("method_not_allowed", r.Method))
	}
}

func (s *Server) dataStream(w http.ResponseWriter, r *http.Request, name string) {
	if s.noTemplates {
		writeJSON(w, 404, errorBody("illegal_argument_exception", "estest: data streams disabled"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		s.streams[name] = true
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case http.MethodGet:
		if !s.streams[name] {
			writeJSON(w, 404, errorBody("index_not_found_exception", "no such index ["+name+"]"))
			return
		}
		writeJSON(w, 200, map[string]any{"data_streams": []any{map[string]any{"name": name}}})
	default:
		writeJSON(w, 405, errorBody("method_not_allowed", r.Method))
	}
}

// streamTemplate reports whether a template with data_stream matches
// name; s.mu is held.
func (s *Server) streamTemplate(name string) bool {
	for _, raw := range s.templates {
		var t struct {
			Patterns   []string        `json:"index_patterns"`
			DataStream json.RawMessage `json:"data_stream"`
		}
		if json.Unmarshal(raw, &t) != nil || t.DataStream == nil {
			continue
		}
		for _, p := range t.Patterns {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
	}
	return false
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulks++
	if s.hung != 0 {
		if s.hung > 0 {
			s.hung--
		}
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-s.released:
		}
		s.mu.Lock()
		cut(w)
		return
	}
	if len(s.failBulks) > 0 {
		status := s.failBulks[0]
		s.failBulks = s.failBulks[1:]
		writeJSON(w, status, errorBody("estest_injected", fmt.Sprintf("injected status %d", status)))
		return
	}
	type item map[string]map[string]any
	var items []item
	hasErrors := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 100<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(line, &action); err != nil || len(action) != 1 {
			writeJSON(w, 400, errorBody("illegal_argument_exception", "Malformed action/metadata line"))
			return
		}
		if !sc.Scan() {
			writeJSON(w, 400, errorBody("illegal_argument_exception", "The bulk request must be terminated by a newline"))
			return
		}
		src := append(json.RawMessage(nil), sc.Bytes()...)
		s.bulkDocs++
		for op, meta := range action {
			res := map[string]any{"_index": meta.Index, "_id": meta.ID}
			status, errType, reason := s.apply(op, meta.Index, meta.ID, src)
			res["status"] = status
			if errType != "" {
				hasErrors = true
				res["error"] = map[string]any{"type": errType, "reason": reason}
			}
			items = append(items, item{op: res})
		}
	}
	if s.dropped > 0 {
		s.dropped--
		cut(w)
		return
	}
	if s.malformed > 0 {
		s.malformed--
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"took":1,"errors":false,"items":[{"index":`))
		return
	}
	writeJSON(w, 200, map[string]any{"took": 1, "errors": hasErrors, "items": items})
}

// apply stores one document; s.mu is held.
func (s *Server) apply(op, index, id string, src json.RawMessage) (status int, errType, reason string) {
	if f := s.docFaults[id]; f != nil && id != "" && (f.times < 0 || f.count < f.times) {
		f.count++
		return f.status, f.typ, f.reason
	}
	if index == "" {
		return 400, "action_request_validation_exception", "index is missing"
	}
	if !json.Valid(src) || len(src) == 0 || src[0] != '{' {
		return 400, "document_parsing_exception", "failed to parse: not a JSON object"
	}
	stream := s.streams[index] || s.streamTemplate(index)
	if stream && op != "create" {
		return 400, "illegal_argument_exception", "only write ops with an op_type of create are allowed in data streams"
	}
	if stream {
		s.streams[index] = true
		var ts struct {
			T *string `json:"@timestamp"`
		}
		if json.Unmarshal(src, &ts) != nil || ts.T == nil {
			return 400, "document_parsing_exception", "data stream timestamp field [@timestamp] is missing"
		}
	}
	docs := s.indices[index]
	if docs == nil {
		docs = map[string]json.RawMessage{}
		s.indices[index] = docs
	}
	if id == "" {
		id = fmt.Sprintf("auto-%d", len(docs))
	}
	switch op {
	case "index":
		_, existed := docs[id]
		docs[id] = src
		if existed {
			return 200, "", ""
		}
		return 201, "", ""
	case "create":
		if _, ok := docs[id]; ok {
			return 409, "version_conflict_engine_exception", "[" + id + "]: version conflict, document already exists"
		}
		docs[id] = src
		return 201, "", ""
	default:
		return 400, "illegal_argument_exception", "estest: unsupported action " + op
	}
}

func errorBody(typ, reason string) map[string]any {
	return map[string]any{"error": map[string]any{"type": typ, "reason": reason}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// cut closes the connection without an answer.
func cut(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
