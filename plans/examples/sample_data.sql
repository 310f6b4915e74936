-- Sample data for the example plans: a small package registry as it looks
-- before plan 1 (teams exist, packages keep everything in a metadata column).
-- Loaded by scripts/demo.sh and by the integration tests.
CREATE TABLE teams (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE
);

CREATE TABLE app_users (
  id uuid PRIMARY KEY,
  username text NOT NULL UNIQUE,
  team_id uuid REFERENCES teams (id)
);

CREATE TABLE packages (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES app_users (id),
  is_public boolean NOT NULL DEFAULT false,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00'
);

INSERT INTO teams (id, name)
SELECT md5('team' || i)::uuid, 'team-' || i FROM generate_series(1, 5) AS i;

INSERT INTO app_users (id, username, team_id)
SELECT md5('user' || i)::uuid, 'user' || i,
       CASE WHEN i % 4 = 0 THEN NULL ELSE md5('team' || (i % 5 + 1))::uuid END
FROM generate_series(1, 40) AS i;

INSERT INTO packages (name, user_id, is_public, metadata, created_at)
SELECT 'pkg-' || i,
       md5('user' || (i % 40 + 1))::uuid,
       i % 3 = 0,
       CASE
         WHEN i % 5 = 0 THEN '{}'::jsonb
         ELSE jsonb_build_object(
           'title', 'Package ' || i,
           'description', CASE WHEN i % 2 = 0 THEN 'Tools for task ' || i END,
           'tags', CASE WHEN i % 3 = 0 THEN jsonb_build_array('cli', 'tag' || (i % 7))
                        ELSE '[]'::jsonb END)
       END,
       '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 hour'
FROM generate_series(1, 250) AS i;
