package greyroute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
	"github.com/groundwork-go/groundwork/lock"
)

// Limits on what Register stores.
const (
	// MaxTTL is the longest registration: instances heartbeat, and the
	// expiry must stay exact as a Lua number.
	MaxTTL = 30 * 24 * time.Hour
	// MaxWeight is the largest instance weight.
	MaxWeight = 1_000_000
	// MaxSchema is the largest schema version (SetSchema, RequireSchema):
	// 2^53−1, the largest integer the scripts' Lua numbers hold exactly.
	// Timestamp versions (20240101120000) fit.
	MaxSchema = 1<<53 - 1
	maxAddr   = 1024
	maxEntry  = 64 << 10 // an instance's stored JSON, Meta included
)

// Admin writes the routing table in Redis: instances, pins, stable and
// rollout versions, schema requirements, health. Every write is one Lua
// script on the service's keys that bumps the service's rev and announces
// the change to every Router; a write that finds its work already done
// (a retry after a lost reply) changes nothing and announces nothing. An
// Admin is safe for concurrent use.
type Admin struct {
	client redis.UniversalClient
	cfg    config
	tel    *adminTelemetry
	locker *lock.Locker // serializes MoveTenant per tenant
	closed atomic.Bool
}

// NewAdmin returns an Admin writing through client (standalone, Sentinel
// or Cluster). A nil client or a bad option is an error wrapping
// ErrInvalid. Close releases its metrics registration; the client stays
// the caller's.
func NewAdmin(client redis.UniversalClient, opts ...AdminOption) (*Admin, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: NewAdmin: nil client", ErrInvalid)
	}
	cfg, err := applyOptions("NewAdmin", opts)
	if err != nil {
		return nil, err
	}
	if len(cfg.routerOnly) > 0 {
		return nil, fmt.Errorf("%w: NewAdmin: %s is a Router option", ErrInvalid, cfg.routerOnly[0])
	}
	return &Admin{
		client: client,
		cfg:    cfg,
		tel:    newAdminTelemetry(cfg.meter),
		locker: lock.New(client, lock.WithKeyPrefix(cfg.prefix+"migrate:"), lock.WithMeterProvider(cfg.meter)),
	}, nil
}

// Close ends the Admin: later calls return ErrClosed. It is idempotent.
func (a *Admin) Close() error {
	if a.closed.CompareAndSwap(false, true) {
		a.tel.close()
	}
	return nil
}

