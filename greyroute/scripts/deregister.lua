-- Deregister: ARGV 4 id. An unknown id is not an error: a retried
-- Deregister finds its work done.
sweep()
local id = ARGV[4]
ixDel(id, redis.call('HGET', instances, id))
local n = redis.call('HDEL', instances, id)
redis.call('ZREM', expiry, id)
redis.call('HDEL', health, id)
if n == 0 then
  return {'ok', rev()}
end
return {'ok', changed()}
