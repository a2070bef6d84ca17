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
(cd "$build_asan" && ctest --output-on-failure -R '^py_test_cli') || status=1

# Every kernel set the CPU has must give the same answers: the model tests
# again with each one forced (the Release pass used the best). The scalar
# reference is slow, so it gets the whole-network tests on small inputs only.
isa_tests=(
  "ref:test_model_load|test_invres|networks_vs_torch"
  "avx2:test_model_load|test_invres|networks_vs_torch|ssd_vs_torch|deeplab_vs_torch|pretrained_vs_oracles|detect_vs_armnn|segment_vs_armnn"
)
for entry in "${isa_tests[@]}"; do
  isa="${entry%%:*}"
  if [ "$isa" != ref ] && ! grep -qw "$isa" /proc/cpuinfo; then
    echo "== MNET_ISA=$isa: skipped, this CPU lacks it"
    continue
  fi
  echo "== MNET_ISA=$isa: model tests ($build/)"
  (cd "$build" && MNET_ISA=$isa ctest --output-on-failure -R "${entry#*:}") || status=1
done

# Robustness: a bounded fuzz pass, ThreadSanitizer and valgrind (docs/ROBUSTNESS.md).
if [ "${MNET_SKIP_ROBUSTNESS:-0}" != 1 ]; then
  echo "== fuzzing (${MNET_FUZZ_SECONDS:-20} s per target, build-fuzz/)"
  scripts/fuzz.sh "${MNET_FUZZ_SECONDS:-20}" || status=1
  echo "== ThreadSanitizer and valgrind (build-tsan/, build-valgrind/)"
  scripts/sanitizers.sh || status=1
fi
exit "$status"
