package mq

import (
	"bytes"
	"runtime"
	"strconv"
)

// goid returns the calling goroutine's id, read from the first line of its
// stack trace ("goroutine 42 [running]:"). Go exposes no other way to ask;
// it is used only to refuse Close from inside a handler, which would
// otherwise wait for itself, so its cost (about a microsecond) is paid on
// Close and once per worker, never per message.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
