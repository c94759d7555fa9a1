package codec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Headers the registry writes on every encoded message and reads back.
const (
	HeaderContentType   = "content-type"   // the codec's media type
	HeaderSchemaVersion = "schema-version" // decimal, from 1
	HeaderMessageType   = "message-type"   // the registered type name
)

// opError is a failed call: "codec: <op>: <cause>", the package named once
// (the cause's own "codec: " prefix, that of its sentinel, is dropped);
// errors.Is and errors.As see the cause.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "codec: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "codec: ")
}

func (e *opError) Unwrap() error { return e.err }

// Encode encodes v, whose Go type must be the one typ is registered as,
// at typ's current schema version, and returns the headers that describe
// it (content-type, schema-version, message-type) in a new map.
func (r *Registry) Encode(typ string, v any) (data []byte, headers map[string]string, err error) {
	if r == nil {
		return nil, nil, fmt.Errorf("%w: encode %q: nil Registry", ErrInvalid, typ)
	}
	e, err := r.lookup(typ, &r.tel.encodeUnknown)
	if err != nil {
		return nil, nil, &opError{fmt.Sprintf("encode %q", typ), err}
	}
	data, err = e.encode(r.codec, v)
	if err != nil {
		e.stats.encodeFailed.add(1)
		return nil, nil, &opError{fmt.Sprintf("encode %q v%d", typ, e.version), err}
	}
	e.stats.encoded.add(1)
	return data, r.headers(e), nil
}

func (e *entry) encode(c Codec, v any) (data []byte, err error) {
	if t := reflect.TypeOf(v); t != e.goType {
		return nil, fmt.Errorf("%w: the value is a %v, the type is registered as %v", ErrInvalid, t, e.goType)
	}
	defer func() {
		// A codec that panics on a value must not take the producer down.
		if p := recover(); p != nil {
			data, err = nil, fmt.Errorf("%w: %s codec panicked: %v", ErrInvalid, c.ContentType(), p)
		}
	}()
	data, err = c.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return data, nil
}

func (r *Registry) headers(e *entry) map[string]string {
	return map[string]string{
		HeaderContentType:   r.codec.ContentType(),
		HeaderSchemaVersion: strconv.FormatUint(uint64(e.version), 10),
		HeaderMessageType:   e.name,
	}
}
