-- Unpin: ARGV 4 tenant.
if redis.call('HDEL', pins, ARGV[4]) == 0 then
  return {'ok', rev()}
end
return {'ok', changed()}
