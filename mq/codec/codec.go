package codec

import (
	"encoding/json"
	"fmt"
	"reflect"

	"google.golang.org/protobuf/proto"
)

// Codec turns values into bytes and back. Implementations must be safe for
// concurrent use.
type Codec interface {
	// ContentType is the media type written in the content-type header,
	// for example "application/json".
	ContentType() string
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes b into v, a non-nil pointer.
	Unmarshal(b []byte, v any) error
}

// typeChecker is implemented by codecs that accept only some Go types, so
// that Register refuses a type the codec cannot encode at start-up instead
// of at the first message.
type typeChecker interface {
	checkType(t reflect.Type) error
}

// JSON is the default codec: encoding/json, content type
// "application/json". Unknown fields are ignored when decoding, so an older
// consumer reads what it knows of a compatible newer shape; a shape that is
// not compatible takes a new schema version.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) ContentType() string             { return "application/json" }
func (jsonCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Proto returns the protobuf codec (google.golang.org/protobuf, binary wire
// format), content type "application/x-protobuf". The types registered with
// it must be generated message pointers (*pb.Order): Register refuses
// anything that is not a proto.Message.
func Proto() Codec { return protoCodec{} }

type protoCodec struct{}

var protoMessage = reflect.TypeFor[proto.Message]()

func (protoCodec) ContentType() string { return "application/x-protobuf" }

func (protoCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("protobuf: %T is not a proto.Message", v)
	}
	return proto.Marshal(m)
}

func (protoCodec) Unmarshal(b []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("protobuf: %T is not a proto.Message", v)
	}
	return proto.Unmarshal(b, m)
}

func (protoCodec) checkType(t reflect.Type) error {
	if t.Kind() != reflect.Pointer || !t.Implements(protoMessage) {
		return fmt.Errorf("the protobuf codec needs a generated message pointer (a proto.Message), not %v", t)
	}
	return nil
}
