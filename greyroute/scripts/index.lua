-- The per-version index of a service's instances (p{s}:index, KEYS[7]
-- of every service script and of scripts/pick.lua), prepended to them by
-- admin_scripts.go and router_atomic.go. Locals only.
--
-- A sorted set, every score 0, so its members sort by bytes:
--   "<version>\0<id>\0<weight>"  an instance whose entry decodes, its
--                                weight 7 digits (1 to 2^20, zero-padded:
--                                the ID is cut out at fixed offsets);
--   "\0<id>"                     one whose entry does not (pick.lua
--                                counts the live ones for its error);
--   "\0"                         the marker: the index was built.
-- ZRANGEBYLEX [v\0 (v\1 lists version v's instances in ID order: a
-- version has no control characters, an ID none either, so "\0" ends
-- each and sorts before any byte of a longer ID. The Admin's scripts
-- keep it in step with the instances hash (register, deregister, the
-- expiry sweep); what they did not write (data from before the index,
-- a hand edit) shows as a count that differs from the hash's, and the
-- index is rebuilt from the entries (ensureIndex).
local ixInstances, ixIndex = KEYS[2], KEYS[7]

-- ixValidName is names.go's rule: 1-128 bytes, no braces, no control
-- characters (C0, DEL, C1).
local function ixValidName(s)
  return type(s) == 'string' and #s >= 1 and #s <= 128 and not string.find(s, '[%z\1-\31\127{}]')
    and not string.find(s, '\194[\128-\159]')
end

-- ixDecode returns an instance entry's version and weight (1 to 2^20),
-- or nil for an entry the Router's loader would refuse too (table.go's
-- readTable).
local function ixDecode(raw)
  local ok, e = pcall(cjson.decode, raw)
  if not ok or type(e) ~= 'table' or not ixValidName(e.version) then
    return nil
  end
  local w = e.weight
  if w == nil then
    w = 0
  elseif type(w) ~= 'number' or w ~= math.floor(w) then
    return nil
  end
  if e.addr ~= nil and type(e.addr) ~= 'string' then
    return nil
  end
  if e.meta ~= nil then
    if type(e.meta) ~= 'table' then
      return nil
    end
    for k, v in pairs(e.meta) do
      if type(k) ~= 'string' or type(v) ~= 'string' then
        return nil
      end
    end
  end
  return e.version, math.min(math.max(w, 1), 1048576)
end

-- ixMember is instance id's member for its entry raw.
local function ixMember(id, raw)
  if ixValidName(id) then
    local v, w = ixDecode(raw)
    if v then
      return v .. '\0' .. id .. '\0' .. string.format('%07d', w)
    end
  end
  if id == '' then
    return '\0\0' -- not the marker
  end
  return '\0' .. id
end

-- Lua's unpack takes at most a few thousand values (LUAI_MAXCSTACK):
-- commands with one argument per instance go in chunks.
local ixChunk = 4000

-- mcall runs cmd on key with the arguments in list, in chunks, and
-- returns the replies joined (HMGET, ZMSCORE: one per argument).
local function mcall(cmd, key, list)
  if #list <= ixChunk then
    return redis.call(cmd, key, unpack(list))
  end
  local out = {}
  for i = 1, #list, ixChunk do
    local r = redis.call(cmd, key, unpack(list, i, math.min(i + ixChunk - 1, #list)))
    for j = 1, #r do
      out[#out + 1] = r[j]
    end
  end
  return out
end

-- hvalues returns the values of the fields in list of hash key, false
-- where there is none. Redis keeps a hash of up to 512 fields (by
-- default: hash-max-listpack-entries) as one list searched field by
-- field, so HMGET of many fields costs fields × size: such a hash is
-- read whole instead. A larger one is a real hash table: HMGET.
local function hvalues(key, list)
  local n = redis.call('HLEN', key)
  if n == 0 then
    return {}
  end
  if n > 512 then
    return mcall('HMGET', key, list)
  end
  local all, m, out = redis.call('HGETALL', key), {}, {}
  for i = 1, #all, 2 do
    m[all[i]] = all[i + 1]
  end
  for i = 1, #list do
    out[i] = m[list[i]] or false
  end
  return out
end

-- count reads a counter written by these scripts: a whole number from 0
-- to 2^52, else 0 (absent, or a value no script wrote: a hostile one
-- resets it rather than failing every call, as HINCRBY would).
local function count(s)
  local n = tonumber(s)
  if not n or not (n >= 0 and n <= 4503599627370496) or n ~= math.floor(n) then
    return 0
  end
  return n
end

-- add adds d to the counter field f of hash key and returns it; at 0 or
-- below the field goes.
local function add(key, f, d)
  local n = count(redis.call('HGET', key, f)) + d
  if n > 4503599627370496 then
    n = 1
  end
  if n > 0 then
    redis.call('HSET', key, f, n)
  else
    redis.call('HDEL', key, f)
  end
  return n
end

-- ixRebuild makes the index anew from the instances hash.
local function ixRebuild()
  redis.call('DEL', ixIndex)
  local args = {0, '\0'}
  local all = redis.call('HGETALL', ixInstances)
  for i = 1, #all, 2 do
    args[#args + 1] = 0
    args[#args + 1] = ixMember(all[i], all[i + 1])
    if #args >= ixChunk then
      redis.call('ZADD', ixIndex, unpack(args))
      args = {}
    end
  end
  if #args > 0 then
    redis.call('ZADD', ixIndex, unpack(args))
  end
end

-- ensureIndex rebuilds the index when it does not hold one member per
-- instance plus the marker: never built (data from before it), or
-- written around (a hand edit, an Admin of an older version).
local function ensureIndex()
  if redis.call('ZCARD', ixIndex) ~= redis.call('HLEN', ixInstances) + 1 then
    ixRebuild()
  end
end

-- ixPut indexes instance id, whose entry changes from old (nil: new) to raw.
local function ixPut(id, old, raw)
  if old then
    redis.call('ZREM', ixIndex, ixMember(id, old))
  end
  redis.call('ZADD', ixIndex, 0, ixMember(id, raw))
end

-- ixDel unindexes instance id, whose entry is old (nil: none).
local function ixDel(id, old)
  if old then
    redis.call('ZREM', ixIndex, ixMember(id, old))
  end
end
