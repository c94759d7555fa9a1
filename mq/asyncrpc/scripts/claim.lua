-- Claims call KEYS[1] for owner ARGV[1] for ARGV[2] ms.
-- Returns 1 when claimed now, 2 when another owner runs it, 3 when done.
local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], 'running:' .. ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == 'done' then return 3 end
return 2
