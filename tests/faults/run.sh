#!/usr/bin/env bash
# Long local runs of the fault tests against a throwaway PostgreSQL cluster
# (pg_virtualenv -t: a private cluster, so restarting it disturbs nobody):
#   tests/faults/run.sh [--trials N] [--seed S] [--rows R] [--all]
# --trials N    apply kill trials (default 200; CI runs 30 through ctest)
# --seed S      PLANRUN_FAULT_SEED (default: a new one, printed)
# --rows R      rows of the trial table (default 200000)
# --all         also the lock and server-restart fault tests
# A failing trial prints PLANRUN_FAULT_SEED and PLANRUN_FAULT_ONLY_TRIAL to
# run it alone. BUILD_DIR (default build) is where it builds.
set -euo pipefail
cd "$(dirname "$0")/../.."

trials=200
seed=$(( $(date +%s) % 100000000 ))
rows=200000
all=0
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) trials="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    --all) all=1; shift ;;
    *) echo "usage: tests/faults/run.sh [--trials N] [--seed S] [--rows R] [--all]" >&2; exit 2 ;;
  esac
done

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja >/dev/null
targets=(planrun fault_kill_test)
[ "$all" = 1 ] && targets+=(fault_lock_test fault_restart_test)
ninja -C "$build_dir" -j"${JOBS:-2}" "${targets[@]}"

echo "fault trials: PLANRUN_FAULT_SEED=$seed, $trials trials, $rows rows"
export PLANRUN_SOURCE_DIR=$PWD PLANRUN_BINARY=$PWD/$build_dir/planrun
export PLANRUN_FAULT_SEED=$seed PLANRUN_FAULT_TRIALS=$trials PLANRUN_FAULT_ROWS=$rows
tests=("$build_dir/tests/fault_kill_test")
[ "$all" = 1 ] && tests+=("$build_dir/tests/fault_lock_test" "$build_dir/tests/fault_restart_test")
# pg_virtualenv sets PG* for its cluster; drop any from the calling shell.
exec env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD \
  pg_virtualenv -t sh -c 'status=0; for t in "$@"; do "$t" || status=1; done; exit $status' \
  sh "${tests[@]}"
