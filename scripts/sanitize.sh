#!/usr/bin/env bash
# The sanitizer check CI runs after the main suite: builds everything with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer's coverage instrumentation) into
# build-sanitize/ (for x86-64-v3 where the CPU has it), runs every test except the long learning
# runs (label `slow`), then runs each fuzz target on its seed corpus for RAM_FUZZ_SECONDS seconds
# (default 30).
# Usage: bash scripts/sanitize.sh   (scripts/setup.sh must have run: it installs clang)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RAM_SANITIZE_BUILD_DIR:-$ROOT/build-sanitize}"

# For AVX2 and FMA without AVX-512 (x86-64-v3) where the CPU has them, so that with the native
# and the portable builds of scripts/test.sh three vector widths are tested on one machine.
ARCH=x86-64-v2
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then ARCH=x86-64-v3; fi
# Without the Python module: an extension built with ASan cannot be loaded by an uninstrumented
# python3. Without MPI: Open MPI's own allocations would drown the leak reports, and this is the
# build that checks ram without MPI builds and passes every test.
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DRAM_PYTHON=OFF \
  -DRAM_MPI=OFF -DRAM_SANITIZE=ON -DRAM_FUZZ=ON -DRAM_ARCH="$ARCH" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
# halt_on_error: the first report fails the test instead of scrolling by.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
# Leaks are ours to fix, except the global caches of fontconfig (see the file).
export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan-suppressions.txt:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$(nproc)" -LE slow)
RAM_BUILD_DIR="$BUILD_DIR" bash "$ROOT/scripts/fuzz.sh" "${RAM_FUZZ_SECONDS:-30}"
