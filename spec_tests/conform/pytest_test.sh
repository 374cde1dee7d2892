#!/bin/sh
# The pytest plugin (tools/python/vqvae_conform.py) in a researcher's own pytest run, on the Python
# doubles (ctest conform.pytest_*):
#   pytest_test.sh fixed        the fixed double: every item passes or skips (not applicable), one
#                               item per check (the count of `vqvae conform --list-checks`)
#   pytest_test.sh defect       a double with one defect (vqvae_loss's default β): exactly that
#                               item fails, and pytest's report shows its detail and how to reproduce
#   pytest_test.sh expect       the same double with an expect file in pytest.ini: an xfail, counted
#                               by pytest's summary; strict there with the fixed double: XPASS(strict)
#   pytest_test.sh area         -k surface runs one area's items, the others deselected
#   pytest_test.sh junit        --junitxml: one testcase per check, named by its id
#   pytest_test.sh usage        a missing or broken vqvae, a driver that cannot run, an unknown
#                               option value: pytest's usage error (exit 4), one line, no traceback
# Environment: VQVAE (the program), SOURCE (the repository). Exits 77 (ctest: skipped, with the
# reason printed) when Debian's python3 cannot import torch, h5py and pytest.
set -u
fail() { echo "FAIL: $*"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
"$python" -c "import torch, h5py, pytest" 2> /dev/null ||
  { echo "SKIP: $python cannot import torch, h5py and pytest (apt-get install python3-torch python3-h5py python3-pytest)"; exit 77; }
: "${VQVAE:?VQVAE must name the vqvae program}"
: "${SOURCE:?SOURCE must name the repository}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_pytest_XXXXXX")
trap 'rm -rf "$scratch"' EXIT
config="--n 1000 --codebook-size 32 --batch-size 64"

# The researcher's checkout: a double, with a pytest.ini of its own (no tests of its own here).
checkout() {
  "$python" "$here/doubles/variants.py" "$1" "$scratch/repo" || fail "cannot materialise $1"
  printf '[pytest]\nvqvae_conform_args = %s\n' "$config" > "$scratch/repo/pytest.ini"
}
# pytest in the checkout with the plugin (its folder on PYTHONPATH, as docs/conform.md says).
run_pytest() {
  (cd "$scratch/repo" && PYTHONPATH="$SOURCE/tools/python" "$python" -m pytest -p vqvae_conform -p no:cacheprovider \
     --vqvae-conform "--vqvae-bin=$VQVAE" "$@") > "$scratch/out" 2>&1
  status=$?
  cat "$scratch/out"
  return $status
}
checks=$("$VQVAE" conform --list-checks | wc -l)

