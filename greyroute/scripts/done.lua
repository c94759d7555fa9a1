-- Done in Atomic mode (router_atomic.go): sets one Router's share of the
-- connection counts to what it holds, and renews its lease. Locals only;
-- KEYS only.
--
-- KEYS: 1 conns, 2 shares, 3 routers (as in scripts/pick.lua).
-- ARGV: 1 the Router's ID, 2 its lease expiry ms, 3 "full" or "", 4..
--       pairs of instance ID and the calls the Router has in progress
--       there.
-- The counts are set, not decremented: a flush retried after a lost
-- reply changes nothing more, and one after the lease lapsed and the
-- share was reaped gives it back. "full" lists every instance the Router
-- has calls on, and also clears its share of every other: a Pick whose
-- reply was lost (the Router never learnt of it) counted a call nobody
-- will end. The field "<router>\n" holds the sum of the Router's shares:
-- when it is the sum listed, there is nothing else to clear and the
-- shares are not scanned.
local conns, shares, routers = KEYS[1], KEYS[2], KEYS[3]
local router, lease, full = ARGV[1], ARGV[2], ARGV[3] == 'full'

-- count reads a count: a whole number from 0 to 2^52, else 0 (a value
-- no script wrote is reset, not a failure of every flush).
local function count(s)
  local n = tonumber(s)
  if not n or not (n >= 0 and n <= 4503599627370496) or n ~= math.floor(n) then
    return 0
  end
  return n
end

-- set makes the Router's share of instance id n, moving the total by the
-- difference.
local function set(id, n, have)
  local mine = router .. '\n' .. id
  if have == nil then
    have = count(redis.call('HGET', shares, mine))
  end
  if n == have then
    return
  end
  if n > 0 then
    redis.call('HSET', shares, mine, n)
  else
    redis.call('HDEL', shares, mine)
  end
  local sum = count(redis.call('HGET', shares, router .. '\n')) + n - have
  if sum > 0 then
    redis.call('HSET', shares, router .. '\n', sum)
  else
    redis.call('HDEL', shares, router .. '\n')
  end
  local total = count(redis.call('HGET', conns, id)) + n - have
  if total > 0 then
    redis.call('HSET', conns, id, total)
  else
    redis.call('HDEL', conns, id)
  end
end

local listed, sum = {}, 0
for i = 4, #ARGV - 1, 2 do
  local n = count(ARGV[i + 1])
  listed[ARGV[i]] = true
  sum = sum + n
  set(ARGV[i], n, nil)
end
if full and count(redis.call('HGET', shares, router .. '\n')) ~= sum then
  local p = router .. '\n'
  local fields = redis.call('HGETALL', shares)
  for i = 1, #fields, 2 do
    local f = fields[i]
    if string.sub(f, 1, #p) == p then
      local id = string.sub(f, #p + 1)
      if id ~= '' and not listed[id] then
        set(id, 0, count(fields[i + 1]))
      end
    end
  end
end
redis.call('ZADD', routers, lease, router)
return 0
