#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and
# integration) through ctest against a throwaway PostgreSQL cluster started
# by pg_virtualenv. Extra arguments go to ctest (e.g. -L unit, -R plan).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build_dir=${BUILD_DIR:-build}
# pg_virtualenv runs ctest with PGHOST/PGPORT/PGUSER/PGPASSWORD set for a
# private cluster that is dropped afterwards; -t keeps the cluster's files in
# a temporary directory, which also lets fault_restart_test restart it.
exec pg_virtualenv -t -- ctest --test-dir "$build_dir" --output-on-failure -j2 "$@"
