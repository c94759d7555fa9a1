package codec

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxTypeLen bounds a message type name: it travels in a header and names
// metrics.
const maxTypeLen = 255

// Upcaster turns data of one schema version into the next one, in the
// registry codec's encoding. It must be a pure function of its input:
// eventstore and subscriptions call it again on every read.
type Upcaster func(data []byte) ([]byte, error)

// Registry maps message type names to Go types, their current schema version
// and the upcasters from older versions. Register types and upcasters at
// start-up; the first Encode, Decode or Seal ends registration. From then on
// the registry is read-only and safe for concurrent use without locks.
type Registry struct {
	codec Codec
	tel   *telemetry

	mu     sync.Mutex // guards the maps and sealed until the registry is sealed
	sealed bool
	types  map[string]*entry       // by type name
	byGo   map[reflect.Type]string // type name by Go type

	once    sync.Once
	sealErr error // set once by seal
}

// entry is one registered message type.
type entry struct {
	name    string
	goType  reflect.Type
	version uint32              // the current schema version
	up      map[uint32]Upcaster // from -> from+1
	stats   typeStats
}

// NewRegistry returns an empty registry encoding with c (JSON when nil).
func NewRegistry(c Codec, opts ...Option) (*Registry, error) {
	if c == nil {
		c = JSON
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalid)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	r := &Registry{codec: c, types: map[string]*entry{}, byGo: map[reflect.Type]string{}}
	r.tel = newTelemetry(&o, r)
	return r, nil
}

// Codec returns the registry's codec (nil for a nil Registry).
func (r *Registry) Codec() Codec {
	if r == nil {
		return nil
	}
	return r.codec
}

// Register declares typ, at its current schema version, as the Go type T.
// One Go type has one type name, so a Handler[T] knows what it decodes.
// With the Proto codec T must be a generated message pointer. Registering
// after the registry was sealed is refused (ErrInvalid): a type's shape
// must not change under a running consumer.
func Register[T any](r *Registry, typ string, version uint32) error {
	t := reflect.TypeFor[T]()
	if r == nil {
		return fmt.Errorf("%w: register %q: nil Registry", ErrInvalid, typ)
	}
	if err := checkName(typ); err != nil {
		return fmt.Errorf("%w: register %q: %v", ErrInvalid, typ, err)
	}
	if version == 0 {
		return fmt.Errorf("%w: register %q: schema versions start at 1", ErrInvalid, typ)
	}
	if t.Kind() == reflect.Interface {
		return fmt.Errorf("%w: register %q: %v is an interface; register a concrete type", ErrInvalid, typ, t)
	}
	if tc, ok := r.codec.(typeChecker); ok {
		if err := tc.checkType(t); err != nil {
			return fmt.Errorf("%w: register %q: %v", ErrInvalid, typ, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sealed {
		return fmt.Errorf("%w: register %q: the registry is sealed (already used); register every type at start-up", ErrInvalid, typ)
	}
	if _, dup := r.types[typ]; dup {
		return fmt.Errorf("%w: register %q: already registered", ErrInvalid, typ)
	}
	if other, dup := r.byGo[t]; dup {
		return fmt.Errorf("%w: register %q: Go type %v is already registered as %q", ErrInvalid, typ, t, other)
	}
	e := &entry{name: typ, goType: t, version: version, up: map[uint32]Upcaster{}}
	e.stats.init(typ)
	r.types[typ] = e
	r.byGo[t] = typ
	return nil
}

// Upcast registers up as the step from schema version from to from+1 of
// typ, which must be registered already, with from+1 at most its current
// version. The steps of a type must form one chain ending at the current
// version (v1→v2, v2→v3 for current v3); Seal checks that none is missing.
// Data older than the first step cannot be read (ErrVersion).
func (r *Registry) Upcast(typ string, from uint32, up Upcaster) error {
	if r == nil || up == nil {
		return fmt.Errorf("%w: upcast %q v%d: nil Registry or Upcaster", ErrInvalid, typ, from)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sealed {
		return fmt.Errorf("%w: upcast %q v%d: the registry is sealed (already used); register every upcaster at start-up", ErrInvalid, typ, from)
	}
	e, ok := r.types[typ]
	if !ok {
		return fmt.Errorf("%w: upcast %q v%d: type not registered; Register it first", ErrInvalid, typ, from)
	}
	if from == 0 || from >= e.version {
		return fmt.Errorf("%w: upcast %q v%d→v%d: the current version is v%d, steps go from v1 up to it", ErrInvalid, typ, from, uint64(from)+1, e.version)
	}
	if _, dup := e.up[from]; dup {
		return fmt.Errorf("%w: upcast %q v%d→v%d: already registered", ErrInvalid, typ, from, from+1)
	}
	e.up[from] = up
	return nil
}

// Seal ends registration and checks every upcaster chain: a type whose
// steps skip a version (v1→v2 and v3→v4 without v2→v3) is ErrInvalid,
// naming the missing step. The first Encode or Decode seals the registry
// too; calling Seal at start-up reports a broken chain there rather than on
// the first message. Once sealed, every call returns Seal's error, if any.
func (r *Registry) Seal() error {
	if r == nil {
		return fmt.Errorf("%w: nil Registry", ErrInvalid)
	}
	r.once.Do(r.seal)
	return r.sealErr
}

func (r *Registry) seal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sealed = true
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(r.types)) {
		e := r.types[name]
		if len(e.up) == 0 {
			continue
		}
		oldest := slices.Min(slices.Collect(maps.Keys(e.up)))
		for v := oldest; v < e.version; v++ {
			if _, ok := e.up[v]; !ok {
				problems = append(problems, fmt.Sprintf("%q (current v%d) has no upcaster v%d→v%d", name, e.version, v, v+1))
				break
			}
		}
	}
	if len(problems) > 0 {
		r.sealErr = fmt.Errorf("%w: upcaster chain broken: %s", ErrInvalid, strings.Join(problems, "; "))
	}
}

// lookup seals the registry and returns typ's entry, counting an unknown
// type in miss.
func (r *Registry) lookup(typ string, miss *counter) (*entry, error) {
	if err := r.Seal(); err != nil {
		return nil, err
	}
	e, ok := r.types[typ]
	if !ok {
		miss.add(1)
		return nil, fmt.Errorf("%w: %q is not registered", ErrType, typ)
	}
	return e, nil
}

// Version returns the current schema version of typ, and false when typ is
// not registered. It seals the registry.
func (r *Registry) Version(typ string) (uint32, bool) {
	if r.Seal() != nil {
		return 0, false
	}
	e, ok := r.types[typ]
	if !ok {
		return 0, false
	}
	return e.version, true
}

// TypeOf returns the type name T is registered under, and false when it is
// not. It seals the registry.
func TypeOf[T any](r *Registry) (string, bool) {
	if r.Seal() != nil {
		return "", false
	}
	name, ok := r.byGo[reflect.TypeFor[T]()]
	return name, ok
}

// checkName reports what is wrong with a type name: it travels in a
// header, so it must be non-empty, short, valid UTF-8 and free of control
// characters.
func checkName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty type name")
	case len(s) > maxTypeLen:
		return fmt.Errorf("type name is %d bytes, the limit is %d", len(s), maxTypeLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("type name is not valid UTF-8")
	case strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f }):
		return fmt.Errorf("type name contains a control character")
	}
	return nil
}
