package session

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// memDevices is MemoryStore's remember-me state, guarded by its mu.
type memDevices struct {
	bySelector map[string]*DeviceRecord
	byUser     map[string]map[string]struct{}
}

// SaveDevice stores a new device; see DeviceStore.
func (s *MemoryStore) SaveDevice(_ context.Context, d *DeviceRecord) error {
	if err := validateDevice(d); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	m := &s.devices
	if m.bySelector == nil {
		m.bySelector = map[string]*DeviceRecord{}
		m.byUser = map[string]map[string]struct{}{}
	}
	if _, taken := m.bySelector[d.Selector]; taken {
		return fmt.Errorf("%w: device selector %s is taken", ErrInvalid, d.Selector)
	}
	c := *d
	m.bySelector[d.Selector] = &c
	if m.byUser[d.UserID] == nil {
		m.byUser[d.UserID] = map[string]struct{}{}
	}
	m.byUser[d.UserID][d.Selector] = struct{}{}
	return nil
}

// GetDevice returns a live device; see DeviceStore.
func (s *MemoryStore) GetDevice(_ context.Context, selector string, now time.Time) (*DeviceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	d := s.liveDevice(selector, now)
	if d == nil {
		return nil, ErrNoSession
	}
	c := *d
	return &c, nil
}

// liveDevice returns the stored device, dropping it when expired at now.
func (s *MemoryStore) liveDevice(selector string, now time.Time) *DeviceRecord {
	d := s.devices.bySelector[selector]
	if d != nil && !now.Before(d.Expires) {
		s.dropDevice(d)
		return nil
	}
	return d
}

func (s *MemoryStore) dropDevice(d *DeviceRecord) {
	delete(s.devices.bySelector, d.Selector)
	if u := s.devices.byUser[d.UserID]; u != nil {
		delete(u, d.Selector)
		if len(u) == 0 {
			delete(s.devices.byUser, d.UserID)
		}
	}
}

// RotateDevice replaces a device's validator by compare-and-set; see
// DeviceStore.
func (s *MemoryStore) RotateDevice(_ context.Context, userID, selector, oldHash, newHash string, now, prevUntil, expires time.Time) error {
	if !validHash(newHash) {
		return fmt.Errorf("%w: device hash: want 64 lowercase hex digits", ErrInvalid)
	}
	if !expires.After(now) {
		return fmt.Errorf("%w: device %s: expires %v is not after now %v", ErrInvalid, selector, expires, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	d := s.liveDevice(selector, now)
	switch {
	case d == nil || d.UserID != userID:
		return ErrNoSession
	case d.Hash != oldHash:
		return ErrDeviceChanged
	}
	d.PrevHash, d.PrevUntil, d.Hash, d.LastUsed, d.Expires = d.Hash, prevUntil, newHash, now, expires
	return nil
}

// ListDevices returns a user's live devices; see DeviceStore.
func (s *MemoryStore) ListDevices(_ context.Context, userID string, now time.Time) ([]*DeviceRecord, error) {
	if err := validateDeviceUser(userID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []*DeviceRecord
	for sel := range s.devices.byUser[userID] {
		if d := s.liveDevice(sel, now); d != nil {
			c := *d
			out = append(out, &c)
		}
	}
	sortDevices(out)
	return out, nil
}

// DeleteDevice removes one of a user's devices; see DeviceStore.
func (s *MemoryStore) DeleteDevice(_ context.Context, userID, selector string) error {
	if err := validateDeviceUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if d := s.devices.bySelector[selector]; d != nil && d.UserID == userID {
		s.dropDevice(d)
	}
	return nil
}

// DeleteUserDevices removes all of a user's devices; see DeviceStore.
func (s *MemoryStore) DeleteUserDevices(_ context.Context, userID string) (int, error) {
	if err := validateDeviceUser(userID); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	n := 0
	for sel := range s.devices.byUser[userID] {
		delete(s.devices.bySelector, sel)
		n++
	}
	delete(s.devices.byUser, userID)
	return n, nil
}

// sortDevices orders devices oldest first (ties by selector), the order
// every store lists them in.
func sortDevices(ds []*DeviceRecord) {
	slices.SortFunc(ds, func(a, b *DeviceRecord) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		if a.Selector < b.Selector {
			return -1
		}
		if a.Selector > b.Selector {
			return 1
		}
		return 0
	})
}
