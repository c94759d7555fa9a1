package logship

import (
	"sync/atomic"
	"unsafe"
)

// keyClass is what the encoder decides about an attribute key from its
// text alone: whether it clashes with a field the encoder owns, whether
// it is written as is, and the name rule selecting it. Keys are nearly
// always string literals, the same few thousand bytes record after
// record, so the decisions are made once per key and looked up by the
// string's address (keyClasses).
type keyClass struct {
	key      string // held: its address cannot be reused while cached
	reserved bool
	plain    bool
	rule     *keyRule // nil: no name rule selects the key
}

// keyClasses caches keyClass by key address, per Handler configuration.
// A slot is filled once and never replaced: a key built at run time
// fills at most one slot for good (64 small allocations per Handler,
// ever), and two literals sharing a slot cost the loser the uncached
// path, never an allocation per record.
type keyClasses [64]atomic.Pointer[keyClass]

// classify returns key's keyClass; rd may be nil (no redaction), and is
// the same on every call (the cache belongs to one handlerConfig).
// KeyMatch predicates are thereby called once per key text, not per
// record: they must depend on the key alone (as documented).
func (kc *keyClasses) classify(key string, rd *redactor) keyClass {
	if len(key) == 0 {
		return classifyKey(key, rd)
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(key)))
	slot := &kc[(p>>3^p>>9^uintptr(len(key)))&63]
	if c := slot.Load(); c != nil {
		if unsafe.StringData(c.key) == unsafe.StringData(key) && len(c.key) == len(key) {
			return *c
		}
		return classifyKey(key, rd)
	}
	c := classifyKey(key, rd)
	slot.CompareAndSwap(nil, &c)
	return c
}

func classifyKey(key string, rd *redactor) keyClass {
	c := keyClass{key: key, reserved: isReserved(key), plain: plainASCII(key)}
	if rd != nil {
		c.rule = rd.nameRule(key)
	}
	return c
}
