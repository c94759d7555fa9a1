package greyroute

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Table is one service's routing table as stored in Redis at one rev:
// what a Router loads. It is a plain value; Snapshot builds a new one
// each time.
type Table struct {
	Service   string
	Rev       int64  // bumped by every write that changed the service
	Stable    string // "" when none is set
	RolloutTo string // "" when no rollout is active
	RolloutBP int    // the rollout's share in basis points (0 to 10,000)
	// RolloutSince is the Rev at which RolloutTo was set (a change of
	// RolloutBP alone keeps it): it names one rollout, so one ended and
	// set again to the same version is another (auto-rollback judges
	// each on its own calls). 0 when no rollout is active, or when it was
	// set by a version of this package that did not record it.
	RolloutSince int64
	Fallback     string // "" when none is set

	// LastRollback is the service's last automatic rollback
	// (WithAutoRollback), nil when none.
	LastRollback *RollbackEvent

	Pins      map[string]string // tenant → version
	SchemaReq map[string]int    // version → minimum tenant schema

	// Instances are the live instances (expired ones dropped), sorted by
	// ID, and Expires their expiries: a reader must drop an instance
	// once its expiry passes, as no event announces it.
	Instances []Instance
	Expires   map[string]time.Time // instance ID → expiry
	Health    map[string]int       // instance ID → score; absent means 100

	// Corrupt lists the IDs of instance entries that could not be
	// decoded (written by something other than an Admin); they are left
	// out of Instances.
	Corrupt []string
}

// Snapshot reads service's table in one MULTI/EXEC transaction, so that
// Rev matches what is read. Instances whose expiry has passed by the
// Admin's clock are dropped. A service never written reads as an empty
// table with Rev 0.
func (a *Admin) Snapshot(ctx context.Context, service string) (Table, error) {
	if err := validName("service", service); err != nil {
		return Table{}, fmt.Errorf("greyroute: snapshot: %w", err)
	}
	if a.closed.Load() {
		return Table{}, fmt.Errorf("greyroute: snapshot of service %q: %w", service, ErrClosed)
	}
	t, err := readTable(ctx, a.client, serviceKeys(a.cfg.prefix, service), service, a.cfg.clock())
	return t, wrapRedis(ctx, fmt.Sprintf("snapshot of service %q", service), err)
}

// readTable reads the table at keys k (all in one hash slot) as of now.
func readTable(ctx context.Context, c redis.UniversalClient, k keySet, service string, now time.Time) (Table, error) {
	var route, insts, pins, req, health *redis.MapStringStringCmd
	var exp *redis.ZSliceCmd
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		route = p.HGetAll(ctx, k.route)
		insts = p.HGetAll(ctx, k.instances)
		exp = p.ZRangeWithScores(ctx, k.expiry, 0, -1)
		pins = p.HGetAll(ctx, k.pins)
		req = p.HGetAll(ctx, k.schemaReq)
		health = p.HGetAll(ctx, k.health)
		return nil
	})
	if err != nil {
		return Table{}, err
	}
	t := Table{Service: service, Pins: pins.Val(), SchemaReq: map[string]int{},
		Expires: map[string]time.Time{}, Health: map[string]int{}}
	r := route.Val()
	t.Rev, _ = strconv.ParseInt(r["rev"], 10, 64)
	t.Stable, t.RolloutTo, t.Fallback = r["stable"], r["rollout_to"], r["fallback"]
	t.LastRollback = decodeRollback(r["last_rollback"])
	if t.RolloutTo != "" {
		t.RolloutBP, _ = strconv.Atoi(r["rollout_bp"])
		t.RolloutSince, _ = strconv.ParseInt(r["rollout_since"], 10, 64)
	}
	for v, s := range req.Val() {
		if n, err := strconv.Atoi(s); err == nil {
			t.SchemaReq[v] = n
		}
	}
	nowMS := now.UnixMilli()
	for _, z := range exp.Val() {
		id, _ := z.Member.(string)
		if int64(z.Score) > nowMS {
			t.Expires[id] = time.UnixMilli(int64(z.Score))
		}
	}
	for id, raw := range insts.Val() {
		if _, live := t.Expires[id]; !live {
			continue
		}
		var e instanceEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil || validName("version", e.Version) != nil {
			t.Corrupt = append(t.Corrupt, id)
			delete(t.Expires, id)
			continue
		}
		t.Instances = append(t.Instances, Instance{ID: id, Service: service, Version: e.Version, Addr: e.Addr, Weight: e.Weight, Meta: e.Meta})
	}
	// An expiry without an instance is a write's leftover, not a live one.
	for id := range t.Expires {
		if _, ok := insts.Val()[id]; !ok {
			delete(t.Expires, id)
		}
	}
	slices.SortFunc(t.Instances, func(x, y Instance) int { return cmp.Compare(x.ID, y.ID) })
	slices.Sort(t.Corrupt)
	for id, s := range health.Val() {
		if _, live := t.Expires[id]; !live {
			continue
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 100 {
			t.Health[id] = n
		}
	}
	return t, nil
}

// TenantSchemas returns the recorded schema of each tenant named, or of
// every tenant when none is named; a tenant with none recorded is absent.
func (a *Admin) TenantSchemas(ctx context.Context, tenants ...string) (map[string]int, error) {
	for i, t := range tenants {
		if err := validName(fmt.Sprintf("tenants[%d]", i), t); err != nil {
			return nil, fmt.Errorf("greyroute: tenant schemas: %w", err)
		}
	}
	if a.closed.Load() {
		return nil, fmt.Errorf("greyroute: tenant schemas: %w", ErrClosed)
	}
	m, err := readTenantSchemas(ctx, a.client, a.cfg.prefix, tenants)
	return m, wrapRedis(ctx, "tenant schemas", err)
}

func readTenantSchemas(ctx context.Context, c redis.UniversalClient, prefix string, tenants []string) (map[string]int, error) {
	out := map[string]int{}
	add := func(t, s string) {
		if n, err := strconv.Atoi(s); err == nil {
			out[t] = n
		}
	}
	key := tenantSchemaKey(prefix)
	if len(tenants) == 0 {
		all, err := c.HGetAll(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		for t, s := range all {
			add(t, s)
		}
		return out, nil
	}
	vals, err := c.HMGet(ctx, key, tenants...).Result()
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			add(tenants[i], s)
		}
	}
	return out, nil
}

// Services returns, sorted, every service an Admin has written to.
func (a *Admin) Services(ctx context.Context) ([]string, error) {
	if a.closed.Load() {
		return nil, fmt.Errorf("greyroute: services: %w", ErrClosed)
	}
	s, err := a.client.SMembers(ctx, servicesKey(a.cfg.prefix)).Result()
	if err != nil {
		return nil, wrapRedis(ctx, "services", err)
	}
	slices.Sort(s)
	return s, nil
}
