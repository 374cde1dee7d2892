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

# A forced regeneration, on one core or many and with whatever BLAS kernels this CPU gets, writes the
# committed fixtures byte for byte: they store float64 values rounded once to float32
# (fixtures/README.md; spec_tests/golden_rounding_test.cpp checks the rounding margins) and record a
# fixed command. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are left as the machine sets them.
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

# experiment --json: one JSON object on stdout whose numbers are the HDF5 file's, name for name
# (one rate: the file's root; a sweep: sizes/<size>), and the default plot named after --out.
# Progress off a terminal: plain lines (no carriage return), one per run naming it with its held-out
# D and the time so far; under --quiet one line at each tenth of the runs only (25 runs: runs 3, 5,
# 8, 10, ..., 25), the last one [25/25].
case_experiment_progress_plain_lines() {
  tiny="--n 500 --codebook-size 16 --init-samples 100 --seeds 5 --steps 10 --kmeans-max-iter 5 --plot ''"
  eval "\"\$VQVAE\" experiment $tiny --out a.h5" > /dev/null 2> every || fail "exited $?"
  eval "\"\$VQVAE\" experiment $tiny --out b.h5 --quiet" > /dev/null 2> quiet || fail "--quiet exited $?"
  cat every quiet
  ! grep -q "$(printf '\r')" every quiet || fail "a carriage return off a terminal"
  [ "$(grep -cE '^\[[0-9]+/25\] [a-z_]+ seed [0-9]+: D test [0-9.]+ \([+-][0-9.]+ dB\), D train .* elapsed' every)" -eq 25 ] ||
    fail "not one line per run, with its D test and the time"
  [ "$(grep -c '' quiet)" -eq 10 ] || fail "--quiet: $(grep -c '' quiet) lines, expected 10 (one per tenth)"
  [ "$(grep -cE '^\[[0-9]+/25\] runs finished; .* elapsed' quiet)" -eq 10 ] || fail "--quiet: lines not of the form"
  [ "$(sed -n 's/^\[\([0-9]*\)\/25\].*/\1/p' quiet | tr '\n' ' ')" = "3 5 8 10 13 15 18 20 23 25 " ] || fail "--quiet: not at each tenth"
}

case_experiment_json_equals_the_hdf5_file() {
  small="--seeds 2 --n 600 --n-test 300 --epochs 1 --inits uniform,rd_waterfill"
  # shellcheck disable=SC2086
  "$VQVAE" experiment $small --codebook-size 16 --out one.h5 --json > one.json 2> one.err || fail "one rate: $(cat one.err)"
  # shellcheck disable=SC2086
  "$VQVAE" experiment $small --codebook-sizes 16,32 --out sweep.h5 --json > sweep.json 2> sweep.err || fail "sweep: $(cat sweep.err)"
  grep -q "wrote one.h5" one.err || fail "the 'wrote' line is not on stderr"
  for plot in one.png sweep.png; do [ -s $plot ] || fail "no default plot $plot (named after --out)"; done
  [ ! -e experiment.png ] || fail "experiment.png written although --out names another file"
  /usr/bin/python3 - <<'PY' || fail "the JSON differs from the HDF5 file"
import json, math
import h5py
def same(a, b):
    if isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return (a is None and math.isnan(b)) or a == b
checked = 0
for name, prefix in (("one", ""), ("sweep", "sizes/{}/")):
    run = json.load(open(name + ".json"))
    with h5py.File(name + ".h5", "r") as f:
        assert run["status"] == f.attrs["status"].decode() and run["finished_runs"] == f.attrs["finished_runs"]
        assert [s["codebook_size"] for s in run["sizes"]] == ([16] if name == "one" else [16, 32])
        for size in run["sizes"]:
            g = f["/" + prefix.format(size["codebook_size"])] if prefix else f["/"]
            for key in ("distortion_rate_bound", "rate_bits", "latent_variance"):
                assert same(size[key], float(g.attrs[key])), (name, key)
            assert same(size["eigenvalues"], list(g["eigenvalues"][()])) and size["seeds"] == list(g["seeds"][()])
            for init, values in size["runs"].items():
                for key, value in values.items():
                    if isinstance(value, list):
                        assert same(value, list(g["runs"][init][key][()])), (name, init, key)
                        checked += 1
                    elif key not in ("best", "note"):
                        assert same(value, float(g["runs"][init].attrs[key])), (name, init, key)
            for pair, values in size["paired"].items():
                for key, value in values.items():
                    assert same(value, g["paired"][pair].attrs[key].item()), (name, pair, key)
            for key, value in size["kmeans"].items():
                assert same(value, list(g["kmeans"][key][()])), (name, "kmeans", key)
            assert sum(v.get("best", False) for v in size["runs"].values()) == 1
print(f"{checked} per-seed and per-step columns equal to the HDF5 file's, bit for bit")
PY
}

