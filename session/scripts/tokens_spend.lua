-- Spend a family's current refresh token: compare-and-set its current ID.
-- KEYS[1] family; ARGV[1] the token's ID, ARGV[2] the next ID, ARGV[3] until (ms)
-- Returns 1 spent, 0 unknown or expired family, -1 reused: the family is
-- revoked for good (kept, as "!", until it would have expired).
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
-- The next ID already current is this very call retried after its reply
-- was lost (go-redis resends on EOF): only its caller knows that ID, which
-- is random, so it is the spend that happened, not a reuse.
if cur == ARGV[2] then return 1 end
if cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
  return 1
end
redis.call('SET', KEYS[1], '!', 'KEEPTTL')
return -1
