-- Removes consumer ARGV[2] from group ARGV[1] of stream KEYS[1] when it
-- holds no pending entry, so departed members do not pile up in the group.
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if ok and #pending == 0 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
