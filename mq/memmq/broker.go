package memmq

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// Broker is an in-process message broker. It is safe for concurrent use.
type Broker struct {
	opts Options

	mu        sync.Mutex
	topics    map[string]*topic
	limits    map[string]int // topic-level max message bytes
	reachable bool
}

// NewBroker returns a broker of its own, not shared by name (nil o for the
// defaults).
func NewBroker(o *Options) *Broker {
	return &Broker{opts: o.withDefaults(), topics: map[string]*topic{}, limits: map[string]int{}, reachable: true}
}

// SetTopicMaxMessageBytes gives topic a size limit of its own, below the
// broker's, as Kafka's topic-level max.message.bytes does: Publish refuses
// a larger message on topic with mq.ErrTooLarge, though the connection's
// limit (which mq checks before sending) lets it through. 0 removes it.
// Tests use it to have the broker refuse a message for good.
func (b *Broker) SetTopicMaxMessageBytes(topic string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n <= 0 {
		delete(b.limits, topic)
		return
	}
	b.limits[topic] = n
}

// SetReachable switches the fault switch: while false, Publish, Subscribe,
// Receive and Ping fail with mq.ErrUnreachable, as if the network to the
// broker were down.
func (b *Broker) SetReachable(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reachable = ok
	if ok {
		for _, t := range b.topics {
			t.wakeAll()
		}
	}
}

func (b *Broker) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.checkLocked()
}

func (b *Broker) checkLocked() error {
	if !b.reachable {
		return driver.ErrUnreachable
	}
	return nil
}

type topic struct {
	parts  []*partition
	groups map[string]*group
	rr     int // round robin for keyless messages
}

type partition struct {
	base int64 // offset of log[0]
	log  []driver.Message
}

func (p *partition) end() int64 { return p.base + int64(len(p.log)) }

func (b *Broker) topicLocked(name string) *topic {
	t, ok := b.topics[name]
	if !ok {
		t = &topic{parts: make([]*partition, b.opts.Partitions), groups: map[string]*group{}}
		for i := range t.parts {
			t.parts[i] = &partition{}
		}
		b.topics[name] = t
	}
	return t
}

func (t *topic) partitionFor(key string) int {
	if key == "" {
		t.rr++
		return t.rr % len(t.parts)
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(t.parts)))
}

func (t *topic) wakeAll() {
	for _, g := range t.groups {
		for _, m := range g.members {
			m.wake()
		}
	}
}

