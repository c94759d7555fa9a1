package codec_test

import (
	"encoding/json"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/codec"
)

// The codec layer's overhead over encoding/json alone: compare
// BenchmarkEncode/registry with BenchmarkEncode/encoding-json, and the
// same for Decode. Upcast measures one message two versions behind.

var benchCustomer = Customer{First: "Ada", Last: "Lovelace", Tier: "gold"}

func BenchmarkEncode(b *testing.B) {
	r := customers(b)
	b.Run("registry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := r.Encode("customer-registered", benchCustomer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(benchCustomer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	r := customers(b)
	data, headers, err := r.Encode("customer-registered", benchCustomer)
	must(b, err)
	m := &mq.Message{Headers: headers, Payload: data}
	b.Run("registry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := codec.Decode[Customer](r, "customer-registered", 3, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("message", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := codec.DecodeMessage[Customer](r, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v Customer
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("upcast-v1", func(b *testing.B) {
		v1 := []byte(`{"name":"Ada Lovelace"}`)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := codec.Decode[Customer](r, "customer-registered", 1, v1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
