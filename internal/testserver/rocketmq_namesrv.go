package testserver

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// nameServerRequest processes one request to the name server.
func (r *RocketMQ) nameServerRequest(req *rmqCommand) *rmqCommand {
	switch req.Code {
	case 105: // GET_ROUTEINFO_BY_TOPIC
		return r.routeInfo(req.ExtFields["topic"])
	case 106: // GET_BROKER_CLUSTER_INFO
		return r.clusterInfo()
	case 206: // GET_ALL_TOPIC_LIST_FROM_NAMESERVER
		return r.topicList()
	case 216: // DELETE_TOPIC_IN_NAMESRV
		return rmqOK(nil, nil) // the broker's deletion is what counts here
	}
	return rmqErr(rmqNotSupported, "request type %d not supported", req.Code)
}

// routeInfo answers GET_ROUTEINFO_BY_TOPIC: the topic's queues on the
// one broker, or 17 TOPIC_NOT_EXIST.
func (r *RocketMQ) routeInfo(topic string) *rmqCommand {
	r.mu.Lock()
	t := r.topics[topic]
	if t == nil && strings.HasPrefix(topic, rmqRetryPrefix) && validTopic(topic) == "" {
		// A departure, documented on RocketMQ: the broker would create it
		// at the group's first heartbeat, right after this query.
		t = r.createTopicLocked(topic, 1, rmqPermRead|rmqPermWrite)
	}
	var n, perm int
	if t != nil {
		n, perm = len(t.queues), t.perm
		t.routeQueries++
	}
	r.mu.Unlock()
	if t == nil || t.unrouted {
		return rmqErr(rmqTopicNotExist, "No topic route info in name server for the topic: %s", topic)
	}
	route := map[string]any{
		"orderTopicConf": "",
		"queueDatas": []map[string]any{{
			"brokerName": rmqBrokerName, "readQueueNums": n, "writeQueueNums": n,
			"perm": perm, "topicSysFlag": 0,
		}},
		"brokerDatas":       []any{r.brokerData()},
		"filterServerTable": map[string]any{},
	}
	body, _ := json.Marshal(route)
	return rmqOK(nil, body)
}

func (r *RocketMQ) brokerData() map[string]any {
	return map[string]any{
		"cluster":     rmqClusterName,
		"brokerName":  rmqBrokerName,
		"brokerAddrs": map[string]string{"0": r.brokerAddr},
	}
}

func (r *RocketMQ) clusterInfo() *rmqCommand {
	body, _ := json.Marshal(map[string]any{
		"brokerAddrTable":  map[string]any{rmqBrokerName: r.brokerData()},
		"clusterAddrTable": map[string][]string{rmqClusterName: {rmqBrokerName}},
	})
	return rmqOK(nil, body)
}

func (r *RocketMQ) topicList() *rmqCommand {
	r.mu.Lock()
	names := make([]string, 0, len(r.topics))
	for n := range r.topics {
		names = append(names, n)
	}
	r.mu.Unlock()
	sort.Strings(names)
	body, _ := json.Marshal(map[string]any{"topicList": names})
	return rmqOK(nil, body)
}

// createTopic answers UPDATE_AND_CREATE_TOPIC (admin.CreateTopic): it
// creates the topic, or changes its queue count and permissions.
func (r *RocketMQ) createTopic(req *rmqCommand) *rmqCommand {
	name := req.ExtFields["topic"]
	if why := validTopic(name); why != "" {
		return rmqErr(rmqSystemError, "%s", why)
	}
	n, err := strconv.Atoi(req.ExtFields["writeQueueNums"])
	if err != nil || n <= 0 || n > 1024 {
		n = r.cfg.queues
	}
	perm, err := strconv.Atoi(req.ExtFields["perm"])
	if err != nil || perm <= 0 {
		perm = rmqPermRead | rmqPermWrite
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, existed := r.topics[name]
	t := r.createTopicLocked(name, n, perm)
	t.perm = perm
	t.unrouted = t.unrouted || (!existed && r.cfg.createdUnrouted)
	for len(t.queues) < n {
		t.queues = append(t.queues, &rmqQueue{arrived: make(chan struct{})})
	}
	// Queues are never removed: their messages and offsets stay readable.
	return rmqOK(nil, nil)
}

// deleteTopic answers DELETE_TOPIC_IN_BROKER.
func (r *RocketMQ) deleteTopic(req *rmqCommand) *rmqCommand {
	name := req.ExtFields["topic"]
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.topics[name]; t != nil && name != rmqDefaultTopic {
		delete(r.topics, name)
		for _, q := range t.queues {
			close(q.arrived) // held pulls answer and find the topic gone
			q.arrived = make(chan struct{})
		}
	}
	return rmqOK(nil, nil)
}
