#!/usr/bin/env bash
# Thread and memory checks that the ASan/UBSan pass of scripts/test.sh does
# not cover:
#   1. ThreadSanitizer (clang, -DMNET_TSAN=ON, build-tsan/): the shared-model
#      concurrency test and the tests whose sessions run the thread pool.
#   2. Valgrind memcheck (uninstrumented RelWithDebInfo build in
#      build-valgrind/): a few C tests and the CLI (`mnet info`, `mnet
#      classify`) on good and bad inputs. Any memcheck error or leak fails.
#
#   scripts/sanitizers.sh [tsan|valgrind]...   (both by default)
#
# MNET_TSAN_BUILD / MNET_VALGRIND_BUILD override the build folders,
# SANITIZER_JOBS the build parallelism (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
jobs="${SANITIZER_JOBS:-2}"
tsan_build="${MNET_TSAN_BUILD:-build-tsan}"
vg_build="${MNET_VALGRIND_BUILD:-build-valgrind}"
export MNET_SOURCE_DIR="$root" MNET_SHARED_DIR="$root/../shared"
status=0

# Tests are compiled directly against the library built by CMake, so that
# this script does not depend on the test list of the CMake build.
compile_test() { # compiler flags... -- output source library
  local cc="$1" out="$2" src="$3" lib="$4"
  shift 4
  "$cc" -std=c11 -Wall -Wextra -Werror -g -O1 "$@" -Iinclude -Isrc -Itests "$src" "$lib" \
    -lm -lpthread -o "$out"
}

tsan_tests=(tests/robustness/test_concurrency.c tests/models/test_model_load.c
            tests/kernels/test_invres.c)

run_tsan() {
  echo "== ThreadSanitizer ($tsan_build/)"
  CC=clang cmake -S . -B "$tsan_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMNET_TSAN=ON \
    -DMNET_BUILD_TESTS=OFF -DMNET_BUILD_CLI=OFF >/dev/null
  cmake --build "$tsan_build" -j "$jobs" --target mnet_static >/dev/null
  mkdir -p "$tsan_build/tests"
  for src in "${tsan_tests[@]}"; do
    [ -f "$src" ] || continue
    local name exe
    name="$(basename "$src" .c)"
    exe="$tsan_build/tests/$name"
    compile_test clang "$exe" "$src" "$tsan_build/libmnet.a" -fsanitize=thread
    echo "-- $name"
    # Two passes per thread keep the run short (TSan is 5-15x slower).
    if TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
       MNET_CONCURRENCY_ITERATIONS=2 "$exe" >"$exe.log" 2>&1; then
      tail -n 3 "$exe.log"
    else
      echo "FAILED: $name (log: $exe.log)"
      grep -E 'WARNING: ThreadSanitizer|SUMMARY|CHECK failed' "$exe.log" | head -10 || true
      status=1
    fi
  done
}

vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --track-origins=yes)

# Runs a command under memcheck; fails only on memcheck errors (exit 99) or
# a crash, since bad inputs are expected to make the CLI exit non-zero.
memcheck() { # label expected-exit command...
  local label="$1" expect="$2"
  shift 2
  local log="$vg_build/memcheck/$(echo "$label" | tr -c 'A-Za-z0-9_.-' '_').log"
  local rc=0
  "${vg[@]}" --log-file="$log" "$@" >/dev/null 2>"$log.stderr" || rc=$?
  if [ "$rc" = 99 ] || [ "$rc" -ge 128 ] || { [ "$expect" = 0 ] && [ "$rc" != 0 ]; } ||
     { [ "$expect" = fail ] && [ "$rc" = 0 ]; }; then
    echo "FAILED: $label (exit $rc; $log)"
    head -20 "$log" "$log.stderr"
    status=1
  else
    echo "ok: $label (exit $rc)"
  fi
}

vg_tests=(tests/core/test_safetensors.c tests/core/test_json.c tests/core/test_model_config.c
          tests/robustness/test_fuzz_regressions.c tests/models/test_model_load.c)

run_valgrind() {
  echo "== valgrind memcheck ($vg_build/)"
  if ! command -v valgrind >/dev/null; then
    echo "valgrind not installed"
    status=1
    return
  fi
  cmake -S . -B "$vg_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMNET_BUILD_TESTS=OFF \
    -DMNET_BUILD_CLI=ON >/dev/null
  cmake --build "$vg_build" -j "$jobs" --target mnet_static mnet >/dev/null
  mkdir -p "$vg_build/tests" "$vg_build/memcheck" "$vg_build/inputs"
  for src in "${vg_tests[@]}"; do
    [ -f "$src" ] || continue
    local name
    name="$(basename "$src" .c)"
    compile_test cc "$vg_build/tests/$name" "$src" "$vg_build/libmnet.a"
    memcheck "$name" 0 "$vg_build/tests/$name"
  done

  local cli="$vg_build/mnet" model="models/mobilenet_v2_1.0_224.safetensors"
  local inputs="$vg_build/inputs" image=examples/images/banana.jpg
  head -c 3000 "$image" >"$inputs/cut.jpg"
  head -c 20000 "$model" >"$inputs/cut.safetensors"
  echo "not an image" >"$inputs/text.jpg"
  printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\x01\0\0\0\x01\0\0\x08\x02' >"$inputs/huge_header.png"
  rm -f "$inputs/fifo" && mkfifo "$inputs/fifo"
  if [ -f "$model" ]; then
    memcheck "info" 0 "$cli" info "$model"
    memcheck "info --json" 0 "$cli" info --json "$model"
    memcheck "classify" 0 "$cli" classify -m "$model" -k 3 --threads 2 "$image" \
      tests/fuzz/corpus/image_decode/dog_rgba.png
    memcheck "classify, bad images" fail "$cli" classify -m "$model" "$inputs/cut.jpg" \
      "$inputs/text.jpg" "$inputs/huge_header.png" /nonexistent.jpg "$image"
    memcheck "info, truncated model" fail "$cli" info "$inputs/cut.safetensors"
  fi
  memcheck "info, FIFO as model" fail "$cli" info "$inputs/fifo"
  memcheck "info, directory as model" fail "$cli" info "$inputs"
  memcheck "info, text as model" fail "$cli" info "$inputs/text.jpg"
  memcheck "classify, missing model" fail "$cli" classify -m /nonexistent.safetensors "$image"
  memcheck "classify, bad option" fail "$cli" classify -k nope "$image"
}

modes=("$@")
[ "${#modes[@]}" -gt 0 ] || modes=(tsan valgrind)
for mode in "${modes[@]}"; do
  case "$mode" in
    tsan) run_tsan ;;
    valgrind) run_valgrind ;;
    *) echo "unknown mode $mode (tsan, valgrind)"; exit 2 ;;
  esac
done
exit "$status"
