-- The benchmark's tables (bench/README.md): users, with a slug column for
-- case 6, and avatars, the copy target of cases 1, 2, 3, 5, 7 and 8.
\ir users_table.sql

CREATE TABLE avatars (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL,
  name text,
  bio text,
  image_url text,
  meta jsonb
);
