-- Removes from group ARGV[1] of stream KEYS[1] every consumer other than
-- ARGV[2] that holds no pending entry: members that died or left and whose
-- entries were claimed. Only the partition's owner runs it, right after
-- claiming, so no other member reads the stream meanwhile.
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['pending'] == 0 and f['name'] ~= ARGV[2] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
return removed
