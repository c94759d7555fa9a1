package rocketmq

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/tidwall/gjson"
)

// This file is a small RocketMQ remoting client for the requests the
// provider makes outside the native client: a route query (Ping, and
// finding the brokers Subscribe creates a topic on), topic creation, and
// the hand-over of a queue a rebalance moves (handover.go): committing its
// offset and unlocking it.
// The native client has no call for them that takes a context (its name
// server queries use fixed timeouts), does not tell broker addresses, and
// its admin CreateTopic ignores the broker's answer. Frames are
// len(4) | headerLen(4, codec 0: JSON) | JSON header | body.

// Request codes and response codes of the remoting protocol.
const (
	reqUpdateOffset  = 15
	reqCreateTopic   = 17
	reqLockBatchMQ   = 41
	reqUnlockBatchMQ = 42
	reqRouteByTopic  = 105
	resSuccess       = 0
	resTopicNotExist = 17
)

var opaque atomic.Int32

type command struct {
	Code      int16             `json:"code"`
	Language  string            `json:"language"`
	Version   int16             `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int32             `json:"flag"`
	Remark    string            `json:"remark"`
	ExtFields map[string]string `json:"extFields"`
}

// errTopicNotExist: the name server knows no route for the topic.
var errTopicNotExist = errors.New("topic does not exist")

// invoke sends one request (with body, which may be nil) to addr on a
// connection of its own and returns the response, within ctx (and at most
// 10s).
func invoke(ctx context.Context, addr string, code int16, ext map[string]string, body []byte, cred primitive.Credentials) (*command, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := command{Code: code, Language: "GO", Version: 317, Opaque: opaque.Add(1), ExtFields: ext}
	if credentialsSet(cred) {
		sign(&req, body, cred)
	}
	header, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(4+len(header)+len(body)))
	frame = binary.BigEndian.AppendUint32(frame, uint32(len(header)))
	frame = append(append(frame, header...), body...)
	if _, err := conn.Write(frame); err != nil {
		return nil, nil, ctxErr(ctx, err)
	}
	for {
		var lens [8]byte
		if _, err := io.ReadFull(conn, lens[:]); err != nil {
			return nil, nil, ctxErr(ctx, err)
		}
		total, hl := binary.BigEndian.Uint32(lens[:4]), binary.BigEndian.Uint32(lens[4:])&0xFFFFFF
		if lens[4] != 0 || total < 4+hl || total > 64<<20 {
			return nil, nil, fmt.Errorf("%s answered a frame this client cannot read (length %d, header %d, codec %d)", addr, total, hl, lens[4])
		}
		buf := make([]byte, total-4)
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, nil, ctxErr(ctx, err)
		}
		var resp command
		if err := json.Unmarshal(buf[:hl], &resp); err != nil {
			return nil, nil, fmt.Errorf("%s answered a header this client cannot read: %v", addr, err)
		}
		if resp.Flag&1 == 1 && resp.Opaque == req.Opaque {
			return &resp, buf[hl:], nil
		}
		// A request from the server, or another response: not ours.
	}
}

// ctxErr prefers the context's error over the I/O error its end caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// sign adds the ACL fields the broker checks, as the client's
// ACLInterceptor computes them: HMAC-SHA1 over the values of the sorted
// extension fields (the access key and token included), then the body.
func sign(req *command, body []byte, cred primitive.Credentials) {
	if req.ExtFields == nil {
		req.ExtFields = map[string]string{}
	}
	req.ExtFields["AccessKey"] = cred.AccessKey
	if cred.SecurityToken != "" {
		req.ExtFields["SecurityToken"] = cred.SecurityToken
	}
	keys := make([]string, 0, len(req.ExtFields))
	for k := range req.ExtFields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(cred.SecretKey))
	for _, k := range keys {
		mac.Write([]byte(req.ExtFields[k]))
	}
	mac.Write(body)
	req.ExtFields["Signature"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// route is what the name server says about a topic: the master address
// of each broker that has queues of it.
type route struct {
	masters map[string]string // broker name -> address of broker ID 0
}

// queryRoute asks the name servers in turn for topic's route and returns
// the first answer; errTopicNotExist when the answer is that the topic
// does not exist. Any answer at all proves a name server is up.
func queryRoute(ctx context.Context, nameServers []string, topic string, cred primitive.Credentials) (route, error) {
	var errs []error
	for _, ns := range nameServers {
		resp, body, err := invoke(ctx, ns, reqRouteByTopic, map[string]string{"topic": topic}, nil, cred)
		if err != nil {
			errs = append(errs, fmt.Errorf("name server %s: %w", ns, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch resp.Code {
		case resSuccess:
			return parseRoute(body)
		case resTopicNotExist:
			return route{}, errTopicNotExist
		default:
			return route{}, fmt.Errorf("name server %s: route of %q: code %d: %s", ns, topic, resp.Code, resp.Remark)
		}
	}
	return route{}, errors.Join(errs...)
}

// parseRoute reads the brokers of a route body as the native client
// does: Java's name server writes brokerAddrs with bare numeric keys
// ({0:"host:port"}), which is not JSON, so the map is split by hand.
func parseRoute(body []byte) (route, error) {
	r := route{masters: map[string]string{}}
	for _, bd := range gjson.GetBytes(body, "brokerDatas").Array() {
		name, addrs := bd.Get("brokerName").String(), bd.Get("brokerAddrs").Raw
		if name == "" || len(addrs) < 2 {
			continue
		}
		for _, kv := range strings.Split(addrs[1:len(addrs)-1], ",") {
			k, v, ok := strings.Cut(kv, ":")
			if !ok {
				continue
			}
			if id, err := strconv.Atoi(strings.Trim(strings.TrimSpace(k), `"`)); err == nil && id == 0 {
				r.masters[name] = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	return r, nil
}

