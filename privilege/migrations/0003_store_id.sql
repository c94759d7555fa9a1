-- 0003: the store's identity, a random id made once per database. It
-- goes into the engines' Redis keys and channel, so that engines on two
-- databases sharing a Redis and prefix never serve each other's
-- decisions (their versions count the same way: 1, 2, 3...).
CREATE TABLE privilege_store (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  id  text NOT NULL CHECK (id <> '')
);
INSERT INTO privilege_store (id) VALUES (gen_random_uuid()::text);
