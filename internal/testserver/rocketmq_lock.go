package testserver

import (
	"encoding/json"
	"time"
)

type rmqLockKey struct {
	group, topic string
	queue        int
}

type rmqLock struct {
	client string
	until  time.Time
}

// rmqLockBody is the body of LOCK_BATCH_MQ and UNLOCK_BATCH_MQ.
type rmqLockBody struct {
	ConsumerGroup string `json:"consumerGroup"`
	ClientID      string `json:"clientId"`
	MQs           []struct {
		Topic      string `json:"topic"`
		BrokerName string `json:"brokerName"`
		QueueID    int    `json:"queueId"`
	} `json:"mqSet"`
}

// lockBatch answers LOCK_BATCH_MQ: each queue free, expired or already
// the client's is locked (again) for it; the answer lists those.
func (r *RocketMQ) lockBatch(req *rmqCommand) *rmqCommand {
	var b rmqLockBody
	if err := json.Unmarshal(req.Body, &b); err != nil {
		return rmqErr(rmqSystemError, "bad lock body: %v", err)
	}
	now := time.Now()
	ok := []map[string]any{}
	r.mu.Lock()
	for _, mq := range b.MQs {
		k := rmqLockKey{b.ConsumerGroup, mq.Topic, mq.QueueID}
		if l, held := r.locks[k]; held && l.client != b.ClientID && now.Before(l.until) {
			continue
		}
		r.locks[k] = rmqLock{client: b.ClientID, until: now.Add(r.cfg.lockExpiry)}
		ok = append(ok, map[string]any{"topic": mq.Topic, "brokerName": mq.BrokerName, "queueId": mq.QueueID})
	}
	r.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"lockOKMQSet": ok})
	return rmqOK(nil, body)
}

// unlockBatch answers UNLOCK_BATCH_MQ: the client's locks on the queues
// are released.
func (r *RocketMQ) unlockBatch(req *rmqCommand) *rmqCommand {
	var b rmqLockBody
	if err := json.Unmarshal(req.Body, &b); err != nil {
		return rmqErr(rmqSystemError, "bad unlock body: %v", err)
	}
	r.mu.Lock()
	for _, mq := range b.MQs {
		k := rmqLockKey{b.ConsumerGroup, mq.Topic, mq.QueueID}
		if l, held := r.locks[k]; held && l.client == b.ClientID {
			delete(r.locks, k)
		}
	}
	r.mu.Unlock()
	return rmqOK(nil, nil)
}
