package testserver

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// rmqFrame encodes a request for seeds and raw tests.
func rmqFrame(codec byte, code int16, ext map[string]string, body []byte) []byte {
	f, err := encodeRmqFrame(&rmqCommand{Code: code, Opaque: 7, ExtFields: ext, Body: body}, codec)
	if err != nil {
		panic(err)
	}
	return f
}

// rmqSeeds are frames a client might send, good and bad.
func rmqSeeds() [][]byte {
	hb, _ := json.Marshal(map[string]any{"clientID": "c1", "consumerDataSet": []any{map[string]any{
		"groupName": "g", "subscriptionDataSet": []any{map[string]any{"topic": "t", "subString": "*"}}}}})
	send := map[string]string{"topic": "t", "queueId": "0", "properties": "KEYS\x01k\x02TAGS\x01a\x02"}
	batch := map[string]string{"b": "t", "e": "1"}
	return [][]byte{
		rmqFrame(rmqCodecJSON, 105, map[string]string{"topic": "TBW102"}, nil),
		rmqFrame(rmqCodecBinary, 105, map[string]string{"topic": "t"}, nil),
		rmqFrame(rmqCodecJSON, 10, send, []byte("hello")),
		rmqFrame(rmqCodecJSON, 320, batch, []byte{0, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 'b', 'o', 'd', 'y', 0, 2, 'a', 1, 'b', 2}),
		rmqFrame(rmqCodecJSON, 320, batch, []byte{0, 0, 0, 99, 1}),
		rmqFrame(rmqCodecJSON, 34, nil, hb),
		rmqFrame(rmqCodecJSON, 34, nil, []byte("{not json")),
		rmqFrame(rmqCodecJSON, 11, map[string]string{"consumerGroup": "g", "topic": "t", "queueId": "0", "queueOffset": "0", "maxMsgNums": "32", "sysFlag": "2", "suspendTimeoutMillis": "5"}, nil),
		rmqFrame(rmqCodecJSON, 36, map[string]string{"group": "g", "offset": "0", "delayLevel": "-1"}, nil),
		rmqFrame(rmqCodecJSON, 37, map[string]string{"commitLogOffset": "0", "commitOrRollback": "8"}, nil),
		rmqFrame(rmqCodecJSON, 41, nil, []byte(`{"consumerGroup":"g","clientId":"c1","mqSet":[{"topic":"t","queueId":0}]}`)),
		rmqFrame(rmqCodecJSON, 17, map[string]string{"topic": "t2", "writeQueueNums": "99999999999"}, nil),
		rmqFrame(rmqCodecJSON, 99, nil, nil),
		{0, 0, 0, 4, 0, 0, 0, 0},                 // empty JSON header
		{0, 0, 0, 8, 0, 0, 0, 200, 1, 2},         // header longer than frame
		{0, 0, 0, 6, 7, 0, 0, 1, '{', '}'},       // unknown codec
		{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},     // negative length
		{0x7f, 0xff, 0xff, 0xff},                 // huge length
		{0, 0, 0, 9, 1, 0, 0, 5, 0, 10, 0, 0, 0}, // truncated binary header
		{0, 0, 0, 2},
	}
}

// FuzzRocketMQFrame feeds arbitrary bytes to the double's connection
// handling, as the broker and as the name server: nothing may panic, and
// a frame that decodes re-encodes to the same command.
func FuzzRocketMQFrame(f *testing.F) {
	for _, s := range rmqSeeds() {
		f.Add(s)
	}
	r := StartRocketMQ(f, RocketMQMaxMessageBytes(1<<16))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 4 {
			if cmd, codec, err := decodeRmqFrame(data[4:]); err == nil {
				again, err := encodeRmqFrame(cmd, codec)
				if err != nil {
					t.Fatalf("re-encode %+v: %v", cmd, err)
				}
				cmd2, _, err := decodeRmqFrame(again[4:])
				if err != nil || cmd2.Code != cmd.Code || cmd2.Opaque != cmd.Opaque || len(cmd2.ExtFields) != len(cmd.ExtFields) || string(cmd2.Body) != string(cmd.Body) {
					t.Fatalf("round trip: %+v became %+v (%v)", cmd, cmd2, err)
				}
			}
		}
		for _, role := range []rmqRole{rmqRoleBroker, rmqRoleNameServer} {
			feedConn(r, role, data)
		}
	})
}

