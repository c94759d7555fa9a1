-- Takes lock KEYS[1] for value ARGV[1] for ARGV[2] ms if it is free, and
-- then increments the key's fencing counter KEYS[2]. Returns the new
-- counter, or 0 if the lock is held by another value.
--
-- A lock already holding ARGV[1] is this same attempt's (values are random
-- per Obtain): go-redis ran the script again after the first reply was
-- lost, or a failed attempt's clean-up did not reach this instance. It is
-- the caller's, and the counter is incremented again rather than read:
-- a raise by another holder may have moved it up to that holder's token
-- since, and only an increment is sure to pass it. Tokens may skip a
-- number; they never repeat. Its expiry is set anew too: the caller
-- measures validity from this attempt's start, and an instance left over
-- from an earlier attempt would otherwise expire before that validity
-- ends, letting another caller win a quorum while this one holds.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return redis.call('INCR', KEYS[2])
end
return 0
