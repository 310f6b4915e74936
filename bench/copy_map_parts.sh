#!/usr/bin/env bash
# Where case 3's time goes (a copy without a hook against one INSERT ...
# SELECT): the statements planrun's batches run, replayed by psql without
# planrun, one part added at a time, interleaved, median of the repetitions.
#
#   bench/copy_map_parts.sh [--rows N] [--reps N] [--batch N]
#
#   one       INSERT INTO avatars SELECT ... FROM users        (the limit)
#   batches   the same per key range of --batch rows, ORDER BY the key, each
#             in its own transaction with a checkpoint row UPDATE
#   returning batches, plus what the rollback needs: RETURNING the keys
#             inserted and their (lo, hi) range into a ranges table
#   sequence  batches, plus the same range from the key sequence instead:
#             its last value before the INSERT and currval() after it
#   bounds    returning, plus counting the next range first (count(*),
#             max(key) of the next --batch keys), on the same session
#
# Runs inside a throwaway pg_virtualenv cluster unless PGHOST names a server.
# Prints a markdown table.
set -euo pipefail

rows=1000000 reps=3 batch=5000
while [ $# -gt 0 ]; do
  case $1 in
    --rows) rows=${2:?--rows needs a number}; shift 2 ;;
    --reps) reps=${2:?--reps needs a number}; shift 2 ;;
    --batch) batch=${2:?--batch needs a number}; shift 2 ;;
    *) echo "copy_map_parts: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for n in "$rows" "$reps" "$batch"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "copy_map_parts: numbers must be positive integers" >&2; exit 2; }
done

bench_dir=$(cd "$(dirname "$0")" && pwd)
"$(dirname "$bench_dir")/scripts/install-deps.sh"
if [ -z "${PGHOST:-}" ]; then
  exec pg_virtualenv -t -- "$bench_dir/copy_map_parts.sh" --rows "$rows" --reps "$reps" --batch "$batch"
fi

db=planrun_bench_parts
work=$(mktemp -d /tmp/planrun-parts.XXXXXX)
admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" "$@" >/dev/null; }
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@" >/dev/null; }
cleanup() {
  admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
sql -f "$bench_dir/sql/tables.sql" -v tbl=users -v n="$rows" -f "$bench_dir/sql/users_rows.sql" \
  -c "VACUUM (FREEZE, ANALYZE) users" \
  -c "CREATE TABLE parts_ranges (lo bigint, hi bigint); CREATE TABLE parts_checkpoint (batches int, last_key bigint)"

# The same rows as bench/run.sh's case 3 (copy_map.yaml.in).
select="SELECT u.id, coalesce(u.display_name, u.username), u.bio, u.profile_image, jsonb_build_object('src', 'users', 'user', u.username, 'has_bio', u.bio IS NOT NULL) FROM users u"
insert="INSERT INTO avatars (user_id, name, bio, image_url, meta)"
parts="one batches returning sequence bounds"
for part in $parts; do
  {
    echo "TRUNCATE avatars, parts_ranges, parts_checkpoint; INSERT INTO parts_checkpoint VALUES (0, 0);"
    if [ "$part" = one ]; then
      echo "$insert $select;"
      continue
    fi
    for ((lo = 0; lo < rows; lo += batch)); do
      hi=$((lo + batch))
      echo "BEGIN;"
      [ "$part" = bounds ] &&
        echo "SELECT count(*), max(id) FROM (SELECT id FROM users WHERE id > $lo ORDER BY id LIMIT $batch) b;"
      if [ "$part" = batches ]; then
        echo "$insert $select WHERE u.id > $lo AND u.id <= $hi ORDER BY u.id;"
      elif [ "$part" = sequence ]; then
        echo "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS a FROM avatars_id_seq \\gset"
        echo "$insert $select WHERE u.id > $lo AND u.id <= $hi ORDER BY u.id;"
        echo "INSERT INTO parts_ranges SELECT :a + 1, currval('avatars_id_seq') WHERE currval('avatars_id_seq') = :a + $batch;"
      else
        echo "WITH ins AS ($insert $select WHERE u.id > $lo AND u.id <= $hi ORDER BY u.id RETURNING id)," \
          "b AS (SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM ins)" \
          "INSERT INTO parts_ranges SELECT lo, hi FROM b WHERE hi - lo + 1 = n;"
      fi
      echo "UPDATE parts_checkpoint SET batches = batches + 1, last_key = $hi;"
      echo "COMMIT;"
    done
  } >"$work/$part.sql"
done

declare -A times
for ((rep = 1; rep <= reps; rep++)); do
  for part in $parts; do
    start=$(date +%s%N)
    sql -f "$work/$part.sql"
    end=$(date +%s%N)
    times[$part]+="$(((end - start) / 1000000)) "
    got=$(psql -X -A -t -q -d "$db" -c "SELECT count(*) FROM avatars")
    [ "$got" = "$rows" ] || { echo "copy_map_parts: $part wrote $got rows, not $rows" >&2; exit 1; }
    case $part in
      returning | sequence | bounds)
        got=$(psql -X -A -t -q -d "$db" -c "SELECT count(*) || ' ' || sum(hi - lo + 1) FROM parts_ranges")
        want="$(((rows + batch - 1) / batch)) $rows"
        [ "$got" = "$want" ] || { echo "copy_map_parts: $part recorded ranges '$got', not '$want'" >&2; exit 1; } ;;
    esac
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
base=$(echo "${times[one]}" | median)
echo "| part | rows | batch | median s | runs (ms) | x one INSERT ... SELECT |"
echo "|---|---:|---:|---:|---|---:|"
for part in $parts; do
  m=$(echo "${times[$part]}" | median)
  awk -v p="$part" -v r="$rows" -v b="$batch" -v m="$m" -v base="$base" -v runs="${times[$part]}" \
    'BEGIN { printf "| %s | %d | %d | %.2f | %s | %.2f |\n", p, r, b, m / 1000, runs, m / base }'
done
