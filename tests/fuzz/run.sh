#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) and runs each for
# N seconds (default 60):
#   plan_fuzz       the plan parser and compiler, seeded with plans/examples
#                   and the bad-plan corpus
#   copy_text_fuzz  the COPY text codec, seeded with a few COPY lines
# A crash stops that fuzzer and leaves crash-<sha1> in the run's artifact
# directory; the script then exits non-zero. Findings are printed at the end.
#   tests/fuzz/run.sh [--seconds N]
# FUZZ_BUILD_DIR (default build-fuzz) and FUZZ_OUT_DIR (default
# $FUZZ_BUILD_DIR/fuzz-out) say where the build and the corpora go.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=60
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "usage: tests/fuzz/run.sh [--seconds N]" >&2; exit 2 ;;
  esac
done

build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
out_dir=${FUZZ_OUT_DIR:-$build_dir/fuzz-out}
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -G Ninja -DPLANRUN_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build_dir" -j"${FUZZ_JOBS:-2}" plan_fuzz copy_text_fuzz

# Seeds: every example plan and bad plan, and a few COPY text lines.
mkdir -p "$out_dir/plan/seeds" "$out_dir/plan/corpus" "$out_dir/plan/artifacts" \
  "$out_dir/copy_text/seeds" "$out_dir/copy_text/corpus" "$out_dir/copy_text/artifacts"
i=0
while IFS= read -r -d '' f; do
  cp "$f" "$out_dir/plan/seeds/$(printf '%04d' $i)-$(basename "$f")"
  i=$((i + 1))
done < <(find plans/examples tests/corpus/bad_plans -name '*.yaml' -print0 | sort -z)
printf 'a\tb\\N\t\\N\n' >"$out_dir/copy_text/seeds/nulls"
printf '{"a b",NULL,"\\\\"}\n' >"$out_dir/copy_text/seeds/array"
printf 'x\\ty\\n\\\\z\\x41\\101' >"$out_dir/copy_text/seeds/escapes"

status=0
run() {
  local name=$1 dir=$2
  echo "== $name: ${seconds}s"
  if ! "$build_dir/tests/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" "$dir/seeds" \
      2>"$dir/log.txt"; then
    status=1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$dir/log.txt" || true
  grep -E 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error|^SUMMARY' \
    "$dir/log.txt" || true
  local found
  found=$(find "$dir/artifacts" -type f | sort)
  if [ -n "$found" ]; then
    echo "findings of $name:"
    echo "$found"
    status=1
  fi
}
run plan_fuzz "$out_dir/plan"
run copy_text_fuzz "$out_dir/copy_text"
exit $status
