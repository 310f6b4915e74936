-- Sample data for the images_to_storage example (seed 000): generated designs
-- whose image_url points at the demo's web server. scripts/demo.sh serves
-- design1.png ... design12.png under :'images_url' and loads this file with
--   psql -v images_url=http://127.0.0.1:<port>/src -f sample_data.sql
-- Design 13 has no image yet, so the step leaves it alone.
CREATE TABLE custom_design (
  id bigint PRIMARY KEY,
  title text NOT NULL,
  image_url text
);

INSERT INTO custom_design (id, title, image_url)
SELECT i, 'design ' || i, :'images_url' || '/design' || i || '.png'
  FROM generate_series(1, 12) AS i;
INSERT INTO custom_design (id, title, image_url) VALUES
  (13, 'design 13 (no image yet)', NULL);
