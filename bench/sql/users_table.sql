-- The users table; also the target of the cross-database copy (case 4).
CREATE TABLE users (
  id bigint PRIMARY KEY,
  username text NOT NULL,
  display_name text,
  email text,
  bio text,
  profile_image text,
  created_at timestamptz,
  slug text
);
