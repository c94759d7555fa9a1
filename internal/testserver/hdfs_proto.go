package testserver

import (
	"fmt"

	// The client registers every Hadoop message in protoregistry.GlobalTypes;
	// the double finds them there by name and never sees the client's
	// generated (internal) Go types.
	_ "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// pb is a Hadoop protobuf message built or parsed by name with dynamicpb.
// Setters record the first error (a field or enum name the message lacks)
// instead of panicking; marshal reports it.
type pb struct {
	m   *dynamicpb.Message
	err error
}

// newPB makes an empty message of the named type, e.g.
// "hadoop.hdfs.HdfsFileStatusProto".
func newPB(name string) *pb {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		return &pb{err: fmt.Errorf("hdfs double: message %s: %w", name, err)}
	}
	return &pb{m: dynamicpb.NewMessage(mt.Descriptor())}
}

// parsePB decodes b as the named message; required fields must be present,
// as the Java server's parser demands.
func parsePB(name string, b []byte) (*pb, error) {
	p := newPB(name)
	if p.err != nil {
		return nil, p.err
	}
	if err := proto.Unmarshal(b, p.m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return p, nil
}

// field finds a field by name; nil on a nil or failed message, so getters
// chained through absent sub-messages read defaults instead of panicking.
func (p *pb) field(name string) protoreflect.FieldDescriptor {
	if p == nil || p.m == nil {
		return nil
	}
	fd := p.m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil && p.err == nil {
		p.err = fmt.Errorf("hdfs double: %s has no field %s", p.m.Descriptor().FullName(), name)
	}
	return fd
}

// set sets a field from a Go value: string, []byte, bool, any integer
// (converted to the field's kind), an enum value name (string, for enum
// fields), *pb, or a slice of those for repeated fields.
func (p *pb) set(name string, v any) *pb {
	fd := p.field(name)
	if fd == nil {
		return p
	}
	if fd.IsList() {
		l := p.m.Mutable(fd).List()
		switch vs := v.(type) {
		case []*pb:
			for _, e := range vs {
				l.Append(p.value(fd, e))
			}
		case []string:
			for _, e := range vs {
				l.Append(p.value(fd, e))
			}
		case []any:
			for _, e := range vs {
				l.Append(p.value(fd, e))
			}
		default:
			l.Append(p.value(fd, v))
		}
		return p
	}
	p.m.Set(fd, p.value(fd, v))
	return p
}

func (p *pb) value(fd protoreflect.FieldDescriptor, v any) protoreflect.Value {
	bad := func() protoreflect.Value {
		if p.err == nil {
			p.err = fmt.Errorf("hdfs double: %s.%s cannot hold %T", p.m.Descriptor().FullName(), fd.Name(), v)
		}
		return fd.Default()
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfString(s)
		}
	case protoreflect.BytesKind:
		switch b := v.(type) {
		case []byte:
			return protoreflect.ValueOfBytes(b)
		case string:
			return protoreflect.ValueOfBytes([]byte(b))
		}
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(b)
		}
	case protoreflect.EnumKind:
		switch e := v.(type) {
		case string:
			ev := fd.Enum().Values().ByName(protoreflect.Name(e))
			if ev == nil {
				return bad()
			}
			return protoreflect.ValueOfEnum(ev.Number())
		case int:
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(e))
		}
	case protoreflect.MessageKind:
		if m, ok := v.(*pb); ok {
			if m.err != nil && p.err == nil {
				p.err = m.err
			}
			if m.m == nil {
				return bad()
			}
			return protoreflect.ValueOfMessage(m.m)
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n, ok := toInt64(v); ok {
			return protoreflect.ValueOfInt32(int32(n))
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if n, ok := toInt64(v); ok {
			return protoreflect.ValueOfInt64(n)
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n, ok := toInt64(v); ok {
			return protoreflect.ValueOfUint32(uint32(n))
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if u, ok := v.(uint64); ok {
			return protoreflect.ValueOfUint64(u)
		}
		if n, ok := toInt64(v); ok {
			return protoreflect.ValueOfUint64(uint64(n))
		}
	}
	return bad()
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), true
	}
	return 0, false
}

// marshal encodes the message, failing on any recorded error or missing
// required field (the client's parser would refuse such a message).
func (p *pb) marshal() ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	return proto.Marshal(p.m)
}

// has reports whether the field is set.
func (p *pb) has(name string) bool {
	fd := p.field(name)
	return fd != nil && p.m.Has(fd)
}

// str, bytes, boolean, num and unum read scalar fields (their default when
// unset); sub reads a message field (nil when unset).
func (p *pb) str(name string) string {
	if fd := p.field(name); fd != nil && fd.Kind() == protoreflect.StringKind {
		return p.m.Get(fd).String()
	}
	return ""
}

func (p *pb) bytes(name string) []byte {
	if fd := p.field(name); fd != nil && fd.Kind() == protoreflect.BytesKind {
		return p.m.Get(fd).Bytes()
	}
	return nil
}

func (p *pb) boolean(name string) bool {
	if fd := p.field(name); fd != nil && fd.Kind() == protoreflect.BoolKind {
		return p.m.Get(fd).Bool()
	}
	return false
}

func (p *pb) num(name string) int64 {
	fd := p.field(name)
	if fd == nil || fd.IsList() {
		return 0
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return p.m.Get(fd).Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return int64(p.m.Get(fd).Uint())
	case protoreflect.EnumKind:
		return int64(p.m.Get(fd).Enum())
	}
	return 0
}

func (p *pb) unum(name string) uint64 {
	fd := p.field(name)
	if fd == nil || fd.IsList() {
		return 0
	}
	switch fd.Kind() {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return p.m.Get(fd).Uint()
	}
	return uint64(p.num(name))
}

func (p *pb) sub(name string) *pb {
	fd := p.field(name)
	if fd == nil || fd.Kind() != protoreflect.MessageKind || fd.IsList() || !p.m.Has(fd) {
		return nil
	}
	return wrapPB(p.m.Get(fd).Message())
}

// wrapPB wraps a sub-message; those of a dynamicpb message are dynamicpb
// messages too.
func wrapPB(m protoreflect.Message) *pb {
	dm, ok := m.Interface().(*dynamicpb.Message)
	if !ok {
		return &pb{err: fmt.Errorf("hdfs double: %s is not a dynamic message", m.Descriptor().FullName())}
	}
	return &pb{m: dm}
}

// list returns the elements of a repeated message field.
func (p *pb) list(name string) []*pb {
	fd := p.field(name)
	if fd == nil || fd.Kind() != protoreflect.MessageKind || !fd.IsList() {
		return nil
	}
	l := p.m.Get(fd).List()
	out := make([]*pb, l.Len())
	for i := range out {
		out[i] = wrapPB(l.Get(i).Message())
	}
	return out
}