# `vqvae bench` prints numbers; no test asserts a time.
case_bench_prints_the_ceiling() {
  out=$("$VQVAE" bench --sections ceiling --min-time 0) || fail "bench failed"
  printf '%s\n' "$out" | grep -qE '^\| SGEMM 2048³ .* GFLOP/s \| [0-9.]+ % \|$' || fail "no SGEMM row with its fraction of the peak"
  printf '%s\n' "$out" | grep -qE '^\| FMA peak, scalar \| [0-9.]+ GFLOP/s \| [0-9.]+ GFLOP/s \|$' || fail "no scalar FMA peak row"
  printf '%s\n' "$out" | grep -qE '^\| triad bandwidth, 3 arrays of 64 MiB \| [0-9.]+ GB/s' || fail "no memory bandwidth row"
}

# --json: every row as one object with its fields, the numbers consistent with their definitions
# (2·B·n·k flops, the roofline bound min(peak, flop/byte × bandwidth)); --plot: a PNG.
case_bench_json_has_every_row() {
  "$VQVAE" bench --json --sections ceiling,search,step --min-time 0 --plot roofline.png > bench.json 2> stderr ||
    fail "bench --json failed: $(cat stderr)"
  python3 - bench.json <<'PY' || fail "the JSON lacks a field or a number contradicts its definition"
import json, sys
run = json.load(open(sys.argv[1]))
def need(obj, *keys):
    for key in keys:
        assert key in obj, f"missing {key} in {sorted(obj)}"
need(run, "machine", "limits", "sgemm", "search", "step")
assert "threads" not in run and "tools" not in run, "sections not asked for are absent"
need(run["machine"], "cpu", "threads", "cores", "search_isa")
isas = {p["isa"] for p in run["limits"]["fma_peak"]}
assert "scalar" in isas and run["machine"]["search_isa"] in isas, isas
assert all(p["gflops"] > 0 for p in run["limits"]["fma_peak"])
assert sorted({b["bytes_per_array"] for b in run["limits"]["triad_bandwidth"]}) == [16 << 10, 256 << 10, 4 << 20, 64 << 20]
need(run["sgemm"], "seconds", "gflops", "fraction_of_peak", "openblas_kernel", "forced_by")
assert abs(run["sgemm"]["gflops"] - 2 * 2048**3 / run["sgemm"]["seconds"] / 1e9) < 1e-6 * run["sgemm"]["gflops"]
for section, count in (("search", 12), ("step", 9)):
    roof = run[section]["roofline"]
    cases = run[section]["cases"]
    assert len(cases) == count, (section, len(cases))
    for c in cases:
        need(c, "flops", "bytes", "gflops", "bound_gflops", "fraction_of_bound")
        bound = min(roof["peak_gflops"], c["flops"] / c["bytes"] * roof["bandwidth_gbs"])
        assert abs(c["bound_gflops"] - bound) <= 1e-9 * bound, (c, bound)
        assert abs(c["fraction_of_bound"] - c["gflops"] / bound) <= 1e-9, c
for c in run["search"]["cases"]:
    need(c, "rows", "codewords", "k", "seconds", "bound_by", "kernel_seconds", "kernel_fraction_of_bound",
         "naive_seconds", "faiss_seconds")
    B, n, k = c["rows"], c["codewords"], c["k"]
    assert c["flops"] == 2 * B * n * k and c["bytes"] == 4 * (B * k + n * k) + 8 * B + 4 * B * k, c
    assert abs(c["gflops"] - c["flops"] / c["seconds"] / 1e9) <= 1e-9 * c["gflops"], c
assert {(c["quantizer"], c["batch"]) for c in run["step"]["cases"]} == {(q, b) for q in ("vq", "rotation", "projection") for b in (64, 256, 1024)}
print("bench.json: every section asked for, 12 search and 9 step cases, consistent")
PY
  [ "$(head -c 8 roofline.png | od -An -tx1 | tr -d ' ')" = "89504e470d0a1a0a" ] || fail "roofline.png is not a PNG"
}

