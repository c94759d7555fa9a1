package session

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// liveAt reports whether rec is neither past its idle deadline nor its
// absolute expiry at now.
func (rec *Record) liveAt(now time.Time) bool {
	return now.Before(rec.Absolute) && now.Before(rec.IdleDeadline)
}

// slide is rec's idle deadline after a use at now.
func (rec *Record) slide(now time.Time) time.Time {
	d := now.Add(rec.Idle)
	if d.After(rec.Absolute) {
		d = rec.Absolute
	}
	return d
}

func (rec *Record) clone() *Record {
	c := *rec
	c.Values = maps.Clone(rec.Values)
	if c.Values == nil {
		c.Values = map[string]string{}
	}
	return &c
}

// checkRecord names what is wrong with a record a caller wants stored.
func checkRecord(rec *Record) error {
	switch {
	case rec == nil:
		return fmt.Errorf("%w: nil record", ErrInvalid)
	case !validRef(rec.Ref):
		return fmt.Errorf("%w: record ref %q is not a session ref", ErrInvalid, rec.Ref.String())
	case rec.Idle <= 0:
		return fmt.Errorf("%w: record idle timeout %v is not positive", ErrInvalid, rec.Idle)
	case !rec.Absolute.After(rec.Created):
		return fmt.Errorf("%w: record absolute expiry is not after its creation", ErrInvalid)
	case rec.UserID != "" && rec.Ref.Shard != shardOf(rec.UserID):
		return fmt.Errorf("%w: record shard %q is not its user's", ErrInvalid, rec.Ref.Shard)
	}
	return nil
}

// checkRenew checks the arguments of a RenewSession: a bad rec is
// ErrInvalid; an old ref no parsed ID could give names no session.
func checkRenew(old Ref, rec *Record) error {
	if err := checkRecord(rec); err != nil {
		return err
	}
	if !validRef(old) {
		return ErrNoSession
	}
	return nil
}

// memSessions is MemoryStore's session state. (core)
type memSessions struct {
	byRef  map[Ref]*Record
	byUser map[string]map[Ref]struct{}
}

func (s *MemoryStore) lockSessions() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.sessions.byRef == nil {
		s.sessions.byRef = map[Ref]*Record{}
		s.sessions.byUser = map[string]map[Ref]struct{}{}
	}
	return nil
}

// CreateSession implements SessionStore.
func (s *MemoryStore) CreateSession(_ context.Context, rec *Record) error {
	if err := checkRecord(rec); err != nil {
		return err
	}
	if err := s.lockSessions(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.createLocked(rec)
}

func (s *MemoryStore) createLocked(rec *Record) error {
	if _, ok := s.sessions.byRef[rec.Ref]; ok {
		return fmt.Errorf("%w: session %s exists", ErrInvalid, rec.Ref.Shard)
	}
	s.sessions.byRef[rec.Ref] = rec.clone()
	if rec.UserID != "" {
		idx := s.sessions.byUser[rec.UserID]
		if idx == nil {
			idx = map[Ref]struct{}{}
			s.sessions.byUser[rec.UserID] = idx
		}
		idx[rec.Ref] = struct{}{}
	}
	return nil
}

func (s *MemoryStore) deleteLocked(ref Ref) {
	rec, ok := s.sessions.byRef[ref]
	if !ok {
		return
	}
	delete(s.sessions.byRef, ref)
	if idx := s.sessions.byUser[rec.UserID]; idx != nil {
		delete(idx, ref)
		if len(idx) == 0 {
			delete(s.sessions.byUser, rec.UserID)
		}
	}
}

// liveLocked returns ref's record if live at now, dropping it if expired.
func (s *MemoryStore) liveLocked(ref Ref, now time.Time) (*Record, error) {
	rec, ok := s.sessions.byRef[ref]
	if !ok {
		return nil, ErrNoSession
	}
	if !rec.liveAt(now) {
		s.deleteLocked(ref)
		return nil, ErrNoSession
	}
	return rec, nil
}

// LoadSession implements SessionStore.
func (s *MemoryStore) LoadSession(_ context.Context, ref Ref, now time.Time) (*Record, error) {
	if err := s.lockSessions(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	rec, err := s.liveLocked(ref, now)
	if err != nil {
		return nil, err
	}
	// Never back: a Manager whose clock is behind another's must not
	// shorten a session the other has just used.
	if d := rec.slide(now); d.After(rec.IdleDeadline) {
		rec.IdleDeadline = d
	}
	return rec.clone(), nil
}

// UpdateSession implements SessionStore.
func (s *MemoryStore) UpdateSession(_ context.Context, ref Ref, set map[string]string, del []string, now time.Time) error {
	if err := s.lockSessions(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	rec, err := s.liveLocked(ref, now)
	if err != nil {
		return err
	}
	if rec.Values == nil {
		rec.Values = map[string]string{}
	}
	maps.Copy(rec.Values, set)
	for _, k := range del {
		delete(rec.Values, k)
	}
	return nil
}

// RenewSession implements SessionStore.
func (s *MemoryStore) RenewSession(_ context.Context, old Ref, rec *Record, now time.Time) error {
	if err := checkRecord(rec); err != nil {
		return err
	}
	if err := s.lockSessions(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, err := s.liveLocked(old, now); err != nil {
		return err
	}
	s.deleteLocked(old)
	return s.createLocked(rec)
}

// DeleteSession implements SessionStore.
func (s *MemoryStore) DeleteSession(_ context.Context, ref Ref) error {
	if err := s.lockSessions(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.deleteLocked(ref)
	return nil
}

// DeleteUserSessions implements SessionStore.
func (s *MemoryStore) DeleteUserSessions(_ context.Context, userID string, now time.Time) (int, error) {
	if err := s.lockSessions(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for ref := range s.sessions.byUser[userID] {
		if s.sessions.byRef[ref].liveAt(now) {
			n++
		}
		delete(s.sessions.byRef, ref)
	}
	delete(s.sessions.byUser, userID)
	return n, nil
}

// ListUserSessions implements SessionStore.
func (s *MemoryStore) ListUserSessions(_ context.Context, userID string, now time.Time) ([]*Record, error) {
	if err := s.lockSessions(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []*Record
	for ref := range s.sessions.byUser[userID] {
		if rec, err := s.liveLocked(ref, now); err == nil {
			out = append(out, rec.clone())
		}
	}
	sortRecords(out)
	return out, nil
}

func sortRecords(recs []*Record) {
	slices.SortFunc(recs, func(a, b *Record) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.Ref.Hash, b.Ref.Hash)
	})
}
