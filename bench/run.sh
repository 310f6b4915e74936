#!/usr/bin/env bash
# The planrun data-step benchmark: planrun's copy and transform against the
# limits a user would otherwise reach for (psql COPY, INSERT ... SELECT,
# pgloader, row-at-a-time INSERTs, UPDATE, a trigger backfill). The method
# and each case's exact commands are in bench/README.md.
#
#   bench/run.sh [--rows N] [--reps N] [--cases 1,2,...] [--out FILE]
#
# Installs what is missing, builds planrun if needed (or uses
# $PLANRUN_BINARY), and runs inside a throwaway pg_virtualenv cluster unless
# PGHOST already names a server. Prints a markdown table. Exits non-zero when
# a case produced wrong rows; targets that are missed do not fail the run.
set -euo pipefail

usage() {
  sed -n '7p' "$0" | sed 's/^#  *//'
  echo "  --rows N     users rows (default 1000000); case 5 uses at most 20000, case 7 also 4 x N"
  echo "  --reps N     repetitions of every case, interleaved; the median is reported (default 3)"
  echo "  --cases L    comma-separated case numbers 1-8 (default all)"
  echo "  --out FILE   also write the report to FILE"
}

rows=1000000 reps=3 cases=1,2,3,4,5,6,7,8 out=""
while [ $# -gt 0 ]; do
  case $1 in
    --rows) rows=${2:?--rows needs a number}; shift 2 ;;
    --reps) reps=${2:?--reps needs a number}; shift 2 ;;
    --cases) cases=${2:?--cases needs a list}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $rows =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rows must be a positive integer" >&2; exit 2; }
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "bench: --reps must be a positive integer" >&2; exit 2; }
[[ $cases =~ ^[1-8](,[1-8])*$ ]] || { echo "bench: --cases must list numbers 1-8, e.g. 1,3" >&2; exit 2; }
[ -z "$out" ] || out=$(realpath -m "$out")

bench_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench_dir")

# --- what is needed: packages, the binary, a server ---------------------------
"$root/scripts/install-deps.sh"
if [ -n "${PLANRUN_BINARY:-}" ]; then
  planrun=$PLANRUN_BINARY
else
  planrun=$root/${BUILD_DIR:-build}/planrun
  [ -x "$planrun" ] || (cd "$root" && scripts/build.sh)
fi
[ -x "$planrun" ] || { echo "bench: no planrun binary at $planrun" >&2; exit 1; }
if [ -z "${PGHOST:-}" ]; then
  export PLANRUN_BINARY=$planrun
  exec pg_virtualenv -t -- "$bench_dir/run.sh" --rows "$rows" --reps "$reps" --cases "$cases" ${out:+--out "$out"}
fi
unset DATABASE_URL

# --- the state of a run --------------------------------------------------------
admin_db=${PGDATABASE:-postgres}
db=planrun_bench
db2=planrun_bench_copy
subset=$((rows < 20000 ? rows : 20000))
work=$(mktemp -d /tmp/planrun-bench.XXXXXX)
chmod 700 "$work"
users_dirty=0

# AVATAR_SQL: the avatar of a users row u, as avatar.lua and copy_map make it.
avatar_name="coalesce(u.display_name, u.username)"
avatar_meta="jsonb_build_object('src', 'users', 'user', u.username, 'has_bio', u.bio IS NOT NULL)"
AVATAR_SQL="u.id, $avatar_name, u.bio, u.profile_image, $avatar_meta"
avatar_cols="user_id, name, bio, image_url, meta"

