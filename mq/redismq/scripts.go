package redismq

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// Multi-step updates are Lua scripts, each on one key, run with EVALSHA
// and loaded on NOSCRIPT by go-redis's Script.Run.
var (
	//go:embed scripts/heartbeat.lua
	heartbeatLua    string
	heartbeatScript = redis.NewScript(heartbeatLua)

	//go:embed scripts/lease.lua
	leaseLua    string
	leaseScript = redis.NewScript(leaseLua)

	//go:embed scripts/release.lua
	releaseLua    string
	releaseScript = redis.NewScript(releaseLua)

	//go:embed scripts/prune.lua
	pruneLua    string
	pruneScript = redis.NewScript(pruneLua)

	// Sent with EVAL in Close's pipeline.
	//go:embed scripts/forget.lua
	forgetLua string

	//go:embed scripts/dedup_claim.lua
	dedupClaimLua    string
	dedupClaimScript = redis.NewScript(dedupClaimLua)

	//go:embed scripts/dedup_release.lua
	dedupReleaseLua    string
	dedupReleaseScript = redis.NewScript(dedupReleaseLua)

	// Sent with EVAL inside the ack pipeline (a pipeline cannot fall
	// back from EVALSHA on NOSCRIPT), so it has no Script.
	//go:embed scripts/handback.lua
	handBackLua string
)
