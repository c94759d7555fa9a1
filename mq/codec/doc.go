// Package codec gives mq typed payloads with schema versions: a Codec
// (JSON by default, protobuf with Proto) turns values into message
// payloads, and a Registry names each message type, its current schema
// version and the upcasters that read older versions as the current shape.
//
//	reg, _ := codec.NewRegistry(codec.JSON)
//	_ = codec.Register[OrderPlaced](reg, "order-placed", 3)
//	_ = reg.Upcast("order-placed", 1, v1to2) // v1 → v2
//	_ = reg.Upcast("order-placed", 2, v2to3) // v2 → v3
//	if err := reg.Seal(); err != nil { ... } // a missing step is reported here
//
//	m, _ := codec.NewMessage(reg, "orders", orderID, "order-placed", OrderPlaced{...})
//	_ = client.Publish(ctx, m)
//	sub, _ := client.Subscribe(ctx, "orders", "billing",
//		codec.Handler(reg, func(ctx context.Context, m *mq.Message, o OrderPlaced) error { ... }))
//
// eventstore uses the same Registry (Decode, Upgrade) so that old events
// read as the current shape in Load and projections too.
//
// # Headers
//
// Encode and NewMessage set three headers: content-type (the codec's media
// type), schema-version (decimal, from 1) and message-type (the registered
// name). Reading a message (DecodeMessage, Handler), a missing header has a
// default, so a plain message from a producer that does not use this
// package is read: the handler's type, at version 1, in the registry's
// codec. A header that is present must match: another message type or
// content type is an error, as is a version newer than the current one.
//
// # Guarantees
//
// A value decoded is always of the current shape: data of version v runs
// the upcasters v→v+1, ..., up to the current version, then the codec. Upcasters
// are pure functions over the codec's encoding (JSON bytes in, JSON bytes
// out) that must not modify their input; a panic in one, or in a codec, is
// an error, never a crash. A message that cannot be decoded never reaches
// the handler's function: it goes to the dead-letter topic at once
// (mq.Permanent), with the reason in mq.HeaderDLQError, rather than being
// retried, since no retry changes its bytes. A message from a newer
// producer (schema-version above the current one) is dead-lettered the same
// way: redrive it once the consumer is upgraded.
//
// Registration. Register, Upcast, then use. The first Encode, Decode,
// Upgrade, DecodeMessage, Version, TypeOf or an explicit Seal seals the
// registry: it checks every upcaster chain (the steps of a type must run
// without a gap up to its current version) and from then on refuses
// registration with ErrInvalid, so that a type's shape never changes under a
// running consumer and reads need no lock. A registry whose chain is broken
// returns Seal's error from every call. Each Go type has one type name, so
// that Handler[T] knows what it decodes. After sealing, a Registry is safe
// for concurrent use.
//
// # Errors
//
// Sentinels, matched with errors.Is: ErrInvalid (bad argument or
// registration, broken chain), ErrType (unknown or unexpected message
// type), ErrVersion (newer than current, 0, malformed, or older than the
// upcasters reach), ErrContentType, ErrMalformed (the codec or an upcaster
// failed on the data). Errors read "codec: <call>: <cause>" and name the
// type and versions: `codec: decode message 0193… as "order-placed" v4
// (current v3): unreadable schema version: v4 is newer than the current v3
// (from a newer producer?)`. Every error of a decoding call is marked
// mq.Permanent.
//
// # Observability
//
// Metrics go to WithMeterProvider (default: the global provider), read from
// atomics at collection time: codec.encoded (message.type, outcome ok |
// error | unknown_type) and codec.decoded (message.type, outcome ok |
// upcast | error | unknown_type). message.type is bounded by the registered
// types.
//
// # URLs
//
// None: the package has no provider; messages travel over any mq URL.
//
// # As
//
// None: there is no native client.
package codec
