package testserver

// HalfMessages returns how many transactional half messages the broker
// holds unresolved (neither committed nor rolled back nor dropped after
// their last check), for tests that must know a rollback or commit has
// been processed.
func (r *RocketMQ) HalfMessages() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.halves)
}
