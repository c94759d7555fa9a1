package session

// Close implements Store: afterwards every method returns ErrClosed.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Close implements Store. The client stays open: it is the caller's.
func (s *RedisStore) Close() error {
	s.closed.close()
	return nil
}
