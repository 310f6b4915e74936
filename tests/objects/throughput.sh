#!/usr/bin/env bash
# Throughput of the objects step against fault_server.py with a per-request
# delay, for several `concurrency` values. Prints a Markdown table.
#   PLANRUN_BINARY=build/planrun tests/objects/throughput.sh [objects] [delay_ms] [concurrency...]
# Needs a PostgreSQL reachable through PG* variables; uses database planrun_objects_bench.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${PLANRUN_BINARY:-planrun}
n=${1:-200}
delay=${2:-50}
shift $(( $# > 2 ? 2 : $# ))
levels=("$@")
[ ${#levels[@]} -eq 0 ] && levels=(1 4 16 64)
work=$(mktemp -d)
python3 "$here/fault_server.py" --delay-ms "$delay" >"$work/port" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q PORT "$work/port" 2>/dev/null && break; sleep 0.05; done
url="http://127.0.0.1:$(awk '{print $2}' "$work/port")"
mkdir -p "$work/plans"
echo "| concurrency | objects | seconds | objects/s | speed-up |"
echo "|---:|---:|---:|---:|---:|"
base=""
for c in "${levels[@]}"; do
  dropdb --if-exists planrun_objects_bench
  createdb planrun_objects_bench
  psql -q -d planrun_objects_bench -c "CREATE TABLE images (id bigint PRIMARY KEY, src text, dst text);
    INSERT INTO images (id, src) SELECT g, '$url/src/c$c-' || g || '.png?size=20000' FROM generate_series(1, $n) g"
  cat >"$work/plans/1_bench.yaml" <<PLAN
version: 1
name: bench
steps:
  - id: move
    objects:
      from: {table: images, key: id}
      url: src
      to: {store: http, base_url: "$url/store", key: "c$c/{id}.png"}
      set: {dst: "{url}"}
      concurrency: $c
      batch_size: $n
PLAN
  start=$(date +%s.%N)
  PGDATABASE=planrun_objects_bench "$bin" -q --plans "$work/plans" apply
  secs=$(echo "$(date +%s.%N) - $start" | bc -l)
  [ -z "$base" ] && base=$secs
  printf "| %d | %d | %.2f | %.1f | %.1fx |\n" "$c" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" \
    "$(echo "$base / $secs" | bc -l)"
done
dropdb --if-exists planrun_objects_bench
