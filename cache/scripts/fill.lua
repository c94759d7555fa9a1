-- Writes an entry only if what sits under its key still has the head
-- (kind and id, 9 bytes) the writer expects: the lease it loaded under,
-- the entry it refreshes, or its own write marker. Anything else means
-- another write came in between, and that write wins.
--
-- KEYS[1]: the entry
-- ARGV[1]: the expected head
-- ARGV[2]: the new entry, or '' to delete the key instead
-- ARGV[3]: the new entry's ttl in ms
-- ARGV[4]: '1' to delete the key when its head is not the expected one
--          (a write-through save that overlapped another write: their
--          order in the store is unknown, so neither value may stay)
-- ARGV[5], ARGV[6]: the invalidation channel and message, published if
--          the key changed
--
-- Returns 1 if the key was written as asked, 2 if it was deleted for a
-- mismatch, 0 if it was left alone.
local cur = redis.call('GET', KEYS[1])
local changed = 0
if cur and string.sub(cur, 1, 9) == ARGV[1] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  end
  changed = 1
elseif cur and ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
  changed = 2
end
if changed > 0 then
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return changed
