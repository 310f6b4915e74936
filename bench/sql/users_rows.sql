-- Fills :tbl with users 1..:n. Deterministic (no random()), so every reload
-- gives the same rows: mixed-case usernames, 4% NULL display names, a bio of
-- 70 characters, an image URL and a creation time.
INSERT INTO :tbl (id, username, display_name, email, bio, profile_image, created_at)
SELECT i,
       'User' || i || '_' || substr(h, 1, 4),
       CASE WHEN i % 25 = 0 THEN NULL
            ELSE initcap(substr(h, 5, 6)) || ' ' || initcap(substr(h, 11, 8)) END,
       'user' || i || '@example.com',
       'Posts about ' || substr(h, 1, 16) || ' and ' || substr(md5(h), 1, 16) ||
         ', mostly on weekends.',
       'https://img.example.com/u/' || h || '.png',
       timestamptz '2020-01-01 00:00:00+00' + i * interval '37 seconds'
FROM generate_series(1, :n) AS i
CROSS JOIN LATERAL (SELECT md5(i::text) AS h) AS x;
