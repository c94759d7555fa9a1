package logship

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"unsafe"
)

// Name rules inside values: a map or struct attribute is written as the
// JSON encoding/json makes of it, and its keys ({"password": …}) are
// attribute names to the reader of the log as much as slog's are. The
// name rules apply to them: a value whose JSON has a key a name rule
// selects is decoded, redacted key by key, and encoded again. The check is
// one scan of the JSON; the rewrite costs allocations, only when needed.

// jsonHasKey reports whether the compact JSON j (encoding/json's output)
// has an object key for which selected is true.
func jsonHasKey(j []byte, selected func(string) bool) bool {
	for i := 0; i < len(j); i++ {
		if j[i] != '"' {
			continue
		}
		start, esc := i+1, false
		for i++; i < len(j) && j[i] != '"'; i++ {
			if j[i] == '\\' {
				esc = true
				i++
			}
		}
		if i+1 < len(j) && j[i+1] == ':' {
			key := unsafe.String(unsafe.SliceData(j[start:i]), i-start) // not kept
			if esc {
				if err := json.Unmarshal(j[start-1:i+1], &key); err != nil {
					return true // cannot tell: assume the worst
				}
			}
			if selected(key) {
				return true
			}
		}
	}
	return false
}

// redactJSONNames applies the name rules to the keys of j at every depth
// and returns the JSON re-encoded (keys sorted, as encoding/json writes
// maps), or j when no key is selected.
func (h *handler) redactJSONNames(fb *frontBuf, j []byte) []byte {
	rd := h.c.rd
	if len(rd.names) == 0 || !jsonHasKey(j, func(k string) bool { return rd.nameRule(k) != nil }) {
		return j
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []byte(`"` + DefaultReplacement + `"`) // cannot happen (j is valid); fail closed
	}
	out, err := json.Marshal(h.redactNames(fb, v))
	if err != nil {
		return []byte(`"` + DefaultReplacement + `"`)
	}
	return out
}

func (h *handler) redactNames(fb *frontBuf, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			kr := h.c.rd.nameRule(k)
			switch {
			case kr == nil:
				x[k] = h.redactNames(fb, val)
			case kr.drop:
				delete(x, k)
			case kr.pseudo != nil:
				x[k] = h.pseudonym(fb, kr.pseudo, slog.AnyValue(val))
			default:
				x[k] = kr.repl
			}
		}
	case []any:
		for i := range x {
			x[i] = h.redactNames(fb, x[i])
		}
	}
	return v
}
