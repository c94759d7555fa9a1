package testserver

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// RocketMQ remoting frames: len(4) | codec<<24 | headerLen (4) | header |
// body, big-endian; len counts everything after itself. The header is
// JSON (codec 0, what the Go client sends) or RocketMQ's binary layout
// (codec 1, what Java clients may send).

const (
	rmqCodecJSON   = 0
	rmqCodecBinary = 1

	rmqFlagResponse = 1      // flag bit 0: this is a response
	rmqFlagOneway   = 1 << 1 // flag bit 1: no response wanted

	// rmqMaxHeader bounds a header so a hostile length cannot make the
	// double allocate much before it finds the frame is bad.
	rmqMaxHeader = 1 << 20
)

// rmqCommand is one request or response.
type rmqCommand struct {
	Code      int16             `json:"code"`
	Language  string            `json:"language"`
	Version   int16             `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int32             `json:"flag"`
	Remark    string            `json:"remark,omitempty"`
	ExtFields map[string]string `json:"extFields,omitempty"`
	Body      []byte            `json:"-"`
}

func (c *rmqCommand) isResponse() bool { return c.Flag&rmqFlagResponse != 0 }
func (c *rmqCommand) isOneway() bool   { return c.Flag&rmqFlagOneway != 0 }

var errRmqFrame = errors.New("bad rocketmq frame")

// readRmqFrame reads one frame of at most maxFrame bytes and decodes it,
// returning the codec it came in. A malformed frame is an error wrapping
// errRmqFrame, never a panic.
func readRmqFrame(rd io.Reader, maxFrame int) (*rmqCommand, byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(rd, hdr[:]); err != nil {
		return nil, 0, err
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 4 || n > int64(maxFrame) {
		return nil, 0, fmt.Errorf("%w: frame length %d outside [4, %d]", errRmqFrame, n, maxFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rd, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	return decodeRmqFrame(buf)
}

// decodeRmqFrame decodes a frame without its length prefix.
func decodeRmqFrame(buf []byte) (*rmqCommand, byte, error) {
	if len(buf) < 4 {
		return nil, 0, fmt.Errorf("%w: %d bytes, shorter than the header length", errRmqFrame, len(buf))
	}
	mark := binary.BigEndian.Uint32(buf)
	codec := byte(mark >> 24)
	hlen := int(mark & 0xFFFFFF)
	if hlen > len(buf)-4 || hlen > rmqMaxHeader {
		return nil, 0, fmt.Errorf("%w: header length %d, frame has %d bytes", errRmqFrame, hlen, len(buf)-4)
	}
	header, body := buf[4:4+hlen], buf[4+hlen:]
	var cmd *rmqCommand
	var err error
	switch codec {
	case rmqCodecJSON:
		cmd = &rmqCommand{}
		if err = json.Unmarshal(header, cmd); err != nil {
			err = fmt.Errorf("%w: JSON header: %v", errRmqFrame, err)
		}
	case rmqCodecBinary:
		cmd, err = decodeRmqBinaryHeader(header)
	default:
		err = fmt.Errorf("%w: unknown codec %d", errRmqFrame, codec)
	}
	if err != nil {
		return nil, 0, err
	}
	if len(body) > 0 {
		cmd.Body = body
	}
	return cmd, codec, nil
}

// decodeRmqBinaryHeader decodes RocketMQ's binary header: code(2)
// language(1) version(2) opaque(4) flag(4) remarkLen(4) remark
// extLen(4) ext, ext being repeated keyLen(2) key valLen(4) val.
func decodeRmqBinaryHeader(b []byte) (*rmqCommand, error) {
	r := rmqReader{b: b}
	cmd := &rmqCommand{}
	cmd.Code = int16(r.u16())
	lang := r.u8()
	cmd.Language = "JAVA"
	if lang == 9 {
		cmd.Language = "GO"
	}
	cmd.Version = int16(r.u16())
	cmd.Opaque = int32(r.u32())
	cmd.Flag = int32(r.u32())
	cmd.Remark = string(r.bytes(int(int32(r.u32()))))
	ext := r.bytes(int(int32(r.u32())))
	if r.err != nil {
		return nil, fmt.Errorf("%w: binary header: %v", errRmqFrame, r.err)
	}
	if len(ext) > 0 {
		cmd.ExtFields = map[string]string{}
		er := rmqReader{b: ext}
		for er.err == nil && len(er.b) > 0 {
			k := er.bytes(int(er.u16()))
			v := er.bytes(int(int32(er.u32())))
			if er.err == nil {
				cmd.ExtFields[string(k)] = string(v)
			}
		}
		if er.err != nil {
			return nil, fmt.Errorf("%w: binary header extFields: %v", errRmqFrame, er.err)
		}
	}
	return cmd, nil
}

// encodeRmqFrame encodes cmd in the given codec.
func encodeRmqFrame(cmd *rmqCommand, codec byte) ([]byte, error) {
	var header []byte
	if codec == rmqCodecBinary {
		header = encodeRmqBinaryHeader(cmd)
	} else {
		var err error
		if header, err = json.Marshal(cmd); err != nil {
			return nil, err
		}
	}
	frame := make([]byte, 8, 8+len(header)+len(cmd.Body))
	binary.BigEndian.PutUint32(frame, uint32(4+len(header)+len(cmd.Body)))
	binary.BigEndian.PutUint32(frame[4:], uint32(codec)<<24|uint32(len(header))&0xFFFFFF)
	frame = append(frame, header...)
	return append(frame, cmd.Body...), nil
}

func encodeRmqBinaryHeader(cmd *rmqCommand) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(cmd.Code))
	b = append(b, 0) // JAVA
	b = binary.BigEndian.AppendUint16(b, uint16(cmd.Version))
	b = binary.BigEndian.AppendUint32(b, uint32(cmd.Opaque))
	b = binary.BigEndian.AppendUint32(b, uint32(cmd.Flag))
	b = binary.BigEndian.AppendUint32(b, uint32(len(cmd.Remark)))
	b = append(b, cmd.Remark...)
	var ext []byte
	for k, v := range cmd.ExtFields {
		ext = binary.BigEndian.AppendUint16(ext, uint16(len(k)))
		ext = append(ext, k...)
		ext = binary.BigEndian.AppendUint32(ext, uint32(len(v)))
		ext = append(ext, v...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(ext)))
	return append(b, ext...)
}

// rmqReader reads big-endian fields, remembering the first short read.
type rmqReader struct {
	b   []byte
	err error
}

func (r *rmqReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("field of %d bytes, %d left", n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *rmqReader) bytes(n int) []byte { return r.take(n) }

func (r *rmqReader) u8() byte {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *rmqReader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *rmqReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}