func (b *Broker) publish(msgs []driver.Message) error {
	for i := range msgs {
		if n := msgs[i].Size(); n > b.opts.MaxMessageBytes {
			return fmt.Errorf("%w: message %d is %d bytes, over max_message_bytes %d", driver.ErrTooLarge, i, n, b.opts.MaxMessageBytes)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLocked(); err != nil {
		return err
	}
	for i := range msgs {
		if limit, ok := b.limits[msgs[i].Topic]; ok && msgs[i].Size() > limit {
			return fmt.Errorf("%w: message %d is %d bytes, over the limit %d of topic %q",
				driver.ErrTooLarge, i, msgs[i].Size(), limit, msgs[i].Topic)
		}
	}
	for i := range msgs {
		m := msgs[i]
		// A broker keeps its own copy: the caller may reuse its buffers.
		m.Payload = slices.Clone(m.Payload)
		if m.Headers != nil {
			h := make(map[string]string, len(m.Headers))
			for k, v := range m.Headers {
				h[k] = v
			}
			m.Headers = h
		}
		t := b.topicLocked(m.Topic)
		pi := t.partitionFor(m.Key)
		p := t.parts[pi]
		if len(t.groups) == 0 {
			// No group to read it: new groups start at the end.
			p.base++
			continue
		}
		p.log = append(p.log, m)
		for _, g := range t.groups {
			if o := g.parts[pi].owner; o != nil {
				o.wake()
			}
		}
	}
	return nil
}

// group is one consumer group on a topic.
type group struct {
	t       *topic
	members []*receiver // in join order
	parts   []*groupPart
}

// groupPart is a group's position in one partition.
type groupPart struct {
	owner    *receiver // who receives from it; nil while unassigned
	revokeTo *receiver // next owner, once owner settled its deliveries
	next     int64     // next offset never delivered
	// committed: every offset below it is acknowledged.
	committed int64
	acked     map[int64]bool
	inflight  map[int64]*receiver
	redeliver []int64 // handed back, delivered again before next
	attempts  map[int64]int
	// orphaned: offsets a member left holding once already. Like
	// redismq, the first such hand-over is not counted as an attempt (the
	// member may never have started the message); later ones are.
	orphaned map[int64]bool
}

func (b *Broker) join(topicName, groupName string) (*receiver, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLocked(); err != nil {
		return nil, err
	}
	t := b.topicLocked(topicName)
	g, ok := t.groups[groupName]
	if !ok {
		g = &group{t: t, parts: make([]*groupPart, len(t.parts))}
		for i, p := range t.parts {
			// A new group starts at the end: it gets what is published
			// from now on.
			g.parts[i] = &groupPart{next: p.end(), committed: p.end(),
				acked: map[int64]bool{}, inflight: map[int64]*receiver{}, attempts: map[int64]int{}, orphaned: map[int64]bool{}}
		}
		t.groups[groupName] = g
	}
	r := &receiver{b: b, g: g, wakeCh: make(chan struct{}, 1), closedCh: make(chan struct{})}
	g.members = append(g.members, r)
	g.rebalance()
	return r, nil
}

// rebalance spreads the partitions over the members, round robin in join
// order. A partition whose owner still has deliveries out moves once they
// are settled.
func (g *group) rebalance() {
	for i, gp := range g.parts {
		var want *receiver
		if len(g.members) > 0 {
			want = g.members[i%len(g.members)]
		}
		switch {
		case gp.owner == want:
			gp.revokeTo = nil
		case gp.owner == nil || gp.outstanding(gp.owner) == 0:
			gp.owner, gp.revokeTo = want, nil
			if want != nil {
				want.wake()
			}
		default:
			gp.revokeTo = want
		}
	}
}

func (gp *groupPart) outstanding(r *receiver) int {
	n := 0
	for _, owner := range gp.inflight {
		if owner == r {
			n++
		}
	}
	return n
}

// handOver completes a pending move once the old owner has nothing out.
func (gp *groupPart) handOver() {
	if gp.revokeTo != nil && gp.outstanding(gp.owner) == 0 {
		gp.owner, gp.revokeTo = gp.revokeTo, nil
		gp.owner.wake()
	}
}

// trim drops log entries every group has acknowledged.
func (t *topic) trim(pi int) {
	p := t.parts[pi]
	low := p.end()
	for _, g := range t.groups {
		low = min(low, g.parts[pi].committed)
	}
	if n := low - p.base; n > 1024 || (n > 0 && n == int64(len(p.log))) {
		clear(p.log[:n])
		p.log = p.log[n:]
		p.base = low
	}
}

// receiver is one member of a group.
type receiver struct {
	b        *Broker
	g        *group
	wakeCh   chan struct{}
	closedCh chan struct{}
	closed   bool // under b.mu
	rr       int
}

type handle struct {
	part   int
	offset int64
}

func (r *receiver) wake() {
	select {
	case r.wakeCh <- struct{}{}:
	default:
	}
}

func (r *receiver) Receive(ctx context.Context, max int) ([]*driver.Delivery, error) {
	for {
		out, err := r.take(max)
		if err != nil || len(out) > 0 {
			return out, err
		}
		select {
		case <-r.wakeCh:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.closedCh:
			return nil, errClosed
		}
	}
}

// take collects up to max deliveries from the partitions r owns, handed
// back ones first, starting at a rotating partition for fairness.
func (r *receiver) take(max int) ([]*driver.Delivery, error) {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.closed {
		return nil, errClosed
	}
	if err := b.checkLocked(); err != nil {
		return nil, err
	}
	var out []*driver.Delivery
	n := len(r.g.parts)
	r.rr++
	for k := 0; k < n && len(out) < max; k++ {
		pi := (r.rr + k) % n
		gp := r.g.parts[pi]
		if gp.owner != r || gp.revokeTo != nil {
			continue
		}
		p := r.g.t.parts[pi]
		for len(out) < max {
			var off int64
			switch {
			case len(gp.redeliver) > 0:
				off = gp.redeliver[0]
				gp.redeliver = gp.redeliver[1:]
			case gp.next < p.end():
				off = gp.next
				gp.next++
			default:
				off = -1
			}
			if off < 0 {
				break
			}
			if gp.acked[off] {
				continue
			}
			gp.inflight[off] = r
			gp.attempts[off]++
			out = append(out, &driver.Delivery{
				Message: p.log[off-p.base],
				Attempt: gp.attempts[off],
				Handle:  handle{part: pi, offset: off},
			})
		}
	}
	return out, nil
}

func (r *receiver) settle(d *driver.Delivery, ack bool) error {
	h, ok := d.Handle.(handle)
	if !ok {
		return fmt.Errorf("memmq: delivery %s is not from memmq", d.ID)
	}
	// Settling ignores the fault switch: an acknowledgement that fails
	// would pin the partition until the member leaves, which no broker
	// does (a later Kafka commit or a Redis reclaim recovers it).
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	gp := r.g.parts[h.part]
	if gp.inflight[h.offset] != r {
		// Settled already, or handed to another member when r left.
		return nil
	}
	delete(gp.inflight, h.offset)
	if ack {
		gp.acked[h.offset] = true
		delete(gp.attempts, h.offset)
		delete(gp.orphaned, h.offset)
		for gp.acked[gp.committed] {
			delete(gp.acked, gp.committed)
			gp.committed++
		}
		r.g.t.trim(h.part)
	} else {
		// A hand-back is not an attempt: the next delivery carries the
		// attempt number mq set (see driver.Delivery.Attempt).
		gp.attempts[h.offset] = max(d.Attempt, 1) - 1
		insertSorted(&gp.redeliver, h.offset)
	}
	gp.handOver()
	if gp.owner != nil {
		gp.owner.wake()
	}
	return nil
}

func insertSorted(s *[]int64, v int64) {
	i, found := slices.BinarySearch(*s, v)
	if !found {
		*s = slices.Insert(*s, i, v)
	}
}

func (r *receiver) Ack(_ context.Context, d *driver.Delivery) error  { return r.settle(d, true) }
func (r *receiver) Nack(_ context.Context, d *driver.Delivery) error { return r.settle(d, false) }

// Close leaves the group: what r holds unsettled is handed back, and its
// partitions go to the remaining members.
func (r *receiver) Close() error {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.closedCh)
	g := r.g
	g.members = slices.DeleteFunc(g.members, func(m *receiver) bool { return m == r })
	for _, gp := range g.parts {
		for off, owner := range gp.inflight {
			if owner == r {
				delete(gp.inflight, off)
				insertSorted(&gp.redeliver, off)
				if !gp.orphaned[off] {
					gp.orphaned[off] = true
					gp.attempts[off]--
				}
			}
		}
		if gp.owner == r {
			gp.owner, gp.revokeTo = nil, nil
		}
		if gp.revokeTo == r {
			gp.revokeTo = nil
		}
	}
	g.rebalance()
	if len(g.members) == 0 {
		// The group stays, at its committed positions, for when a member
		// rejoins; that is what a broker's committed offsets do.
		for _, gp := range g.parts {
			gp.owner = nil
		}
	}
	return nil
}
