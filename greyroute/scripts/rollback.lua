-- Auto-rollback: ARGV 4 the canary version, 5 the rollback's ID, 6 its
-- record (the RollbackEvent's JSON), 7 the rollout's rollout_since as the
-- Router read it (0: none). Ends the rollout only if it is still that
-- one, to that version (compare-and-set: routers deciding at once make
-- one change; a rollout ended and started again to the same version is
-- not judged on the old one's calls), and records it in the route hash
-- for the admin page.
--
-- Returns 'ok' when this rollback made the change — also to a retry of
-- the same ID after a lost reply, which finds its own record and changes
-- nothing more — and 'already' when the rollout is no longer that one
-- (another router's rollback, or an operator's change).
local version, id, record, since = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
if redis.call('HGET', route, 'last_rollback_id') == id then
  return {'ok', rev()}
end
if redis.call('HGET', route, 'rollout_to') ~= version or
   tonumber(redis.call('HGET', route, 'rollout_since') or '0') ~= since then
  return {'already', rev()}
end
redis.call('HDEL', route, 'rollout_to', 'rollout_bp', 'rollout_since')
redis.call('HSET', route, 'last_rollback', record, 'last_rollback_id', id)
return {'ok', changed()}
