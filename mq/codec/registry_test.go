package codec_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/groundwork-go/groundwork/mq/codec"
)

func TestRoundTripJSON(t *testing.T) {
	r, err := codec.NewRegistry(nil) // JSON by default
	must(t, err)
	must(t, codec.Register[Customer](r, "customer", 2))
	must(t, codec.Register[*Order](r, "order", 1))

	in := Customer{First: "Ada", Last: "Lovelace", Tier: "gold"}
	data, h, err := r.Encode("customer", in)
	must(t, err)
	want := map[string]string{"content-type": "application/json", "schema-version": "2", "message-type": "customer"}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	out, err := codec.Decode[Customer](r, "customer", 2, data)
	must(t, err)
	if out != in {
		t.Fatalf("decoded %+v, want %+v", out, in)
	}

	// A pointer type decodes into a new value.
	data, _, err = r.Encode("order", &Order{ID: "o-1", Total: 12.5})
	must(t, err)
	o, err := codec.Decode[*Order](r, "order", 1, data)
	must(t, err)
	if o == nil || o.ID != "o-1" || o.Total != 12.5 {
		t.Fatalf("decoded %+v", o)
	}
}

type Order struct {
	ID    string  `json:"id"`
	Total float64 `json:"total"`
}

func TestRoundTripProto(t *testing.T) {
	r, err := codec.NewRegistry(codec.Proto())
	must(t, err)
	must(t, codec.Register[*wrapperspb.StringValue](r, "greeting", 1))
	must(t, codec.Register[*structpb.Struct](r, "doc", 2))

	data, h, err := r.Encode("greeting", wrapperspb.String("hello"))
	must(t, err)
	if h["content-type"] != "application/x-protobuf" {
		t.Fatalf("content-type %q", h["content-type"])
	}
	g, err := codec.Decode[*wrapperspb.StringValue](r, "greeting", 1, data)
	must(t, err)
	if g.GetValue() != "hello" {
		t.Fatalf("decoded %q", g.GetValue())
	}

	doc, err := structpb.NewStruct(map[string]any{"a": 1.5, "b": []any{"x", true}})
	must(t, err)
	data, _, err = r.Encode("doc", doc)
	must(t, err)
	back, err := codec.Decode[*structpb.Struct](r, "doc", 2, data)
	must(t, err)
	if got := back.AsMap(); got["a"] != 1.5 || len(got["b"].([]any)) != 2 {
		t.Fatalf("decoded %v", got)
	}

	// Bytes that are not the message: ErrMalformed, naming type and version.
	_, err = codec.Decode[*structpb.Struct](r, "doc", 2, []byte{0xff, 0xff, 0xff})
	if !errors.Is(err, codec.ErrMalformed) || !strings.Contains(err.Error(), `"doc" v2`) {
		t.Fatalf("garbage decoded with %v", err)
	}
}

func TestProtoRefusesNonMessages(t *testing.T) {
	r, err := codec.NewRegistry(codec.Proto())
	must(t, err)
	if err := codec.Register[Customer](r, "c", 1); !errors.Is(err, codec.ErrInvalid) {
		t.Fatalf("a struct registered with the protobuf codec: %v", err)
	}
	if err := codec.Register[*Customer](r, "c", 1); !errors.Is(err, codec.ErrInvalid) {
		t.Fatalf("a non-proto pointer registered with the protobuf codec: %v", err)
	}
}

func TestUpcastV1ToV3(t *testing.T) {
	r := customers(t)
	want := Customer{First: "Ada", Last: "Lovelace", Tier: "standard"}
	for _, c := range []struct {
		version uint32
		data    string
	}{
		{1, `{"name":"Ada Lovelace"}`},
		{2, `{"first":"Ada","last":"Lovelace"}`},
		{3, `{"first":"Ada","last":"Lovelace","tier":"standard"}`},
	} {
		got, err := codec.Decode[Customer](r, "customer-registered", c.version, []byte(c.data))
		must(t, err)
		if got != want {
			t.Errorf("v%d decoded as %+v, want %+v", c.version, got, want)
		}
		data, v, err := r.Upgrade("customer-registered", c.version, []byte(c.data))
		must(t, err)
		if v != 3 || !strings.Contains(string(data), `"tier":"standard"`) {
			t.Errorf("v%d upgraded to v%d %s", c.version, v, data)
		}
	}
	// An upcaster's error: ErrMalformed naming the step.
	_, err := codec.Decode[Customer](r, "customer-registered", 1, []byte(`{"name":"Plato"}`))
	if !errors.Is(err, codec.ErrMalformed) || !strings.Contains(err.Error(), "v1→v2") {
		t.Fatalf("bad v1 data: %v", err)
	}
}

