#!/bin/sh
# Rate sweeps through the program: shards run as concurrent processes and merged, the merge's
# refusals, and a shard killed mid-way and started again (ctest sweep.*).
#   sweep_test.sh CASE
# Environment: VQVAE (the program). Each case runs in a fresh scratch folder. Files are compared
# with same_file.py (Debian's /usr/bin/python3 and python3-h5py): every dataset and attribute bit
# for bit; attributes are read with h5dump (hdf5-tools). Each case is gated on what it uses: the
# cases that compare or plant files exit 77 (ctest: skipped, the reason printed) when that Python
# cannot import h5py; the merge's refusals and the skipped cells need only h5dump, and run.
set -u
fail() { echo "FAIL: $*"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
same() { "$python" "$here/same_file.py" "$@"; }
need_h5py() {
  "$python" -c "import h5py" 2> /dev/null ||
    { echo "SKIP: $python cannot import h5py (apt-get install python3-h5py)"; exit 77; }
}
attribute() { h5dump -a "$2" "$1" | sed -n 's/^ *(0): *//p' | tr -d '"'; }
# A small grid of 3 sizes × 3 inits × 2 seeds, and its 3 × 2 k-means references (24 cells). At 128
# codewords kmeans needs more than --init-samples 100 latents: the cell says what it did instead.
grid="--n 1200 --init-samples 100 --codebook-sizes 8,32,128 --inits uniform,kmeans,rd_waterfill --seeds 2 --steps 30"

# Waits (up to $3 s) until file $1 has a line matching $2.
wait_for() {
  i=0
  while ! grep -q "$2" "$1" 2> /dev/null; do
    i=$((i + 1))
    [ $i -le $(($3 * 10)) ] || fail "no line '$2' in $1 after $3 s: $(cat "$1")"
    sleep 0.1
  done
}

# Runs `vqvae ARGS`, expecting exit status 1, one line on stderr containing $1, nothing on
# stdout, and no merged.h5 nor temporary written.
expect_refusal() {
  message=$1
  shift
  "$VQVAE" "$@" > stdout 2> stderr
  status=$?
  cat stderr
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  [ "$(wc -l < stderr)" -eq 1 ] || fail "stderr is not one line"
  grep -qF -- "$message" stderr || fail "stderr lacks: $message"
  [ ! -s stdout ] || fail "stdout: $(cat stdout)"
  [ ! -e merged.h5 ] || fail "merged.h5 was written"
  ! ls -A | grep -q '\.tmp\.' || fail "temporary left: $(ls -A)"
}

# The three parts of a tiny grid (2 sizes × 1 init × 1 seed + 2 references = 4 cells) as
# part1.h5 .. part3.h5, and with `--seeds 2` as other2.h5 (shard 2/3 of another grid).
tiny_parts() {
  tiny="--n 600 --codebook-sizes 8,16 --inits uniform --steps 5 --quiet"
  for i in 1 2 3; do
    # shellcheck disable=SC2086
    "$VQVAE" experiment $tiny --seeds 1 --shard $i/3 --out part$i.h5 > /dev/null || fail "shard $i/3 exited $?"
  done
  # shellcheck disable=SC2086
  "$VQVAE" experiment $tiny --seeds 2 --shard 2/3 --out other2.h5 > /dev/null || fail "other grid exited $?"
}

case_four_shards_merge_to_the_unsharded_file() {
  need_h5py
  # shellcheck disable=SC2086
  "$VQVAE" experiment $grid --out unsharded.h5 --plot unsharded.png > unsharded.txt 2> unsharded.err ||
    fail "unsharded run exited $?"
  # The four shards at once, as four array tasks would run them.
  for i in 1 2 3 4; do
    # shellcheck disable=SC2086
    "$VQVAE" experiment $grid --shard $i/4 --out part$i.h5 > shard$i.txt 2>&1 &
    eval "pid$i=\$!"
  done
  for i in 1 2 3 4; do
    eval "wait \$pid$i" || { cat shard$i.txt; fail "shard $i/4 exited with an error"; }
    cat shard$i.txt
  done
  # Every cell in exactly one part: 24 in all.
  cells=0
  for i in 1 2 3 4; do
    n=$(h5dump -d /cell_indices part$i.h5 | sed -n 's/.*DATASPACE *SIMPLE { ( \([0-9]*\) ).*/\1/p')
    cells=$((cells + ${n:-0}))
  done
  [ $cells -eq 24 ] || fail "the parts hold $cells cells, expected 24"
  "$VQVAE" merge part3.h5 part1.h5 part4.h5 part2.h5 --out merged.h5 --plot merged.png > merged.txt ||
    fail "merge exited $?"
  cat merged.txt
  same unsharded.h5 merged.h5 --except command || fail "the merged file differs from the unsharded run's"
  sed '/^wrote /,$d' unsharded.txt > unsharded.table
  sed '/^merged /,$d' merged.txt > merged.table
  cmp unsharded.table merged.table || fail "the merged table differs from the unsharded run's"
  [ -s merged.png ] && [ -s unsharded.png ] || fail "no plot"
  # Bits per latent dimension log2(size) / k: 3/8, 5/8, 7/8.
  grep -q '^8 codewords: R = 3.00 bits, 0.375 bits per latent dimension' merged.txt || fail "rate of 8 codewords"
  grep -q '^128 codewords: R = 7.00 bits, 0.875 bits per latent dimension' merged.txt || fail "rate of 128 codewords"
  # The cell k-means cannot serve as configured says what it ran, in the table and the file.
  # Like for like: every init at 128 codewords ran from the 128 latents k-means needs.
  grep -q '^  kmeans (\*)' merged.txt || fail "the 128-codeword kmeans row is not marked"
  grep -q '^  uniform (\*)' merged.txt || fail "the 128-codeword uniform row is not marked"
  grep -q '^(\*) 128 codewords: every init at 128 codewords from 128 latents instead of init_samples = 100' merged.txt ||
    fail "no note in the table"
  [ "$(grep -c '^(\*) 128 codewords:' merged.txt)" -eq 1 ] || fail "the note is not printed once for the size"
  for init in kmeans uniform; do
    [ "$(attribute merged.h5 /sizes/128/runs/$init/note)" = \
      "every init at 128 codewords from 128 latents instead of init_samples = 100 (kmeans needs one per codeword)" ] ||
      fail "no note on $init in the file"
  done
  ! ls -A | grep -q 'partial' || fail "a work folder is left: $(ls -A)"
}

# SLURM's variables choose the shard when --shard is absent: --array=4-5 (MIN 4) is shards 1/2
# and 2/2; the two parts merge to the unsharded file.
case_slurm_variables_choose_the_shard() {
  need_h5py
  tiny="--n 600 --codebook-sizes 8,16 --inits uniform,rd_waterfill --seeds 2 --steps 5 --quiet"
  # shellcheck disable=SC2086
  "$VQVAE" experiment $tiny --out unsharded.h5 --plot '' > /dev/null || fail "unsharded run exited $?"
  for id in 4 5; do
    # shellcheck disable=SC2086
    SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=2 \
      "$VQVAE" experiment $tiny --out task$id.h5 || fail "task $id exited $?"
  done
  [ "$(attribute task4.h5 /shard_index)" = 1 ] && [ "$(attribute task5.h5 /shard_index)" = 2 ] ||
    fail "task 4 is shard $(attribute task4.h5 /shard_index), task 5 is $(attribute task5.h5 /shard_index)"
  [ "$(attribute task5.h5 /shard_count)" = 2 ] || fail "shard count"
  "$VQVAE" merge task4.h5 task5.h5 --out merged.h5 --plot '' > /dev/null || fail "merge exited $?"
  same unsharded.h5 merged.h5 --except command || fail "merged differs"
  # The flag wins over the variables.
  # shellcheck disable=SC2086
  SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=8 "$VQVAE" experiment $tiny --shard 2/2 --out flag.h5 ||
    fail "exited $?"
  [ "$(attribute flag.h5 /shard_count)" = 2 ] || fail "--shard did not win over SLURM_ARRAY_TASK_*"
}

case_merge_refuses_a_missing_shard() {
  tiny_parts
  expect_refusal "shard 2/3 is missing" merge part1.h5 part3.h5 --out merged.h5 --plot ''
}

case_merge_refuses_a_duplicate_shard() {
  tiny_parts
  cp part2.h5 copy_of_part2.h5
  expect_refusal "part2.h5 and copy_of_part2.h5 are both shard 2/3 (a duplicate)" \
    merge part1.h5 part2.h5 copy_of_part2.h5 part3.h5 --out merged.h5 --plot ''
}

case_merge_refuses_a_part_of_another_grid() {
  tiny_parts
  expect_refusal "other2.h5 comes from another grid than part1.h5 (seeds 2 vs 1)" \
    merge part1.h5 other2.h5 part3.h5 --out merged.h5 --plot ''
}

case_merge_refuses_a_file_that_is_not_a_part() {
  "$VQVAE" experiment --n 600 --codebook-sizes 8,16 --inits uniform --seeds 1 --steps 5 --quiet \
    --out whole.h5 --plot '' > /dev/null || fail "exited $?"
  expect_refusal "whole.h5: not a part of a sharded \`vqvae experiment\`" merge whole.h5 --out merged.h5 --plot ''
}

# Shard 1/2 of a grid of 12 training runs of ~0.3 s: killed (SIGKILL: no handler runs) after its
# second run, then started again with the same command, it reads the finished runs back and
# writes the same part, byte for byte, as a shard that was never killed.
case_killed_shard_resumes_to_the_same_file() {
  need_h5py
  slow="--n 2000 --codebook-sizes 16,64 --inits uniform,rd_waterfill --seeds 3 --steps 2000 --eval-every 500"
  mkdir reference killed
  # shellcheck disable=SC2086
  (cd reference && "$VQVAE" experiment $slow --shard 1/2 --out part.h5 > stdout 2> stderr) ||
    fail "the reference shard exited $?"
  cd killed || fail "no folder"
  # shellcheck disable=SC2086
  "$VQVAE" experiment $slow --shard 1/2 --out part.h5 > stdout 2> stderr &
  pid=$!
  wait_for stderr '^\[2/' 120
  kill -KILL $pid
  wait $pid
  [ ! -e part.h5 ] || fail "a killed shard wrote its part"
  kept=$(ls part.h5.partial | grep -c '^cell_')
  [ "$kept" -ge 2 ] || fail "$kept finished runs kept in part.h5.partial, expected >= 2"
  # shellcheck disable=SC2086
  "$VQVAE" experiment $slow --shard 1/2 --out part.h5 > stdout 2> stderr || { cat stderr; fail "restart exited $?"; }
  cat stderr stdout
  resumed=$(grep -c 'finished earlier, read from part.h5.partial' stderr)
  [ "$resumed" -eq "$kept" ] || fail "$resumed cells read back, $kept were kept"
  grep -q "($kept read from an earlier start)" stdout || fail "the summary line does not count them"
  [ ! -e part.h5.partial ] || fail "the work folder is left: $(ls -A part.h5.partial)"
  cd .. || fail "cd"
  same reference/part.h5 killed/part.h5 || fail "the resumed shard's part differs"
}

# A work folder of another grid is not mixed in: one line, exit 2, nothing run.
case_work_folder_of_another_grid_is_refused() {
  need_h5py
  mkdir e.h5.partial
  # shellcheck disable=SC2086
  "$VQVAE" experiment --n 600 --codebook-sizes 8,16 --inits uniform --steps 5 --seeds 1 --shard 1/2 \
    --out other.h5 > /dev/null || fail "exited $?"
  # Plant a finished cell of that grid (seeds 1) where a seeds-2 run of the same --out looks.
  "$python" - other.h5 <<'PY' || fail "could not plant a cell"
import sys, h5py
with h5py.File(sys.argv[1], "r") as part, h5py.File("e.h5.partial/cell_000000.h5", "w") as cell:
    for key, value in part.attrs.items():
        if key in ("grid", "grid_identity"):
            cell.attrs[key] = value
    group = part["cells"][sorted(part["cells"])[0]]
    for key, value in group.attrs.items():
        cell.attrs[key] = value
    for name in group:
        group.copy(name, cell)
PY
  "$VQVAE" experiment --n 600 --codebook-sizes 8,16 --inits uniform --steps 5 --seeds 2 --out e.h5 --plot '' \
    > stdout 2> stderr
  status=$?
  cat stderr
  [ $status -eq 2 ] || fail "expected exit status 2, got $status"
  [ "$(wc -l < stderr)" -eq 1 ] || fail "stderr is not one line"
  grep -qF "vqvae: --out: 'e.h5.partial' holds runs of another grid (seeds 1 vs 2)" stderr || fail "message"
  [ ! -e e.h5 ] || fail "e.h5 was written"
}

# More codewords than samples: no init from latents and no k-means reference can run at 1024;
# their rows and the file say why, the other cells run, and the plot leaves them out.
case_cells_that_cannot_run_say_why() {
  "$VQVAE" experiment --n 600 --codebook-sizes 16,1024 --inits kmeans,uniform --seeds 1 --steps 5 --quiet \
    --out e.h5 --plot e.png > stdout 2> stderr || fail "exited $?"
  cat stdout
  grep -q '^  kmeans  *skipped: kmeans init needs 1024 latents (one per codeword), the dataset has 600$' stdout ||
    fail "no skipped kmeans row"
  grep -q '^  k-means (Lloyd, no training)  *skipped: k-means needs at least 1024 samples' stdout ||
    fail "no skipped k-means reference row"
  # The uniform run at 1024 ran: its row holds a held-out D, a gap in dB and a training D (not a note).
  grep -qE '^  uniform( \(best\))?  +[0-9]+\.[0-9]{3} ± [0-9]+\.[0-9]{3}  +[+-][0-9]+\.[0-9]{2} dB  +[0-9]+\.[0-9]{3} ± ' stdout ||
    fail "the uniform run at 1024 did not run"
  [ "$(attribute e.h5 /sizes/1024/runs/kmeans/note)" = \
    "skipped: kmeans init needs 1024 latents (one per codeword), the dataset has 600" ] || fail "no note in the file"
  h5dump -d /sizes/1024/runs/uniform/final_distortion e.h5 > /dev/null || fail "no uniform run in the file"
  [ -s e.png ] || fail "no plot"
}

[ $# -eq 1 ] || { echo "usage: $0 CASE"; exit 2; }
command -v "case_$1" > /dev/null 2>&1 || { echo "no such case: $1"; exit 2; }
: "${VQVAE:?VQVAE must name the vqvae program}"
command -v h5dump > /dev/null || { echo "SKIP: no h5dump (apt-get install hdf5-tools)"; exit 77; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_sweep_XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1
"case_$1"
echo "ok: $1"