case_bench_unknown_section_exits_2() {
  out=$("$VQVAE" bench --sections warp 2>&1 > /dev/null)
  status=$?
  echo "$out"
  [ $status -eq 2 ] || fail "expected exit status 2, got $status"
  printf '%s\n' "$out" | grep -q 'sections' || fail "message does not name --sections"
}

# ---- runs that cannot succeed (docs/study.md, docs/reliability.md)

# Seconds since the epoch, with fractions.
now() { date +%s.%N; }
# $1 < $2 (decimal numbers)?
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# Runs "$@" with stdout to file stdout, stderr to file stderr, its exit status to file status;
# prints the CPU seconds (user + system) it used. CPU time, not wall time: the other tests ctest
# runs beside it take the cores away for a while, but do not add to what this process computes.
cpu_seconds_of() {
  ( "$@" > stdout 2> stderr; echo $? > status; times ) | tail -n 1 |
    awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, t, "m"); sub("s", "", t[2]); n += t[1] * 60 + t[2] }; printf "%.2f", n }'
}
# The integer attribute or string attribute $2 of the root of HDF5 file $1 (h5dump's value).
attribute() { h5dump -a "/$2" "$1" | sed -n 's/^ *(0): *//p' | tr -d '"'; }
# Waits (up to $3 seconds) until file $1 holds a line matching $2.
wait_for() {
  waited=0
  until grep -q "$2" "$1" 2> /dev/null; do
    waited=$((waited + 1))
    [ $waited -lt $(($3 * 10)) ] || fail "no '$2' in $1 after $3 s: $(cat "$1")"
    sleep 0.1
  done
}
# No atomic writer's temporary left in the folder.
no_temporaries() { ! ls -A | grep -q '\.tmp\.' || fail "temporary left: $(ls -A)"; }

# The real-world case: a typo of a few zeros. Refused from the estimate alone, in under
# 2 s of CPU time (no data generated; LibTorch's start-up is ~0.9 s of it), one line naming the
# flag, the estimate and what is available. The
# availability is fixed at 4 GiB (VQVAE_MEMORY_AVAILABLE_BYTES), so the case runs the same on a
# machine of any size: the estimates (≈ 51 GiB and ≈ 835 GiB) must exceed it, or the refusal
# would test nothing.
case_run_safety_refuses_huge_codebook_fast() {
  VQVAE_MEMORY_AVAILABLE_BYTES=4294967296; export VQVAE_MEMORY_AVAILABLE_BYTES
  est=$("$VQVAE" train --codebook-size 100000000 --steps 1 --print-config 2>&1 > /dev/null)
  echo "$est"
  need=$(printf '%s\n' "$est" | sed -n 's/.*peak = \([0-9]*\) bytes.*/\1/p')
  have=$(printf '%s\n' "$est" | sed -n 's/.* = \([0-9]*\) bytes available.*/\1/p')
  [ -n "$need" ] && [ -n "$have" ] || fail "no estimate or available memory in the --print-config line"
  [ "$have" = 4294967296 ] || fail "VQVAE_MEMORY_AVAILABLE_BYTES not used: $have bytes available"
  awk -v a="$need" -v b="$have" 'BEGIN { exit !(a > 2 * b) }' || fail "the estimate $need is not well above $have bytes"
  for command in "train --codebook-size 100000000 --steps 1 --out run.h5" "data --n 1000000000 --out x.h5"; do
    start=$(now)
    # shellcheck disable=SC2086
    cpu=$(cpu_seconds_of "$VQVAE" $command)
    end=$(now)
    out=$(cat stderr)
    status=$(cat status)
    rm -f stderr status
    echo "$command: exit $status, $cpu s of CPU in $(awk -v a="$end" -v b="$start" 'BEGIN { printf "%.2f", a - b }') s: $out"
    [ "$status" -eq 2 ] || fail "expected exit status 2"
    [ "$(lines "$out")" -eq 1 ] || fail "not one line"
    printf '%s\n' "$out" | grep -qE '^vqvae: --(codebook-size 100000000|n 1000000000) needs ≈ [0-9.]+ [GT]iB \(.*\), [0-9.]+ [KMGT]?i?B available \(' || fail "message"
    [ ! -s stdout ] || fail "stdout not empty"
    less_than "$cpu" 2 || fail "took 2 s of CPU or more"
  done
  [ "$(ls -A)" = stdout ] || fail "something was written: $(ls -A)"
}

