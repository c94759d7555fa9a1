package greyroute

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// Every Admin write is one script on the service's keys (or, for
// SetSchema, the tenants' keys), run with EVALSHA and loaded on NOSCRIPT
// by go-redis's Script.Run. The service scripts share a prelude of local
// helpers (rev bump and change event, expiry sweep, the per-version index
// of scripts/index.lua), prepended here rather than copied into each file.
var (
	//go:embed scripts/index.lua
	indexLua string
	//go:embed scripts/prelude.lua
	preludeBody string
	preludeLua  = indexLua + preludeBody
	//go:embed scripts/register.lua
	registerLua string
	//go:embed scripts/heartbeat.lua
	heartbeatLua string
	//go:embed scripts/deregister.lua
	deregisterLua string
	//go:embed scripts/pin.lua
	pinLua string
	//go:embed scripts/unpin.lua
	unpinLua string
	//go:embed scripts/stable.lua
	stableLua string
	//go:embed scripts/fallback.lua
	fallbackLua string
	//go:embed scripts/rollout.lua
	rolloutLua string
	//go:embed scripts/require.lua
	requireLua string
	//go:embed scripts/health.lua
	healthLua string
	//go:embed scripts/schema.lua
	schemaLua string

	registerScript   = redis.NewScript(preludeLua + registerLua)
	heartbeatScript  = redis.NewScript(preludeLua + heartbeatLua)
	deregisterScript = redis.NewScript(preludeLua + deregisterLua)
	pinScript        = redis.NewScript(preludeLua + pinLua)
	unpinScript      = redis.NewScript(preludeLua + unpinLua)
	stableScript     = redis.NewScript(preludeLua + stableLua)
	fallbackScript   = redis.NewScript(preludeLua + fallbackLua)
	rolloutScript    = redis.NewScript(preludeLua + rolloutLua)
	requireScript    = redis.NewScript(preludeLua + requireLua)
	healthScript     = redis.NewScript(preludeLua + healthLua)
	schemaScript     = redis.NewScript(schemaLua)
)
