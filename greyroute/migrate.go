package greyroute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/lock"
)

// Migrator runs one tenant's schema migrations and returns the schema
// version they left it at. It is given to MoveTenant, which calls it only
// when the tenant's schema is below the target version's requirement.
type Migrator func(ctx context.Context) (newSchema int, err error)

// migrateLockTTL bounds how long a crashed MoveTenant blocks the next one
// for the same tenant; a live one keeps its lock with the watchdog.
const migrateLockTTL = 30 * time.Second

// MoveTenant pins tenant's calls to service to version, migrating the
// tenant's schema first if the version requires more than is recorded:
//
//  1. if the recorded schema (SetSchema) meets the version's requirement,
//     migrate is not called;
//  2. otherwise migrate runs; if it fails (or panics), nothing is written:
//     the schema record and the tenant's pin stay as they were, and the
//     error is returned;
//  3. the schema it returns is recorded, then the tenant is pinned. A
//     schema still below the requirement is recorded (the migrations did
//     run) and the pin is refused with ErrSchema.
//
// MoveTenant calls for one tenant are serialized through a lock (see the
// lock package) so two Admins never migrate a tenant at once; a call
// waits for the lock until ctx ends. A crash between steps is repaired by
// calling MoveTenant again: the recorded schema then meets the
// requirement and only the pin is written.
func (a *Admin) MoveTenant(ctx context.Context, tenant, service, version string, migrate Migrator) (err error) {
	defer func() { a.tel.done("move_tenant", err) }()
	if err := validNames("tenant", tenant, "service", service, "version", version); err != nil {
		return fmt.Errorf("greyroute: move tenant: %w", err)
	}
	what := fmt.Sprintf("move tenant %q of service %q to %q", tenant, service, version)
	if migrate == nil {
		return fmt.Errorf("greyroute: %s: %w: nil Migrator", what, ErrInvalid)
	}
	if a.closed.Load() {
		return fmt.Errorf("greyroute: %s: %w", what, ErrClosed)
	}
	var moveErr error // moveLocked's own error, already wrapped
	err = a.locker.Do(ctx, tenant, migrateLockTTL, func(ctx context.Context, _ *lock.Lock) error {
		moveErr = a.moveLocked(ctx, tenant, service, version, migrate, what)
		return moveErr
	}, lock.WithRetry(lock.ExponentialRetry(10*time.Millisecond, time.Second)))
	if err != nil && err != moveErr {
		// The lock's own failure (Redis, ctx ending while waiting).
		return wrapRedis(ctx, what+": the tenant's migration lock", err)
	}
	return err
}

func (a *Admin) moveLocked(ctx context.Context, tenant, service, version string, migrate Migrator, what string) error {
	have, err := a.tenantSchema(ctx, tenant)
	if err != nil {
		return wrapRedis(ctx, what, err)
	}
	need, err := a.client.HGet(ctx, serviceKeys(a.cfg.prefix, service).schemaReq, version).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrapRedis(ctx, what+": reading the version's schema requirement", err)
	}
	if have < need {
		got, err := runMigrator(ctx, migrate)
		if err != nil {
			// The Migrator's error as it is (context errors included),
			// under what was being done.
			return fmt.Errorf("greyroute: %s: migrating from schema %d: %w", what, have, err)
		}
		if got < have {
			return fmt.Errorf("greyroute: %s: %w: the Migrator returned schema %d, below the recorded %d", what, ErrInvalid, got, have)
		}
		if err := a.setSchema(ctx, tenant, got); err != nil {
			return err
		}
	}
	return a.pin(ctx, tenant, service, version)
}

// runMigrator calls migrate, turning a panic into an error.
func runMigrator(ctx context.Context, migrate Migrator) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the Migrator panicked: %v", p)
		}
	}()
	return migrate(ctx)
}
