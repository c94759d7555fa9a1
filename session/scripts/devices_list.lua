-- List a user's live remember-me devices, pruning the index of devices
-- that are gone or expired.
-- KEYS[1] the user's device index. ARGV: device key prefix (the devices
-- sit in the index's slot: same hash tag), now ms.
-- Returns a flat array: selector, then the device's HGETALL, per device.
local now = tonumber(ARGV[2])
local out = {}
for _, sel in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. sel
  local e = redis.call('HGET', key, 'e')
  if not e or tonumber(e) <= now then
    redis.call('SREM', KEYS[1], sel)
    redis.call('DEL', key)
  else
    out[#out + 1] = sel
    out[#out + 1] = redis.call('HGETALL', key)
  end
end
return out
