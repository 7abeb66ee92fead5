#!/usr/bin/env bash
# Set up, build, and run the whole test suite (what CI runs): a Release build with every test,
# then a sanitizer build (scripts/sanitize.sh) with every fast test and a short fuzzing run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "${RAM_BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure -j"$(nproc)"
# Then the whole suite again under ASan + UBSan, and the fuzz targets for a short while.
bash "$ROOT/scripts/sanitize.sh"
