package codec_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/codec"
)

// FuzzDecode: arbitrary payloads and header values never panic, and every
// failure is one of the package's sentinels (so the handler's caller can
// tell what went wrong), through DecodeMessage with JSON (and upcasters
// that parse their input) and with protobuf.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"name":"Ada Lovelace"}`), "customer-registered", "1", "application/json", true)
	f.Add([]byte(`{"first":"A","last":"B"}`), "", "2", "", true)
	f.Add([]byte(`{"first":"A","last":"B","tier":"x"}`), "customer-registered", "3", "application/json; charset=utf-8", true)
	f.Add([]byte(`null`), "customer-registered", "1", "application/json", true)
	f.Add([]byte(`[]`), "x", "4294967295", "application/json", true)
	f.Add([]byte{0x0a, 0x03, 'a', 'b', 'c'}, "doc", "1", "application/x-protobuf", false)
	f.Add([]byte{0xff, 0xff}, "doc", "99999999999", "bogus/;;", false)
	f.Add([]byte{}, "doc", "-1", "", false)

	jr := customers(f)
	pr, err := codec.NewRegistry(codec.Proto())
	must(f, err)
	must(f, codec.Register[*structpb.Struct](pr, "doc", 1))
	must(f, pr.Seal())
	sentinels := []error{codec.ErrType, codec.ErrVersion, codec.ErrContentType, codec.ErrMalformed}

	f.Fuzz(func(t *testing.T, payload []byte, typ, version, contentType string, json bool) {
		h := map[string]string{}
		for k, v := range map[string]string{"message-type": typ, "schema-version": version, "content-type": contentType} {
			if v != "" {
				h[k] = v
			}
		}
		m := &mq.Message{ID: "fuzz", Headers: h, Payload: payload}
		if json {
			_, err = codec.DecodeMessage[Customer](jr, m)
		} else {
			_, err = codec.DecodeMessage[*structpb.Struct](pr, m)
		}
		if err == nil {
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error of no known kind: %v", err)
	})
}
