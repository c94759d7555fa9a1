-- SetHealth: ARGV 4 id, 5 score (0..100). Only a live instance has one.
local id, score = ARGV[4], ARGV[5]
if not live(id) then
  return {'notfound', rev()}
end
if redis.call('HGET', health, id) == ARGV[5] then
  return {'ok', rev()}
end
redis.call('HSET', health, id, score)
return {'ok', changed()}
