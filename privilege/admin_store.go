package privilege

import "context"

// PolicyLister is a Store that can list its inactive policies too, which
// the admin API shows (Store.Policies returns the active ones only, as
// checks need). MemoryStore and PostgresStore implement it; with a Store
// that does not, the admin API lists the active policies only.
type PolicyLister interface {
	AllPolicies(ctx context.Context) ([]Policy, error)
}

var (
	_ PolicyLister = (*MemoryStore)(nil)
	_ PolicyLister = (*PostgresStore)(nil)
)

// AllPolicies returns every policy, active or not, highest priority
// first, then by ID.
func (s *MemoryStore) AllPolicies(ctx context.Context) ([]Policy, error) {
	var out []Policy
	err := s.read(ctx, func() error {
		for _, p := range s.policies {
			out = append(out, clonePolicy(p))
		}
		return nil
	})
	sortPolicies(out)
	return out, err
}

// AllPolicies returns every policy, active or not, highest priority
// first, then by ID.
func (s *PostgresStore) AllPolicies(ctx context.Context) ([]Policy, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ps, err := queryPolicies(ctx, s.pool, `SELECT policy FROM privilege_abac_policies ORDER BY priority DESC, id`)
	return ps, pgError(ctx, "all policies", err)
}

// allPolicies lists what the admin API shows: every policy when the
// store can list them, else the active ones.
func allPolicies(ctx context.Context, s Store) ([]Policy, error) {
	if l, ok := s.(PolicyLister); ok {
		return l.AllPolicies(ctx)
	}
	return s.Policies(ctx)
}
