-- Creates session hash KEYS[1] from the field/value pairs ARGV[3..],
-- with a PEXPIRE backstop of ARGV[2] ms, and adds its hash ARGV[1] to the
-- user's index KEYS[2] when there is one (same slot: the user's shard).
-- Returns 0, touching nothing, if the session exists already.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[1])
  -- The index lives as long as its longest-lived session.
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
  end
end
return 1
