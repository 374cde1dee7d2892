#!/bin/bash
# docs/study.md's SLURM recipe end to end on a throw-away one-node cluster: tools/slurm's
# experiment.sbatch as a 4-task array, merge.sbatch after it (afterok), and the merged all.h5
# equal, bit for bit except the `command` attribute, to the same grid run unsharded.
#   VQVAE=build/vqvae SOURCE=. spec_tests/slurm/slurm_sweep_test.sh
# Exit 77 (ctest's SKIP_RETURN_CODE) with `SKIP: reason` when the machine cannot run a cluster:
# no slurm/munge, not root, no h5py for /usr/bin/python3; a daemon that does not start is a
# failure (exit 1, with the daemons' logs).
set -u
: "${VQVAE:?set VQVAE to the vqvae program}" "${SOURCE:?set SOURCE to the repository root}"
python=/usr/bin/python3   # Debian's, the one with python3-h5py (pyenv's python3 lacks it)
# shellcheck disable=SC2054  # the commas are the flags' own
grid=(--n 1200 --init-samples 100 --codebook-sizes 8,32,128 --inits uniform,kmeans,rd_waterfill
      --seeds 2 --steps 30 --quiet)
timeout=${SLURM_TEST_TIMEOUT:-240}   # seconds for the array and the merge

fail() { echo "FAIL: $*"; report; exit 1; }
ms() { date +%s%N | cut -c1-13; }
seconds_since() { awk -v a="$1" -v b="$(ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# What a failure needs: the jobs' states, the daemons' logs, every job's output file.
report() {
  [ -n "${array:-}" ] && { echo "---- job states"; job_states "$array"; }
  [ -n "${merge:-}" ] && job_states "$merge"
  cluster_logs
  local f
  for f in "$scratch"/*.out; do
    [ -f "$f" ] && { echo "---- $(basename "$f")"; cat "$f"; }
  done
}

"$python" -c 'from h5py import File' 2> /dev/null ||
  { echo "SKIP: $python cannot import h5py (apt-get install python3-h5py)"; exit 77; }
# shellcheck source=one_node_cluster.sh
. "$SOURCE/spec_tests/slurm/one_node_cluster.sh"

# Absolute: the test and the jobs run in another folder.
case $VQVAE in /*) ;; */*) VQVAE=$PWD/$VQVAE ;; esac
SOURCE=$(cd "$SOURCE" && pwd) || exit 1
export VQVAE   # sbatch hands the submitting environment to the jobs
scratch=$(mktemp -d "${TMPDIR:-/tmp}/slurm_sweep_XXXXXX")
trap 'cluster_stop; rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1

t0=$(ms)
cluster_start
case $? in 0) ;; 1) exit 77 ;; *) exit 1 ;; esac
echo "cluster start: $(seconds_since "$t0") s"

t0=$(ms)
array=$(sbatch --parsable --array=0-3 "$SOURCE/tools/slurm/experiment.sbatch" sweep "${grid[@]}") ||
  fail "sbatch of experiment.sbatch exited $?"
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" "$SOURCE/tools/slurm/merge.sbatch" sweep) ||
  fail "sbatch of merge.sbatch exited $?"
merge=${merge%%;*}
echo "submitted array $array, merge $merge"
deadline=$((SECONDS + timeout))
if ! { wait_for_job "$array" "$timeout" && wait_for_job "$merge" $((deadline - SECONDS)); }; then
  fail "the jobs did not end within $timeout s"
fi
echo "array + merge: $(seconds_since "$t0") s"
job_states "$array"
job_states "$merge"

# JobState can say COMPLETED for a job that never ran (see the notes): check the files.
for i in 0 1 2 3; do
  [ -f "vqvae-sweep-${array}_$i.out" ] || fail "no output file of array task $i"
  [ -s "sweep/shard-$i.h5" ] || fail "sweep/shard-$i.h5 was not written"
done
[ -f "vqvae-merge-$merge.out" ] || fail "no output file of the merge job"
[ -s sweep/all.h5 ] || fail "sweep/all.h5 was not written"
[ -s sweep/all.png ] || fail "sweep/all.png was not written"

t0=$(ms)
"$VQVAE" experiment "${grid[@]}" --out unsharded.h5 --plot "" || fail "the unsharded run exited $?"
echo "unsharded run: $(seconds_since "$t0") s"
"$python" "$SOURCE/spec_tests/sweep/same_file.py" unsharded.h5 sweep/all.h5 --except command ||
  fail "the merged file differs from the unsharded one"
echo "ok"
