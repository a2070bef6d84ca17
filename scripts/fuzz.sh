#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan into build-fuzz/ and runs each for SECONDS (default 60).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]    build and run (all targets by default)
#   scripts/fuzz.sh --build                  build only
#   scripts/fuzz.sh --seeds                  regenerate tests/fuzz/corpus/ seeds
#
# Corpora: tests/fuzz/corpus/<target>/ are the committed seeds (read only;
# fuzz_safetensors uses those of model_load);
# what the fuzzer discovers goes to build-fuzz/corpus/<target>/. Crashes,
# leaks and timeouts are written to tests/fuzz/crashes/<target>-*; every one
# kept there is replayed by the ctest test_fuzz_regressions. Statistics of
# each run: build-fuzz/logs/<target>.log, a summary in build-fuzz/summary.txt.
# FUZZ_BUILD overrides the build folder, FUZZ_JOBS the build parallelism,
# FUZZ_SEED the libFuzzer seed (default 1, reproducible; 0 = random).
# Exit status: 0 when no target found anything.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="${FUZZ_BUILD:-build-fuzz}"
jobs="${FUZZ_JOBS:-2}"
targets_all=(model_load safetensors image_view image_decode)

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"

build_all() {
  # The library and the CLI's image decoders through CMake (so per-file ISA
  # flags stay those of the real build), instrumented for coverage.
  CC=clang cmake -S . -B "$build/cmake" -DCMAKE_BUILD_TYPE=Debug \
    -DMNET_BUILD_TESTS=OFF -DMNET_BUILD_CLI=ON \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $san" >/dev/null
  cmake --build "$build/cmake" -j "$jobs" --target mnet_static mnet_image_io >/dev/null
  local lib="$build/cmake/libmnet.a" image_lib="$build/cmake/tools/mnet/libmnet_image_io.a"
  local common=(-std=c11 -Wall -Wextra -Werror -Iinclude -Isrc -fsanitize=fuzzer $san)
  clang "${common[@]}" tests/fuzz/fuzz_model_load.c "$lib" -lm -lpthread \
    -o "$build/fuzz_model_load"
  clang "${common[@]}" tests/fuzz/fuzz_safetensors.c "$lib" -lm -lpthread \
    -o "$build/fuzz_safetensors"
  clang "${common[@]}" tests/fuzz/fuzz_image_view.c "$lib" -lm -lpthread \
    -o "$build/fuzz_image_view"
  clang "${common[@]}" -Itools/mnet tests/fuzz/fuzz_image_decode.c "$image_lib" -ljpeg -lpng \
    -o "$build/fuzz_image_decode"
}

make_seeds() {
  # The seed writer asks the library which tensors a config needs; a plain
  # build, so that a memory error the fuzzers are meant to find does not
  # stop the seeds from being written.
  cmake -S . -B "$build/plain" -DCMAKE_BUILD_TYPE=Release -DMNET_BUILD_TESTS=OFF \
    -DMNET_BUILD_CLI=OFF >/dev/null
  cmake --build "$build/plain" -j "$jobs" --target mnet_static >/dev/null
  cc -std=c11 -O1 -Wall -Wextra -Werror -Iinclude -Isrc tests/fuzz/make_model_seeds.c \
    "$build/plain/libmnet.a" -lm -lpthread -o "$build/make_model_seeds"
  local corpus=tests/fuzz/corpus
  rm -rf "$corpus/model_load" "$corpus/safetensors" "$corpus/image_decode" "$corpus/image_view"
  mkdir -p "$corpus/model_load"
  "$build/make_model_seeds" "$corpus/model_load" "$root"
  /usr/bin/python3 tests/fuzz/make_image_seeds.py "$root" "$corpus"
  du -sh "$corpus"
}

run_one() {
  local target="$1" seconds="$2"
  local work="$build/corpus/$target" log="$build/logs/$target.log"
  mkdir -p "$work" "$build/logs" tests/fuzz/crashes
  local extra=() seeds="tests/fuzz/corpus/$target"
  case "$target" in
    model_load) extra+=(-dict=tests/fuzz/model.dict) ;;
    # The header-level target starts from the same model files.
    safetensors) extra+=(-dict=tests/fuzz/model.dict); seeds=tests/fuzz/corpus/model_load ;;
  esac
  echo "== fuzz_$target for ${seconds}s"
  local rc=0
  # -timeout: one input running longer is a hang; -rss_limit_mb bounds
  # memory (a model or image may not make the library allocate more).
  # -seed: a fixed seed (FUZZ_SEED, default 1; 0 = random) makes a pass
  # reproducible, so CI fails only on inputs a developer can replay.
  "$build/fuzz_$target" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="tests/fuzz/crashes/$target-" \
    "${extra[@]}" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  local execs
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)"
  local cov
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo ?)"
  local status=ok
  if [ "$rc" != 0 ]; then
    status="FAILED (exit $rc, see $log)"
    grep -E 'ERROR:|SUMMARY:|Test unit written' "$log" | head -5 || true
  fi
  printf '%-14s %5ss %10s execs  cov %-6s %s\n' "$target" "$seconds" "$execs" "$cov" "$status" \
    | tee -a "$build/summary.txt"
  return "$rc"
}

mkdir -p "$build"
case "${1:-}" in
  --build) build_all; exit 0 ;;
  --seeds) make_seeds; exit 0 ;;
esac
seconds="${1:-60}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${targets_all[@]}")
build_all
: >"$build/summary.txt"
status=0
for target in "${targets[@]}"; do
  run_one "$target" "$seconds" || status=1
done
echo "== summary (also in $build/summary.txt)"
cat "$build/summary.txt"
exit "$status"
