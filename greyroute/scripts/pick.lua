-- Pick in Atomic mode (router_atomic.go): one call resolves the tenant's
-- version, balances over its live instances with state shared by every
-- Router, and counts the connection. Locals only (Redis forbids globals);
-- every key comes in KEYS, all with the service's hash tag; time and
-- randomness come in ARGV (math.random is not random before Redis 7).
--
-- KEYS: 1 route, 2 instances, 3 expiry, 4 pins, 5 schema_req, 6 health,
--       7 index (the Admin's, scripts/prelude.lua and scripts/index.lua,
--       which comes before this file), 8 lb (hash: "rr\n<version>",
--       "lc\n<version>" and "swrr\n<version>" counters), 9 swrr (hash:
--       index member -> smooth-WRR adjustment, see swrrChoose), 10 conns
--       (hash: id -> connections of all Routers), 11 routers (zset:
--       router -> lease expiry ms), 12 shares (hash: "<router>\n<id>" ->
--       that Router's part of conns; "<router>\n" -> the sum of its parts).
-- ARGV: 1 now ms, 2 tenant, 3 the tenant's rollout bucket (0-9999, as
--       resolve.go's bucket), 4 the tenant's schema (the Router's table),
--       5 balancer (rr, random, swrr, lc, health), 6 a random integer in
--       [0, 2^32), 7 the Router's fallback version ("" = the table's),
--       8 the Router's ID, 9 its lease expiry ms, 10.. IDs to skip (their
--       breaker, kept by each Router, is open).
-- Returns {status, ...}: {'ok'|'fallback', version, id, entry JSON, corrupt,
-- the resolved version (the fallback's 'fallback' stands in for), via
-- ('pin', 'rollout' or 'stable': how the version was chosen)},
-- {'unknown'}, {'schema', stable, its requirement},
-- {'noinstance', version, fallback tried or '', corrupt}.
local route, instances, expiry, pins, schemareq, health, index, lb, swrr, conns, routers, shares =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local nowstr, tenant = ARGV[1], ARGV[2]
local now = tonumber(nowstr)
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
  version = stable
end

local skip = {}
for i = 10, #ARGV do
  skip[ARGV[i]] = true
end

-- dead is the instances whose expiry has passed and that no Admin script
-- has swept yet: usually few (every Register or Heartbeat sweeps).
local dead = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', expiry, '-inf', nowstr)) do
  dead[id] = true
end

-- candidates returns the available instances of v in ID order (the
-- index's), their weights (SmoothWeightedRoundRobin only), health scores
-- and index members, and the members of v's other instances
-- (SmoothWeightedRoundRobin only); nil when v's range holds a member
-- ixMember would not write (a hand edit: the index is rebuilt).
-- It reads only v's instances: the index's range and their scores. An
-- instance is live unless dead; strict also reads each one's expiry, for
-- an instance the expiry zset does not list at all (no Admin writes one).
local function candidates(v, strict)
  local ids, weight, hs, mem, out = {}, {}, {}, {}, {}
  if not ixValidName(v) then
    return ids, weight, hs, mem, out -- no instance has it (a pin no Admin wrote: "" would range over the marker)
  end
  local members = redis.call('ZRANGEBYLEX', index, '[' .. v .. '\0', '(' .. v .. '\1')
  if #members == 0 then
    return ids, weight, hs, mem, out
  end
  local all, sub, p = {}, string.sub, #v + 2
  for i = 1, #members do
    local m = members[i]
    local id, w = sub(m, p, -9), tonumber(sub(m, -7))
    if not ixValidName(id) or sub(m, -8, -8) ~= '\0' or not string.find(m, '^%d%d%d%d%d%d%d$', #m - 6)
      or w < 1 or w > 1048576 then
      return nil -- the ID or weight would be misread: a Pick failed on a nil weight
    end
    all[i] = id
  end
  local hl = hvalues(health, all)
  local exps
  if strict then
    exps = mcall('ZMSCORE', expiry, all)
  end
  local seen = {}
  for i, id in ipairs(all) do
    local live = not dead[id] and not skip[id] and not seen[id]
    if live and strict then
      live = exps[i] and tonumber(exps[i]) > now
    end
    if live then
      seen[id] = true
      local h = 100
      if hl[i] then
        h = int(hl[i])
        if not h or h < 0 or h > 100 then
          h = 100
        end
      end
      if h > 50 then
        local k = #ids + 1
        ids[k], hs[k], mem[k] = id, h, members[i]
        if kind == 'swrr' then
          weight[k] = tonumber(sub(members[i], -7))
        end
      else
        live = false
      end
    end
    if not live and kind == 'swrr' then
      out[#out + 1] = members[i]
    end
  end
  return ids, weight, hs, mem, out
end

-- corrupt counts the live instances whose entry does not decode (their
-- members "\0<id>"; "\0" alone is the marker), for the error's message.
local function corrupt()
  local ids = {}
  for _, m in ipairs(redis.call('ZRANGEBYLEX', index, '(\0', '(\1')) do
    ids[#ids + 1] = string.sub(m, 2)
  end
  if #ids == 0 then
    return 0
  end
  local n = 0
  for _, e in ipairs(mcall('ZMSCORE', expiry, ids)) do
    if e and tonumber(e) > now then
      n = n + 1
    end
  end
  return n
end

-- swrrMax bounds the pick count of a version's smooth WRR: with weights
-- up to 2^20, count × weight stays below 2^51, exact in a Lua number.
local swrrMax = 2147483648

-- adjOf reads an adjustment: an integer within what a Lua number holds
-- exactly, else nil (none yet, or no Router wrote it). Only HSET writes
-- them, so a value no Router wrote cannot make a command fail.
local floor = math.floor
local function adjOf(s)
  local a = tonumber(s)
  if a and a == floor(a) and a > -4503599627370496 and a < 4503599627370496 then
    return a
  end
  return nil
end

-- swrrChoose is nginx's smooth weighted round robin over ids (non-empty),
-- shared by every Router, without rewriting every current weight: each
-- Pick adds every available instance's weight to its current weight, so
-- after K Picks of the version an instance's current weight is
-- K × weight − adj, with K in the lb hash ("swrr\n<version>") and adj in
-- the swrr hash (by index member: a new weight starts at 0, as nginx's
-- reload does). A Pick writes K, the chosen one's adj (it loses the
-- total), a first adj of an instance new to the rotation (current weight
-- 0), and the adj of each instance of the version out of it (expired,
-- unhealthy or skipped), whose current weight stays as it is.
local function swrrChoose(v, ids, weight, mem, out)
  local n, sub = #ids, string.sub
  local kf = 'swrr\n' .. v
  local k = count(redis.call('HGET', lb, kf))
  if k > swrrMax then
    k = swrrMax
  end
  local fields = {}
  for i = 1, n do
    fields[i] = mem[i]
  end
  for j = 1, #out do
    fields[n + j] = out[j]
  end
  local adj = hvalues(swrr, fields)
  local total, best, bestc = 0, nil, nil
  local set = {}
  for i = 1, n do
    local w, a = weight[i], adjOf(adj[i])
    if not a then
      a = k * w -- current weight 0
      set[#set + 1] = mem[i]
      set[#set + 1] = a
    end
    adj[i] = a
    local c = (k + 1) * w - a
    total = total + w
    if not best or c > bestc then
      best, bestc = i, c
    end
  end
  adj[best] = adj[best] + total
  set[#set + 1] = mem[best]
  set[#set + 1] = adj[best]
  for j = 1, #out do
    local a = adjOf(adj[n + j])
    if a then
      set[#set + 1] = out[j]
      set[#set + 1] = a + tonumber(sub(out[j], -7))
    end
  end
  k = k + 1
  if k >= swrrMax then
    -- Count from 0 again, keeping every current weight (once in 2^31 Picks).
    local pos = {}
    for i = 1, #set, 2 do
      pos[set[i]] = i + 1
    end
    for i, f in ipairs(fields) do
      local a = pos[f] and set[pos[f]] or adjOf(adj[i])
      if a then
        local w = tonumber(sub(f, -7))
        if pos[f] then
          set[pos[f]] = a - k * w
        else
          set[#set + 1] = f
          set[#set + 1] = a - k * w
        end
      end
    end
    k = 0
  end
  for i = 1, #set, ixChunk do
    redis.call('HSET', swrr, unpack(set, i, math.min(i + ixChunk - 1, #set)))
  end
  redis.call('HSET', lb, kf, k)
  -- Drop the adjustments of members gone from the index, now and then.
  if redis.call('HLEN', swrr) > redis.call('ZCARD', index) + 16 then
    for _, f in ipairs(redis.call('HKEYS', swrr)) do
      if not redis.call('ZSCORE', index, f) then
        redis.call('HDEL', swrr, f)
      end
    end
  end
  return best
end

-- choose runs the balancer over ids (non-empty) and returns the index of
-- the one chosen.
local function choose(v, ids, weight, hs, mem, out)
  local n = #ids
  if kind == 'rr' then
    local c = add(lb, 'rr\n' .. v, 1)
    return (c - 1) % n + 1
  elseif kind == 'random' then
    return rnd % n + 1
  elseif kind == 'health' then
    local total = 0
    for i = 1, n do
      total = total + hs[i]
    end
    local x = rnd % total
    for i = 1, n do
      x = x - hs[i]
      if x < 0 then
        return i
      end
    end
    return n
  elseif kind == 'swrr' then
    return swrrChoose(v, ids, weight, mem, out)
  end
  -- lc: the fewest connections of all Routers; ties go to the first from
  -- a start that rotates, so equally loaded instances share evenly.
  local c = hvalues(conns, ids)
  local start = (add(lb, 'lc\n' .. v, 1) - 1) % n
  local best, bestc
  for k = 0, n - 1 do
    local i = (start + k) % n + 1
    local x = count(c[i])
    if not best or x < bestc then
      best, bestc = i, x
    end
  end
  return best
end

-- reap takes back the connections of a Router whose lease has lapsed (it
-- crashed, or closed with calls in progress).
local function reap(dead)
  local p = dead .. '\n'
  local fields = redis.call('HGETALL', shares)
  for i = 1, #fields, 2 do
    local f = fields[i]
    if string.sub(f, 1, #p) == p then
      local id = string.sub(f, #p + 1)
      if id ~= '' then -- "<router>\n" is the sum of its shares
        add(conns, id, -count(fields[i + 1]))
      end
      redis.call('HDEL', shares, f)
    end
  end
  redis.call('ZREM', routers, dead)
end

-- A few at a time: a lapsed lease of a live, idle Router holds nothing.
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', routers, '-inf', nowstr, 'LIMIT', 0, 8)) do
  reap(dead)
end

ensureIndex()
-- pick chooses an instance of the version, else of the fallback, and
-- returns the reply; nil when the chosen instance's entry does not match
-- its member, or a member is malformed (the index was written around:
-- rebuilt, and picked again).
local function pick(strict)
  local status, chosen = 'ok', version
  local ids, weight, hs, mem, out = candidates(version, strict)
  if not ids then
    return nil
  end
  local fb = ''
  if #ids == 0 then
    fb = fbover
    if fb == '' then
      fb = r[4] or ''
    end
    if fb == '' or fb == version or not meets(fb) then
      return {'noinstance', version, '', corrupt()}
    end
    ids, weight, hs, mem, out = candidates(fb, strict)
    if not ids then
      return nil
    end
    if #ids == 0 then
      return {'noinstance', version, fb, corrupt()}
    end
    status, chosen = 'fallback', fb
  end
  local i = choose(chosen, ids, weight, hs, mem, out)
  local id = ids[i]
  local entry = redis.call('HGET', instances, id)
  if not entry or ixMember(id, entry) ~= mem[i] then
    return nil
  end
  local exp = redis.call('ZSCORE', expiry, id)
  if not strict and not (exp and tonumber(exp) > now) then
    return pick(true) -- an entry without an expiry: not live
  end
  return {status, chosen, id, entry, 0, version, via}
end
local reply = pick(false)
if not reply then
  ixRebuild()
  reply = pick(true) or {'noinstance', version, '', 0}
end
if reply[1] ~= 'noinstance' then
  local id = reply[3]
  add(conns, id, 1)
  add(shares, router .. '\n' .. id, 1)
  add(shares, router .. '\n', 1)
  redis.call('ZADD', routers, lease, router)
end
return reply