# --print-config: the configuration (JSON, a valid --config file) on stdout, the estimate on stderr.
case_run_safety_print_config_shows_the_estimate() {
  for sub in validate train experiment; do
    "$VQVAE" $sub --codebook-size 1024 --print-config > config.json 2> estimate || fail "$sub exited $?"
    cat estimate
    grep -q '"codebook_size": 1024' config.json || fail "$sub: no configuration"
    grep -qE "^memory estimate \($sub\): ≈ [0-9.]+ MiB peak = [0-9]+ bytes \(program " estimate || fail "$sub: no estimate"
    grep -qE 'bytes available \((MemAvailable|cgroup memory\.(max|limit_in_bytes))\)$' estimate || fail "$sub: no available memory"
    "$VQVAE" validate --config config.json --print-config > /dev/null 2>&1 || fail "$sub: the printed configuration is not a valid --config file"
  done
}

# More codewords than samples is legal, but at least size − n codewords are dead by construction.
case_run_safety_train_warns_more_codewords_than_samples() {
  "$VQVAE" train --n 500 --codebook-size 512 --steps 2 > stdout 2> stderr || fail "exited $?"
  cat stderr
  [ "$(wc -l < stderr)" -eq 1 ] || fail "stderr is not one line"
  grep -qxF 'vqvae: warning: --codebook-size 512 > --n 500: at least 12 codewords are dead by construction (each sample has one nearest codeword)' stderr || fail "warning"
  grep -q '^dead codes' stdout || fail "the run did not finish"
}

# experiment: the same warning; its k-means reference row (a sample per codeword) says why it is
# skipped, in the table and in the file.
case_run_safety_experiment_warns_more_codewords_than_samples() {
  "$VQVAE" experiment --n 500 --codebook-size 512 --inits uniform --seeds 1 --steps 2 --kmeans-max-iter 2 \
    --out e.h5 --plot '' --quiet > stdout 2> stderr || { cat stdout stderr; fail "exited $?"; }
  cat stderr stdout
  # Besides --quiet's progress lines ("[i/N] runs finished; ...").
  [ "$(grep -vc '^\[' stderr)" -eq 1 ] || fail "stderr is not one line besides progress"
  grep -qxF 'vqvae: warning: --codebook-size 512 > --n 500: at least 12 codewords are dead by construction (each sample has one nearest codeword)' stderr || fail "warning"
  grep -qE '^k-means \(Lloyd, k-means\+\+\) +skipped: k-means needs at least 512 samples \(one per codeword\), the dataset has 500$' stdout || fail "no skipped k-means row"
  h5dump -a /kmeans/skipped e.h5 | grep -q 'skipped: k-means needs at least 512 samples' || fail "the file does not say why"
}

