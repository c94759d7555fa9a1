package testserver

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RocketMQ is an in-process RocketMQ name server and one broker
// ("broker-a" of cluster "DefaultCluster") speaking the real remoting
// protocol (JSON and binary header codecs) on two loopback ports, for
// tests of code built on github.com/apache/rocketmq-client-go/v2. It
// behaves as a single-master RocketMQ 4.9 broker does where a client can
// observe it:
//
//   - topics are created on first send (autoCreateTopicEnable), each with
//     RocketMQQueues queues; TBW102 is always routable, so the producer's
//     TOPIC_NOT_EXIST fallback works; the name server answers 17
//     TOPIC_NOT_EXIST for a topic that does not exist yet;
//   - messages are stored per queue with queue offsets from 0, commit-log
//     offsets, store/born timestamps and hosts, and the client's
//     properties string byte for byte; pulls return binary MessageExt
//     records in the layout primitive.DecodeMessage reads;
//   - pulls are long-polled: a pull that finds nothing is held until a
//     message arrives on its queue (then answered with it) or its
//     suspend timeout passes (then 19 PULL_NOT_FOUND); 20 and 21 as the
//     real broker answers for filtered-out and out-of-range offsets;
//     tags are filtered on the broker;
//   - consumer groups: heartbeats (34) register a client in its groups on
//     its connection; a client leaves when its connection closes, when it
//     sends 35 UNREGISTER_CLIENT, or when it has not sent a heartbeat for
//     RocketMQClientExpiry (120 s, the broker's channel expiry); every
//     change is pushed to the group's members as 40
//     NOTIFY_CONSUMER_IDS_CHANGED, as the real broker does;
//   - committed offsets (15, and the commit flag of a pull) belong to the
//     group and survive its members; a group with no committed offset on a
//     queue is answered offset 0 (the real broker does so while the
//     queue's first message is still in memory, which here is always),
//     or QUERY_NOT_FOUND (22) with RocketMQNewGroupsNotFound, as a real
//     broker answers once that message has left memory;
//   - 36 ConsumerSendMsgBack re-stores the message in %RETRY%<group> with
//     the reconsume count incremented, RETRY_TOPIC and ORIGIN_MESSAGE_ID
//     set, after its delay level's delay; past maxReconsumeTimes (or a
//     negative delay level) it goes to %DLQ%<group> (write-only, as on a
//     real broker). A plain send (10) to %RETRY%<group> — the client's
//     fallback — is treated the same way;
//   - 41/42 lock and unlock queues for orderly consumers (a lock expires
//     after RocketMQLockExpiry, 60 s as on a real broker);
//   - transactional half messages are hidden until 37 EndTransaction
//     commits them; one left unresolved for RocketMQTransactionCheck is
//     checked back with 39 CHECK_TRANSACTION_STATE on a connection of its
//     producer group;
//   - 320 batch sends; a message over RocketMQMaxMessageBytes is refused
//     with 13 MESSAGE_ILLEGAL; properties over 32767 bytes likewise.
//
// Not modelled (a test that needs them needs a real cluster): replication
// and slaves, flush policies and disk (nothing is persisted, nothing is
// ever deleted, so minOffset is always 0), more than one broker,
// permissions beyond the DLQ's write-only, ACL, TLS, namespaces on the
// server side, SQL92 filters (only tag filters), the 5.x timer
// (TIMER_DELIVER_MS is ignored, as a 4.x broker does), pop consumption,
// request-reply messages, admin operations beyond creating, listing and
// deleting topics, and real delay-level timing: delay levels run 100
// times faster than on a real broker (level 1 = 10 ms … level 18 = 72 s)
// unless RocketMQDelayLevels sets them. Two departures save tests a 30 s
// route refresh: the name server answers a route query for
// %RETRY%<group> by creating that topic (a real broker creates it at the
// group's first heartbeat, which the client sends right after), and
// auto-created topics get RocketMQQueues queues whatever
// defaultTopicQueueNums the client sends.
type RocketMQ struct {
	cfg rmqConfig

	nsL, brokerL *switchListener
	brokerAddr   string
	storeHost    [4]byte
	storePort    int32

	wg     sync.WaitGroup
	done   chan struct{}
	closed atomic.Bool

	// paused is non-nil while Pause is in force; it is closed by resume.
	gateMu sync.Mutex
	paused chan struct{}

	faultMu sync.Mutex
	faults  map[int16]*rmqFault

	opaque atomic.Int32

	mu        sync.Mutex
	conns     map[*rmqConn]struct{}
	topics    map[string]*rmqTopic
	commitLog map[int64]*rmqMessage
	nextPhys  int64
	offsets   map[rmqOffsetKey]int64
	groups    map[string]*rmqGroup
	producers map[string]map[string]*rmqConn // producer group -> client id -> conn
	locks     map[rmqLockKey]rmqLock
	scheduled []*rmqScheduled // delayed messages, by due time
	halves    map[int64]*rmqHalf
	wake      chan struct{} // pokes the scheduler when scheduled work changes
}

