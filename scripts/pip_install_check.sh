#!/usr/bin/env bash
# Installs the Python module with pip into a fresh virtual environment (which sees Debian's
# numpy through --system-site-packages), offline and reusing the build folder, then imports it
# from outside the source tree and runs a few calls.
# Usage: bash scripts/pip_install_check.sh [BUILD_DIR]   (default: build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "${1:-${RAM_BUILD_DIR:-$ROOT/build}}" && pwd)"
VENV="$(mktemp -d)"
trap 'rm -rf "$VENV" "$ROOT/ram.egg-info"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$VENV"
RAM_BUILD_DIR="$BUILD_DIR" "$VENV/bin/pip" install --quiet --no-build-isolation --no-index \
  --no-cache-dir "$ROOT"
cd "$VENV"
env -u PYTHONPATH "$VENV/bin/python" - <<'PY'
import numpy as np
import ram
assert ram.__file__.startswith(__import__("sys").prefix), ram.__file__
obs, info = ram.catch.CatchEnv().reset(seed=1)
assert obs.shape == (24, 24) and info["frame"] == 0
assert ram.retina(np.ones((8, 8), np.float32), (0, 0), patch=2, scales=1).sum() == 4
print(f"pip install: ram {ram.__file__} imports and runs")
PY
