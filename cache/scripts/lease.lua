-- Takes a load lease on an entry's key before the loader reads the
-- system of record: the lease sits in the entry's place, and any write
-- (Set, Delete, another fill) replaces it, so that a fill made under it
-- (fill.lua) succeeds only if nothing wrote the key since. Facebook's
-- memcache leases, with the lease kept in the key itself.
--
-- KEYS[1]: the entry
-- ARGV[1]: a new lease: 'l' and 8 random bytes; ARGV[2]: its ttl in ms
-- ARGV[3]: the head (9 bytes) of the stale entry the caller found under
--          the key (one whose tags were invalidated), or ''
--
-- Returns the lease to fill under (another loader's, shared, if one is
-- there), 'w' if a write-through save is under way (load, but do not
-- fill), or 'v' if an entry appeared since the caller looked (look again).
local cur = redis.call('GET', KEYS[1])
if cur then
  local kind = string.sub(cur, 1, 1)
  if kind == 'l' then
    return string.sub(cur, 1, 9)
  end
  if kind == 'w' then
    return 'w'
  end
  if string.sub(cur, 1, 9) ~= ARGV[3] then
    return 'v'
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
