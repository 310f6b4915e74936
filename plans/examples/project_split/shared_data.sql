-- Sample data for the project_split example (seed 003): the shared database
-- where every project's auth and storage rows sit side by side, told apart by
-- project_ref. scripts/demo.sh loads it into a database of its own and points
-- SHARED_DATABASE_URL at it. Deterministic: md5 of fixed text, no random().
CREATE SCHEMA auth;
CREATE SCHEMA storage;

CREATE TABLE auth.users (
  id uuid PRIMARY KEY,
  project_ref text NOT NULL,
  email text NOT NULL,
  encrypted_password text NOT NULL,
  raw_user_meta_data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL
);
CREATE TABLE auth.sessions (
  id uuid PRIMARY KEY,
  project_ref text NOT NULL,
  user_id uuid NOT NULL REFERENCES auth.users (id),
  created_at timestamptz NOT NULL
);
CREATE TABLE auth.refresh_tokens (
  id bigserial PRIMARY KEY,
  project_ref text NOT NULL,
  token text NOT NULL UNIQUE,
  session_id uuid NOT NULL REFERENCES auth.sessions (id),
  revoked boolean NOT NULL DEFAULT false
);
CREATE TABLE storage.buckets (
  id text PRIMARY KEY,
  project_ref text NOT NULL,
  public boolean NOT NULL DEFAULT false
);
CREATE TABLE storage.objects (
  id uuid PRIMARY KEY,
  project_ref text NOT NULL,
  bucket_id text NOT NULL REFERENCES storage.buckets (id),
  name text NOT NULL,
  owner uuid REFERENCES auth.users (id),
  metadata jsonb NOT NULL DEFAULT '{}'
);

-- Three projects; user i belongs to acme, globex or initech by i % 3.
INSERT INTO auth.users (id, project_ref, email, encrypted_password, raw_user_meta_data, created_at)
SELECT md5('user' || i)::uuid, (ARRAY['acme', 'globex', 'initech'])[i % 3 + 1],
       'user' || i || '@example.com', '$2a$10$' || md5('pw' || i),
       jsonb_build_object('name', 'User ' || i), '2025-01-01'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 300) AS i;
INSERT INTO auth.sessions (id, project_ref, user_id, created_at)
SELECT md5('session' || i)::uuid, u.project_ref, u.id, u.created_at + interval '1 day'
  FROM generate_series(1, 300) AS i JOIN auth.users u ON u.id = md5('user' || (i % 150 + 1))::uuid;
INSERT INTO auth.refresh_tokens (project_ref, token, session_id, revoked)
SELECT s.project_ref, md5('token' || i), s.id, i % 7 = 0
  FROM generate_series(1, 600) AS i JOIN auth.sessions s ON s.id = md5('session' || (i % 300 + 1))::uuid;
INSERT INTO storage.buckets (id, project_ref, public)
SELECT p || '-' || b, p, b = 'public'
  FROM unnest(ARRAY['acme', 'globex', 'initech']) AS p, unnest(ARRAY['avatars', 'public']) AS b;
INSERT INTO storage.objects (id, project_ref, bucket_id, name, owner, metadata)
SELECT md5('object' || i)::uuid, u.project_ref,
       u.project_ref || CASE WHEN i % 2 = 0 THEN '-avatars' ELSE '-public' END,
       'file' || i || '.png', u.id, jsonb_build_object('size', 1000 + i, 'mimetype', 'image/png')
  FROM generate_series(1, 400) AS i JOIN auth.users u ON u.id = md5('user' || (i % 300 + 1))::uuid;
