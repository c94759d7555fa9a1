package testserver

import (
	"strconv"
	"time"
)

// rmqHalf is a transactional half message awaiting commit or rollback.
type rmqHalf struct {
	m           *rmqMessage // topic and queue are the real ones
	queueOffset int64       // its offset in the half topic
	lastCheck   time.Time
	checks      int
}

// halfLocked stores a prepared message as a half message, invisible to
// consumers until EndTransaction commits it. r.mu is held.
func (r *RocketMQ) halfLocked(m *rmqMessage) int64 {
	m.commitLogOffset = r.nextPhys
	r.nextPhys += int64(m.recordLen())
	r.commitLog[m.commitLogOffset] = m
	off := int64(len(r.halves))
	r.halves[m.commitLogOffset] = &rmqHalf{m: m, queueOffset: off, lastCheck: time.Unix(0, m.storeTimestamp*int64(time.Millisecond))}
	return off
}

// endTransaction answers END_TRANSACTION: commit (8) stores the half
// message in its real queue, rollback (12) drops it, unknown (0) leaves
// it for the check-back.
func (r *RocketMQ) endTransaction(req *rmqCommand) *rmqCommand {
	h := req.ExtFields
	off := atoi64(h["commitLogOffset"])
	kind, _ := strconv.Atoi(h["commitOrRollback"])
	if kind != rmqTxCommit && kind != rmqTxRollback {
		return nil // TRANSACTION_NOT_TYPE: the broker answers nothing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	half := r.halves[off]
	if half == nil {
		return rmqErr(rmqSystemError, "Find prepared transaction message failed")
	}
	if pg := rmqProp(half.m.properties, "PGROUP"); pg != h["producerGroup"] {
		return rmqErr(rmqSystemError, "The producer group wrong")
	}
	delete(r.halves, off)
	if kind == rmqTxRollback {
		return rmqOK(nil, nil)
	}
	m := *half.m
	m.sysFlag = m.sysFlag&^rmqTxMask | rmqTxCommit
	m.preparedTxOff = half.m.commitLogOffset
	m.properties = rmqSetProp(m.properties, "TRAN_MSG", "")
	if _, resp := r.putLocked(&m, time.Now()); resp != nil {
		return resp
	}
	return rmqOK(nil, nil)
}

// dueTxChecksLocked finds half messages unresolved for the check
// interval and prepares CHECK_TRANSACTION_STATE to a connection of
// their producer group; a half message checked the maximum number of
// times is dropped. r.mu is held; the checks are sent after.
func (r *RocketMQ) dueTxChecksLocked(now time.Time) []func() {
	var out []func()
	for off, half := range r.halves {
		if now.Sub(half.lastCheck) < r.cfg.txCheck {
			continue
		}
		if half.checks >= r.cfg.txCheckMax {
			delete(r.halves, off)
			continue
		}
		var conn *rmqConn
		for _, c := range r.producers[rmqProp(half.m.properties, "PGROUP")] {
			conn = c
			break
		}
		if conn == nil {
			continue // no producer of the group online: try again later
		}
		half.lastCheck = now
		half.checks++
		uniq := rmqProp(half.m.properties, "UNIQ_KEY")
		ext := map[string]string{
			"tranStateTableOffset": itoa(half.queueOffset),
			"commitLogOffset":      itoa(half.m.commitLogOffset),
			"msgId":                uniq,
			"transactionId":        uniq,
			"offsetMsgId":          r.offsetMsgID(half.m.commitLogOffset),
		}
		body := r.appendRecord(nil, half.m)
		out = append(out, func() { conn.push(39, ext, body) })
	}
	return out
}
