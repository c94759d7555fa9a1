package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/breaker"
)

// principalField is the internal field holding a session's Principal.
const principalField = "_p"

// userPrefix is put before an application's keys (Session.Set), so that
// no application key can reach a package field ("_...").
const userPrefix = "v:"

// coreState is a Manager's sessions machinery: the stores behind their
// breakers, the clock and the telemetry.
type coreState struct {
	tiers      [2]*tierStore // primary, fallback (nil without WithFallbackStore)
	tel        *telemetry
	tracer     trace.Tracer
	cookie     string         // the session cookie's name, made once
	principals principalCache // decoded principals by their stored JSON
}

// tierStore is a store behind its circuit breaker.
type tierStore struct {
	tier  tier
	store Store
	br    *breaker.Breaker
	tel   *telemetry
}

func (m *Manager) initCore() error {
	m.core.tel = newTelemetry(m.cfg.meter)
	m.core.tracer = m.cfg.tracer.Tracer(instrumentationName)
	m.core.cookie = m.cfg.cookieName
	if m.cfg.secure {
		m.core.cookie = "__Host-" + m.cfg.cookieName
	}
	stores := [2]Store{m.store, m.cfg.fallback}
	for t, st := range stores {
		if st == nil {
			continue
		}
		br, err := breaker.New("session:"+tierName(tier(t)), m.cfg.core.breaker, countsAgainstStore)
		if err != nil {
			m.core.tel.close()
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		m.core.tiers[t] = &tierStore{tier: tier(t), store: st, br: br, tel: m.core.tel}
	}
	return nil
}

func (m *Manager) closeCore() { m.core.tel.close() }

// countsAgainstStore: the store answered when it said no session (or
// no device), refused an argument, or lost a compare-and-set race.
func countsAgainstStore(err error) bool {
	return !errors.Is(err, ErrNoSession) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrClosed) &&
		!errors.Is(err, ErrDeviceChanged)
}

// do runs op on the store through its breaker. A failure of the store
// itself (unreachable, breaker open) becomes ErrUnavailable, so that
// callers can tell "no session" from "cannot tell".
//
// A deadline that passes while the store is being asked is the store's
// failure: a hung Redis (SIGSTOP, a black-holed network) shows itself to
// callers whose requests carry deadlines only that way, and the breaker
// (which never counts context errors) would otherwise never open, every
// request waiting out its deadline and getting a re-login instead of 503.
func (ts *tierStore) do(op string, f func(Store) error) error {
	err := ts.br.Do(func() error {
		err := f(ts.store)
		if errors.Is(err, context.DeadlineExceeded) {
			return storeTimeout{err}
		}
		return err
	})
	var slow storeTimeout
	if errors.As(err, &slow) {
		ts.tel.storeErr[ts.tier].add()
		return wrapOp(op, fmt.Errorf("%w: the %s store did not answer in time: %v", ErrUnavailable, tierName(ts.tier), slow.err))
	}
	switch {
	case err == nil || !countsAgainstStore(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, breaker.ErrOpen):
		ts.tel.storeErr[ts.tier].add()
		return wrapOp(op, fmt.Errorf("%w: the %s store's circuit breaker is open", ErrUnavailable, tierName(ts.tier)))
	default:
		ts.tel.storeErr[ts.tier].add()
		return &opError{op: op, kind: ErrUnavailable, err: err}
	}
}

// storeTimeout carries a deadline error past the breaker without being
// one (it does not unwrap), so that the breaker counts it.
type storeTimeout struct{ err error }

func (e storeTimeout) Error() string { return e.err.Error() }

// tier returns the store of t, or nil.
func (m *Manager) tier(t tier) *tierStore { return m.core.tiers[t] }

func (m *Manager) now() time.Time { return m.cfg.now() }

// cookieName is the session cookie's name: "__Host-" + name when Secure.
func (m *Manager) cookieName() string { return m.core.cookie }

func (m *Manager) setCookie(w http.ResponseWriter, id sessionID, rec *Record) {
	http.SetCookie(w, &http.Cookie{Name: m.cookieName(), Value: id.cookieValue(), Path: "/",
		MaxAge: max(int((rec.Absolute.Sub(m.now())+time.Second-1)/time.Second), 1), HttpOnly: true, Secure: m.cfg.secure,
		SameSite: http.SameSiteLaxMode})
}