type rmqConfig struct {
	queues          int
	maxMessageBytes int
	delayLevels     []time.Duration
	clientExpiry    time.Duration
	lockExpiry      time.Duration
	txCheck         time.Duration
	txCheckMax      int
	newGroupsAbsent bool          // QUERY_CONSUMER_OFFSET without an offset: 22, not 0
	createdUnrouted bool          // topics UPDATE_AND_CREATE_TOPIC creates never get a route
	clockSkew       time.Duration // added to the time store timestamps are taken at
}

// RocketMQOption configures StartRocketMQ.
type RocketMQOption func(*rmqConfig)

// RocketMQQueues sets the number of queues of every auto-created topic
// (and of TBW102), overriding the default 4.
func RocketMQQueues(n int) RocketMQOption {
	return func(c *rmqConfig) {
		if n > 0 {
			c.queues = n
		}
	}
}

// RocketMQMaxMessageBytes sets the broker's maxMessageSize, overriding
// the default 4 MiB (RocketMQ's): a stored message record longer than
// this is refused with 13 MESSAGE_ILLEGAL.
func RocketMQMaxMessageBytes(n int) RocketMQOption {
	return func(c *rmqConfig) {
		if n > 0 {
			c.maxMessageBytes = n
		}
	}
}

// RocketMQDelayLevels sets the delays of delay levels 1, 2, ...,
// overriding the default (the real broker's 1s 5s 10s 30s 1m ... 2h, 100
// times faster). A level past the last uses the last.
func RocketMQDelayLevels(d ...time.Duration) RocketMQOption {
	return func(c *rmqConfig) {
		if len(d) > 0 {
			c.delayLevels = append([]time.Duration(nil), d...)
		}
	}
}

// RocketMQClientExpiry sets how long a consumer stays in its groups
// without a heartbeat, overriding the default 120 s (the broker's
// channelExpiredTimeout).
func RocketMQClientExpiry(d time.Duration) RocketMQOption {
	return func(c *rmqConfig) {
		if d > 0 {
			c.clientExpiry = d
		}
	}
}

// RocketMQLockExpiry sets how long an orderly consumer's queue lock lasts
// without renewal, overriding the default 60 s (the broker's
// rebalance lock max live time).
func RocketMQLockExpiry(d time.Duration) RocketMQOption {
	return func(c *rmqConfig) {
		if d > 0 {
			c.lockExpiry = d
		}
	}
}

// RocketMQTransactionCheck sets how long a half message stays unresolved
// before the broker checks it back with its producer group, and the
// interval between checks, overriding the default 6 s (the broker's
// transactionTimeOut). After 15 checks the half message is dropped, as
// on a real broker.
func RocketMQTransactionCheck(d time.Duration) RocketMQOption {
	return func(c *rmqConfig) {
		if d > 0 {
			c.txCheck = d
		}
	}
}

