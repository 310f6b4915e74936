-- Case 6, the pgroll-style backfill: a BEFORE UPDATE trigger computes the
-- slug, and a procedure touches the rows in keyset batches of 1000, one
-- transaction per batch (CALL bench_backfill() is what is timed).
CREATE FUNCTION bench_slug() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.slug := lower(NEW.username);
  RETURN NEW;
END $$;

CREATE TRIGGER bench_slug BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION bench_slug();

CREATE PROCEDURE bench_backfill() LANGUAGE plpgsql AS $$
DECLARE
  last_id bigint := 0;
  next_id bigint;
BEGIN
  LOOP
    WITH batch AS (
      SELECT id FROM users WHERE id > last_id ORDER BY id LIMIT 1000 FOR NO KEY UPDATE
    ), touched AS (
      UPDATE users AS u SET id = u.id FROM batch WHERE u.id = batch.id RETURNING u.id
    )
    SELECT max(id) INTO next_id FROM touched;
    EXIT WHEN next_id IS NULL;
    last_id := next_id;
    COMMIT;
  END LOOP;
END $$;