func (m *Manager) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: m.cfg.secure, SameSite: http.SameSiteLaxMode})
}

// requestID is the session ID r's cookie carries, if it is well formed
// and names a tier this Manager has.
func (m *Manager) requestID(r *http.Request) (sessionID, bool) {
	c, err := r.Cookie(m.cookieName())
	if err != nil {
		return sessionID{}, false
	}
	return m.cookieID(c.Value)
}

// cookieID is the session ID of a session cookie's value, if it is well
// formed and names a tier this Manager has.
func (m *Manager) cookieID(v string) (sessionID, bool) {
	id, err := parseSessionID(v)
	if err != nil || m.tier(id.tier) == nil {
		return sessionID{}, false
	}
	return id, true
}

// load returns the live session id names: ErrNoSession, or ErrUnavailable
// when its store cannot say.
func (m *Manager) load(ctx context.Context, id sessionID) (*Session, error) {
	var rec *Record
	err := m.tier(id.tier).do("load", func(st Store) (err error) {
		rec, err = st.LoadSession(ctx, id.ref(), m.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return m.sessionOf(id.tier, rec)
}

// sessionOf wraps a stored record.
func (m *Manager) sessionOf(t tier, rec *Record) (*Session, error) {
	s := &Session{m: m, tier: t, rec: rec}
	if raw, ok := rec.Values[principalField]; ok {
		p, err := m.core.principals.decode(raw)
		if err != nil {
			return nil, fmt.Errorf("session: load: the stored principal is damaged: %v", err)
		}
		s.principal = p
	}
	return s, nil
}

// newRecord is a fresh session record for userID ("" for anonymous).
func (m *Manager) newRecord(ref Ref, userID string, values map[string]string) *Record {
	now := m.now().Truncate(time.Millisecond)
	rec := &Record{Ref: ref, UserID: userID, Created: now, Absolute: now.Add(m.cfg.absolute),
		Idle: m.cfg.idle, Values: values}
	rec.IdleDeadline = rec.slide(now)
	return rec
}

// storeNew stores rec under a new ID in the primary store, or in the
// fallback while the primary is unavailable, ending old (when not nil,
// in tier oldTier) first: old is dead before the new ID exists.
func (m *Manager) storeNew(ctx context.Context, userID string, values map[string]string, old *Session) (sessionID, *Record, error) {
	shard := randomShard()
	if userID != "" {
		shard = shardOf(userID)
	}
	var err error
	for _, t := range []tier{tierPrimary, tierFallback} {
		ts := m.tier(t)
		if ts == nil {
			break
		}
		if old != nil && old.tier != t {
			// The old session lives in the other store: end it there
			// first, or fail, so that it is never alive beside the new.
			if err := m.tier(old.tier).do("renew", func(st Store) error { return st.DeleteSession(ctx, old.rec.Ref) }); err != nil {
				return sessionID{}, nil, err
			}
			m.core.tel.ended[endRenewed].add()
			old = nil
		}
		id := newSessionID(t, shard)
		rec := m.newRecord(id.ref(), userID, values)
		if old != nil {
			err = ts.do("renew", func(st Store) error { return st.RenewSession(ctx, old.rec.Ref, rec, m.now()) })
			if err == nil {
				m.core.tel.ended[endRenewed].add()
			}
			if errors.Is(err, ErrNoSession) { // ended meanwhile: nothing left to kill
				err = ts.do("create", func(st Store) error { return st.CreateSession(ctx, rec) })
			}
		} else {
			err = ts.do("create", func(st Store) error { return st.CreateSession(ctx, rec) })
		}
		if err == nil {
			m.core.tel.created[t].add()
			return id, rec, nil
		}
		if !errors.Is(err, ErrUnavailable) {
			return sessionID{}, nil, err
		}
		if t == tierPrimary && m.tier(tierFallback) != nil {
			m.cfg.logger.Warn("session: primary store unavailable, creating the session in the fallback store", "err", err)
		}
	}
	return sessionID{}, nil, err
}
