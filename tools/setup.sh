#!/usr/bin/env bash
# One-command set-up for a fresh Debian 12 machine (as root), idempotent and quick when
# everything is already there:
#   bash tools/setup.sh main   install what is missing, configure, build, run `vqvae validate`
#   bash tools/setup.sh test   the same set-up, then the whole test suite (ctest)
#   bash tools/setup.sh build  the set-up and build only
# Everything comes from Debian's archive; nothing is downloaded from anywhere else.
set -euo pipefail

mode=${1:-main}
case "$mode" in main|test|build) ;; *) echo "usage: $0 main|test|build (got '$mode')" >&2; exit 2 ;; esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VQVAE_BUILD_DIR:-$root/build}

# libopenblas0-pthread: without it LibTorch runs on the reference BLAS, ~40x slower.
# hdf5-tools: h5dump, used by the CLI tests and by people inspecting fixtures.
# gnuplot-nox: draws the `vqvae experiment` plot (PNG through pngcairo).
packages=(cmake ninja-build g++ libtorch-dev libopenblas0-pthread libgtest-dev
          librapidcheck-dev libhdf5-dev hdf5-tools libcli11-dev nlohmann-json3-dev gnuplot-nox)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$build" -j "$(nproc)"

case "$mode" in
  main) "$build/vqvae" validate ;;
  test) cd "$build" && ctest --output-on-failure -j "$(nproc)" ;;
  build) ;;
esac
