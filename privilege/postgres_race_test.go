package privilege_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/privilege"
)

// cycleRace runs PutRole(a, parents b) and PutRole(b, parents a) so that
// the second starts while the first has passed its check but not yet
// written, and returns both errors. If the store's writes did not lock
// what the check read, the second would pass its check too.
func cycleRace(t *testing.T, s *privilege.PostgresStore, pool *pgxpool.Pool) (errA, errB error) {
	ctx := context.Background()
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "a", Name: "A", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "b", Name: "B", Active: true}))
	paused, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	privilege.SetPGAfterValidate(s, func(op string) {
		if op == `put role "a"` {
			once.Do(func() { close(paused); <-release })
		}
	})
	defer privilege.SetPGAfterValidate(s, nil)

	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		errA = s.PutRole(ctx, privilege.Role{ID: "a", Name: "A", Parents: []string{"b"}, Active: true})
	}()
	<-paused
	doneB := make(chan struct{})
	go func() {
		defer close(doneB)
		errB = s.PutRole(ctx, privilege.Role{ID: "b", Name: "B", Parents: []string{"a"}, Active: true})
	}()
	if waitLockWaiters(t, pool, 1, doneB) {
		t.Log("the second write waits for the first's lock")
	}
	close(release)
	<-doneA
	<-doneB
	return errA, errB
}

func checkOneCycleFails(t *testing.T, s *privilege.PostgresStore, errA, errB error) {
	t.Helper()
	if (errA == nil) == (errB == nil) {
		roles, _ := s.Roles(context.Background())
		t.Fatalf("PutRole a->b: %v; PutRole b->a: %v; want exactly one ErrCycle (roles now %+v)", errA, errB, roles)
	}
	wantIs(t, errors.Join(errA, errB), privilege.ErrCycle)
}

// testPGCycleRaceStandIn tests the store's locking with a stand-in cycle
// check, so that it fails on the locking alone, whatever validateRole
// does.
func testPGCycleRaceStandIn(t *testing.T, url string) {
	s, pool := newPGStore(t, url)
	privilege.SetPGValidateRole(s, standInValidateRole)
	errA, errB := cycleRace(t, s, pool)
	checkOneCycleFails(t, s, errA, errB)
}

// testPGCycleRaceReal is the same race with the shared validateRole.
func testPGCycleRaceReal(t *testing.T, url string) {
	s, pool := newPGStore(t, url)
	errA, errB := cycleRace(t, s, pool)
	checkOneCycleFails(t, s, errA, errB)
}

// testPGConflictRace: two same-priority policies, permit and deny on the
// same target, put concurrently with a stand-in conflict check: exactly
// one must be refused.
func testPGConflictRace(t *testing.T, url string) {
	ctx := context.Background()
	s, pool := newPGStore(t, url)
	privilege.SetPGValidatePolicy(s, func(p privilege.Policy, existing []privilege.Policy) error {
		for _, e := range existing {
			if e.Priority == p.Priority && e.Effect != p.Effect {
				return fmt.Errorf("%w: %q and %q", privilege.ErrConflict, p.ID, e.ID)
			}
		}
		return nil
	})
	paused, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	privilege.SetPGAfterValidate(s, func(op string) {
		if op == `put policy "permit"` {
			once.Do(func() { close(paused); <-release })
		}
	})
	var errP, errD error
	doneP := make(chan struct{})
	go func() {
		defer close(doneP)
		errP = s.PutPolicy(ctx, privilege.Policy{ID: "permit", Name: "P", Priority: 1, Effect: privilege.Permit, Active: true})
	}()
	<-paused
	doneD := make(chan struct{})
	go func() {
		defer close(doneD)
		errD = s.PutPolicy(ctx, privilege.Policy{ID: "deny", Name: "D", Priority: 1, Effect: privilege.Deny, Active: true})
	}()
	waitLockWaiters(t, pool, 1, doneD)
	close(release)
	<-doneP
	<-doneD
	if errP != nil || !errors.Is(errD, privilege.ErrConflict) {
		t.Fatalf("permit: %v; deny: %v; want the deny refused with ErrConflict", errP, errD)
	}
}
