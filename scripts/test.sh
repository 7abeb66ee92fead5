#!/usr/bin/env bash
# Set up, build, and run the whole test suite (what CI runs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "${RAM_BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure -j"$(nproc)"
