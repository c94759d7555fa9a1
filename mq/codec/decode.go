package codec

import (
	"fmt"
	"reflect"

	"github.com/groundwork-go/groundwork/mq"
)

// Decode reads data, encoded as typ at schema version version, as a T: it
// runs the upcasters from version up to typ's current version, then the
// codec. T must be the Go type typ is registered as. Every error is marked
// mq.Permanent and names the type and the versions: ErrType (not
// registered, or registered as another Go type), ErrVersion (newer than the
// current version, 0, or older than the upcasters reach), ErrMalformed
// (an upcaster or the codec failed on the data).
func Decode[T any](r *Registry, typ string, version uint32, data []byte) (T, error) {
	var zero T
	if r == nil {
		return zero, mq.Permanent(fmt.Errorf("%w: decode %q: nil Registry", ErrInvalid, typ))
	}
	e, err := r.lookup(typ, &r.tel.decodeUnknown)
	if err != nil {
		return zero, mq.Permanent(&opError{fmt.Sprintf("decode %q v%d", typ, version), err})
	}
	v, err := decodeEntry[T](r, e, version, data)
	if err != nil {
		e.stats.decodeFailed.add(1)
		return zero, mq.Permanent(&opError{fmt.Sprintf("decode %q v%d (current v%d)", typ, version, e.version), err})
	}
	return v, nil
}

func decodeEntry[T any](r *Registry, e *entry, version uint32, data []byte) (T, error) {
	var v T
	if t := reflect.TypeFor[T](); t != e.goType {
		return v, fmt.Errorf("%w: it is registered as %v, not %v", ErrType, e.goType, t)
	}
	data, err := e.upgrade(version, data)
	if err != nil {
		return v, err
	}
	// A pointer type (a protobuf message, *Order) is decoded into a new
	// value; any other type into v itself.
	var target any = &v
	if e.goType.Kind() == reflect.Pointer {
		v = reflect.New(e.goType.Elem()).Interface().(T)
		target = v
	}
	if err := unmarshal(r.codec, data, target); err != nil {
		return *new(T), err
	}
	if version == e.version {
		e.stats.decoded.add(1)
	} else {
		e.stats.upcast.add(1)
	}
	return v, nil
}

func unmarshal(c Codec, data []byte, target any) (err error) {
	defer func() {
		// A codec that panics on bad bytes must not take the consumer down.
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s codec panicked: %v", ErrMalformed, c.ContentType(), p)
		}
	}()
	if err := c.Unmarshal(data, target); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Upgrade returns data, encoded as typ at schema version version, upcast to
// typ's current version, and that version: for code that keeps bytes (an
// event store handing a projection the current shape) rather than decoding
// them. Data at the current version is returned as it is. Errors are those
// of Decode, marked mq.Permanent.
func (r *Registry) Upgrade(typ string, version uint32, data []byte) ([]byte, uint32, error) {
	if r == nil {
		return nil, 0, mq.Permanent(fmt.Errorf("%w: upgrade %q: nil Registry", ErrInvalid, typ))
	}
	e, err := r.lookup(typ, &r.tel.decodeUnknown)
	if err != nil {
		return nil, 0, mq.Permanent(&opError{fmt.Sprintf("upgrade %q v%d", typ, version), err})
	}
	out, err := e.upgrade(version, data)
	if err != nil {
		e.stats.decodeFailed.add(1)
		return nil, 0, mq.Permanent(&opError{fmt.Sprintf("upgrade %q v%d (current v%d)", typ, version, e.version), err})
	}
	return out, e.version, nil
}

// upgrade runs the upcasters from version to the current version.
func (e *entry) upgrade(version uint32, data []byte) ([]byte, error) {
	switch {
	case version == 0:
		return nil, fmt.Errorf("%w: versions start at 1", ErrVersion)
	case version > e.version:
		return nil, fmt.Errorf("%w: v%d is newer than the current v%d (from a newer producer?)", ErrVersion, version, e.version)
	}
	for v := version; v < e.version; v++ {
		up, ok := e.up[v]
		if !ok {
			return nil, fmt.Errorf("%w: no upcaster v%d→v%d", ErrVersion, v, v+1)
		}
		next, err := runUpcaster(up, data)
		if err != nil {
			return nil, fmt.Errorf("%w: upcast v%d→v%d: %v", ErrMalformed, v, v+1, err)
		}
		data = next
	}
	return data, nil
}

func runUpcaster(up Upcaster, data []byte) (out []byte, err error) {
	defer func() {
		// An upcaster that panics on unexpected data must not take the
		// consumer down: the message is dead-lettered with the panic.
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return up(data)
}
