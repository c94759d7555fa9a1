-- Takes lock KEYS[1] for value ARGV[1] for ARGV[2] ms if it is free, and
-- then increments the key's fencing counter KEYS[2]. Returns the new
-- counter, or 0 if the lock is held by another value.
--
-- If the lock already holds ARGV[1], this is the same attempt run again
-- (go-redis retried after the first reply was lost; values are random per
-- Obtain): it is the caller's, so its expiry is set again and the counter
-- returned without a second increment. Nobody else can have incremented
-- it since, as that takes the lock; a Redlock raise can only have moved it
-- up, which keeps the token above every earlier holder's.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local c = tonumber(redis.call('GET', KEYS[2]) or '0')
  if c > 0 then
    return c
  end
  return redis.call('INCR', KEYS[2])
end
return 0