case_run_safety_validate_fails_more_codewords_than_samples() {
  "$VQVAE" validate --n 500 --codebook-size 512 > stdout 2>&1
  status=$?
  grep 'codewords vs samples' stdout
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  grep -qE '^✗ codewords vs samples .* 512 codewords > 500 samples: at least 512 − 500 = 12 codewords are dead by construction' stdout || fail "no failed check"
}

# --lr 1e30: training stops at the step where something became non-finite, exit 1, one line;
# the history up to the step before is written, with status "diverged" and the step.
case_run_safety_train_diverges() {
  "$VQVAE" train --lr 1e30 --steps 50 --eval-every 1 --out run.h5 --csv run.csv > stdout 2> stderr
  status=$?
  cat stderr
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  [ "$(wc -l < stderr)" -eq 1 ] || fail "stderr is not one line"
  grep -qE '^vqvae: training diverged at step [0-9]+: .*(NaN/Inf|beyond).* \(adam, lr 1e\+30\); history up to step [0-9]+ is in run.h5 and run.csv \(status diverged\)$' stderr || fail "message"
  step=$(sed -n 's/^vqvae: training diverged at step \([0-9]*\):.*/\1/p' stderr)
  [ "$(attribute run.h5 status)" = diverged ] || fail "status attribute: $(attribute run.h5 status)"
  [ "$(attribute run.h5 diverged_at_step)" = "$step" ] || fail "diverged_at_step"
  [ "$(attribute run.h5 last_step)" = $((step - 1)) ] || fail "last_step"
  # Evaluated every step: the history ends at the step before.
  [ "$(tail -n 1 run.csv | cut -d, -f1)" = $((step - 1)) ] || fail "history does not end at step $((step - 1))"
  no_temporaries
}

case_run_safety_train_diverges_without_out() {
  out=$("$VQVAE" train --lr 1e30 --steps 50 2>&1 > /dev/null)
  status=$?
  echo "$out"
  [ $status -eq 1 ] || fail "expected exit status 1, got $status"
  [ "$(lines "$out")" -eq 1 ] || fail "not one line"
  printf '%s\n' "$out" | grep -q '; nothing written (no --out or --csv)$' || fail "message"
  [ -z "$(ls -A)" ] || fail "something was written: $(ls -A)"
}

# A long train, signalled once it is training: it finishes the step, writes what is done and
# exits 128 + signal with one line on stderr.
train_signalled() {
  signal=$1 expected=$2
  "$VQVAE" train --steps 100000000 --eval-every 1000 --out run.h5 > progress 2> stderr &
  pid=$!
  wait_for progress '^step 1000/' 120
  kill -"$signal" $pid
  wait $pid
  status=$?
  cat stderr
  [ $status -eq "$expected" ] || fail "expected exit status $expected, got $status"
  [ "$(wc -l < stderr)" -eq 1 ] || fail "stderr is not one line"
  grep -qE "^vqvae: interrupted by SIG$signal after step [0-9]+ of 100000000; wrote run.h5 \(status interrupted\)$" stderr || fail "message"
  last=$(sed -n 's/.* after step \([0-9]*\) of.*/\1/p' stderr)
  [ "$(attribute run.h5 status)" = interrupted ] || fail "status attribute"
  [ "$(attribute run.h5 last_step)" = "$last" ] || fail "last_step attribute"
  h5dump -d /history/step run.h5 | grep -q "$last" || fail "the history does not reach step $last"
  no_temporaries
}
case_run_safety_train_sigint_writes_interrupted() { train_signalled INT 130; }
case_run_safety_train_sigterm_writes_interrupted() { train_signalled TERM 143; }

