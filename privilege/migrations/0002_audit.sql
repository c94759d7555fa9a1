-- 0002: the audit table as PostgresAudit writes it. 0001's "at" becomes
-- decided_at (what it holds); source says where the decision came from
-- (l1, l2, computed, failopen, error); batch_id is the writer's batch, so that a batch
-- retried after a lost acknowledgement is found instead of written twice.
ALTER TABLE privilege_audit RENAME COLUMN at TO decided_at;
ALTER TABLE privilege_audit
  ADD COLUMN source   text NOT NULL DEFAULT '',
  ADD COLUMN batch_id bigint;
-- 0001's indexes (subject, at) and (at) follow the rename: by subject
-- over time, and by time.
ALTER INDEX privilege_audit_subject RENAME TO privilege_audit_subject_time;
ALTER INDEX privilege_audit_at RENAME TO privilege_audit_time;
