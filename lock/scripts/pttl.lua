-- Returns lock KEYS[1]'s remaining ms if it holds value ARGV[1], else -3.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PTTL', KEYS[1])
end
return -3
