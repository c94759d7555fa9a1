package greyroute

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The request bodies of the admin API. A field the call needs is a
// pointer, so that a missing one is told apart from a zero one.

type versionIn struct {
	Version *string `json:"version"`
}

type rolloutIn struct {
	To      string   `json:"to"`
	Percent *float64 `json:"percent"`
}

type healthIn struct {
	Score *int `json:"score"`
}

type requireIn struct {
	MinSchema *int `json:"min_schema"`
}

type schemaIn struct {
	Version *int `json:"version"`
}

// missing is the error of a required field left out.
func missing(field string) error {
	return &statusError{http.StatusBadRequest, fmt.Sprintf("greyroute admin: the body has no %q", field)}
}

// decodeJSON reads exactly one JSON object from body into v, refusing
// unknown fields, a value of the wrong type, trailing data and a body
// over maxBody (body is a MaxBytesReader). Its errors name what is wrong.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		var tooBig *http.MaxBytesError
		if _, err2 := dec.Token(); errors.As(err2, &tooBig) {
			err = err2 // trailing spaces past the limit
		} else if err2 != io.EOF {
			err = errTrailing
		}
	}
	if err == nil {
		return nil
	}
	var (
		tooBig *http.MaxBytesError
		syn    *json.SyntaxError
		typ    *json.UnmarshalTypeError
		msg    string
	)
	switch {
	case errors.As(err, &tooBig):
		return &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("greyroute admin: the body is larger than %d bytes", maxBody)}
	case errors.Is(err, errTrailing):
		msg = "the body holds more than one JSON value"
	case errors.Is(err, io.EOF):
		msg = "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the body ends in the middle of a JSON value"
	case errors.As(err, &syn):
		msg = fmt.Sprintf("bad JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		msg = fmt.Sprintf("field %q: want a JSON %s, not %s", typ.Field, jsonKind(typ.Type.String()), typ.Value)
	default:
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			msg = "unknown field " + f
		} else {
			msg = err.Error()
		}
	}
	return &statusError{http.StatusBadRequest, "greyroute admin: " + msg}
}

var errTrailing = errors.New("trailing data")

// jsonKind names a Go type the way a JSON writer thinks of it.
func jsonKind(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "string"
	case "int", "float64":
		return "number"
	}
	return "object"
}
