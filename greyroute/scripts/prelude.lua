-- Prepended to every service script (admin_scripts.go). Locals only:
-- Redis refuses globals in scripts.
--
-- KEYS: 1 route (hash: stable, rollout_to, rollout_bp, fallback, rev),
--       2 instances (hash id -> JSON), 3 expiry (zset id -> expires_ms),
--       4 pins (hash tenant -> version), 5 schema_req (hash version -> min),
--       6 health (hash id -> score), 7 index (scripts/index.lua, which
--       comes before this prelude). All share the service's hash tag.
-- ARGV: 1 the change channel, 2 the service, 3 now in ms (the caller's
--       clock: scripts never call TIME), 4.. the operation's.
-- Every script returns {status, rev[, detail]}; status 'ok' or the reason
-- for a refusal.
local route, instances, expiry, pins, schemareq, health =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local channel, service, now = ARGV[1], ARGV[2], tonumber(ARGV[3])

-- changed bumps the service's rev and tells every router. Only a call that
-- changed something does: a retried call (a lost reply) finds its work done
-- and leaves the rev alone.
local function changed()
  local rev = redis.call('HINCRBY', route, 'rev', 1)
  redis.call('PUBLISH', channel, service .. ' ' .. rev)
  return rev
end

local function rev()
  return tonumber(redis.call('HGET', route, 'rev') or '0')
end

-- sweep deletes the instances whose expiry has passed (expires_ms <= now).
-- Readers ignore them already, so it is not a change. It first makes sure
-- the index is whole: every script that writes instances calls it.
local function sweep()
  ensureIndex()
  -- ARGV[3], not now: the string is exact where a Lua number is not.
  local gone = redis.call('ZRANGEBYSCORE', expiry, '-inf', ARGV[3])
  for i = 1, #gone do
    ixDel(gone[i], redis.call('HGET', instances, gone[i]))
    redis.call('HDEL', instances, gone[i])
    redis.call('HDEL', health, gone[i])
  end
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', expiry, '-inf', ARGV[3])
  end
end

-- live reports whether instance id is registered and not expired.
local function live(id)
  local exp = redis.call('ZSCORE', expiry, id)
  return redis.call('HEXISTS', instances, id) == 1 and exp and tonumber(exp) > now
end

