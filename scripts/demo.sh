#!/usr/bin/env bash
# The tour: installs what is missing, builds, starts a throwaway PostgreSQL
# (pg_virtualenv), loads the sample data and runs the example plans:
# validate, plan, apply, status, rollback, status. Everything is dropped at
# the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# PLANRUN_BINARY (the demo ctest sets it) skips installing and building.
if [ -n "${PLANRUN_BINARY:-}" ]; then
  export PLANRUN="$PLANRUN_BINARY"
else
  scripts/install-deps.sh
  scripts/build.sh
  export PLANRUN="$PWD/${BUILD_DIR:-build}/planrun"
fi

pg_virtualenv -t -- bash -euo pipefail -c '
  step() { printf "\n\033[1m$ %s\033[0m\n" "$*"; }
  run() { step "$*"; "$@"; }
  planrun() { "$PLANRUN" --plans plans/examples "$@"; }

  step "psql -f plans/examples/sample_data.sql   # a small package registry"
  psql -q -v ON_ERROR_STOP=1 -f plans/examples/sample_data.sql
  echo "$(psql -Atc "SELECT count(*) FROM packages") packages, $(psql -Atc "SELECT count(*) FROM teams") teams"

  step "planrun validate"; planrun validate
  step "planrun plan 2"; planrun plan 2
  step "planrun apply --dry-run --sample 5   # hooks over 5 rows per data step, nothing written"
  planrun apply --dry-run --sample 5
  step "planrun apply"; planrun apply
  step "planrun status"; planrun status
  step "psql: packages after plans 1-3"
  psql -c "SELECT id, name, description, public, tags FROM packages ORDER BY id LIMIT 5"
  step "psql: avatars made by the Lua hook of plan 4"
  psql -c "SELECT id, user_id, name, niche, meta FROM avatars ORDER BY id LIMIT 5"
  step "planrun rejects 5   # key-value records the hooks of plan 5 refused, with reasons"
  planrun rejects 5
  step "planrun rollback   # the newest plan"; planrun rollback
  step "planrun rollback --to 0   # everything else"; planrun rollback --to 0
  step "planrun status"; planrun status
  step "psql: packages are back to the sample data"
  psql -c "SELECT id, name, is_public, metadata FROM packages ORDER BY id LIMIT 3"
'
