-- Pin: ARGV 4 tenant, 5 version, 6 the tenant's recorded schema. The
-- version's requirement is read here, atomically with the pin, so a
-- RequireSchema racing the Pin cannot let a tenant through.
local tenant, version, have = ARGV[4], ARGV[5], tonumber(ARGV[6])
local need = tonumber(redis.call('HGET', schemareq, version) or '0')
if need > have then
  return {'schema', rev(), need}
end
if redis.call('HGET', pins, tenant) == version then
  return {'ok', rev()}
end
redis.call('HSET', pins, tenant, version)
return {'ok', changed()}
