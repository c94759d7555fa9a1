-- Pick in Atomic mode (router_atomic.go): one call resolves the tenant's
-- version, balances over its live instances with state shared by every
-- Router, and counts the connection. Locals only (Redis forbids globals);
-- every key comes in KEYS, all with the service's hash tag; time and
-- randomness come in ARGV (math.random is not random before Redis 7).
--
-- KEYS: 1 route, 2 instances, 3 expiry, 4 pins, 5 schema_req, 6 health
--       (the Admin's, scripts/prelude.lua), 7 lb (hash: "rr\n<version>" and
--       "lc\n<version>" counters), 8 swrr (hash: id -> current weight),
--       9 conns (hash: id -> connections of all Routers, and
--       "<router>\n<id>" -> that Router's share), 10 routers (zset: router
--       -> lease expiry ms).
-- ARGV: 1 now ms, 2 tenant, 3 the tenant's rollout bucket (0-9999, as
--       resolve.go's bucket), 4 the tenant's schema (the Router's table),
--       5 balancer (rr, random, swrr, lc, health), 6 a random integer in
--       [0, 2^32), 7 the Router's fallback version ("" = the table's),
--       8 the Router's ID, 9 its lease expiry ms, 10.. IDs to skip (their
--       breaker, kept by each Router, is open).
-- Returns {status, ...}: {'ok'|'fallback', version, id, entry JSON, corrupt,
-- via ('pin', 'rollout' or 'stable': how the version was chosen)},
-- {'unknown'}, {'schema', stable, its requirement},
-- {'noinstance', version, fallback tried or '', corrupt}.
local route, instances, expiry, pins, schemareq, health, lb, swrr, conns, routers =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local nowstr, tenant = ARGV[1], ARGV[2]
local bucket, schema = tonumber(ARGV[3]), tonumber(ARGV[4])
local kind, rnd, fbover, router, lease = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9]

-- int parses s as Go's strconv.Atoi does (decimal digits, optional sign),
-- else nil: what the Router's loader ignores, this ignores too.
local function int(s)
  if type(s) ~= 'string' or not string.find(s, '^[+-]?%d+$') then
    return nil
  end
  return tonumber(s)
end

local function req(v)
  return int(redis.call('HGET', schemareq, v)) or 0
end

local function meets(v)
  return schema >= req(v)
end

-- Version: pin > rollout > stable, each gated by the tenant's schema;
-- the same steps as resolve.go's resolve.
local r = redis.call('HMGET', route, 'stable', 'rollout_to', 'rollout_bp', 'fallback')
local stable, rolloutTo = r[1] or '', r[2] or ''
local bp = 0
if rolloutTo ~= '' then
  bp = int(r[3]) or 0
end
local version, via = nil, 'stable'
local pin = redis.call('HGET', pins, tenant)
if pin and meets(pin) then
  version, via = pin, 'pin'
end
if not version and rolloutTo ~= '' and rolloutTo ~= stable and bucket < bp and meets(rolloutTo) then
  version, via = rolloutTo, 'rollout'
end
if not version then
  if stable == '' then
    return {'unknown'}
  end
  if not meets(stable) then
    return {'schema', stable, req(stable)}
  end
  version, via = stable, 'stable'
end

-- validVersion is names.go's rule for a version: 1-128 bytes, no braces,
-- no control characters.
local function validVersion(v)
  return type(v) == 'string' and #v >= 1 and #v <= 128 and not string.find(v, '[%z\1-\31\127{}]')
    and not string.find(v, '\194[\128-\159]') -- C1 controls (U+0080-U+009F)
end

-- decode returns an instance entry's version and weight, or nil for an
-- entry the Router's loader would refuse too (table.go's readTable).
local function decode(raw)
  local ok, e = pcall(cjson.decode, raw)
  if not ok or type(e) ~= 'table' or not validVersion(e.version) then
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
  return e.version, w
end

local skip = {}
for i = 10, #ARGV do
  skip[ARGV[i]] = true