case_run_safety_experiment_sigint_keeps_finished_runs() {
  # Six runs of about 2 s each; signalled once the first has finished (its progress line).
  "$VQVAE" experiment --n 2000 --inits uniform,kmeans --seeds 3 --steps 20000 --eval-every 1000 \
    --out e.h5 --plot e.png > stdout 2> stderr &
  pid=$!
  wait_for stderr '^\[1/6\] uniform seed 42' 120
  kill -INT $pid
  wait $pid
  status=$?
  cat stderr
  [ $status -eq 130 ] || fail "expected exit status 130, got $status"
  last=$(tail -n 1 stderr)
  printf '%s\n' "$last" | grep -qE '^vqvae: interrupted by SIGINT after [1-5] of 6 runs; the finished runs are in e.h5 \(status interrupted\); the same command resumes from e.h5.partial$' || fail "message"
  finished=$(printf '%s\n' "$last" | sed -n 's/.* after \([0-9]\) of 6 runs.*/\1/p')
  [ "$(grep -c '^\[' stderr)" -eq "$finished" ] || fail "$finished finished runs, but $(grep -c '^\[' stderr) progress lines"
  [ "$(attribute e.h5 status)" = interrupted ] || fail "status attribute"
  [ "$(attribute e.h5 finished_runs)" = "$finished" ] || fail "finished_runs attribute"
  h5dump -d /runs/uniform/seed_42/history/distortion e.h5 > /dev/null || fail "the first run is not in e.h5"
  [ ! -e e.png ] || fail "a plot was drawn"
  [ ! -s stdout ] || fail "the table was printed: $(cat stdout)"
  no_temporaries
}

# A second signal exits at once: the previous file byte-identical, no temporary left.
case_run_safety_double_signal_exits_at_once() {
  "$VQVAE" train --n 500 --steps 5 --out run.h5 > /dev/null || fail "first run exited $?"
  cp run.h5 previous.h5
  # 65536 codewords: the evaluation the first signal asks for takes seconds (the codebook's
  # mean pairwise distance over 2^31 pairs), so the second signal lands before anything is written.
  # The evaluation at step 0 costs as much: ~45 s on a 2-core AMD EPYC (over 5 minutes under ASan,
  # where the sanitizer stage leaves this case out: label sanitizer_heavy), so the wait for it is
  # generous (the held-out set is kept to 2 samples, it adds nothing here).
  "$VQVAE" train --n 70000 --n-test 2 --codebook-size 65536 --steps 100000000 --eval-every 100000000 --out run.h5 > progress 2> stderr &
  pid=$!
  wait_for progress '^step 0/' 240
  kill -INT $pid
  sleep 0.1
  kill -INT $pid
  wait $pid
  status=$?
  cat stderr
  [ $status -eq 130 ] || fail "expected exit status 130, got $status"
  ! grep -q interrupted stderr || fail "the second signal should exit without writing"
  cmp run.h5 previous.h5 || fail "the previous file changed"
  no_temporaries
}

# The estimate against the measured peak resident set (wait4's ru_maxrss) of three runs: each
# must lie within [estimate / 2, estimate * 1.5].
case_run_safety_memory_estimate_vs_peak_rss() {
  echo "| command | estimate | peak RSS | RSS / estimate |"
  echo "|---|---|---|---|"
  for command in "train" "train --codebook-size 65536 --steps 1" "experiment --out e.h5 --plot '' --quiet"; do
    # shellcheck disable=SC2086
    est=$(eval "\"\$VQVAE\" $command --print-config" 2>&1 > /dev/null | sed -n 's/.*peak = \([0-9]*\) bytes.*/\1/p')
    rss=$(eval "\"\$PEAK_RSS\" \"\$VQVAE\" $command") || fail "$command exited $?"
    ratio=$(awk -v r="$rss" -v e="$est" 'BEGIN { printf "%.2f", r / e }')
    echo "| \`vqvae $command\` | $(awk -v e="$est" 'BEGIN { printf "%.0f MiB", e / 1048576 }') | $(awk -v r="$rss" 'BEGIN { printf "%.0f MiB", r / 1048576 }') | $ratio |"
    awk -v x="$ratio" 'BEGIN { exit !(x >= 0.5 && x <= 1.5) }' || fail "$command: peak RSS $rss not within [estimate/2, estimate*1.5] of $est"
  done
}

[ $# -eq 1 ] || { echo "usage: $0 CASE"; exit 2; }
command -v "case_$1" > /dev/null 2>&1 || { echo "no such case: $1"; exit 2; }
: "${VQVAE:?VQVAE must name the vqvae program}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_cli_XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1
"case_$1"
echo "ok: $1"
