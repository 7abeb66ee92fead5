#!/usr/bin/env bash
# Set up, build, and run the whole test suite (what CI runs): a Release build for this machine's
# CPU with every test; the same suite built for a portable baseline (x86-64-v2: SSE4.2, no AVX),
# so that no test depends on the instructions -march=native picked; then a sanitizer build
# (scripts/sanitize.sh) with every fast test and a short fuzzing run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
(cd "${RAM_BUILD_DIR:-$ROOT/build}" && ctest --output-on-failure -j"$(nproc)")
# The Python module installed with pip, offline, into a fresh virtual environment.
bash "$ROOT/scripts/pip_install_check.sh" "${RAM_BUILD_DIR:-$ROOT/build}"
# The portable build: its own build folder, every test.
RAM_BUILD_DIR="${RAM_PORTABLE_BUILD_DIR:-$ROOT/build-portable}" RAM_ARCH=x86-64-v2 \
  bash "$ROOT/scripts/setup.sh"
(cd "${RAM_PORTABLE_BUILD_DIR:-$ROOT/build-portable}" && ctest --output-on-failure -j"$(nproc)")
# Then the fast suite again under ASan + UBSan, and the fuzz targets for a short while.
bash "$ROOT/scripts/sanitize.sh"
