package codec

import "errors"

// Sentinel errors, matched with errors.Is. Every error from Decode,
// DecodeMessage, Upgrade and a Handler is also marked mq.Permanent: no
// retry changes the bytes of a message, so a subscription dead-letters it
// at once, with the error's text naming the type and versions.
var (
	// ErrInvalid is a bad argument or registration: an empty type name,
	// version 0, a duplicate, a Go type that does not fit the codec, a
	// registration after the registry was sealed, a value of the wrong Go
	// type given to Encode, a broken upcaster chain found by Seal.
	ErrInvalid = errors.New("codec: invalid")
	// ErrType is a message type the registry does not know, or not the
	// one the caller decodes.
	ErrType = errors.New("codec: unexpected message type")
	// ErrVersion is a schema version the registry cannot read: newer than
	// the current one (from a newer producer), 0 or not a number, or older
	// than the oldest registered upcaster reaches.
	ErrVersion = errors.New("codec: unreadable schema version")
	// ErrContentType is a message encoded with another codec.
	ErrContentType = errors.New("codec: wrong content type")
	// ErrMalformed is data the codec or an upcaster cannot read.
	ErrMalformed = errors.New("codec: malformed data")
)