cleanup() {
  psql -X -q -d "$admin_db" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    -c "DROP DATABASE IF EXISTS $db2 WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Masks the password, should a log carry one.
mask() {
  if [ -n "${PGPASSWORD:-}" ]; then
    awk -v p="$PGPASSWORD" '{ while ((i = index($0, p)) > 0) $0 = substr($0, 1, i - 1) "***" substr($0, i + length(p)); print }'
  else
    cat
  fi
}

die() {
  echo "bench: $*" >&2
  exit 1
}

# psql on the benchmark database (sql2, val2: on the second one); val prints
# the result unaligned. Notices stay quiet.
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@" >/dev/null; }
val() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
sql2() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$db2" "$@" >/dev/null; }
admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$admin_db" "$@" >/dev/null; }
val2() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$db2" -c "$1"; }

# users (or users_4x) filled with n rows and frozen, so every measurement
# reads the same pages with hint bits set.
load_users() {
  local table=$1 n=$2
  sql -c "TRUNCATE $table" -v tbl="$table" -v n="$n" -f "$bench_dir/sql/users_rows.sql" \
    -c "VACUUM (FREEZE, ANALYZE) $table"
}

# pgsql:// URL of a database for pgloader, from the PG* variables; the
# password stays in PGPASSWORD, which pgloader reads.
pgloader_url() {
  local host=${PGHOST:-localhost} port=${PGPORT:-5432}
  [[ $host == /* ]] && host="unix:$host"
  echo "pgsql://${PGUSER:-$(id -un)}@$host:$port/$1"
}

# Copies the templates of a planrun case into its own plans directory.
make_plan() {
  local name=$1 template=$2 source=$3 batch=$4 dir=$work/plans/$1
  mkdir -p "$dir"
  cp "$bench_dir"/plans/*.lua "$dir/"
  if [ "$batch" = default ]; then
    sed -e "s/@SOURCE@/$source/" -e '/@BATCH_SIZE@/d' "$bench_dir/plans/$template.yaml.in"
  else
    sed -e "s/@SOURCE@/$source/" -e "s/@BATCH_SIZE@/$batch/" "$bench_dir/plans/$template.yaml.in"
  fi >"$dir/001_$name.yaml"
}

# --- the measurements ------------------------------------------------------------
# Each case needs some measurements; each measurement runs once per repetition.
measurements_of() {
  case $1 in
    1) echo copy_lua psql_pipe ;;
    2) echo psql_pipe ;;
    3) echo copy_map insert_select ;;
    4) echo copy_xdb pgloader ;;
    5) echo row_at_a_time copy_lua ;;
    6) echo transform_lua update_one trigger_backfill ;;
    7) echo copy_lua copy_lua_4x ;;
    8) echo copy_lua copy_lua_one_batch ;;
  esac
}
all_measurements=(copy_lua psql_pipe copy_map insert_select copy_xdb pgloader row_at_a_time
  transform_lua update_one trigger_backfill copy_lua_4x copy_lua_one_batch)

label_of() {
  case $1 in
    copy_lua) echo "1. planrun copy, Lua hook" ;;
    psql_pipe) echo "2. psql COPY TO \| COPY FROM" ;;
    copy_map) echo "3. planrun copy, SQL map" ;;
    insert_select) echo "3. INSERT ... SELECT" ;;
    copy_xdb) echo "4. planrun copy across databases" ;;
    pgloader) echo "4. pgloader" ;;
    row_at_a_time) echo "5. one INSERT per row, autocommit" ;;
    copy_lua_4x) echo "7. planrun copy, Lua hook, 4 x rows" ;;
    copy_lua_one_batch) echo "8. planrun copy, Lua hook, one batch" ;;
    transform_lua) echo "6. planrun transform, Lua hook" ;;
    update_one) echo "6. UPDATE in one statement" ;;
    trigger_backfill) echo "6. trigger backfill, batches of 1000" ;;
  esac
}

rows_of() {
  case $1 in
    row_at_a_time) echo "$subset" ;;
    copy_lua_4x) echo $((4 * rows)) ;;
    *) echo "$rows" ;;
  esac
}

is_planrun() { [[ $1 == copy_* || $1 == transform_* ]]; }

# The shell command that is timed, with its output going to $2.
command_of() {
  local m=$1 log=$2 pr
  pr="/usr/bin/time -f %M -o $work/rss $(printf %q "$planrun")"
  case $m in
    copy_lua | copy_lua_4x | copy_lua_one_batch | copy_map | transform_lua)
      echo "$pr --db dbname=$db --plans $work/plans/$m apply >$log 2>&1" ;;
    copy_xdb)
      echo "BENCH_SOURCE_URL=dbname=$db $pr --db dbname=$db2 --plans $work/plans/$m apply >$log 2>&1" ;;
    psql_pipe)
      echo "set -o pipefail; psql -X -v ON_ERROR_STOP=1 -d $db -c \"COPY (SELECT $AVATAR_SQL FROM users u) TO STDOUT\" 2>$log.src | psql -X -v ON_ERROR_STOP=1 -d $db -c \"COPY avatars ($avatar_cols) FROM STDIN\" >$log 2>&1" ;;
    insert_select)
      echo "psql -X -v ON_ERROR_STOP=1 -d $db -c \"INSERT INTO avatars ($avatar_cols) SELECT $AVATAR_SQL FROM users u\" >$log 2>&1" ;;
    pgloader)
      echo "pgloader --no-ssl-cert-verification --root-dir $work/pgloader $work/pgloader.load >$log 2>&1" ;;
    row_at_a_time)
      echo "set -o pipefail; psql -X -A -t -v ON_ERROR_STOP=1 -d $db -c \"SELECT format('INSERT INTO avatars ($avatar_cols) VALUES (%s, %L, %L, %L, %L);', $AVATAR_SQL) FROM users u WHERE u.id <= $subset ORDER BY u.id\" 2>$log.src | psql -X -q -v ON_ERROR_STOP=1 -d $db >$log 2>&1" ;;
    update_one)
      echo "psql -X -v ON_ERROR_STOP=1 -d $db -c \"UPDATE users SET slug = lower(username)\" >$log 2>&1" ;;
    trigger_backfill)
      echo "psql -X -v ON_ERROR_STOP=1 -d $db -c \"CALL bench_backfill()\" >$log 2>&1" ;;
  esac
}

# Puts the cluster back to the clean state: avatars empty, no tracking or
# backup schemas, no second database, no trigger, users as generated.
reset_state() {
  sql -c "TRUNCATE avatars RESTART IDENTITY" \
    -c "DROP SCHEMA IF EXISTS planrun CASCADE" -c "DROP SCHEMA IF EXISTS planrun_backup CASCADE" \
    -c "DROP TRIGGER IF EXISTS bench_slug ON users" -c "DROP FUNCTION IF EXISTS bench_slug()" \
    -c "DROP PROCEDURE IF EXISTS bench_backfill()"
  admin -c "DROP DATABASE IF EXISTS $db2 WITH (FORCE)"
  if [ "$users_dirty" = 1 ]; then
    load_users users "$rows"
    users_dirty=0
  fi
}

# What a measurement needs beyond the clean state; not timed.
prepare() {
  case $1 in
    copy_xdb | pgloader)
      admin -c "CREATE DATABASE $db2"
      sql2 -f "$bench_dir/sql/users_table.sql" ;;
    trigger_backfill) sql -f "$bench_dir/sql/backfill.sql" ;;
  esac
  case $1 in
    transform_lua | update_one | trigger_backfill) users_dirty=1 ;;
  esac
  admin -c CHECKPOINT
}

# Every avatars row against the avatar of its user (ids up to $2 of $1):
# the count, and no row that differs.
check_avatars() {
  local source=$1 n=$2 got
  got=$(val "SELECT count(*) || ' ' || count(*) FILTER (WHERE a.id IS NULL OR u.id IS NULL
      OR a.name IS DISTINCT FROM $avatar_name OR a.bio IS DISTINCT FROM u.bio
      OR a.image_url IS DISTINCT FROM u.profile_image OR a.meta IS DISTINCT FROM $avatar_meta)
    FROM avatars a FULL JOIN (SELECT * FROM $source WHERE id <= $n) u ON u.id = a.user_id")
  [ "$got" = "$n 0" ] || die "$3: expected $n avatars, all matching their user; got '$got' (count, wrong)"
  [ "$n" -ge 25 ] || return 0
  got=$(val "SELECT a.name || ' ' || (a.meta->>'user') FROM avatars a WHERE a.user_id = 25")
  [ "$got" = "$(val "SELECT username || ' ' || username FROM $source WHERE id = 25")" ] ||
    die "$3: user 25 (no display name) got the avatar '$got'"
}

check() {
  local m=$1 got
  case $m in
    copy_lua | psql_pipe | copy_map | insert_select | copy_lua_one_batch) check_avatars users "$rows" "$m" ;;
    copy_lua_4x) check_avatars users_4x $((4 * rows)) "$m" ;;
    row_at_a_time) check_avatars users "$subset" "$m" ;;
    copy_xdb | pgloader)
      got=$(val2 "SELECT count(*) || ' ' || sum(hashtext(u::text)) FROM users u")
      [ "$got" = "$users_hash" ] || die "$m: the copied users differ from the source: '$got' against '$users_hash' (count, hash)" ;;
    transform_lua | update_one | trigger_backfill)
      got=$(val "SELECT count(*) || ' ' || count(*) FILTER (WHERE slug IS DISTINCT FROM lower(username)) FROM users")
      [ "$got" = "$rows 0" ] || die "$m: expected $rows users with slug = lower(username); got '$got' (count, wrong)" ;;
  esac
  if is_planrun "$m"; then
    local target=$db
    [ "$m" = copy_xdb ] && target=$db2
    got=$(psql -X -A -t -q -d "$target" -c "SELECT state FROM planrun.schema_migrations")
    [ "$got" = applied ] || die "$m: planrun left the plan '$got', not applied"
  fi
}

# Runs measurement $1 once (repetition $2): prepare, time, check, reset.
measure() {
  local m=$1 rep=$2 log=$work/log/$1.$2 json=$work/log/$1.$2.json
  prepare "$m"
  rm -f "$work/rss"
  if ! hyperfine --runs 1 --shell bash --style none --export-json "$json" \
    "$(command_of "$m" "$log")" >"$log.hyperfine" 2>&1; then
    echo "bench: $m failed (repetition $rep):" >&2
    cat "$log.hyperfine" "$log.src" "$log" 2>/dev/null | tail -n 30 | mask >&2
    exit 1
  fi
  check "$m"
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][0]["times"][0])' \
    "$json" >>"$work/seconds.$m"
  if is_planrun "$m"; then cat "$work/rss" >>"$work/rss.$m"; fi
  reset_state
  printf 'bench: rep %d %-20s %8.2f s\n' "$rep" "$m" "$(tail -n 1 "$work/seconds.$m")" >&2
}

# --- setup -----------------------------------------------------------------------
selected=()
for m in "${all_measurements[@]}"; do
  for c in ${cases//,/ }; do
    for need in $(measurements_of "$c"); do
      if [ "$need" = "$m" ]; then
        selected+=("$m")
        break 2
      fi
    done
  done
done

mkdir -p "$work/log"
echo "bench: $rows rows, $reps repetitions, cases $cases; loading the data" >&2
admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS $db2 WITH (FORCE)" \
  -c "CREATE DATABASE $db"
sql -f "$bench_dir/sql/tables.sql"
load_users users "$rows"
users_hash=$(val "SELECT count(*) || ' ' || sum(hashtext(u::text)) FROM users u")
for m in "${selected[@]}"; do
  case $m in
    copy_lua | copy_xdb | copy_map | transform_lua) make_plan "$m" "$m" users default ;;
    copy_lua_4x)
      make_plan "$m" copy_lua users_4x default
      sql -c "CREATE TABLE users_4x (LIKE users INCLUDING ALL)"
      load_users users_4x $((4 * rows)) ;;
    copy_lua_one_batch) make_plan "$m" copy_lua users "$rows" ;;
    pgloader)
      sed -e "s|@SOURCE_URL@|$(pgloader_url "$db")|" -e "s|@TARGET_URL@|$(pgloader_url "$db2")|" \
        "$bench_dir/pgloader.load.in" >"$work/pgloader.load" ;;
  esac
done
reset_state

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((rep = 1; rep <= reps; rep++)); do
  for m in "${selected[@]}"; do measure "$m" "$rep"; done
done

# --- the report --------------------------------------------------------------------
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A secs rate
for m in "${selected[@]}"; do
  secs[$m]=$(median "$work/seconds.$m")
  rate[$m]=$(awk -v n="$(rows_of "$m")" -v s="${secs[$m]}" 'BEGIN { printf "%.0f", n / s }')
done
ratio() { awk -v a="${rate[$1]}" -v b="${rate[$2]}" 'BEGIN { printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
group() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } print s r }'; }
has() { [[ " ${selected[*]} " == *" $1 "* ]]; }
peak_rss() { sort -n "$work/rss.$1" | tail -n 1; }

limit_of() {
  case $1 in
    copy_lua)
      local pipe="" rows5=""
      has psql_pipe && pipe="$(ratio copy_lua psql_pipe) x psql pipe"
      has row_at_a_time && rows5="$(ratio copy_lua row_at_a_time) x one INSERT per row"
      echo "$pipe${pipe:+${rows5:+, }}$rows5" ;;
    copy_map) has insert_select && echo "$(ratio copy_map insert_select) x INSERT ... SELECT" ;;
    copy_xdb) has pgloader && echo "$(ratio copy_xdb pgloader) x pgloader" ;;
    transform_lua)
      has update_one && echo "$(ratio transform_lua update_one) x UPDATE, $(ratio transform_lua trigger_backfill) x backfill" ;;
    copy_lua_one_batch | copy_lua_4x) has copy_lua && echo "$(ratio "$1" copy_lua) x case 1" ;;
    row_at_a_time)
      awk -v s="${secs[$1]}" -v n="$subset" 'BEGIN { printf "limit (%.3f ms per row)", s * 1000 / n }' ;;
    *) echo "limit" ;;
  esac
}

# A target row: name, goal text, measured text, met (1/0).
target() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$([ "$4" = 1 ] && echo yes || echo "**no**")"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? 1 : 0 }'; }

report() {
  local pg cpus mem
  pg=$(val "SHOW server_version")
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  echo "## planrun data-step benchmark"
  echo
  echo "$(group "$rows") rows, median of $reps interleaved repetitions; $("$planrun" --version);" \
    "$cpus CPUs ($(lscpu | sed -n 's/^Model name: *//p')), $mem; PostgreSQL $pg" \
    "(shared_buffers $(val "SHOW shared_buffers"), max_wal_size $(val "SHOW max_wal_size")," \
    "fsync $(val "SHOW fsync"), synchronous_commit $(val "SHOW synchronous_commit"));" \
    "load average $load_before before the measurements, $(cut -d' ' -f1-3 /proc/loadavg) after."
  echo
  echo "| case | rows | seconds | rows/s | ratio to the limit | peak RSS |"
  echo "|---|---:|---:|---:|---|---:|"
  for m in "${selected[@]}"; do
    local rss=""
    is_planrun "$m" && rss="$(mib "$(peak_rss "$m")") MiB"
    printf '| %s | %s | %.2f | %s | %s | %s |\n' "$(label_of "$m")" "$(group "$(rows_of "$m")")" \
      "${secs[$m]}" "$(group "${rate[$m]}")" "$(limit_of "$m")" "$rss"
  done
  echo
  echo "| target | goal | measured | met |"
  echo "|---|---|---|---|"
  local r
  for c in ${cases//,/ }; do
    case $c in
      1) r=$(ratio copy_lua psql_pipe); target "copy with Lua / psql COPY pipe" ">= 0.8" "$r" "$(ge "$r" 0.8)" ;;
      3) r=$(ratio copy_map insert_select); target "copy without a hook / INSERT ... SELECT" ">= 0.9" "$r" "$(ge "$r" 0.9)" ;;
      4) r=$(ratio copy_xdb pgloader); target "cross-database copy / pgloader" ">= 3" "$r" "$(ge "$r" 3)" ;;
      5) r=$(ratio copy_lua row_at_a_time); target "copy with Lua / one INSERT per row" ">= 25" "$r" "$(ge "$r" 25)" ;;
      6)
        r=$(ratio transform_lua update_one); target "transform with Lua / one-statement UPDATE" ">= 0.8" "$r" "$(ge "$r" 0.8)"
        r=$(ratio transform_lua trigger_backfill); target "transform with Lua / trigger backfill" ">= 1.2" "$r" "$(ge "$r" 1.2)" ;;
      7)
        local one four
        one=$(peak_rss copy_lua) four=$(peak_rss copy_lua_4x)
        target "peak RSS at $(group "$rows") rows" "<= 64 MiB" "$(mib "$one") MiB" "$(ge 65536 "$one")"
        r=$(awk -v a="$four" -v b="$one" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')
        target "peak RSS at $(group $((4 * rows))) rows against $(group "$rows")" "within 10%" \
          "$(mib "$four") MiB ($r)" "$(ge "$(awk -v a="$four" -v b="$one" 'BEGIN { print b * 1.1 - a }')" 0)" ;;
      8)
        r=$(awk -v a="${secs[copy_lua]}" -v b="${secs[copy_lua_one_batch]}" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')
        target "checkpointed batches against one batch" "<= +10%" "$r" \
          "$(ge "$(awk -v a="${secs[copy_lua]}" -v b="${secs[copy_lua_one_batch]}" 'BEGIN { print b * 1.1 - a }')" 0)" ;;
    esac
  done
  echo
  echo "Seconds of each repetition:"
  echo
  echo "| case | $(seq -s ' | ' 1 "$reps" | sed 's/[0-9][0-9]*/rep &/g') |"
  echo "|---|$(for ((i = 0; i < reps; i++)); do printf -- '---:|'; done)"
  for m in "${selected[@]}"; do
    echo "| $(label_of "$m") | $(awk '{ printf "%s%.2f", (NR > 1 ? " | " : ""), $1 }' "$work/seconds.$m") |"
  done
}

report >"$work/report.md"
cat "$work/report.md"
[ -z "$out" ] || cp "$work/report.md" "$out"