// RocketMQNewGroupsNotFound makes QUERY_CONSUMER_OFFSET of a group with
// no committed offset on a queue answer 22 QUERY_NOT_FOUND, as a real
// broker does once the queue's first message is no longer in memory (any
// topic older than its page cache), instead of offset 0 (its answer while
// the first message is in memory, the default here): the client then
// starts where its ConsumeFromWhere says.
func RocketMQNewGroupsNotFound() RocketMQOption {
	return func(c *rmqConfig) { c.newGroupsAbsent = true }
}

// RocketMQCreatedTopicsUnrouted makes the topics UPDATE_AND_CREATE_TOPIC
// creates never appear in the name server's routes (it answers 17
// TOPIC_NOT_EXIST for them), as when a broker never registers a created
// topic with the name servers.
func RocketMQCreatedTopicsUnrouted() RocketMQOption {
	return func(c *rmqConfig) { c.createdUnrouted = true }
}

// RocketMQClockSkew sets the broker's clock d ahead of the test's (behind
// when negative): messages are stored with timestamps from it, and
// searches by time (SEARCH_OFFSET_BY_TIMESTAMP) compare with those.
func RocketMQClockSkew(d time.Duration) RocketMQOption {
	return func(c *rmqConfig) { c.clockSkew = d }
}

// realDelayLevels is messageDelayLevel of a RocketMQ broker.
var realDelayLevels = []time.Duration{
	time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute,
	6 * time.Minute, 7 * time.Minute, 8 * time.Minute, 9 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
}

// StartRocketMQ starts a name server and a broker on free loopback ports;
// they stop when t ends, and every goroutine they started ends with them.
func StartRocketMQ(t testing.TB, opts ...RocketMQOption) *RocketMQ {
	t.Helper()
	r, err := startRocketMQ("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatalf("testserver: rocketmq: %v", err)
	}
	t.Cleanup(r.close)
	return r
}

// startRocketMQ starts the double with its name server on nsAddr.
func startRocketMQ(nsAddr string, opts ...RocketMQOption) (*RocketMQ, error) {
	cfg := rmqConfig{
		queues:          4,
		maxMessageBytes: 4 << 20,
		clientExpiry:    120 * time.Second,
		lockExpiry:      60 * time.Second,
		txCheck:         6 * time.Second,
		txCheckMax:      15,
	}
	for _, d := range realDelayLevels {
		cfg.delayLevels = append(cfg.delayLevels, d/100)
	}
	for _, o := range opts {
		o(&cfg)
	}
	nsL, err := newSwitchListener("tcp", nsAddr)
	if err != nil {
		return nil, err
	}
	brokerL, err := newSwitchListener("tcp", "127.0.0.1:0")
	if err != nil {
		nsL.Close()
		return nil, err
	}
	ba := brokerL.Addr().(*net.TCPAddr)
	r := &RocketMQ{
		cfg:        cfg,
		nsL:        nsL,
		brokerL:    brokerL,
		brokerAddr: ba.String(),
		storePort:  int32(ba.Port),
		done:       make(chan struct{}),
		faults:     map[int16]*rmqFault{},
		conns:      map[*rmqConn]struct{}{},
		topics:     map[string]*rmqTopic{},
		commitLog:  map[int64]*rmqMessage{},
		offsets:    map[rmqOffsetKey]int64{},
		groups:     map[string]*rmqGroup{},
		producers:  map[string]map[string]*rmqConn{},
		locks:      map[rmqLockKey]rmqLock{},
		halves:     map[int64]*rmqHalf{},
		wake:       make(chan struct{}, 1),
	}
	copy(r.storeHost[:], ba.IP.To4())
	r.createTopicLocked(rmqDefaultTopic, cfg.queues, rmqPermInherit|rmqPermRead|rmqPermWrite)
	r.wg.Add(3)
	go r.serve(nsL, rmqRoleNameServer)
	go r.serve(brokerL, rmqRoleBroker)
	go r.schedule()
	return r, nil
}

