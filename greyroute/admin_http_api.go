package greyroute

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The JSON answers of the admin API (snake_case).

// serviceJSON is one service as the page shows it. Its pins are only
// counted: they are listed a page at a time (apiPins).
type serviceJSON struct {
	Service   string         `json:"service"`
	Rev       int64          `json:"rev"`
	Stable    string         `json:"stable"`
	Rollout   rolloutJSON    `json:"rollout"`
	Fallback  string         `json:"fallback"`
	Versions  []versionJSON  `json:"versions"`
	Instances []instanceJSON `json:"instances"`
	Pins      int            `json:"pins"`
	Corrupt   []string       `json:"corrupt,omitempty"`
}

type rolloutJSON struct {
	To      string  `json:"to"`
	Percent float64 `json:"percent"`
}

// versionJSON is one version named anywhere in the table.
type versionJSON struct {
	Version   string   `json:"version"`
	Roles     []string `json:"roles"` // "stable", "rollout", "fallback"
	MinSchema int      `json:"min_schema"`
	Instances int      `json:"instances"`
	Pins      int      `json:"pins"`
}

type instanceJSON struct {
	ID       string            `json:"id"`
	Version  string            `json:"version"`
	Addr     string            `json:"addr"`
	Weight   int               `json:"weight"`
	Meta     map[string]string `json:"meta,omitempty"`
	Health   int               `json:"health"`
	Expires  time.Time         `json:"expires"`
	Breaker  string            `json:"breaker"`            // the worst state reported: "closed" when none is
	Breakers []BreakerReport   `json:"breakers,omitempty"` // every report, the worst first
}

type pinJSON struct {
	Tenant  string `json:"tenant"`
	Version string `json:"version"`
}

type pinsJSON struct {
	Total  int       `json:"total"` // pins matching q
	Offset int       `json:"offset"`
	Limit  int       `json:"limit"`
	Pins   []pinJSON `json:"pins"`
}

func (a *Admin) apiServices(r *http.Request) (any, error) {
	s, err := a.Services(r.Context())
	if err != nil {
		return nil, err
	}
	return map[string][]string{"services": s}, nil
}

func (a *Admin) apiService(r *http.Request) (any, error) {
	service := r.PathValue("s")
	t, err := a.Snapshot(r.Context(), service)
	if err != nil {
		return nil, err
	}
	if t.Rev == 0 { // every write bumps it: never written
		return nil, &statusError{http.StatusNotFound, fmt.Sprintf("greyroute admin: no service %q", service)}
	}
	br, err := a.Breakers(r.Context(), service)
	if err != nil {
		return nil, err
	}
	return serviceView(t, br), nil
}

// serviceView builds the page's view of table t with breaker reports br.
func serviceView(t Table, br map[string][]BreakerReport) serviceJSON {
	out := serviceJSON{Service: t.Service, Rev: t.Rev, Stable: t.Stable, Fallback: t.Fallback,
		Rollout: rolloutJSON{To: t.RolloutTo, Percent: float64(t.RolloutBP) / 100},
		Pins:    len(t.Pins), Corrupt: t.Corrupt, Instances: []instanceJSON{}}
	versions := map[string]*versionJSON{}
	version := func(v string) *versionJSON {
		if versions[v] == nil {
			versions[v] = &versionJSON{Version: v, Roles: []string{}, MinSchema: t.SchemaReq[v]}
		}
		return versions[v]
	}
	for _, vr := range [][2]string{{t.Stable, "stable"}, {t.RolloutTo, "rollout"}, {t.Fallback, "fallback"}} {
		if vr[0] != "" {
			version(vr[0]).Roles = append(version(vr[0]).Roles, vr[1])
		}
	}
	for v := range t.SchemaReq {
		version(v)
	}
	for _, v := range t.Pins {
		version(v).Pins++
	}
	for _, inst := range t.Instances {
		version(inst.Version).Instances++
		h, ok := t.Health[inst.ID]
		if !ok {
			h = healthMax
		}
		ij := instanceJSON{ID: inst.ID, Version: inst.Version, Addr: inst.Addr, Weight: inst.Weight, Meta: inst.Meta,
			Health: h, Expires: t.Expires[inst.ID], Breaker: "closed", Breakers: br[inst.ID]}
		if len(ij.Breakers) > 0 {
			ij.Breaker = ij.Breakers[0].State
		}
		out.Instances = append(out.Instances, ij)
	}
	for _, v := range versions {
		out.Versions = append(out.Versions, *v)
	}
	slices.SortFunc(out.Versions, func(x, y versionJSON) int { return cmp.Compare(x.Version, y.Version) })
	if out.Versions == nil {
		out.Versions = []versionJSON{}
	}
	return out
}

// Pins are listed a page at a time: a service can pin thousands of
// tenants.
const (
	defaultPinLimit = 50
	maxPinLimit     = 500
)

