#!/bin/sh
# The folder check can fail (ctest layers.folder_check_rejects_a_cycle): on a copy of src/ with the
# include that made today's one cycle put back (initialization's k-means reading quantizers/ while
# quantizers/ reads initialization/ for the default codebook), an include running back up inside
# experiment/ (the sweep's grid reading the one-rate experiment, which runs as a sweep), an area's
# internal header including a public header of its area whose source includes it back (harness/
# <-> harness/detail/), and a torch-free file reaching LibTorch through tensor/checks.h,
# check_folders.py must fail and name all four.
#   folder_cycle_is_rejected.sh SOURCE_ROOT LAYER_TABLE
set -u
checker=$(dirname "$0")/check_folders.py
copy=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_folders_XXXXXX")
trap 'rm -rf "$copy"' EXIT
cp -r "$1" "$copy/src"
printf '#include <vqvae/quantizers/vq.h>\n' >> "$copy/src/modules/vqvae/initialization/codebook_init.cpp"
printf '#include <vqvae/tensor/checks.h>\n' >> "$copy/src/math/vqvae/math/statistics.cpp"
printf '#include <vqvae/experiment/experiment.h>\n' >> "$copy/src/study/vqvae/experiment/sweep_grid.h"
printf '#include <vqvae/harness/check_report.h>\n' >> "$copy/src/harness/vqvae/harness/detail/references.h"
out=$(/usr/bin/python3 "$checker" "$copy/src" "$2")
status=$?
echo "$out"
[ $status -eq 1 ] || { echo "FAIL: expected exit status 1, got $status"; exit 1; }
echo "$out" | grep -q "circle: modules/vqvae/initialization -> modules/vqvae/quantizers -> modules/vqvae/initialization" ||
  { echo "FAIL: the cycle is not named"; exit 1; }
echo "$out" | grep -q "files of one folder reach each other in a circle: study/vqvae/experiment/experiment -> .*study/vqvae/experiment/sweep_grid -> study/vqvae/experiment/experiment" ||
  { echo "FAIL: the include back up inside experiment/ is not named"; exit 1; }
echo "$out" | grep -Eq "circle: harness/vqvae/harness(/detail)? -> harness/vqvae/harness(/detail)? -> harness/vqvae/harness" ||
  { echo "FAIL: the area <-> detail/ cycle is not named"; exit 1; }
echo "$out" | grep -q "math/vqvae/math/statistics.cpp: layer math is torch-free, but reaches <ATen/core/Tensor.h>" ||
  { echo "FAIL: the torch-free layer's LibTorch include is not named"; exit 1; }
echo "ok"
