package testserver

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// rmqGroup is a consumer group as the broker's ConsumerManager sees it:
// the clients whose heartbeats name it.
type rmqGroup struct {
	members map[string]*rmqMember // by client id
}

type rmqMember struct {
	conn     *rmqConn
	lastSeen time.Time
	subs     map[string]string // topic -> tag expression
}

// rmqHeartbeat is the body of HEART_BEAT.
type rmqHeartbeat struct {
	ClientID  string `json:"clientID"`
	Producers []struct {
		GroupName string `json:"groupName"`
	} `json:"producerDataSet"`
	Consumers []struct {
		GroupName     string `json:"groupName"`
		Subscriptions []struct {
			Topic     string `json:"topic"`
			SubString string `json:"subString"`
		} `json:"subscriptionDataSet"`
	} `json:"consumerDataSet"`
}

// heartbeat answers HEART_BEAT: it registers the client, on this
// connection, in each producer and consumer group it names, creates the
// groups' retry topics, and tells the members of a group that gained a
// member.
func (r *RocketMQ) heartbeat(c *rmqConn, req *rmqCommand) *rmqCommand {
	var hb rmqHeartbeat
	if err := json.Unmarshal(req.Body, &hb); err != nil {
		return rmqErr(rmqSystemError, "bad heartbeat body: %v", err)
	}
	if hb.ClientID == "" {
		return rmqErr(rmqSystemError, "heartbeat without clientID")
	}
	now := time.Now()
	var changed []string
	r.mu.Lock()
	for _, p := range hb.Producers {
		if r.producers[p.GroupName] == nil {
			r.producers[p.GroupName] = map[string]*rmqConn{}
		}
		r.producers[p.GroupName][hb.ClientID] = c
	}
	for _, cd := range hb.Consumers {
		if validTopic(rmqRetryPrefix+cd.GroupName) != "" {
			continue
		}
		g := r.groups[cd.GroupName]
		if g == nil {
			g = &rmqGroup{members: map[string]*rmqMember{}}
			r.groups[cd.GroupName] = g
		}
		m := g.members[hb.ClientID]
		if m == nil || m.conn != c {
			changed = append(changed, cd.GroupName)
			c.owed++ // the client rebalances when it starts
		}
		subs := map[string]string{}
		for _, s := range cd.Subscriptions {
			subs[s.Topic] = s.SubString
		}
		g.members[hb.ClientID] = &rmqMember{conn: c, lastSeen: now, subs: subs}
		r.createTopicLocked(rmqRetryPrefix+cd.GroupName, 1, rmqPermRead|rmqPermWrite)
	}
	notes := r.notesLocked(changed)
	r.mu.Unlock()
	notes()
	return rmqOK(nil, nil)
}

// unregisterClient answers UNREGISTER_CLIENT: the client leaves the
// producer and consumer groups named.
func (r *RocketMQ) unregisterClient(c *rmqConn, req *rmqCommand) *rmqCommand {
	h := req.ExtFields
	id := h["clientID"]
	r.mu.Lock()
	if pg := h["producerGroup"]; pg != "" {
		delete(r.producers[pg], id)
	}
	var changed []string
	if cg := h["consumerGroup"]; cg != "" {
		if g := r.groups[cg]; g != nil && g.members[id] != nil {
			delete(g.members, id)
			changed = append(changed, cg)
		}
	}
	notes := r.notesLocked(changed)
	r.mu.Unlock()
	notes()
	return rmqOK(nil, nil)
}

// consumerList answers GET_CONSUMER_LIST_BY_GROUP.
func (r *RocketMQ) consumerList(c *rmqConn, req *rmqCommand) *rmqCommand {
	group := req.ExtFields["consumerGroup"]
	r.mu.Lock()
	c.listed++
	var ids []string
	if g := r.groups[group]; g != nil {
		for id := range g.members {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	if len(ids) == 0 {
		return rmqErr(rmqSystemError, "no consumer for this group, %s", group)
	}
	slices.Sort(ids)
	body, _ := json.Marshal(map[string]any{"consumerIdList": ids})
	return rmqOK(nil, body)
}

// dropConn removes everything registered on a closed connection: its
// clients leave their groups (the rest are told), its producers go.
func (r *RocketMQ) dropConn(c *rmqConn) {
	r.mu.Lock()
	delete(r.conns, c)
	for _, ps := range r.producers {
		for id, pc := range ps {
			if pc == c {
				delete(ps, id)
			}
		}
	}
	var changed []string
	for name, g := range r.groups {
		for id, m := range g.members {
			if m.conn == c {
				delete(g.members, id)
				changed = append(changed, name)
			}
		}
	}
	notes := r.notesLocked(changed)
	r.mu.Unlock()
	notes()
}

// expireClientsLocked drops consumers silent for longer than the client
// expiry, as the broker's channel scan does. r.mu is held; the notes are
// sent on their own goroutine, not under the lock.
func (r *RocketMQ) expireClientsLocked(now time.Time) {
	var changed []string
	for name, g := range r.groups {
		for id, m := range g.members {
			if now.Sub(m.lastSeen) > r.cfg.clientExpiry {
				delete(g.members, id)
				changed = append(changed, name)
			}
		}
	}
	if len(changed) == 0 {
		return
	}
	notes := r.notesLocked(changed)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		notes()
	}()
}

// notesLocked prepares NOTIFY_CONSUMER_IDS_CHANGED for every remaining
// member of the changed groups; the returned func sends them and must be
// called without r.mu (a send may wait out a Pause).
func (r *RocketMQ) notesLocked(changed []string) func() {
	type note struct {
		c     *rmqConn
		group string
	}
	slices.Sort(changed)
	var notes []note
	for _, name := range slices.Compact(changed) {
		if g := r.groups[name]; g != nil {
			for _, m := range g.members {
				notes = append(notes, note{m.conn, name})
				m.conn.owed++
			}
		}
	}
	return func() {
		for _, n := range notes {
			n.c.push(40, map[string]string{"consumerGroup": n.group}, nil)
		}
	}
}

// rebalancesSettled reports whether the clients whose id ends with
// suffix have sent a GET_CONSUMER_LIST_BY_GROUP per subscribed topic for
// every rebalance they owe: none is in flight. (rocketmq-client-go
// races its Shutdown against a running rebalance; tests wait for this
// before shutting a consumer down.)
func (r *RocketMQ) rebalancesSettled(suffix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.groups {
		for id, m := range g.members {
			if strings.HasSuffix(id, suffix) && m.conn.listed < m.conn.owed*len(m.subs) {
				return false
			}
		}
	}
	return true
}
