-- Ends owner ARGV[1]'s claim on dedup key KEYS[1], if it holds it.
if redis.call('GET', KEYS[1]) == 'c:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
