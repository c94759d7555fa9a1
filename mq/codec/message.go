package codec

import (
	"context"
	"fmt"
	"mime"
	"reflect"
	"strconv"
	"strings"

	"github.com/groundwork-go/groundwork/mq"
)

// NewMessage returns a message for topic and key carrying v encoded as typ
// (which T must be registered as), with the codec headers set.
func NewMessage[T any](r *Registry, topic, key, typ string, v T) (*mq.Message, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: new message %q: nil Registry", ErrInvalid, typ)
	}
	data, headers, err := r.Encode(typ, v)
	if err != nil {
		return nil, err
	}
	return &mq.Message{Topic: topic, Key: key, Payload: data, Headers: headers}, nil
}

// DecodeMessage decodes m's payload as a T, reading its codec headers:
//
//   - message-type must be the type T is registered as; absent, it is taken
//     to be that type (a plain message from a producer that does not use
//     this package);
//   - schema-version, absent, is 1;
//   - content-type must have the registry codec's media type (parameters
//     such as charset are ignored); absent, the codec's is assumed.
//
// Errors are those of Decode, marked mq.Permanent, plus ErrType for
// another message type and ErrContentType, each naming what it found.
func DecodeMessage[T any](r *Registry, m *mq.Message) (T, error) {
	var zero T
	if r == nil || m == nil {
		return zero, mq.Permanent(fmt.Errorf("%w: decode message: nil Registry or Message", ErrInvalid))
	}
	want, ok := TypeOf[T](r)
	if !ok {
		if err := r.Seal(); err != nil {
			return zero, mq.Permanent(&opError{fmt.Sprintf("decode message %s", m.ID), err})
		}
		r.tel.decodeUnknown.add(1)
		return zero, mq.Permanent(&opError{fmt.Sprintf("decode message %s", m.ID), fmt.Errorf("%w: Go type %v is not registered", ErrType, reflect.TypeFor[T]())})
	}
	e := r.types[want] // sealed: read without the lock
	version, err := r.checkHeaders(e, m.Headers)
	if err != nil {
		e.stats.decodeFailed.add(1)
		return zero, mq.Permanent(&opError{fmt.Sprintf("decode message %s as %q (current v%d)", m.ID, want, e.version), err})
	}
	v, err := decodeEntry[T](r, e, version, m.Payload)
	if err != nil {
		e.stats.decodeFailed.add(1)
		return zero, mq.Permanent(&opError{fmt.Sprintf("decode message %s as %q v%d (current v%d)", m.ID, want, version, e.version), err})
	}
	return v, nil
}

// checkHeaders checks the message-type and content-type headers against
// e and the codec, and returns the schema version.
func (r *Registry) checkHeaders(e *entry, h map[string]string) (uint32, error) {
	if typ, ok := h[HeaderMessageType]; ok && typ != e.name {
		return 0, fmt.Errorf("%w: the message is %q", ErrType, typ)
	}
	if ct, ok := h[HeaderContentType]; ok && !sameMediaType(ct, r.codec.ContentType()) {
		return 0, fmt.Errorf("%w: the message is %q, the codec reads %q", ErrContentType, ct, r.codec.ContentType())
	}
	s, ok := h[HeaderSchemaVersion]
	if !ok {
		return 1, nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%w: header %s is %q, want a number from 1", ErrVersion, HeaderSchemaVersion, s)
	}
	return uint32(v), nil
}

// sameMediaType reports whether header names the media type want, ignoring
// case and parameters ("application/json; charset=utf-8").
func sameMediaType(header, want string) bool {
	if header == want {
		return true // the common case, without parsing's allocations
	}
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return false
	}
	return strings.EqualFold(mt, want)
}

// Handler returns an mq.Handler that decodes each message with
// DecodeMessage[T] and gives fn the value. A message that does not decode
// never reaches fn: its error is mq.Permanent, so the subscription
// dead-letters it at once with the error's text (type, versions, what was
// wrong) in mq.HeaderDLQError. fn's own errors are handled by the
// subscription as usual (retried, or dead-lettered when Permanent).
func Handler[T any](r *Registry, fn func(ctx context.Context, m *mq.Message, v T) error) mq.Handler {
	return func(ctx context.Context, m *mq.Message) error {
		if fn == nil {
			return mq.Permanent(fmt.Errorf("%w: codec.Handler: nil func", ErrInvalid))
		}
		v, err := DecodeMessage[T](r, m)
		if err != nil {
			return err
		}
		return fn(ctx, m, v)
	}
}
