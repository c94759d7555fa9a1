package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// On disk a segment is a 16-byte header (magic, then the position of its
// first record, little endian) followed by records. A record is
//
//	length uint32 LE | crc32c(length bytes || data) uint32 LE | data
//
// Covering the length with the checksum means a torn or flipped length is
// caught as surely as torn data.
const (
	segmentMagic  = "GWWAL\x00\x00\x01"
	segHeaderSize = 16
	recHeaderSize = 8
	// MaxRecordBytes is the largest record Append accepts; it also bounds
	// what the decoder will try to read when a length field is garbage.
	MaxRecordBytes = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn marks a record that is incomplete or fails its checksum.
var errTorn = errors.New("torn or corrupt record")

func recordChecksum(lenBytes, data []byte) uint32 {
	return crc32.Update(crc32.Checksum(lenBytes, castagnoli), castagnoli, data)
}

// appendRecord appends the encoding of data to dst. The header is built in
// dst itself: a local array handed to the checksum escapes to the heap, an
// allocation on every Append.
func appendRecord(dst, data []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, recHeaderSize)...)
	hdr := dst[n : n+recHeaderSize]
	binary.LittleEndian.PutUint32(hdr[:4], uint32(len(data)))
	binary.LittleEndian.PutUint32(hdr[4:], recordChecksum(hdr[:4], data))
	return append(dst, data...)
}

// readRecord reads one record from r. It returns io.EOF at a clean end, and
// an error wrapping errTorn for a short or damaged record. buf is reused
// when large enough; the returned slice aliases it.
func readRecord(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [recHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: short header", errTorn)
		}
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if n > MaxRecordBytes {
		return nil, fmt.Errorf("%w: length %d over the %d limit", errTorn, n, MaxRecordBytes)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: short data (want %d bytes)", errTorn, n)
		}
		return nil, err
	}
	if recordChecksum(hdr[:4], buf) != binary.LittleEndian.Uint32(hdr[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errTorn)
	}
	return buf, nil
}

func encodeSegmentHeader(first uint64) []byte {
	b := make([]byte, segHeaderSize)
	copy(b, segmentMagic)
	binary.LittleEndian.PutUint64(b[8:], first)
	return b
}

func decodeSegmentHeader(b []byte) (uint64, error) {
	if len(b) < segHeaderSize || string(b[:8]) != segmentMagic {
		return 0, fmt.Errorf("%w: bad segment header", errTorn)
	}
	return binary.LittleEndian.Uint64(b[8:]), nil
}