// NameServer returns the name server's "127.0.0.1:port".
func (r *RocketMQ) NameServer() string { return r.nsL.Addr().String() }

// BrokerAddr returns the broker's "127.0.0.1:port", as routes name it.
func (r *RocketMQ) BrokerAddr() string { return r.brokerAddr }

// close stops both servers, cuts every connection and waits for every
// goroutine of the double to end.
func (r *RocketMQ) close() {
	if r.closed.Swap(true) {
		return
	}
	close(r.done)
	r.nsL.Close()
	r.brokerL.Close()
	r.mu.Lock()
	conns := make([]*rmqConn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	r.wg.Wait()
}

// serve accepts connections on l until it is closed for good.
func (r *RocketMQ) serve(l *switchListener, role rmqRole) {
	defer r.wg.Done()
	for {
		nc, err := l.Accept()
		if err != nil {
			return // closed for good: Accept waits out an outage itself
		}
		c := newRmqConn(r, nc, role)
		r.mu.Lock()
		if r.closed.Load() {
			r.mu.Unlock()
			nc.Close()
			return
		}
		r.conns[c] = struct{}{}
		r.wg.Add(1)
		r.mu.Unlock()
		go c.readLoop()
	}
}

// Outage takes the name server and the broker off the network until
// restore is called: their ports refuse connections and open connections
// are cut (held pulls with them), as when the cluster goes down. The
// broker keeps its messages and committed offsets; group membership is
// lost with the connections, as on a real broker.
func (r *RocketMQ) Outage(t testing.TB) (restore func()) {
	t.Helper()
	r.nsL.down()
	r.brokerL.down()
	return func() {
		for _, l := range []*switchListener{r.nsL, r.brokerL} {
			if err := l.restore(); err != nil {
				t.Errorf("testserver: bring rocketmq %s back: %v", l.addr, err)
			}
		}
	}
}

// Pause stops answering: connections stay open and requests are read
// into buffers, but nothing is processed or answered (no response, no
// pushed request) until resume is called; then the waiting requests are
// processed in order. Idempotent; resume may be called more than once.
func (r *RocketMQ) Pause() (resume func()) {
	r.gateMu.Lock()
	if r.paused == nil {
		r.paused = make(chan struct{})
	}
	ch := r.paused
	r.gateMu.Unlock()
	return func() {
		r.gateMu.Lock()
		defer r.gateMu.Unlock()
		if r.paused == ch {
			close(ch)
			r.paused = nil
		}
	}
}

// gate blocks while the double is paused, until resume, stop or the end
// of the double; it reports whether to go on.
func (r *RocketMQ) gate(stop <-chan struct{}) bool {
	r.gateMu.Lock()
	ch := r.paused
	r.gateMu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-stop:
		return false
	case <-r.done:
		return false
	}
}

// FailNext makes the next n requests with request code `code` (to the
// name server or the broker) get an error response with code 1
// SYSTEM_ERROR instead of being processed.
func (r *RocketMQ) FailNext(code int, n int) { r.FailNextWith(code, n, rmqSystemError) }

// FailNextWith is FailNext with the response code to answer with (for
// example 14 SERVICE_NOT_AVAILABLE or 17 TOPIC_NOT_EXIST).
func (r *RocketMQ) FailNextWith(code, n, responseCode int) {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	if n <= 0 {
		delete(r.faults, int16(code))
		return
	}
	r.faults[int16(code)] = &rmqFault{n: n, code: int16(responseCode)}
}

type rmqFault struct {
	n    int
	code int16
}

// takeFault consumes one injected failure for request code, if any.
func (r *RocketMQ) takeFault(code int16) (int16, bool) {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	f := r.faults[code]
	if f == nil {
		return 0, false
	}
	f.n--
	if f.n <= 0 {
		delete(r.faults, code)
	}
	return f.code, true
}

// poke wakes the scheduler after scheduled work changed.
func (r *RocketMQ) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
