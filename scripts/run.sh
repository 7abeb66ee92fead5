#!/usr/bin/env bash
# The main job on the built-in default: set up, build, then train RAM on 60x60 translated MNIST
# digits (preset translated60-8g, its default budget of 210 epochs) and save the model to
# runs/default.
# Extra arguments go to `ram train`, e.g.: bash scripts/run.sh --epochs 5
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "${RAM_BUILD_DIR:-$ROOT/build}/src/cli/ram" train --out "$ROOT/runs/default" "$@"