// instanceEntry is an instance as stored in the instances hash; its ID
// is the field, its service the key's, its expiry in the expiry zset.
type instanceEntry struct {
	Addr    string            `json:"addr"`
	Version string            `json:"version"`
	Weight  int               `json:"weight"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// Register adds inst, or rewrites it (address, version, weight, meta),
// alive for ttl from now; Heartbeat keeps it alive. Once its ttl has
// passed without a Heartbeat the instance is gone for every reader.
func (a *Admin) Register(ctx context.Context, inst Instance, ttl time.Duration) (err error) {
	defer func() { a.tel.done("register", err) }()
	if err := validNames("Instance.Service", inst.Service, "Instance.Version", inst.Version, "Instance.ID", inst.ID); err != nil {
		return fmt.Errorf("greyroute: register: %w", err)
	}
	entry, err := encodeEntry(inst)
	if err != nil {
		return fmt.Errorf("greyroute: register %q of service %q: %w", inst.ID, inst.Service, err)
	}
	if err := validTTL(ttl); err != nil {
		return fmt.Errorf("greyroute: register %q of service %q: %w", inst.ID, inst.Service, err)
	}
	now := a.cfg.clock()
	_, err = a.run(ctx, inst.Service, now, registerScript, inst.ID, entry, now.UnixMilli()+ttl.Milliseconds())
	return wrapRedis(ctx, fmt.Sprintf("register %q of service %q", inst.ID, inst.Service), err)
}

// encodeEntry checks inst's address, weight and meta and returns its JSON.
func encodeEntry(inst Instance) (string, error) {
	switch {
	case inst.Addr == "" || len(inst.Addr) > maxAddr:
		return "", fmt.Errorf("%w: Instance.Addr is %d bytes: want 1 to %d", ErrInvalid, len(inst.Addr), maxAddr)
	case !utf8.ValidString(inst.Addr) || strings.ContainsFunc(inst.Addr, isControl) || strings.ContainsRune(inst.Addr, ' '):
		return "", fmt.Errorf("%w: Instance.Addr %q: want no spaces, control characters or invalid UTF-8", ErrInvalid, inst.Addr)
	case inst.Weight < 0 || inst.Weight > MaxWeight:
		return "", fmt.Errorf("%w: Instance.Weight %d: want 0 (meaning 1) to %d", ErrInvalid, inst.Weight, MaxWeight)
	}
	for k, v := range inst.Meta {
		// JSON would turn invalid UTF-8 into U+FFFD: what is read back
		// must be what was given.
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return "", fmt.Errorf("%w: Instance.Meta[%q]: invalid UTF-8", ErrInvalid, k)
		}
	}
	// Map keys are sorted by encoding/json, so the same instance always
	// encodes the same: a retried Register finds nothing to change.
	b, err := json.Marshal(instanceEntry{Addr: inst.Addr, Version: inst.Version, Weight: inst.Weight, Meta: inst.Meta})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(b) > maxEntry {
		return "", fmt.Errorf("%w: the instance encodes to %d bytes, more than %d (Instance.Meta too large)", ErrInvalid, len(b), maxEntry)
	}
	return string(b), nil
}

func validTTL(ttl time.Duration) error {
	if ttl < time.Millisecond || ttl > MaxTTL {
		return fmt.Errorf("%w: ttl %v: want 1ms to %v", ErrInvalid, ttl, MaxTTL)
	}
	return nil
}

// Heartbeat keeps instance id of service alive for ttl from now. An
// instance that is unknown, deregistered or already expired is not
// revived: the error wraps ErrNotFound and the instance must Register
// again. Moving the expiry later is not a change event (no rev, no
// PUBLISH): Routers reload a service when the earliest expiry they hold
// passes, and read the new one then. Moving it earlier is announced.
func (a *Admin) Heartbeat(ctx context.Context, service, id string, ttl time.Duration) (err error) {
	defer func() { a.tel.done("heartbeat", err) }()
	if err := validNames("service", service, "id", id); err != nil {
		return fmt.Errorf("greyroute: heartbeat: %w", err)
	}
	what := fmt.Sprintf("heartbeat of %q of service %q", id, service)
	if err := validTTL(ttl); err != nil {
		return fmt.Errorf("greyroute: %s: %w", what, err)
	}
	now := a.cfg.clock()
	res, err := a.run(ctx, service, now, heartbeatScript, id, now.UnixMilli()+ttl.Milliseconds())
	if err == nil && res.status == "notfound" {
		err = refused{fmt.Errorf("%w: unknown or expired instance (Register it again)", ErrNotFound)}
	}
	return wrapRedis(ctx, what, err)
}

// Deregister removes instance id of service and its health score.
// Removing an unknown instance is not an error, so a retry is harmless.
func (a *Admin) Deregister(ctx context.Context, service, id string) (err error) {
	defer func() { a.tel.done("deregister", err) }()
	if err := validNames("service", service, "id", id); err != nil {
		return fmt.Errorf("greyroute: deregister: %w", err)
	}
	_, err = a.run(ctx, service, a.cfg.clock(), deregisterScript, id)
	return wrapRedis(ctx, fmt.Sprintf("deregister %q of service %q", id, service), err)
}

// Pin sends tenant's calls to service to version, whatever the stable
// version and rollout say. It is refused, with an error wrapping
// ErrSchema, when the tenant's recorded schema (SetSchema; none counts as
// 0) is below the version's requirement (RequireSchema); the requirement
// is checked in the same script as the pin. The tenant's schema lives
// outside the service's hash tag, so it is read just before the script:
// a SetSchema lowering it at that moment can race a Pin (schemas only
// rise in normal operation; Routers gate by schema again when they
// resolve). MoveTenant migrates first when the schema is too old.
func (a *Admin) Pin(ctx context.Context, tenant, service, version string) (err error) {
	defer func() { a.tel.done("pin", err) }()
	return a.pin(ctx, tenant, service, version)
}

func (a *Admin) pin(ctx context.Context, tenant, service, version string) error {
	if err := validNames("tenant", tenant, "service", service, "version", version); err != nil {
		return fmt.Errorf("greyroute: pin: %w", err)
	}
	what := fmt.Sprintf("pin tenant %q of service %q to %q", tenant, service, version)
	if a.closed.Load() {
		return fmt.Errorf("greyroute: %s: %w", what, ErrClosed)
	}
	have, err := a.tenantSchema(ctx, tenant)
	if err != nil {
		return wrapRedis(ctx, what, err)
	}
	res, err := a.run(ctx, service, a.cfg.clock(), pinScript, tenant, version, have)
	if err == nil && res.status == "schema" {
		err = refused{fmt.Errorf("%w: the tenant's schema is %d, the version requires %d", ErrSchema, have, res.detail)}
	}
	return wrapRedis(ctx, what, err)
}

// tenantSchema reads tenant's recorded schema, 0 when none.
func (a *Admin) tenantSchema(ctx context.Context, tenant string) (int, error) {
	v, err := a.client.HGet(ctx, tenantSchemaKey(a.cfg.prefix), tenant).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("tenant %q's stored schema %q is not a number", tenant, v)
	}
	return n, nil
}

// Unpin removes tenant's pin for service: its calls follow the rollout
// and the stable version again. Unpinning a tenant with no pin is not an
// error.
func (a *Admin) Unpin(ctx context.Context, tenant, service string) (err error) {
	defer func() { a.tel.done("unpin", err) }()
	if err := validNames("tenant", tenant, "service", service); err != nil {
		return fmt.Errorf("greyroute: unpin: %w", err)
	}
	_, err = a.run(ctx, service, a.cfg.clock(), unpinScript, tenant)
	return wrapRedis(ctx, fmt.Sprintf("unpin tenant %q of service %q", tenant, service), err)
}

// SetStable makes version the stable version of service: what every
// tenant without a pin, and outside the rollout, is sent to. Making the
// rollout's target stable completes the rollout: it is cleared.
func (a *Admin) SetStable(ctx context.Context, service, version string) (err error) {
	defer func() { a.tel.done("set_stable", err) }()
	if err := validNames("service", service, "version", version); err != nil {
		return fmt.Errorf("greyroute: set stable: %w", err)
	}
	_, err = a.run(ctx, service, a.cfg.clock(), stableScript, version)
	return wrapRedis(ctx, fmt.Sprintf("set stable version of service %q to %q", service, version), err)
}

// SetFallback sets the version a Router sends service's calls to when the
// resolved version has no available instance; "" removes it (the Router
// then fails with ErrNoInstance). A Router's WithFallbackVersion, if set,
// takes precedence.
func (a *Admin) SetFallback(ctx context.Context, service, version string) (err error) {
	defer func() { a.tel.done("set_fallback", err) }()
	if err := validName("service", service); err != nil {
		return fmt.Errorf("greyroute: set fallback: %w", err)
	}
	if version != "" {
		if err := validName("version", version); err != nil {
			return fmt.Errorf("greyroute: set fallback: %w", err)
		}
	}
	_, err = a.run(ctx, service, a.cfg.clock(), fallbackScript, version)
	return wrapRedis(ctx, fmt.Sprintf("set fallback version of service %q to %q", service, version), err)
}

// Rollout moves a share of a service's tenants from its stable version to
// To. Percent is in [0, 100], stored in basis points (0.01%); 0 ends the
// rollout (To is then ignored). A tenant is in the share when its bucket
// (a stable hash of tenant and service into 10,000) is below the basis
// points, so raising the percentage keeps every tenant already moved, and
// lowering it moves back only the excess.
type Rollout struct {
	To      string  // the version rolled out to; must differ from the stable one
	Percent float64 // share of tenants on To, 0 to 100, in steps of 0.01
}

// SetRollout sets service's rollout. Refused with an error wrapping
// ErrInvalid when the service has no stable version, or To is it (both
// read in the script, with the write); a percentage outside [0, 100], NaN,
// or above 0 but below 0.01 is an error before any write.
func (a *Admin) SetRollout(ctx context.Context, service string, r Rollout) (err error) {
	defer func() { a.tel.done("set_rollout", err) }()
	if err := validName("service", service); err != nil {
		return fmt.Errorf("greyroute: set rollout: %w", err)
	}
	what := fmt.Sprintf("set rollout of service %q to %q at %v%%", service, r.To, r.Percent)
	bp, err := basisPoints(r.Percent)
	if err != nil {
		return fmt.Errorf("greyroute: %s: %w", what, err)
	}
	if bp > 0 {
		if err := validName("Rollout.To", r.To); err != nil {
			return fmt.Errorf("greyroute: %s: %w", what, err)
		}
	}
	res, err := a.run(ctx, service, a.cfg.clock(), rolloutScript, r.To, bp)
	if err == nil {
		switch res.status {
		case "nostable":
			err = refused{fmt.Errorf("%w: the service has no stable version to roll out from (SetStable first)", ErrInvalid)}
		case "same":
			err = refused{fmt.Errorf("%w: Rollout.To is the stable version", ErrInvalid)}
		}
	}
	return wrapRedis(ctx, what, err)
}

// basisPoints converts a percentage to basis points.
func basisPoints(p float64) (int, error) {
	if math.IsNaN(p) || p < 0 || p > 100 {
		return 0, fmt.Errorf("%w: Rollout.Percent %v: want 0 to 100", ErrInvalid, p)
	}
	bp := int(math.Round(p * 100))
	if bp == 0 && p > 0 {
		return 0, fmt.Errorf("%w: Rollout.Percent %v: above 0 but below 0.01, the smallest step (0 ends the rollout)", ErrInvalid, p)
	}
	return bp, nil
}

// RequireSchema says that svcVersion of service needs tenants whose schema
// is at least minSchema; 0 removes the requirement, a negative one or one
// above MaxSchema is an error. Pins made before stay: Pin checks at pin
// time, and Routers gate rollouts by it.
func (a *Admin) RequireSchema(ctx context.Context, service, svcVersion string, minSchema int) (err error) {
	defer func() { a.tel.done("require_schema", err) }()
	if err := validNames("service", service, "version", svcVersion); err != nil {
		return fmt.Errorf("greyroute: require schema: %w", err)
	}
	what := fmt.Sprintf("require schema %d for version %q of service %q", minSchema, svcVersion, service)
	if minSchema < 0 || int64(minSchema) > MaxSchema {
		return fmt.Errorf("greyroute: %s: %w: minSchema is negative or above MaxSchema", what, ErrInvalid)
	}
	_, err = a.run(ctx, service, a.cfg.clock(), requireScript, svcVersion, minSchema)
	return wrapRedis(ctx, what, err)
}

// SetHealth sets the health score (0 to 100; an instance without one
// counts as 100) of a live instance; Routers skip instances scoring 50 or
// less. An unknown or expired instance is an error wrapping ErrNotFound.
func (a *Admin) SetHealth(ctx context.Context, service, id string, score int) (err error) {
	defer func() { a.tel.done("set_health", err) }()
	if err := validNames("service", service, "id", id); err != nil {
		return fmt.Errorf("greyroute: set health: %w", err)
	}
	what := fmt.Sprintf("set health of %q of service %q to %d", id, service, score)
	if score < 0 || score > 100 {
		return fmt.Errorf("greyroute: %s: %w: want a score from 0 to 100", what, ErrInvalid)
	}
	res, err := a.run(ctx, service, a.cfg.clock(), healthScript, id, strconv.Itoa(score))
	if err == nil && res.status == "notfound" {
		err = refused{fmt.Errorf("%w: unknown or expired instance", ErrNotFound)}
	}
	return wrapRedis(ctx, what, err)
}

// SetSchema records tenant's schema version (0 to MaxSchema), as its
// migrations left it. It is global, not per service, and announced as
// "{tenants} <rev>" on the change channel.
func (a *Admin) SetSchema(ctx context.Context, tenant string, version int) (err error) {
	defer func() { a.tel.done("set_schema", err) }()
	return a.setSchema(ctx, tenant, version)
}

func (a *Admin) setSchema(ctx context.Context, tenant string, version int) error {
	if err := validName("tenant", tenant); err != nil {
		return fmt.Errorf("greyroute: set schema: %w", err)
	}
	what := fmt.Sprintf("set schema of tenant %q to %d", tenant, version)
	switch {
	case version < 0 || int64(version) > MaxSchema:
		return fmt.Errorf("greyroute: %s: %w: the version is negative or above MaxSchema", what, ErrInvalid)
	case a.closed.Load():
		return fmt.Errorf("greyroute: %s: %w", what, ErrClosed)
	}
	p := a.cfg.prefix
	err := schemaScript.Run(ctx, a.client, []string{tenantSchemaKey(p), tenantsMetaKey(p)}, changedChannel(p), tenant, strconv.Itoa(version)).Err()
	return wrapRedis(ctx, what, err)
}

// result is a service script's answer.
type result struct {
	status string // "ok" or the reason for a refusal
	rev    int64  // the service's rev after the script
	detail int64  // a refusal's figure (Pin: the required schema)
}

// run adds service to the services set, then runs script on service's
// keys with the change channel, service and now before args.
func (a *Admin) run(ctx context.Context, service string, now time.Time, script *redis.Script, args ...any) (result, error) {
	if a.closed.Load() {
		return result{}, ErrClosed
	}
	// The set first: a crash between the two leaves a name with no table
	// (harmless), never a table a Router's resync cannot find. SADD is
	// idempotent.
	if err := a.client.SAdd(ctx, servicesKey(a.cfg.prefix), service).Err(); err != nil {
		return result{}, err
	}
	argv := append([]any{changedChannel(a.cfg.prefix), service, now.UnixMilli()}, args...)
	vals, err := script.Run(ctx, a.client, serviceKeys(a.cfg.prefix, service).list(), argv...).Slice()
	if err != nil {
		return result{}, err
	}
	var res result
	var ok bool
	if len(vals) >= 2 {
		res.status, ok = vals[0].(string)
		res.rev, _ = vals[1].(int64)
	}
	if len(vals) >= 3 {
		res.detail, _ = vals[2].(int64)
	}
	if !ok {
		return result{}, fmt.Errorf("unexpected script reply %v", vals)
	}
	return res, nil
}

// wrapRedis wraps err from Redis for the operation what: ctx's own error
// unwrapped, a context error as it is, an unreachable Redis with
// ErrUnavailable too.
func wrapRedis(ctx context.Context, what string, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return ctx.Err()
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case redisx.Retryable(err):
		return fmt.Errorf("greyroute: %s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("greyroute: %s: %w", what, err)
}
