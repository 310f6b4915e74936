#!/usr/bin/env bash
# The whole test suite again, in an AddressSanitizer + UndefinedBehaviorSanitizer
# build (build-asan/, or $BUILD_DIR) against a throwaway PostgreSQL. Any
# sanitizer report fails the test that triggered it. The kill trials of the
# fault suite are slower under ASan, so this runs PLANRUN_FAULT_TRIALS=10 of
# them unless told otherwise. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export BUILD_DIR=${BUILD_DIR:-build-asan}
scripts/build.sh -DPLANRUN_SANITIZE=ON
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PLANRUN_FAULT_TRIALS=${PLANRUN_FAULT_TRIALS:-10}
exec pg_virtualenv -t -- ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@"
