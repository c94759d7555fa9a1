-- Extends owner ARGV[1]'s claim on KEYS[1] to ARGV[2] ms; 1 if it holds it.
if redis.call('GET', KEYS[1]) == 'running:' .. ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