// feedConn runs one connection of the double over a pipe, writes data
// and closes, draining whatever the double answers.
func feedConn(r *RocketMQ, role rmqRole, data []byte) {
	client, server := net.Pipe()
	c := newRmqConn(r, server, role)
	r.wg.Add(1)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		c.readLoop()
	}()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, client)
	}()
	client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	client.Write(data)
	client.Close()
	<-loopDone
	<-drained
}

func TestRocketMQFrameDecoderErrors(t *testing.T) {
	for i, s := range rmqSeeds()[13:] {
		if len(s) < 4 {
			continue
		}
		if n := int32(binary.BigEndian.Uint32(s)); n >= 4 && int(n) == len(s)-4 {
			if _, _, err := decodeRmqFrame(s[4:]); err == nil {
				t.Errorf("bad seed %d (% x) decoded without error", i, s)
			}
		}
	}
}

// rawCall sends one request frame on nc and reads frames until the
// response to it (skipping requests the double pushes).
func rawCall(t *testing.T, nc net.Conn, code int16, ext map[string]string, body []byte) *rmqCommand {
	t.Helper()
	if _, err := nc.Write(rmqFrame(rmqCodecJSON, code, ext, body)); err != nil {
		t.Fatalf("write request %d: %v", code, err)
	}
	nc.SetReadDeadline(time.Now().Add(patience))
	for {
		cmd, _, err := readRmqFrame(nc, 1<<24)
		if err != nil {
			t.Fatalf("read response to %d: %v", code, err)
		}
		if cmd.isResponse() && cmd.Opaque == 7 {
			return cmd
		}
	}
}

// TestRocketMQDoubleLeavesNoGoroutines drives the double with a raw
// client (so no client goroutines are involved) through a held long
// poll, a pause and an outage, and checks with goleak that nothing it
// started survives its cleanup.
func TestRocketMQDoubleLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("double", func(t *testing.T) {
		// The raw connections stay open until after the double's cleanup:
		// the double must end its goroutines itself.
		var open []net.Conn
		t.Cleanup(func() {
			for _, c := range open {
				c.Close()
			}
		})
		r := StartRocketMQ(t, RocketMQClientExpiry(time.Hour))
		nc, err := net.Dial("tcp", r.BrokerAddr())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, nc)
		hb, _ := json.Marshal(map[string]any{"clientID": "raw", "consumerDataSet": []any{map[string]any{
			"groupName": "g", "subscriptionDataSet": []any{map[string]any{"topic": "t", "subString": "*"}}}}})
		if resp := rawCall(t, nc, 17, map[string]string{"topic": "t", "writeQueueNums": "2"}, nil); resp.Code != rmqSuccess {
			t.Fatalf("create topic: %+v", resp)
		}
		if resp := rawCall(t, nc, 34, nil, hb); resp.Code != rmqSuccess {
			t.Fatalf("heartbeat: %+v", resp)
		}
		// A pull held for 20 s, then a pause, then the double ends.
		nc.Write(rmqFrame(rmqCodecJSON, 11, map[string]string{"consumerGroup": "g", "topic": "t", "queueId": "0",
			"queueOffset": "0", "maxMsgNums": "32", "sysFlag": "2", "suspendTimeoutMillis": "20000"}, nil))
		restore := r.Outage(t)
		restore()
		r.Pause()
		nc2, err := net.Dial("tcp", r.NameServer())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, nc2)
		nc2.Write(rmqFrame(rmqCodecJSON, 105, map[string]string{"topic": "t"}, nil))
	})
	goleak.VerifyNone(t, ignore)
}
