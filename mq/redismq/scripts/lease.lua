-- Takes or renews lease KEYS[1] for member ARGV[1] for ARGV[2] ms.
-- Returns 1 when ARGV[1] holds it now, 0 when another member does.
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
