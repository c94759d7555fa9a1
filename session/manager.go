package session

import (
	"fmt"
)

// Manager logs users in and out and guards requests. It is safe for
// concurrent use; make one per application and Close it on shutdown.
type Manager struct {
	store   Store
	auth    Authenticator
	cfg     config
	tokens  *tokenState  // tokens.go
	devices *deviceState // devices_telemetry.go
	core    coreState    // core.go
	closed  closeFlag
}

// NewManager returns a Manager keeping sessions in store and checking
// passwords with auth.
func NewManager(store Store, auth Authenticator, opts ...Option) (*Manager, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalid)
	}
	if auth == nil {
		return nil, fmt.Errorf("%w: nil authenticator", ErrInvalid)
	}
	m := &Manager{store: store, auth: auth}
	m.cfg.setCoreDefaults()
	if err := m.cfg.apply(opts); err != nil {
		return nil, err
	}
	if err := m.initCore(); err != nil {
		return nil, err
	}
	if err := m.initThrottle(); err != nil {
		m.closeCore()
		return nil, err
	}
	if err := m.initTokens(); err != nil {
		m.closeThrottle()
		m.closeCore()
		return nil, err
	}
	m.initDevices()
	return m, nil
}

// Close stops the Manager's background work (the revocation watch).
// It does not close the stores. Afterwards every method returns ErrClosed.
func (m *Manager) Close() error {
	if !m.closed.close() {
		return nil
	}
	m.closeTokens()
	m.closeDevices()
	m.closeThrottle()
	m.closeCore()
	return nil
}
