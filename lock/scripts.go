package lock

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// Every step is one script on the lock key and, for obtain, its fencing
// counter; both share the lock name's hash tag. Run with EVALSHA, loaded on
// NOSCRIPT by go-redis's Script.Run.
var (
	//go:embed scripts/obtain.lua
	obtainLua    string
	obtainScript = redis.NewScript(obtainLua)
	//go:embed scripts/raise.lua
	raiseLua    string
	raiseScript = redis.NewScript(raiseLua)
	//go:embed scripts/refresh.lua
	refreshLua    string
	refreshScript = redis.NewScript(refreshLua)
	//go:embed scripts/release.lua
	releaseLua    string
	releaseScript = redis.NewScript(releaseLua)
	//go:embed scripts/pttl.lua
	pttlLua    string
	pttlScript = redis.NewScript(pttlLua)
)