mode=${1:-}
case "$mode" in
  fixed)
    checkout fixed
    run_pytest -q -rs
    status=$?
    [ "$status" -eq 0 ] || fail "exit status $status, expected 0"
    summary=$(tail -n 1 "$scratch/out")
    passed=$(printf '%s\n' "$summary" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p; s/^\([0-9][0-9]*\) passed.*/\1/p' | head -n 1)
    skipped=$(printf '%s\n' "$summary" | sed -n 's/.* \([0-9][0-9]*\) skipped.*/\1/p' | head -n 1)
    [ $((passed + ${skipped:-0})) -eq "$checks" ] || fail "$passed passed + ${skipped:-0} skipped, expected one item per check ($checks)"
    grep -q "SKIPPED.*not applicable: VectorQuantizer's info has no distances" "$scratch/out" ||
      fail "the not applicable checks are not skips with their reason"
    ;;
  defect)
    checkout loss_default_beta
    run_pytest -q
    status=$?
    [ "$status" -eq 1 ] || fail "exit status $status, expected 1 (a test failed)"
    failed=$(grep '^FAILED ' "$scratch/out")
    [ "$failed" = "FAILED conform/loss::loss.vqvae_loss.default_beta" ] || fail "failed items: '$failed', expected exactly loss.vqvae_loss.default_beta"
    grep -q "vqvae_loss used β = 0.5 (from total − recon − codebook = β·commitment), the baseline's default is 0.25" "$scratch/out" ||
      fail "the failure does not show the check's detail"
    grep -qF "β (total − recon − codebook) / commitment: theirs 0.5, ours 0.25 (the baseline's default); |difference| 0.25 > tolerance 0.0001" "$scratch/out" ||
      fail "the failure does not show the case's numbers"
    grep -q "reproduce: .*vqvae conform .*--only loss.vqvae_loss.default_beta --keep " "$scratch/out" ||
      fail "the failure does not say how to reproduce it"
    ;;
  expect)
    checkout loss_default_beta
    printf 'loss.vqvae_loss.default_beta: the baseline keeps beta = 0.5 (issue 3)\n' > "$scratch/repo/known.txt"
    printf 'vqvae_expect = known.txt\n' >> "$scratch/repo/pytest.ini"
    run_pytest -q -rx
    status=$?
    [ "$status" -eq 0 ] || fail "with the expect file in pytest.ini: exit status $status, expected 0"
    tail -n 1 "$scratch/out" | grep -q " 1 xfailed" || fail "pytest's summary does not count one xfail"
    grep -q "XFAIL conform/loss::loss.vqvae_loss.default_beta - the baseline keeps beta = 0.5 (issue 3)" "$scratch/out" ||
      fail "the xfail does not carry the reason"
    # The fixed double, the same file, strict in pytest.ini: the expected failure passes: XPASS(strict).
    rm -rf "$scratch/repo"
    checkout fixed
    printf 'loss.vqvae_loss.default_beta: the baseline keeps beta = 0.5 (issue 3)\n' > "$scratch/repo/known.txt"
    printf 'vqvae_expect = known.txt\nvqvae_conform_strict = true\n' >> "$scratch/repo/pytest.ini"
    run_pytest -q
    status=$?
    [ "$status" -eq 1 ] || fail "strict, the expected failure passing: exit status $status, expected 1"
    grep -q "XPASS(strict)" "$scratch/out" || fail "no XPASS(strict) failure"
    ;;
  area)
    checkout fixed
    run_pytest -q -k surface
    status=$?
    [ "$status" -eq 0 ] || fail "exit status $status, expected 0"
    surface=$("$VQVAE" conform --list-checks | grep -c '^surface\.')
    tail -n 1 "$scratch/out" | grep -q "^$surface passed, $((checks - surface)) deselected" ||
      fail "-k surface: expected $surface passed and $((checks - surface)) deselected"
    ;;
  junit)
    checkout fixed
    run_pytest -q --junitxml="$scratch/report.xml"
    status=$?
    [ "$status" -eq 0 ] || fail "exit status $status, expected 0"
    "$VQVAE" conform --list-checks | cut -f1 > "$scratch/ids"
    "$python" - "$scratch/report.xml" "$scratch/ids" <<'PY' || exit 1
import sys
import xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
names = [(c.get("classname"), c.get("name")) for c in cases]
ids = open(sys.argv[2]).read().split()
print(f"{len(names)} testcases, {len(ids)} checks")
if [name for _, name in names] != ids:
    sys.exit("FAIL: the testcases are not the checks, by id, in order")
if any(classname != "conform." + name.split(".")[0] for classname, name in names):
    sys.exit("FAIL: a testcase whose classname is not conform.<area>")
PY
    ;;
  usage)
    checkout fixed
    for case in "--vqvae-bin=$scratch/absent|absent" "--vqvae-bin=/bin/false|did not print a JSON report" \
                "--vqvae-driver=false|driver 'false' exited with status 1" \
                "--vqvae-conform-args=--quantizer lattice|--quantizer: must be vq, rotation or projection, got 'lattice'"; do
      args=${case%%|*}; expected=${case#*|}
      (cd "$scratch/repo" && PYTHONPATH="$SOURCE/tools/python" "$python" -m pytest -p vqvae_conform -p no:cacheprovider \
         --vqvae-conform "--vqvae-bin=$VQVAE" "$args") > "$scratch/out" 2>&1
      status=$?
      echo "$args: exit $status"; cat "$scratch/out"
      [ "$status" -eq 4 ] || fail "$args: exit status $status, expected pytest's usage error (4)"
      [ "$(grep -c '^ERROR: vqvae conform: ' "$scratch/out")" -eq 1 ] || fail "$args: not one 'ERROR: vqvae conform:' line"
      grep -qF -- "$expected" "$scratch/out" || fail "$args: the line does not say '$expected'"
      ! grep -q "Traceback\|INTERNALERROR" "$scratch/out" || fail "$args: a traceback"
    done
    ;;
  *) echo "usage: $0 fixed|defect|expect|area|junit|usage"; exit 2 ;;
esac
echo "ok"
