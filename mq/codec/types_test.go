package codec_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/groundwork-go/groundwork/mq/codec"
)

// Customer is the current (v3) shape of the "customer-registered" type:
//
//	v1 {"name": "Ada Lovelace"}
//	v2 {"first": "Ada", "last": "Lovelace"}
//	v3 {"first": "Ada", "last": "Lovelace", "tier": "standard"}
type Customer struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Tier  string `json:"tier"`
}

// v1to2 splits the name; v2to3 adds the tier old customers had.
func v1to2(data []byte) ([]byte, error) {
	var v1 struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	var first, last string
	if _, err := fmt.Sscan(v1.Name, &first, &last); err != nil {
		return nil, fmt.Errorf("name %q is not two words: %w", v1.Name, err)
	}
	return json.Marshal(map[string]string{"first": first, "last": last})
}

func v2to3(data []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not an object: %s", data)
	}
	m["tier"] = "standard"
	return json.Marshal(m)
}

// customers returns a JSON registry with Customer at v3 and both upcasters.
func customers(t testing.TB) *codec.Registry {
	t.Helper()
	r, err := codec.NewRegistry(codec.JSON)
	if err != nil {
		t.Fatal(err)
	}
	must(t, codec.Register[Customer](r, "customer-registered", 3))
	must(t, r.Upcast("customer-registered", 1, v1to2))
	must(t, r.Upcast("customer-registered", 2, v2to3))
	must(t, r.Seal())
	return r
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
