#!/bin/sh
# The folder check can fail (ctest layers.folder_check_rejects_a_cycle): on a copy of src/ with the
# include that made today's one cycle put back (initialization's k-means reading quantizers/ while
# quantizers/ reads initialization/ for the default codebook), and a torch-free file reaching
# LibTorch through core/checks.h, check_folders.py must fail and name both.
#   folder_cycle_is_rejected.sh SOURCE_ROOT LAYER_TABLE
set -u
checker=$(dirname "$0")/check_folders.py
copy=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_folders_XXXXXX")
trap 'rm -rf "$copy"' EXIT
cp -r "$1" "$copy/src"
printf '#include <vqvae/quantizers/vq.h>\n' >> "$copy/src/modules/vqvae/initialization/codebook_init.cpp"
printf '#include <vqvae/core/checks.h>\n' >> "$copy/src/math/vqvae/math/statistics.cpp"
out=$(/usr/bin/python3 "$checker" "$copy/src" "$2")
status=$?
echo "$out"
[ $status -eq 1 ] || { echo "FAIL: expected exit status 1, got $status"; exit 1; }
echo "$out" | grep -q "circle: modules/vqvae/initialization -> modules/vqvae/quantizers -> modules/vqvae/initialization" ||
  { echo "FAIL: the cycle is not named"; exit 1; }
echo "$out" | grep -q "math/vqvae/math/statistics.cpp: layer math is torch-free, but reaches <ATen/core/Tensor.h>" ||
  { echo "FAIL: the torch-free layer's LibTorch include is not named"; exit 1; }
echo "ok"
