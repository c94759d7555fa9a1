-- SetSchema, on the tenants' keys (not a service's): KEYS 1 schema (hash
-- tenant -> schema version), 2 meta (hash: rev). ARGV 1 the change
-- channel, 2 tenant, 3 schema version. Announced as "{tenants} <rev>":
-- braces are refused in service names, so no service is called that.
local tenant, version = ARGV[2], ARGV[3]
if redis.call('HGET', KEYS[1], tenant) == version then
  return {'ok', tonumber(redis.call('HGET', KEYS[2], 'rev') or '0')}
end
redis.call('HSET', KEYS[1], tenant, version)
local rev = redis.call('HINCRBY', KEYS[2], 'rev', 1)
redis.call('PUBLISH', ARGV[1], '{tenants} ' .. rev)
return {'ok', rev}
