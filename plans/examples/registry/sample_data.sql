-- Sample data for the example plans: a small package registry as it looks
-- before plan 1 (teams exist, packages keep everything in a metadata column),
-- then the data of plans 4 and 5. Everything is deterministic (md5 of fixed
-- text, no random()). Loaded by scripts/demo.sh and by the integration tests.
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

-- Plan 4 (avatar profiles): a small social app whose profiles, posts and
-- follows all hang off the user. Some users have no display name (one has only
-- blanks), some no bio, some no profile image.
CREATE TABLE profiles (
  id bigint PRIMARY KEY,
  username text NOT NULL UNIQUE,
  display_name text,
  bio text,
  profile_image text
);

CREATE TABLE posts (
  id bigint PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES profiles (id),
  body text NOT NULL
);

CREATE TABLE follows (
  follower_id bigint NOT NULL REFERENCES profiles (id),
  followee_id bigint NOT NULL REFERENCES profiles (id),
  PRIMARY KEY (follower_id, followee_id)
);

INSERT INTO profiles (id, username, display_name, bio, profile_image)
SELECT i,
       'user_' || lpad(i::text, 3, '0'),
       CASE
         WHEN i % 5 = 0 THEN NULL
         WHEN i = 7 THEN '   '
         ELSE (ARRAY['Ana', 'Ben', 'Chen', 'Dara', 'Eli', 'Fay', 'Gus', 'Hana'])[i % 8 + 1]
              || ' ' || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ', (i * 7) % 26 + 1, 1) || '.'
       END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE 'Posts about topic ' || substr(md5('bio' || i), 1, 6) END,
       CASE WHEN i % 8 = 0 THEN NULL
            ELSE 'https://cdn.example.com/u/' || substr(md5('profile' || i), 1, 12) || '.jpg' END
FROM generate_series(1, 60) AS i;

INSERT INTO posts (id, user_id, body)
SELECT i, (i * 7) % 60 + 1, 'Post ' || i || ': ' || substr(md5('post' || i), 1, 16)
FROM generate_series(1, 180) AS i;

INSERT INTO follows (follower_id, followee_id)
SELECT DISTINCT i, (i * k + k) % 60 + 1
FROM generate_series(1, 60) AS i, generate_series(1, 3) AS k
WHERE (i * k + k) % 60 + 1 <> i;

-- Plan 5 (kv to tables): a key-value store of JSON records for six kinds of
-- things, to be moved into relational tables. A few records are bad on
-- purpose: client:12 has an invalid email, site:9 has no name, site:17 a bad
-- slug, product:77 an invalid uuid (so order:76, which orders it, points at a
-- product that will not exist), and client:3 and employee:13 have names with
-- messy white space to clean up.
CREATE TABLE kv_store (
  key text PRIMARY KEY,
  value jsonb NOT NULL
);

INSERT INTO kv_store (key, value)
SELECT 'client:' || i,
       jsonb_build_object(
         'id', md5('client' || i)::uuid,
         'name', CASE WHEN i = 3 THEN E'  Northwind \t  Traders ' ELSE 'Client ' || i END,
         'email', CASE WHEN i = 12 THEN 'billing.client12.example.com'
                       ELSE 'billing@client' || i || '.example.com' END,
         'slug', 'client-' || i)
FROM generate_series(1, 12) AS i;

-- Clients 1 to 11 have catalogs, sites and employees; client 12 is new.
INSERT INTO kv_store (key, value)
SELECT 'catalog:' || i,
       jsonb_build_object('id', md5('catalog' || i)::uuid,
                          'client_id', md5('client' || (i % 11 + 1))::uuid,
                          'name', 'Catalog ' || i, 'slug', 'catalog-' || i)
FROM generate_series(1, 24) AS i;

INSERT INTO kv_store (key, value)
SELECT 'site:' || i,
       jsonb_build_object('id', md5('site' || i)::uuid,
                          'client_id', md5('client' || (i % 11 + 1))::uuid,
                          'slug', CASE WHEN i = 17 THEN 'Summer Party!' ELSE 'site-' || i END,
                          'launch_date', '2026-03-01'::date + i)
       || CASE WHEN i = 9 THEN '{}'::jsonb ELSE jsonb_build_object('name', 'Site ' || i) END
FROM generate_series(1, 24) AS i;

INSERT INTO kv_store (key, value)
SELECT 'product:' || i,
       jsonb_build_object('id', CASE WHEN i = 77 THEN to_jsonb('77-not-a-uuid'::text)
                                     ELSE to_jsonb(md5('product' || i)::uuid) END,
                          'catalog_id', md5('catalog' || (i % 24 + 1))::uuid,
                          'sku', 'SKU-' || lpad(i::text, 4, '0'),
                          'name', 'Product ' || i,
                          'price_cents', 100 + (i * 37) % 900)
FROM generate_series(1, 150) AS i;

INSERT INTO kv_store (key, value)
SELECT 'employee:' || i,
       jsonb_build_object('id', md5('employee' || i)::uuid,
                          'client_id', md5('client' || (i % 11 + 1))::uuid,
                          'name', CASE WHEN i = 13 THEN E'  Grace \t Hopper\n ' ELSE 'Employee ' || i END,
                          'email', 'employee' || i || '@client' || (i % 11 + 1) || '.example.com')
FROM generate_series(1, 60) AS i;

INSERT INTO kv_store (key, value)
SELECT 'order:' || i,
       jsonb_build_object('id', md5('order' || i)::uuid,
                          'employee_id', md5('employee' || (i % 60 + 1))::uuid,
                          'product_id', md5('product' || (i % 150 + 1))::uuid,
                          'quantity', i % 5 + 1,
                          'ordered_at', '2026-02-01 09:00:00+00'::timestamptz + i * interval '90 minutes')
FROM generate_series(1, 200) AS i;
