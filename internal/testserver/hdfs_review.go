package testserver

// CompleteNotYet makes the NameNode answer the next n complete calls that
// would close a file with false, as Hadoop does while the last block's
// replicas are not yet reported (the client's ErrReplicating): the last
// block is committed by the first of them, as Hadoop commits it, and the
// client's retries, which name no last block, close the file once the
// count is spent.
func (h *HDFS) CompleteNotYet(n int) {
	h.ns.mu.Lock()
	h.ns.completeNotYet = max(n, 0)
	h.ns.mu.Unlock()
}

// errAnswerLost marks a call LoseAnswer carried out without answering.
var errAnswerLost = &rpcError{class: exIO, msg: "answer lost"}

// LoseAnswer makes the NameNode carry out the next n successful calls of
// method and then cut their connection instead of answering, as when the
// network fails between the NameNode's work and the client's reading of
// its answer: the client cannot tell whether the call happened.
func (h *HDFS) LoseAnswer(method string, n int) {
	h.ns.mu.Lock()
	defer h.ns.mu.Unlock()
	if h.ns.loseAnswer == nil {
		h.ns.loseAnswer = map[string]int{}
	}
	h.ns.loseAnswer[method] = max(n, 0)
}
