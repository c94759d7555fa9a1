-- Sets lock KEYS[1]'s expiry to ARGV[2] ms if it still holds value ARGV[1].
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
