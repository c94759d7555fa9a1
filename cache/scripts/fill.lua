-- Writes an entry only if what sits under its key still has the head
-- (kind and id, 9 bytes) the writer expects: the lease it loaded under,
-- the entry it refreshes, or its own write marker. Anything else means
-- another write came in between, and that write wins.
--
-- KEYS[1]: the entry
-- ARGV[1]: the expected head
-- ARGV[2]: the new entry, or '' to delete the key instead
-- ARGV[3]: the new entry's ttl in ms
-- ARGV[4]: a fresh write marker to put in the key's place when another
--          head is there (a write-through save that overlapped another
--          write: their order in the store is unknown, so neither value
--          may stay, and loads must not cache either until the writes
--          settle — the marker expires by itself), or '' to leave the key
-- ARGV[5]: that marker's ttl in ms
-- ARGV[6], ARGV[7]: the invalidation channel and message, published if
--          the key changed
-- ARGV[8]: the new entry's head, or ''
--
-- Idempotent, as go-redis may run it again when a reply is lost: a key
-- that already holds the new entry (ARGV[8]) or this call's marker
-- (ARGV[4]) is reported as done, and left alone.
--
-- Returns 1 if the key was written as asked, 2 if the marker replaced
-- another head, 0 if it was left alone.
local cur = redis.call('GET', KEYS[1])
if not cur then
  return 0
end
local head = string.sub(cur, 1, 9)
if ARGV[8] ~= '' and head == ARGV[8] then
  return 1
end
if ARGV[4] ~= '' and head == ARGV[4] then
  return 2
end
local changed = 0
if head == ARGV[1] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  end
  changed = 1
elseif ARGV[4] ~= '' then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
  changed = 2
end
if changed > 0 then
  redis.call('PUBLISH', ARGV[6], ARGV[7])
end
return changed
