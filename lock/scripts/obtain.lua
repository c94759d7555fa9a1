-- Takes lock KEYS[1] for value ARGV[1] for ARGV[2] ms if it is free, and
-- then increments the key's fencing counter KEYS[2]. Returns the new
-- counter, or 0 if the lock is held.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
