#!/bin/sh
# The command-line program as a user runs it: one function per ctest entry cli.<case>.
#   cases.sh CASE
# Environment: VQVAE (the program), FIXTURES (the committed fixtures folder), KILL_WRITER (the
# spec_tests/kill_writer helper). Each case runs in a fresh scratch folder, removed afterwards,
# and fails (exit 1, saying why) on the first assertion that does not hold.
set -u
fail() { echo "FAIL: $*"; exit 1; }
# The number of lines of $1.
lines() { printf '%s\n' "$1" | wc -l; }

case_help_on_every_subcommand() {
  for sub in "" validate data train experiment goldens "goldens check" "goldens regen" bench conform; do
    # shellcheck disable=SC2086
    "$VQVAE" $sub --help > /dev/null || fail "vqvae $sub --help exited $?"
  done
}

case_bad_flag_value_exits_2() {
  "$VQVAE" data --n abc --out x.h5
  [ $? -eq 2 ] || fail "expected exit status 2"
}

case_k_greater_than_d_exits_2() {
  out=$("$VQVAE" data --k 65 --out x.h5 2>&1)
  status=$?
  echo "$out"
  [ $status -eq 2 ] || fail "expected exit status 2, got $status"
  printf '%s\n' "$out" | grep -q 'k must be <= d = 64, got 65' || fail "message"
  [ ! -e x.h5 ] || fail "x.h5 was written"
}

case_data_writes_readable_hdf5() {
  "$VQVAE" data --n 1000 --out cli_data.h5 || fail "vqvae data exited $?"
  # X[0, 0] of GaussianDataset(d=64, k=8, n=1000, seed 42), as the Python baseline draws it.
  h5dump -m %.7f -d /X -s 0,0 -c 1,1 cli_data.h5 | grep -q '1.17540[34]' || fail "X[0, 0] is not 1.175403/4"
}

case_data_missing_folder_exits_1() {
  out=$("$VQVAE" data --n 100 --out /nonexistent/dir/x.h5 2>&1)
  status=$?
  echo "$out"
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  printf '%s\n' "$out" | grep -q 'missing or not writable' || fail "message"
}

# Flags override the config file, which overrides the defaults.
case_validate_config_file_and_flag_override() {
  printf '{"codebook_size": 64, "k": 6, "quantizer": "rotation"}' > run.json
  out=$("$VQVAE" validate --config run.json --k 4 --print-config) || fail "exited $?"
  echo "$out"
  for expected in '"k": 4' '"codebook_size": 64' '"quantizer": "rotation"' '"d": 64'; do
    printf '%s\n' "$out" | grep -qF "$expected" || fail "resolved configuration lacks $expected"
  done
}

case_validate_json_report() {
  "$VQVAE" validate --n 1000 --json | grep -q '"ok": true' || fail "no \"ok\": true"
}

case_goldens_help() {
  for sub in "" check regen; do
    # shellcheck disable=SC2086
    "$VQVAE" goldens $sub --help > /dev/null || fail "vqvae goldens $sub --help exited $?"
  done
}

case_goldens_check_missing_file_exits_1() {
  "$VQVAE" goldens check --fixtures /nonexistent/dir > log 2>&1
  status=$?
  cat log
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  grep -q '/nonexistent/dir/pca_goldens.h5: file missing' log || fail "message"
}

case_goldens_regen_refuses_under_ci() {
  mkdir goldens && cp "$FIXTURES/pca_goldens.h5" goldens/
  env CI=1 "$VQVAE" goldens regen --fixtures goldens > log 2>&1
  status=$?
  cat log
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  grep -q 'CI is set: refusing to write' log || fail "message"
  cmp goldens/pca_goldens.h5 "$FIXTURES/pca_goldens.h5" || fail "the file changed"
  [ "$(ls -A goldens)" = pca_goldens.h5 ] || fail "something else was written: $(ls -A goldens)"
}

case_goldens_regen_twice_is_byte_identical() {
  mkdir a b
  (cd a && env -u CI "$VQVAE" goldens regen --fixtures .) || fail "first regen exited $?"
  (cd b && env -u CI "$VQVAE" goldens regen --fixtures .) || fail "second regen exited $?"
  cmp a/pca_goldens.h5 b/pca_goldens.h5 || fail "two regenerations differ"
  "$VQVAE" goldens check --fixtures a || fail "the regenerated file fails the check"
}