// createTopic has the broker at addr create topic with queues read and
// write queues (UPDATE_AND_CREATE_TOPIC); the broker registers it with the
// name servers.
func createTopic(ctx context.Context, addr, topic string, queues int, cred primitive.Credentials) error {
	n := strconv.Itoa(queues)
	resp, _, err := invoke(ctx, addr, reqCreateTopic, map[string]string{
		"topic": topic, "defaultTopic": "TBW102", "readQueueNums": n, "writeQueueNums": n,
		"perm": "6", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false",
	}, nil, cred)
	if err != nil {
		return fmt.Errorf("broker %s: %w", addr, err)
	}
	if resp.Code != resSuccess {
		return fmt.Errorf("broker %s: create topic %q: code %d: %s", addr, topic, resp.Code, resp.Remark)
	}
	return nil
}

// commitOffset sets group's committed offset of queue q to offset at the
// broker at addr (UPDATE_CONSUMER_OFFSET, answered).
func commitOffset(ctx context.Context, addr, group string, q primitive.MessageQueue, offset int64, cred primitive.Credentials) error {
	resp, _, err := invoke(ctx, addr, reqUpdateOffset, map[string]string{
		"consumerGroup": group, "topic": q.Topic, "queueId": strconv.Itoa(q.QueueId),
		"commitOffset": strconv.FormatInt(offset, 10),
	}, nil, cred)
	if err != nil {
		return fmt.Errorf("broker %s: %w", addr, err)
	}
	if resp.Code != resSuccess {
		return fmt.Errorf("broker %s: commit offset of %s: code %d: %s", addr, q.String(), resp.Code, resp.Remark)
	}
	return nil
}

// lockQueues asks the broker at addr to lock qs for client of group
// (LOCK_BATCH_MQ; a lock already client's is renewed) and returns those
// it locked.
func lockQueues(ctx context.Context, addr, group, client string, qs []primitive.MessageQueue, cred primitive.Credentials) ([]primitive.MessageQueue, error) {
	body, err := json.Marshal(map[string]any{"consumerGroup": group, "clientId": client, "mqSet": qs})
	if err != nil {
		return nil, err
	}
	resp, rbody, err := invoke(ctx, addr, reqLockBatchMQ, nil, body, cred)
	if err != nil {
		return nil, fmt.Errorf("broker %s: %w", addr, err)
	}
	if resp.Code != resSuccess {
		return nil, fmt.Errorf("broker %s: lock queues: code %d: %s", addr, resp.Code, resp.Remark)
	}
	var ok struct {
		MQs []primitive.MessageQueue `json:"lockOKMQSet"`
	}
	if err := json.Unmarshal(rbody, &ok); err != nil {
		return nil, fmt.Errorf("broker %s: lock answer: %v", addr, err)
	}
	return ok.MQs, nil
}

// unlockQueue releases client's lock of group on queue q at the broker at
// addr (UNLOCK_BATCH_MQ, answered); the broker ignores it when the lock is
// not client's.
func unlockQueue(ctx context.Context, addr, group, client string, q primitive.MessageQueue, cred primitive.Credentials) error {
	body, err := json.Marshal(map[string]any{"consumerGroup": group, "clientId": client,
		"mqSet": []map[string]any{{"topic": q.Topic, "brokerName": q.BrokerName, "queueId": q.QueueId}}})
	if err != nil {
		return err
	}
	resp, _, err := invoke(ctx, addr, reqUnlockBatchMQ, nil, body, cred)
	if err != nil {
		return fmt.Errorf("broker %s: %w", addr, err)
	}
	if resp.Code != resSuccess {
		return fmt.Errorf("broker %s: unlock %s: code %d: %s", addr, q.String(), resp.Code, resp.Remark)
	}
	return nil
}
