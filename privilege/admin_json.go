package privilege

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what the admin API accepts.
const (
	maxAdminBody = 64 << 10 // bytes of a request body: a policy is far smaller
	maxAdminID   = 256      // bytes of a role, user or policy ID
)

// adminError is every error answer of the admin API. Field names the
// part of the body that is wrong, when known; Line and Column place a
// bad CEL condition (from 1).
type adminError struct {
	status int
	Error  string `json:"error"`
	Field  string `json:"field,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func badRequest(field, format string, args ...any) *adminError {
	return &adminError{status: http.StatusBadRequest, Field: field, Error: fmt.Sprintf(format, args...)}
}

// decodeBody reads r's body into v strictly: Content-Type
// application/json, at most maxAdminBody bytes, exactly one JSON value,
// no unknown fields, and no NUL in any string (PostgreSQL text cannot
// hold one, and no name needs one).
func decodeBody(r *http.Request, v any) *adminError {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &adminError{status: http.StatusUnsupportedMediaType, Error: "privilege admin: the body must be Content-Type application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxAdminBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &adminError{status: http.StatusRequestEntityTooLarge, Error: fmt.Sprintf("privilege admin: the body is larger than %d bytes", maxAdminBody)}
		}
		return badRequest("", "privilege admin: reading the body: %v", err)
	}
	return decodeJSON(body, v)
}

// decodeJSON is decodeBody's parser, on its own for the fuzz test.
func decodeJSON(body []byte, v any) *adminError {
	if !utf8.Valid(body) {
		return badRequest("", "privilege admin: the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "privilege admin: the body holds more than one JSON value")
	}
	// A raw NUL is already a syntax error; an escaped one is found on a
	// second, generic decoding of what passed the first.
	var generic any
	dec = json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&generic); err == nil && holdsNUL(generic) {
		return badRequest("", "privilege admin: the body holds a NUL character")
	}
	return nil
}

// holdsNUL reports whether a decoded JSON value has a NUL in a string or
// a key.
func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		return slices.ContainsFunc(v, holdsNUL)
	case map[string]any:
		for k, x := range v {
			if strings.IndexByte(k, 0) >= 0 || holdsNUL(x) {
				return true
			}
		}
	}
	return false
}

// jsonError turns a decoding error into an answer naming the field or
// the offset.
func jsonError(err error) *adminError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("", "privilege admin: the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "privilege admin: the body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return badRequest("", "privilege admin: bad JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		return badRequest(typ.Field, "privilege admin: field %q: want a JSON %s, not %s", typ.Field, typ.Type, typ.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return badRequest(strings.Trim(f, `"`), "privilege admin: unknown field %s", f)
	}
	return badRequest("", "privilege admin: %v", err)
}

// checkID refuses an ID no store should get from the API: empty, longer
// than maxAdminID, not UTF-8, holding control characters (which would
// also make the guard's resource name ambiguous in logs), or "." or "..".
func checkID(field, id string) *adminError {
	switch {
	case id == "":
		return badRequest(field, "privilege admin: %s is empty", field)
	case len(id) > maxAdminID:
		return badRequest(field, "privilege admin: %s is %d bytes long, more than %d", field, len(id), maxAdminID)
	case !utf8.ValidString(id):
		return badRequest(field, "privilege admin: %s is not valid UTF-8", field)
	case strings.ContainsFunc(id, unicode.IsControl):
		return badRequest(field, "privilege admin: %s holds a control character", field)
	case id == "." || id == "..":
		// Reachable only escaped (%2E%2E): a clean URL cannot name it.
		return badRequest(field, "privilege admin: %s %q is a path step, not a name", field, id)
	}
	return nil
}

// storeError maps a store's error to an answer: ErrInvalid and
// ErrBadCondition (with its position) 400, ErrCycle and ErrConflict 409,
// ErrNotFound notFound (404 when the path names what is missing, 400
// when the body does), ErrClosed 503; anything else is 500, with no
// detail, since it may hold the database's words.
func storeError(err error, field string, notFound int) *adminError {
	var ce *ConditionError
	switch {
	case errors.As(err, &ce):
		// The store's wrapping repeats the operation the caller just did.
		return &adminError{status: http.StatusBadRequest, Error: ce.Error(), Field: "condition", Line: ce.Line, Column: ce.Column}
	case errors.Is(err, ErrBadCondition):
		return &adminError{status: http.StatusBadRequest, Error: err.Error(), Field: "condition"}
	case errors.Is(err, ErrInvalid):
		return &adminError{status: http.StatusBadRequest, Error: err.Error()}
	case errors.Is(err, ErrCycle):
		return &adminError{status: http.StatusConflict, Error: err.Error(), Field: "parents"}
	case errors.Is(err, ErrConflict):
		return &adminError{status: http.StatusConflict, Error: err.Error()}
	case errors.Is(err, ErrNotFound):
		e := &adminError{status: notFound, Error: err.Error()}
		if notFound == http.StatusBadRequest {
			e.Field = field
		}
		return e
	case errors.Is(err, ErrClosed):
		return &adminError{status: http.StatusServiceUnavailable, Error: "privilege admin: the store is closed"}
	}
	slog.Default().Error("privilege admin: store call failed", "err", err)
	return &adminError{status: http.StatusInternalServerError, Error: "privilege admin: the store failed; see the server's log"}
}

func quote(s string) string { return strconv.Quote(s) }
