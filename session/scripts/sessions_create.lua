-- Creates session hash KEYS[1] from the field/value pairs ARGV[3..],
-- with a PEXPIRE backstop of ARGV[2] ms, and adds its hash ARGV[1] to the
-- user's index KEYS[2] when there is one (same slot: the user's shard).
-- Returns 0, touching nothing, if the session exists already — unless it
-- is this very create, retried by the client after its reply was lost:
-- the ID is 256 random bits nobody else has yet, so a session under it
-- with the same created, absolute and idle deadlines (which any use would
-- have moved) is the one this call stored. That is 1, as the first was.
if redis.call('EXISTS', KEYS[1]) == 1 then
  local m = redis.call('HMGET', KEYS[1], '@c', '@a', '@d')
  if m[1] == ARGV[4] and m[2] == ARGV[6] and m[3] == ARGV[10] then
    return 1
  end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if KEYS[2] then
  -- A session Redis collected by its PEXPIRE stays in the index: drop the
  -- dead among a few members on every create, so that the index of a
  -- user who logs in often stays near the number of live sessions.
  local base = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1])
  for _, h in ipairs(redis.call('SRANDMEMBER', KEYS[2], 3)) do
    if redis.call('EXISTS', base .. h) == 0 then
      redis.call('SREM', KEYS[2], h)
    end
  end
  redis.call('SADD', KEYS[2], ARGV[1])
  -- The index lives as long as its longest-lived session.
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
  end
end
return 1
