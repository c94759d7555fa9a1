package logship

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// TestEventIDText: the id's text is the 16 bytes in hex, grouped
// 8-4-4-4-12: the first 12 digits are the record's Unix milliseconds,
// the version nibble is 7, the variant bits 10, the last 8 digits the
// Shipper's node.
func TestEventIDText(t *testing.T) {
	var f frontState
	f.init()
	now := time.UnixMilli(0x0190a1b2c3d4)
	id := string(f.appendEventID([]byte("x"), now))[1:]
	if len(id) != eventIDLen || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		t.Fatalf("id %q: not grouped 8-4-4-4-12", id)
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 {
		t.Fatalf("id %q: not 16 bytes of hex: %v", id, err)
	}
	if got := id[:8] + id[9:13]; got != "0190a1b2c3d4" {
		t.Errorf("time digits %q, want 0190a1b2c3d4", got)
	}
	if raw[6]>>4 != 7 || raw[8]>>6 != 2 {
		t.Errorf("id %q: version %x, variant %b", id, raw[6]>>4, raw[8]>>6)
	}
	if node := uint32(raw[12])<<24 | uint32(raw[13])<<16 | uint32(raw[14])<<8 | uint32(raw[15]); node != f.node {
		t.Errorf("node %08x, want %08x", node, f.node)
	}
}
