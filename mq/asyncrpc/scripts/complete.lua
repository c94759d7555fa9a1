-- Records call KEYS[1] as done with response ARGV[2] for ARGV[3] ms, if
-- owner ARGV[1] still holds it or nobody does (its lease ran out and no
-- one claimed it since). Returns 1 if recorded, 0 if another owner holds
-- it or it is already done.
local v = redis.call('GET', KEYS[1])
if v == false or v == 'running:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'done:' .. ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
