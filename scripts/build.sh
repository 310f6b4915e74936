#!/usr/bin/env bash
# Configures and builds planrun into build/ (or $BUILD_DIR). Extra arguments
# go to cmake, e.g. scripts/build.sh -DPLANRUN_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
ninja -C "$build_dir" -j"$(nproc)" | grep -v '^\[' || true
test -x "$build_dir/planrun"