# A forced regeneration, on one core or many, writes the committed fixtures byte for byte: the
# fixtures are computed on one thread and record a fixed command.
case_goldens_regen_reproduces_the_committed_bytes() {
  mkdir out
  env -u CI "$VQVAE" --threads 2 goldens regen --force --fixtures out > log || { cat log; fail "regen exited $?"; }
  for file in "$FIXTURES"/*.h5; do
    cmp "out/$(basename "$file")" "$file" || fail "regenerated $(basename "$file") differs from the committed one"
  done
  [ "$(ls out | wc -l)" -eq "$(ls "$FIXTURES"/*.h5 | wc -l)" ] || fail "regen wrote $(ls out), fixtures/ holds $(ls "$FIXTURES")"
}

case_train_json_prints_the_summary_keys() {
  out=$("$VQVAE" train --n 500 --codebook-size 16 --init-samples 100 --epochs 2 --json) || fail "exited $?"
  echo "$out"
  for key in distortion latent_variance distortion_rate_bound gap_db perplexity dead_codes codes_used; do
    printf '%s\n' "$out" | grep -q "\"$key\":" || fail "no key $key"
  done
}

case_train_writes_history_and_csv() {
  "$VQVAE" train --n 500 --codebook-size 16 --init-samples 100 --steps 10 --eval-every 5 \
    --revive-dead-codes --out cli_train.h5 --csv cli_train.csv || fail "exited $?"
  h5ls -r cli_train.h5 | grep -q '^/history/distortion' || fail "no /history/distortion"
  # header + evaluations at steps 0, 5 and 10
  [ "$(wc -l < cli_train.csv)" -eq 4 ] || fail "cli_train.csv has $(wc -l < cli_train.csv) lines, expected 4"
}

case_train_out_missing_folder_is_one_line() {
  out=$("$VQVAE" train --n 500 --steps 2 --out /nonexistent/dir/run.h5 2>&1)
  status=$?
  echo "$out"
  [ $status -ne 0 ] || fail "exited 0"
  [ "$(lines "$out")" -eq 1 ] || fail "not one line"
  printf '%s\n' "$out" | grep -q 'missing or not writable' || fail "message"
}

case_train_bad_epochs_exits_2() {
  out=$("$VQVAE" train --epochs 0 2>&1)
  status=$?
  echo "$out"
  [ $status -eq 2 ] || fail "expected exit status 2, got $status"
  printf '%s\n' "$out" | grep -q -- '--epochs: must be >= 1, got 0' || fail "message"
}

case_experiment_tiny_writes_hdf5() {
  "$VQVAE" experiment --n 500 --codebook-size 16 --init-samples 100 --seeds 2 --steps 20 \
    --kmeans-max-iter 10 --out cli_experiment.h5 --plot '' --quiet > log || fail "exited $?"
  cat log
  grep -q 'k-means (Lloyd, k-means++)' log || fail "no k-means row"
  for init in uniform random_normal kmeans rd_gaussian rd_waterfill; do
    h5ls -r cli_experiment.h5 | grep -q "^/runs/$init/seed_43/history/distortion" || fail "no run $init seed 43"
  done
}

# An unwritable --out is found before training, even as root (a file is created there and
# removed; access(2) would pass as root): nothing on stdout, where training prints its progress.
case_bad_input_train_out_checked_before_training() {
  out=$("$VQVAE" train --n 500 --steps 2 --eval-every 1 --out /proc/run.h5 2>/dev/null)
  status=$?
  echo "$out"
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  [ -z "$out" ] || fail "training started (stdout not empty)"
}

# Disk full while replacing a file: the old file stays byte-identical, no temporary remains.
# ulimit -f counts 512-byte blocks; the program ignores SIGXFSZ, so write() fails as on a full disk.
case_bad_input_disk_full_keeps_old_file() {
  "$VQVAE" data --n 100 --out full.h5 > /dev/null || fail "first write exited $?"
  cp full.h5 old.h5
  out=$( (ulimit -f 100 && "$VQVAE" data --n 10000 --out full.h5) 2>&1 > /dev/null)
  status=$?
  echo "$out"
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  [ "$(lines "$out")" -eq 1 ] || fail "not one line"
  cmp full.h5 old.h5 || fail "the old file changed"
  [ "$(ls -A | tr '\n' ' ')" = 'full.h5 old.h5 ' ] || fail "left behind: $(ls -A)"
}

# SIGKILL mid-write, 20 times: kill_writer (rewriting one file with the same ~32 MB in a loop) is
# killed a random 0-200 ms after its first temporary appears. The destination must stay
# byte-identical to the first write and readable; no cleanup runs after SIGKILL, so a
# `.f.h5.tmp.*` temporary may remain beside it (counted, and removed between rounds). At least one
# kill must land mid-write (leave a temporary), or the test proves nothing.
case_bad_input_kill_mid_write() {
  "$KILL_WRITER" f.h5 --once || fail "first write exited $?"
  cp f.h5 first.h5
  left=0
  for i in $(seq 20); do
    "$KILL_WRITER" f.h5 &
    pid=$!
    waited=0
    until ls -A | grep -q '^\.f\.h5\.tmp\.'; do
      waited=$((waited + 1))
      [ $waited -lt 1000 ] || fail "round $i: writer never started"
      sleep 0.01
    done
    ms=$(($(od -An -N2 -tu2 /dev/urandom) % 200))
    sleep "$(printf '0.%03d' $ms)"
    kill -KILL $pid
    wait $pid
    rc=$?
    [ $rc -eq 137 ] || fail "round $i: writer exited $rc before the kill"
    cmp f.h5 first.h5 || fail "round $i: destination changed after a kill at $ms ms"
    h5dump -H f.h5 > /dev/null || fail "round $i: destination unreadable"
    if ls -A | grep -q '^\.f\.h5\.tmp\.'; then
      left=$((left + 1))
      rm -f .f.h5.tmp.*
    fi
  done
  echo "20 kills: destination intact every time; $left left a temporary"
  [ $left -ge 1 ] || fail "no kill landed mid-write"
}

# `vqvae bench` prints numbers; no test asserts a time.
case_bench_prints_the_ceiling() {
  "$VQVAE" bench --sections ceiling --min-time 0 | grep -qE '^\| SGEMM 2048³ .* GFLOP/s' || fail "no ceiling row"
}

case_bench_unknown_section_exits_2() {
  out=$("$VQVAE" bench --sections warp 2>&1 > /dev/null)
  status=$?
  echo "$out"
  [ $status -eq 2 ] || fail "expected exit status 2, got $status"
  printf '%s\n' "$out" | grep -q 'sections' || fail "message does not name --sections"
}

[ $# -eq 1 ] || { echo "usage: $0 CASE"; exit 2; }
command -v "case_$1" > /dev/null 2>&1 || { echo "no such case: $1"; exit 2; }
: "${VQVAE:?VQVAE must name the vqvae program}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_cli_XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1
"case_$1"
echo "ok: $1"
