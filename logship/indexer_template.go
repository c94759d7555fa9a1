package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// TemplateOptions is the index template and ILM policy the Indexer
// installs at Start. The zero value of each field takes the default named
// in its comment (the settings issue 18 asks for).
type TemplateOptions struct {
	// Name names the template and the policy. Default "logship".
	Name string
	// Shards is index.number_of_shards. Default 3.
	Shards int
	// Replicas is index.number_of_replicas. Default 1; NoReplicas makes
	// it 0 (a one-node cluster).
	Replicas   int
	NoReplicas bool
	// RefreshInterval is index.refresh_interval. Default 30s.
	RefreshInterval time.Duration
	// WarmAfter is the age at which an index enters the warm phase
	// (forcemerged to one segment, lower priority). Default 7 days.
	WarmAfter time.Duration
	// DeleteAfter is the age at which an index is deleted. Default 90 days.
	DeleteAfter time.Duration
	// RolloverAge and RolloverSize roll a data stream's write index over
	// (hot phase); they apply to data streams only, as daily indices roll
	// by name. Defaults 1 day and 50gb.
	RolloverAge  time.Duration
	RolloverSize string
}

func (t TemplateOptions) withDefaults() TemplateOptions {
	if t.Name == "" {
		t.Name = "logship"
	}
	if t.Shards == 0 {
		t.Shards = 3
	}
	if t.Replicas == 0 && !t.NoReplicas {
		t.Replicas = 1
	}
	if t.RefreshInterval == 0 {
		t.RefreshInterval = 30 * time.Second
	}
	if t.WarmAfter == 0 {
		t.WarmAfter = 7 * 24 * time.Hour
	}
	if t.DeleteAfter == 0 {
		t.DeleteAfter = 90 * 24 * time.Hour
	}
	if t.RolloverAge == 0 {
		t.RolloverAge = 24 * time.Hour
	}
	if t.RolloverSize == "" {
		t.RolloverSize = "50gb"
	}
	return t
}

func (t TemplateOptions) validate() error {
	switch {
	case t.Shards < 0 || t.Replicas < 0:
		return fmt.Errorf("%w: TemplateOptions: negative Shards %d or Replicas %d", ErrInvalid, t.Shards, t.Replicas)
	case t.RefreshInterval < 0 || t.WarmAfter < 0 || t.DeleteAfter < 0 || t.RolloverAge < 0:
		return fmt.Errorf("%w: TemplateOptions: negative duration", ErrInvalid)
	case t.DeleteAfter != 0 && t.WarmAfter != 0 && t.DeleteAfter <= t.WarmAfter:
		return fmt.Errorf("%w: TemplateOptions: DeleteAfter %v is not after WarmAfter %v", ErrInvalid, t.DeleteAfter, t.WarmAfter)
	}
	return nil
}

// Installation says what the Indexer's Start installed.
type Installation struct {
	// Template and Policy are true when the store holds them after Start
	// (read back, not merely acknowledged: a log store that answers {} to
	// any PUT does not count).
	Template, Policy bool
	// Reason says why one is missing ("" when both are there, or when
	// WithIndexerTemplate(nil) turned installing off).
	Reason string
}

// esDuration is d in the units ES accepts ("30s", "7d").
func esDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

// policyBody is the ILM policy: hot (rollover for data streams) → warm →
// delete, by age.
func policyBody(t TemplateOptions, dataStream bool) []byte {
	hot := map[string]any{"set_priority": map[string]any{"priority": 100}}
	if dataStream {
		hot["rollover"] = map[string]any{"max_age": esDuration(t.RolloverAge), "max_primary_shard_size": t.RolloverSize}
	}
	b, _ := json.Marshal(map[string]any{"policy": map[string]any{"phases": map[string]any{
		"hot":    map[string]any{"min_age": "0ms", "actions": hot},
		"warm":   map[string]any{"min_age": esDuration(t.WarmAfter), "actions": map[string]any{"set_priority": map[string]any{"priority": 50}, "forcemerge": map[string]any{"max_num_segments": 1}}},
		"delete": map[string]any{"min_age": esDuration(t.DeleteAfter), "actions": map[string]any{"delete": map[string]any{}}},
	}}})
	return b
}

