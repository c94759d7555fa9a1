-- Drops owner ARGV[1]'s claim on KEYS[1], so that a retry may run the call.
if redis.call('GET', KEYS[1]) == 'running:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
