package privilege

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
)

// pgPolicy is a Policy as the policy JSONB column holds it; the effect
// is spelled "permit" or "deny".
type pgPolicy struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Priority  int      `json:"priority"`
	Effect    string   `json:"effect"`
	Target    pgTarget `json:"target"`
	Condition string   `json:"condition"`
	Active    bool     `json:"active"`
}

type pgTarget struct {
	Subjects  []string `json:"subjects"`
	Resources []string `json:"resources"`
	Actions   []string `json:"actions"`
}

func encodePolicy(p Policy) ([]byte, error) {
	var effect string
	switch p.Effect {
	case Permit:
		effect = "permit"
	case Deny:
		effect = "deny"
	default:
		return nil, fmt.Errorf("%w: policy %q: effect %d is neither Permit nor Deny", ErrInvalid, p.ID, int(p.Effect))
	}
	return json.Marshal(pgPolicy{ID: p.ID, Name: p.Name, Priority: p.Priority, Effect: effect,
		Target:    pgTarget{Subjects: p.Target.Subjects, Resources: p.Target.Resources, Actions: p.Target.Actions},
		Condition: p.Condition, Active: p.Active})
}

func decodePolicy(doc []byte) (Policy, error) {
	var d pgPolicy
	if err := json.Unmarshal(doc, &d); err != nil {
		return Policy{}, err
	}
	p := Policy{ID: d.ID, Name: d.Name, Priority: d.Priority, Condition: d.Condition, Active: d.Active,
		Target: Target{Subjects: d.Target.Subjects, Resources: d.Target.Resources, Actions: d.Target.Actions}}
	switch d.Effect {
	case "permit":
		p.Effect = Permit
	case "deny":
		p.Effect = Deny
	default:
		return Policy{}, fmt.Errorf("policy %q: stored effect %q is neither \"permit\" nor \"deny\"", d.ID, d.Effect)
	}
	return p, nil
}

// PutPolicy creates or replaces a policy. Its condition must compile
// (ErrBadCondition) and it must not conflict (ErrConflict) with the other
// active policies of its priority, read inside the write's transaction
// after the write lock: two concurrent PutPolicys cannot together make a
// conflict. A store made with AllowConflicts reads none and refuses no
// conflict. A priority outside 32 bits is ErrInvalid.
func (s *PostgresStore) PutPolicy(ctx context.Context, p Policy) error {
	if p.Priority < math.MinInt32 || p.Priority > math.MaxInt32 {
		return fmt.Errorf("%w: policy %q: priority %d does not fit the 32-bit column", ErrInvalid, p.ID, p.Priority)
	}
	op := fmt.Sprintf("put policy %q", p.ID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		var existing []Policy // the policies p could conflict with
		if !s.o.allowConflicts {
			var err error
			existing, err = queryPolicies(ctx, tx, `SELECT policy FROM privilege_abac_policies
  WHERE is_active AND priority = $2 AND id <> $1 ORDER BY id`, p.ID, p.Priority)
			if err != nil {
				return err
			}
		}
		if err := s.validatePolicy(p, existing); err != nil {
			return err
		}
		doc, err := encodePolicy(p)
		if err != nil {
			return err
		}
		s.hook(op)
		_, err = tx.Exec(ctx, `INSERT INTO privilege_abac_policies (id, name, priority, is_active, policy) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, priority = EXCLUDED.priority, is_active = EXCLUDED.is_active,
    policy = EXCLUDED.policy, updated_at = now()`, p.ID, p.Name, p.Priority, p.Active, doc)
		if pgCode(err) == "23514" { // check_violation: empty id
			return fmt.Errorf("%w: policy: empty id", ErrInvalid)
		}
		return err
	})
}

// DeletePolicy deletes a policy. Deleting one that does not exist changes
// nothing and is no error, so a retried DeletePolicy succeeds.
func (s *PostgresStore) DeletePolicy(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete policy %q", id)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		s.hook(op)
		tag, err := tx.Exec(ctx, `DELETE FROM privilege_abac_policies WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return errNoChange
		}
		return err
	})
}

// Policies returns the active policies, highest priority first, then by
// id.
func (s *PostgresStore) Policies(ctx context.Context) ([]Policy, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ps, err := queryPolicies(ctx, s.pool, `SELECT policy FROM privilege_abac_policies WHERE is_active ORDER BY priority DESC, id`)
	return ps, pgError(ctx, "policies", err)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryPolicies(ctx context.Context, q querier, sql string, args ...any) ([]Policy, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	ps := make([]Policy, 0, len(docs))
	for _, d := range docs {
		p, err := decodePolicy(d)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}
