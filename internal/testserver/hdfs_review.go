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
