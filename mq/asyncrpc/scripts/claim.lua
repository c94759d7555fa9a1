-- Claims call KEYS[1] for owner ARGV[1] for ARGV[2] ms.
-- Returns {1} when claimed now, {2} when an owner runs it, and
-- {3, response} when it is done, with the response Complete stored.
local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], 'running:' .. ARGV[1], 'PX', ARGV[2])
  return {1}
end
if string.sub(v, 1, 5) == 'done:' then return {3, string.sub(v, 6)} end
return {2}
