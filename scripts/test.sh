#!/usr/bin/env bash
# Runs every test: a Release build in build/ with all C and Python tests,
# then an AddressSanitizer + UBSan build with clang in build-asan/ with the C
# tests and the CLI test (the other Python tests load the library into an
# uninstrumented interpreter, so they run only in the first pass).
# MNET_SKIP_ASAN=1 skips the second pass; MNET_BUILD and MNET_BUILD_ASAN
# choose other build folders.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
build="${MNET_BUILD:-build}"
build_asan="${MNET_BUILD_ASAN:-build-asan}"

echo "== Release build ($build/)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"
# A failure in one pass does not hide the results of the other.
status=0
(cd "$build" && ctest --output-on-failure -j "$jobs") || status=1

if [ "${MNET_SKIP_ASAN:-0}" = 1 ]; then
  exit "$status"
fi
echo "== AddressSanitizer + UndefinedBehaviorSanitizer build ($build_asan/, clang)"
CC=clang cmake -S . -B "$build_asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMNET_SANITIZE=ON >/dev/null
cmake --build "$build_asan" -j "$jobs"
(cd "$build_asan" && ctest --output-on-failure -j "$jobs" -E '^py_') || status=1
(cd "$build_asan" && ctest --output-on-failure -R '^py_test_cli$') || status=1
exit "$status"