// apiPins lists service's pins whose tenant contains q (case-insensitive),
// sorted by tenant, from offset, at most limit.
func (a *Admin) apiPins(r *http.Request) (any, error) {
	q, offset, limit, err := pinQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	pins, err := a.pins(r.Context(), r.PathValue("s"))
	if err != nil {
		return nil, err
	}
	q = strings.ToLower(q)
	var match []pinJSON
	for t, v := range pins {
		if strings.Contains(strings.ToLower(t), q) {
			match = append(match, pinJSON{Tenant: t, Version: v})
		}
	}
	slices.SortFunc(match, func(x, y pinJSON) int { return cmp.Compare(x.Tenant, y.Tenant) })
	out := pinsJSON{Total: len(match), Offset: offset, Limit: limit, Pins: []pinJSON{}}
	if offset < len(match) {
		out.Pins = match[offset:min(offset+limit, len(match))]
	}
	return out, nil
}

// pinQuery reads apiPins' parameters: q, offset (≥ 0), limit (1 to
// maxPinLimit); anything else is refused.
func pinQuery(v url.Values) (q string, offset, limit int, err error) {
	limit = defaultPinLimit
	for k, vals := range v {
		if len(vals) != 1 {
			return "", 0, 0, badParam("parameter %q is given %d times", k, len(vals))
		}
		switch x := vals[0]; k {
		case "q":
			q = x
		case "offset":
			if offset, err = strconv.Atoi(x); err != nil || offset < 0 {
				return "", 0, 0, badParam("offset %q: want a number from 0", x)
			}
		case "limit":
			if limit, err = strconv.Atoi(x); err != nil || limit < 1 || limit > maxPinLimit {
				return "", 0, 0, badParam("limit %q: want a number from 1 to %d", x, maxPinLimit)
			}
		default:
			return "", 0, 0, badParam("unknown parameter %q", k)
		}
	}
	return q, offset, limit, nil
}

func badParam(format string, args ...any) error {
	return &statusError{http.StatusBadRequest, "greyroute admin: " + fmt.Sprintf(format, args...)}
}

// pins reads service's pins.
func (a *Admin) pins(ctx context.Context, service string) (map[string]string, error) {
	if err := validName("service", service); err != nil {
		return nil, fmt.Errorf("greyroute: pins: %w", err)
	}
	what := fmt.Sprintf("pins of service %q", service)
	if a.closed.Load() {
		return nil, fmt.Errorf("greyroute: %s: %w", what, ErrClosed)
	}
	m, err := a.client.HGetAll(ctx, serviceKeys(a.cfg.prefix, service).pins).Result()
	return m, wrapRedis(ctx, what, err)
}

func (a *Admin) apiStable(r *http.Request) (any, error) {
	var in versionIn
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if in.Version == nil {
		return nil, missing("version")
	}
	return nil, a.SetStable(r.Context(), r.PathValue("s"), *in.Version)
}

func (a *Admin) apiRollout(r *http.Request) (any, error) {
	var in rolloutIn
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if in.Percent == nil {
		return nil, missing("percent")
	}
	return nil, a.SetRollout(r.Context(), r.PathValue("s"), Rollout{To: in.To, Percent: *in.Percent})
}

func (a *Admin) apiFallback(r *http.Request) (any, error) {
	var in versionIn
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if in.Version == nil {
		return nil, missing("version")
	}
	return nil, a.SetFallback(r.Context(), r.PathValue("s"), *in.Version)
}

func (a *Admin) apiPin(r *http.Request) (any, error) {
	var in versionIn
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if in.Version == nil {
		return nil, missing("version")
	}
	return nil, a.Pin(r.Context(), r.PathValue("t"), r.PathValue("s"), *in.Version)
}

func (a *Admin) apiUnpin(r *http.Request) (any, error) {
	return nil, a.Unpin(r.Context(), r.PathValue("t"), r.PathValue("s"))
}

func (a *Admin) apiHealth(r *http.Request) (any, error) {
	var in healthIn
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if in.Score == nil {
		return nil, missing("score")
	}
	return nil, a.SetHealth(r.Context(), r.PathValue("s"), r.PathValue("id"), *in.Score)
}

func (a *Admin) apiRequire(r *http.Request) (any, error) {
	var in requireIn
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if in.MinSchema == nil {
		return nil, missing("min_schema")
	}
	return nil, a.RequireSchema(r.Context(), r.PathValue("s"), r.PathValue("v"), *in.MinSchema)
}

func (a *Admin) apiGetSchema(r *http.Request) (any, error) {
	t := r.PathValue("t")
	m, err := a.TenantSchemas(r.Context(), t)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tenant": t, "schema": m[t]}, nil
}

func (a *Admin) apiSetSchema(r *http.Request) (any, error) {
	var in schemaIn
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if in.Version == nil {
		return nil, missing("version")
	}
	return nil, a.SetSchema(r.Context(), r.PathValue("t"), *in.Version)
}
