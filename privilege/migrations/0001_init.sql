-- 0001: the seed's schema, adapted. Table names carry a privilege_ prefix
-- so that they live beside an application's own users and roles tables.

-- Roles; the hierarchy is a DAG, so parents live in their own table
-- (the seed's single parent_role_id column allowed one parent only).
CREATE TABLE privilege_roles (
  id         text PRIMARY KEY CHECK (id <> ''),
  name       text NOT NULL,
  is_active  boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE privilege_role_parents (
  role_id   text NOT NULL REFERENCES privilege_roles (id) ON DELETE CASCADE,
  parent_id text NOT NULL REFERENCES privilege_roles (id),
  pos       integer NOT NULL, -- the order of Role.Parents, kept for round trips
  PRIMARY KEY (role_id, parent_id),
  CHECK (role_id <> parent_id)
);
-- DeleteRole looks for children.
CREATE INDEX privilege_role_parents_parent ON privilege_role_parents (parent_id);

CREATE TABLE privilege_users (
  id         text PRIMARY KEY CHECK (id <> ''),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A revoked grant stays as a row with is_active = false and revoked_at
-- set; expires_at NULL is "for good".
CREATE TABLE privilege_user_roles (
  user_id    text NOT NULL REFERENCES privilege_users (id) ON DELETE CASCADE,
  role_id    text NOT NULL REFERENCES privilege_roles (id),
  is_active  boolean NOT NULL DEFAULT true,
  expires_at timestamptz,
  granted_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  PRIMARY KEY (user_id, role_id)
);
-- The seed's index without its `expires_at > CURRENT_TIMESTAMP`
-- predicate (PostgreSQL refuses non-immutable index predicates): expiry
-- is compared at query time, against the caller's now.
CREATE INDEX privilege_user_roles_active ON privilege_user_roles (user_id, expires_at) WHERE is_active;
CREATE INDEX privilege_user_roles_role ON privilege_user_roles (role_id);

CREATE TABLE privilege_role_permissions (
  role_id    text NOT NULL REFERENCES privilege_roles (id) ON DELETE CASCADE,
  resource   text NOT NULL CHECK (resource <> ''),
  action     text NOT NULL CHECK (action <> ''),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (role_id, resource, action)
);

-- policy is the whole Policy as JSON; priority and is_active are copied
-- out of it for the index the engine reads by.
CREATE TABLE privilege_abac_policies (
  id         text PRIMARY KEY CHECK (id <> ''),
  name       text NOT NULL,
  priority   integer NOT NULL,
  is_active  boolean NOT NULL,
  policy     jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX privilege_abac_policies_active ON privilege_abac_policies (priority DESC, id) WHERE is_active;

CREATE TABLE privilege_audit (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL,
  subject    text NOT NULL,
  resource   text NOT NULL,
  action     text NOT NULL,
  allowed    boolean NOT NULL,
  reason     text NOT NULL,
  policy_id  text NOT NULL DEFAULT '',
  role       text NOT NULL DEFAULT '',
  version    bigint NOT NULL
);
CREATE INDEX privilege_audit_subject ON privilege_audit (subject, at);
CREATE INDEX privilege_audit_at ON privilege_audit (at);

-- One row: bumped by every write in the write's transaction. Its row
-- lock is also what serializes writers (see postgres.go).
CREATE TABLE privilege_version (
  id      integer PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL
);
INSERT INTO privilege_version (id, version) VALUES (1, 0);
