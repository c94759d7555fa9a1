-- Hands entries back to the group of stream KEYS[1]: each entry ID in
-- ARGV[4], ARGV[6], ... that is still pending for consumer ARGV[2] in group
-- ARGV[1] gets idle time ARGV[3] ms, so that the partition's next owner
-- claims it at once, and delivery count ARGV[5], ARGV[7], ... (its attempt
-- number: a hand-back is not an attempt). An entry another consumer
-- claimed meanwhile is left alone.
local n = 0
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2]) == 1 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', ARGV[3], 'RETRYCOUNT', ARGV[i + 1], 'JUSTID')
    n = n + 1
  end
end
return n