// templateBody is the index template: the settings, the ILM policy, and
// mappings for the ECS fields the Handler writes.
func templateBody(t TemplateOptions, pattern string, dataStream bool) []byte {
	kw := map[string]any{"type": "keyword"}
	text := map[string]any{"type": "text"}
	body := map[string]any{
		"index_patterns": []string{pattern},
		"priority":       200, // above Elasticsearch's built-in logs-*-* (100)
		"template": map[string]any{
			"settings": map[string]any{
				"index.number_of_shards":   t.Shards,
				"index.number_of_replicas": t.Replicas,
				"index.refresh_interval":   esDuration(t.RefreshInterval),
				"index.lifecycle.name":     t.Name,
			},
			"mappings": map[string]any{"properties": map[string]any{
				"@timestamp":          map[string]any{"type": "date"},
				"message":             text,
				"log.level":           kw,
				"log.logger":          kw,
				"service.name":        kw,
				"service.version":     kw,
				"service.environment": kw,
				"event.id":            kw,
				"event.dataset":       kw,
				"trace.id":            kw,
				"span.id":             kw,
				"error.type":          kw,
				"error.message":       text,
				"error.stack_trace":   map[string]any{"type": "text", "index": false},
			}},
		},
		"_meta": map[string]any{"managed_by": "groundwork logship"},
	}
	if dataStream {
		body["data_stream"] = map[string]any{}
	}
	b, _ := json.Marshal(body)
	return b
}

// install puts the ILM policy and the index template, and reads each
// back to see whether the store really keeps them.
func install(ctx context.Context, es *elasticsearch.Client, t TemplateOptions, target *indexTarget) Installation {
	var inst Installation
	dataStream := target.action == actionCreate
	var reasons []string
	if err := esPut(ctx, es, esapi.ILMPutLifecycleRequest{Policy: t.Name, Body: bytes.NewReader(policyBody(t, dataStream))}); err != nil {
		reasons = append(reasons, "ILM policy: "+err.Error())
	} else if ok, err := esHas(ctx, es, esapi.ILMGetLifecycleRequest{Policy: t.Name}, func(b []byte) bool {
		var m map[string]json.RawMessage
		return json.Unmarshal(b, &m) == nil && m[t.Name] != nil
	}); !ok {
		reasons = append(reasons, fmt.Sprintf("ILM policy %q not kept by the store (%v)", t.Name, err))
	} else {
		inst.Policy = true
	}
	if err := esPut(ctx, es, esapi.IndicesPutIndexTemplateRequest{Name: t.Name, Body: bytes.NewReader(templateBody(t, target.wildcard(), dataStream))}); err != nil {
		reasons = append(reasons, "index template: "+err.Error())
	} else if ok, err := esHas(ctx, es, esapi.IndicesGetIndexTemplateRequest{Name: t.Name}, func(b []byte) bool {
		var m struct {
			Templates []struct {
				Name string `json:"name"`
			} `json:"index_templates"`
		}
		if json.Unmarshal(b, &m) != nil {
			return false
		}
		for _, x := range m.Templates {
			if x.Name == t.Name {
				return true
			}
		}
		return false
	}); !ok {
		reasons = append(reasons, fmt.Sprintf("index template %q not kept by the store (%v)", t.Name, err))
	} else {
		inst.Template = true
	}
	for i, r := range reasons {
		if i > 0 {
			inst.Reason += "; "
		}
		inst.Reason += r
	}
	return inst
}

type esRequest interface {
	Do(context.Context, esapi.Transport) (*esapi.Response, error)
}

func esPut(ctx context.Context, es *elasticsearch.Client, req esRequest) error {
	res, err := req.Do(ctx, es)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("status %d: %s", res.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

func esHas(ctx context.Context, es *elasticsearch.Client, req esRequest, has func([]byte) bool) (bool, error) {
	res, err := req.Do(ctx, es)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return false, err
	}
	if res.IsError() {
		return false, fmt.Errorf("read back: status %d", res.StatusCode)
	}
	if !has(body) {
		return false, fmt.Errorf("read back: %.100s", body)
	}
	return true, nil
}
