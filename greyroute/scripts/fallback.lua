-- SetFallback: ARGV 4 version, '' to clear.
local version = ARGV[4]
if version == '' then
  if redis.call('HDEL', route, 'fallback') == 0 then
    return {'ok', rev()}
  end
  return {'ok', changed()}
end
if redis.call('HGET', route, 'fallback') == version then
  return {'ok', rev()}
end
redis.call('HSET', route, 'fallback', version)
return {'ok', changed()}