end
local live = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', expiry, '(' .. nowstr, '+inf')) do
  live[id] = true
end
local all = redis.call('HGETALL', instances)
local scores = {}
local hl = redis.call('HGETALL', health)
for i = 1, #hl, 2 do
  scores[hl[i]] = hl[i + 1]
end
local corrupt = 0

-- candidates returns the available instances of v, sorted by ID, their
-- entries, weights and health scores.
local function candidates(v)
  local ids, entry, weight, hs = {}, {}, {}, {}
  for i = 1, #all, 2 do
    local id = all[i]
    if live[id] then
      local ver, w = decode(all[i + 1])
      if not ver then
        if v == version then
          corrupt = corrupt + 1 -- counted once, not again for the fallback
        end
      elseif ver == v and not skip[id] then
        local h = int(scores[id])
        if not h or h < 0 or h > 100 then
          h = 100
        end
        if h > 50 then
          ids[#ids + 1] = id
          entry[id], weight[id], hs[id] = all[i + 1], math.min(math.max(w, 1), 1048576), h
        end
      end
    end
  end
  -- Lua's < is the server's collation (strcoll; byte order under the C
  -- locale): the same for every Router, as one server holds the service.
  table.sort(ids)
  return ids, entry, weight, hs
end

-- choose runs the balancer over ids (non-empty) and returns one.
local function choose(v, ids, weight, hs)
  local n = #ids
  if kind == 'rr' then
    local c = redis.call('HINCRBY', lb, 'rr\n' .. v, 1)
    return ids[(c - 1) % n + 1]
  elseif kind == 'random' then
    return ids[rnd % n + 1]
  elseif kind == 'health' then
    local total = 0
    for _, id in ipairs(ids) do
      total = total + hs[id]
    end
    local x = rnd % total
    for _, id in ipairs(ids) do
      x = x - hs[id]
      if x < 0 then
        return id
      end
    end
    return ids[n]
  elseif kind == 'swrr' then
    -- nginx's smooth weighted round robin over the available instances,
    -- the current weights shared in the swrr hash.
    local cur = redis.call('HMGET', swrr, unpack(ids))
    local total, best = 0, nil
    local set = {}
    for i, id in ipairs(ids) do
      cur[i] = (int(cur[i]) or 0) + weight[id]
      total = total + weight[id]
      if not best or cur[i] > cur[best] then
        best = i
      end
    end
    cur[best] = cur[best] - total
    for i, id in ipairs(ids) do
      set[#set + 1] = id
      set[#set + 1] = cur[i]
    end
    redis.call('HSET', swrr, unpack(set))
    -- Drop the weights of instances gone from the table, now and then.
    if redis.call('HLEN', swrr) > #all + 16 then -- #all: two per instance
      for _, id in ipairs(redis.call('HKEYS', swrr)) do
        if redis.call('HEXISTS', instances, id) == 0 then
          redis.call('HDEL', swrr, id)
        end
      end
    end
    return ids[best]
  end
  -- lc: the fewest connections of all Routers; ties go to the first from
  -- a start that rotates, so equally loaded instances share evenly.
  local c = redis.call('HMGET', conns, unpack(ids))
  local start = (redis.call('HINCRBY', lb, 'lc\n' .. v, 1) - 1) % n
  local best, bestc
  for k = 0, n - 1 do
    local i = (start + k) % n + 1
    local x = int(c[i]) or 0
    if not best or x < bestc then
      best, bestc = i, x
    end
  end
  return ids[best]
end

-- reap takes back the connections of a Router whose lease has lapsed (it
-- crashed, or closed with calls in progress).
local function reap(dead)
  local p = dead .. '\n'
  local fields = redis.call('HGETALL', conns)
  for i = 1, #fields, 2 do
    local f = fields[i]
    if string.sub(f, 1, #p) == p then
      local id = string.sub(f, #p + 1)
      if redis.call('HINCRBY', conns, id, -(int(fields[i + 1]) or 0)) <= 0 then
        redis.call('HDEL', conns, id)
      end
      redis.call('HDEL', conns, f)
    end
  end
  redis.call('ZREM', routers, dead)
end

-- A few at a time: a lapsed lease of a live, idle Router holds nothing.
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', routers, '-inf', nowstr, 'LIMIT', 0, 8)) do
  reap(dead)
end

local status, chosen = 'ok', version
local ids, entry, weight, hs = candidates(version)
local fb = ''
if #ids == 0 then
  fb = fbover
  if fb == '' then
    fb = r[4] or ''
  end
  if fb == '' or fb == version or not meets(fb) then
    return {'noinstance', version, '', corrupt}
  end
  ids, entry, weight, hs = candidates(fb)
  if #ids == 0 then
    return {'noinstance', version, fb, corrupt}
  end
  status, chosen = 'fallback', fb
end
local id = choose(chosen, ids, weight, hs)
redis.call('HINCRBY', conns, id, 1)
redis.call('HINCRBY', conns, router .. '\n' .. id, 1)
redis.call('ZADD', routers, lease, router)
return {status, chosen, id, entry[id], corrupt, via}