func TestDecodeVersionErrors(t *testing.T) {
	r := customers(t)
	for _, c := range []struct {
		version uint32
		want    string
	}{
		{4, "v4 is newer than the current v3"},
		{0, "versions start at 1"},
	} {
		_, err := codec.Decode[Customer](r, "customer-registered", c.version, []byte(`{}`))
		if !errors.Is(err, codec.ErrVersion) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"customer-registered"`) {
			t.Errorf("v%d: %v, want ErrVersion with %q", c.version, err, c.want)
		}
	}
	if _, err := codec.Decode[Customer](r, "nobody", 1, nil); !errors.Is(err, codec.ErrType) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := codec.Decode[Order](r, "customer-registered", 3, []byte(`{}`)); !errors.Is(err, codec.ErrType) {
		t.Errorf("wrong Go type: %v", err)
	}
	// Data older than the first upcaster reaches.
	r2, err := codec.NewRegistry(codec.JSON)
	must(t, err)
	must(t, codec.Register[Customer](r2, "c", 3))
	must(t, r2.Upcast("c", 2, v2to3))
	_, err = codec.Decode[Customer](r2, "c", 1, []byte(`{"name":"A B"}`))
	if !errors.Is(err, codec.ErrVersion) || !strings.Contains(err.Error(), "no upcaster v1→v2") {
		t.Errorf("v1 without a v1→v2 step: %v", err)
	}
}

func TestRegistrationErrors(t *testing.T) {
	r, err := codec.NewRegistry(codec.JSON)
	must(t, err)
	must(t, codec.Register[Customer](r, "c", 3))
	for name, err := range map[string]error{
		"empty name":          codec.Register[Order](r, "", 1),
		"version 0":           codec.Register[Order](r, "o", 0),
		"control char":        codec.Register[Order](r, "o\n", 1),
		"long name":           codec.Register[Order](r, strings.Repeat("x", 256), 1),
		"interface":           codec.Register[any](r, "any", 1),
		"duplicate name":      codec.Register[Order](r, "c", 1),
		"duplicate Go type":   codec.Register[Customer](r, "c2", 1),
		"upcast unregistered": r.Upcast("nope", 1, v1to2),
		"upcast from 0":       r.Upcast("c", 0, v1to2),
		"upcast to current+1": r.Upcast("c", 3, v1to2),
		"nil upcaster":        r.Upcast("c", 1, nil),
	} {
		if !errors.Is(err, codec.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	must(t, r.Upcast("c", 1, v1to2))
	if err := r.Upcast("c", 1, v1to2); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("duplicate upcaster: %v", err)
	}
}

// TestSealFindsGap: a chain that skips a step is reported by Seal, naming
// the step, and every later call returns the same error.
func TestSealFindsGap(t *testing.T) {
	r, err := codec.NewRegistry(codec.JSON)
	must(t, err)
	must(t, codec.Register[Customer](r, "c", 4))
	must(t, r.Upcast("c", 1, v1to2))
	must(t, r.Upcast("c", 3, v2to3))
	err = r.Seal()
	if !errors.Is(err, codec.ErrInvalid) || !strings.Contains(err.Error(), "no upcaster v2→v3") {
		t.Fatalf("Seal: %v", err)
	}
	if _, _, err := r.Encode("c", Customer{}); !errors.Is(err, codec.ErrInvalid) {
		t.Fatalf("Encode on a broken registry: %v", err)
	}
	// A chain that stops short of the current version is a gap too.
	r2, err := codec.NewRegistry(codec.JSON)
	must(t, err)
	must(t, codec.Register[Customer](r2, "c", 3))
	must(t, r2.Upcast("c", 1, v1to2))
	if _, err := codec.Decode[Customer](r2, "c", 3, []byte(`{}`)); !errors.Is(err, codec.ErrInvalid) || !strings.Contains(err.Error(), "no upcaster v2→v3") {
		t.Fatalf("first Decode on a chain short of current: %v", err)
	}
}

// TestRegisterAfterUse: the first use seals the registry; registration is
// refused from then on, and what was registered keeps working.
func TestRegisterAfterUse(t *testing.T) {
	r, err := codec.NewRegistry(codec.JSON)
	must(t, err)
	must(t, codec.Register[Customer](r, "c", 1))
	if _, _, err := r.Encode("c", Customer{}); err != nil {
		t.Fatal(err)
	}
	if err := codec.Register[Order](r, "o", 1); !errors.Is(err, codec.ErrInvalid) || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("Register after use: %v", err)
	}
	if err := r.Upcast("c", 1, v1to2); !errors.Is(err, codec.ErrInvalid) {
		t.Fatalf("Upcast after use: %v", err)
	}
	if _, _, err := r.Encode("o", Order{}); !errors.Is(err, codec.ErrType) {
		t.Fatalf("a type refused after sealing was registered anyway: %v", err)
	}
}

// TestRegisterRacesFirstUse: registrations racing the first uses are
// either in (and usable) or refused as sealed, never half-seen; run with
// -race.
func TestRegisterRacesFirstUse(t *testing.T) {
	r, err := codec.NewRegistry(codec.JSON)
	must(t, err)
	must(t, codec.Register[Customer](r, "c", 1))
	start := make(chan struct{})
	var wg sync.WaitGroup
	var regErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		regErr = codec.Register[Order](r, "o", 1)
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			data, _, err := r.Encode("c", Customer{First: "A"})
			if err == nil {
				_, err = codec.Decode[Customer](r, "c", 1, data)
			}
			if err != nil {
				t.Error(err)
			}
			_, _ = codec.TypeOf[Order](r)
		}()
	}
	close(start)
	wg.Wait()
	_, _, err = r.Encode("o", Order{})
	switch {
	case regErr == nil && err != nil:
		t.Fatalf("registered, then unusable: %v", err)
	case regErr != nil && (!errors.Is(regErr, codec.ErrInvalid) || !errors.Is(err, codec.ErrType)):
		t.Fatalf("register: %v; encode: %v", regErr, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	r := customers(t)
	if _, _, err := r.Encode("customer-registered", &Customer{}); !errors.Is(err, codec.ErrInvalid) || !strings.Contains(err.Error(), "*codec_test.Customer") {
		t.Errorf("a *Customer for a Customer type: %v", err)
	}
	if _, _, err := r.Encode("customer-registered", nil); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("nil: %v", err)
	}
	if _, _, err := r.Encode("nope", Customer{}); !errors.Is(err, codec.ErrType) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := codec.NewMessage(r, "t", "k", "customer-registered", Order{}); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("NewMessage with another Go type: %v", err)
	}
	var nilReg *codec.Registry
	if err := nilReg.Seal(); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("nil registry: %v", err)
	}
	if _, _, err := nilReg.Encode("x", 1); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("nil registry Encode: %v", err)
	}
}

// panicCodec panics in both directions, as a buggy custom codec might.
type panicCodec struct{}

func (panicCodec) ContentType() string         { return "application/x-panic" }
func (panicCodec) Marshal(any) ([]byte, error) { panic("boom") }
func (panicCodec) Unmarshal([]byte, any) error { panic("boom") }

func TestPanicsBecomeErrors(t *testing.T) {
	r, err := codec.NewRegistry(panicCodec{})
	must(t, err)
	must(t, codec.Register[Customer](r, "c", 2))
	must(t, r.Upcast("c", 1, func([]byte) ([]byte, error) { panic("upcaster boom") }))
	if _, _, err := r.Encode("c", Customer{}); !errors.Is(err, codec.ErrInvalid) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Marshal panic: %v", err)
	}
	if _, err := codec.Decode[Customer](r, "c", 2, nil); !errors.Is(err, codec.ErrMalformed) {
		t.Errorf("Unmarshal panic: %v", err)
	}
	if _, err := codec.Decode[Customer](r, "c", 1, nil); !errors.Is(err, codec.ErrMalformed) || !strings.Contains(err.Error(), "upcaster boom") {
		t.Errorf("upcaster panic: %v", err)
	}
}

func TestVersionTypeOfUpgrade(t *testing.T) {
	r := customers(t)
	if v, ok := r.Version("customer-registered"); !ok || v != 3 {
		t.Errorf("Version = %d, %v", v, ok)
	}
	if _, ok := r.Version("nope"); ok {
		t.Error("Version of an unknown type")
	}
	if name, ok := codec.TypeOf[Customer](r); !ok || name != "customer-registered" {
		t.Errorf("TypeOf = %q, %v", name, ok)
	}
	if _, ok := codec.TypeOf[Order](r); ok {
		t.Error("TypeOf an unregistered Go type")
	}
	if _, _, err := r.Upgrade("customer-registered", 9, nil); !errors.Is(err, codec.ErrVersion) || !strings.Contains(err.Error(), "current v3") {
		t.Errorf("Upgrade from a newer version: %v", err)
	}
	if _, _, err := r.Upgrade("nope", 1, nil); !errors.Is(err, codec.ErrType) {
		t.Errorf("Upgrade of an unknown type: %v", err)
	}
	if r.Codec() != codec.JSON {
		t.Error("Codec")
	}
}
