#!/bin/sh
# `vqvae conform` against the test doubles (ctest conform.*):
#   conform_test.sh double VARIANT STATUS [FAILING CHECK...]
#       materialise the Python double VARIANT (doubles/variants.py), run conform through
#       tools/python/seed_api_driver.py, and pass when the exit status is STATUS and the checks
#       that fail are exactly the FAILING CHECKs named (every other check passes or is skipped).
#   conform_test.sh library STATUS [FAILING CHECK...]
#       the same through the C++ driver built from this library ($LIBRARY_DRIVER).
#   conform_test.sh self_check
#       the doubles' own check (doubles/check_doubles.py): each variant shows exactly its bug, and
#       the fixed double's dataset equals `vqvae data`'s bit for bit.
#   conform_test.sh bad_driver NAME
#       a driver that cannot run (doubles/bad_drivers/NAME, or "missing"): exit 2, one line on
#       stderr naming the driver.
# Environment: VQVAE (the program), LIBRARY_DRIVER, SOURCE (the repository). Exits 77 (ctest:
# skipped, with the reason printed) when Debian's python3-torch or python3-h5py is missing.
set -u
fail() { echo "FAIL: $*"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_conform_XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# A small configuration: the cases at the configuration run too, and stay quick.
config="--n 1000 --codebook-size 32 --batch-size 64"

need_python() {
  "$python" -c "import torch, h5py" 2> /dev/null ||
    { echo "SKIP: $python cannot import torch and h5py (apt-get install python3-torch python3-h5py)"; exit 77; }
}

# Runs conform with driver $1; checks status $2 and the failing checks $3... (JSON report).
judge() {
  driver=$1 expected_status=$2
  shift 2
  # shellcheck disable=SC2086
  "$VQVAE" conform $config --driver "$driver" --json --keep "$scratch/keep" > "$scratch/report.json" 2> "$scratch/stderr"
  status=$?
  cat "$scratch/stderr"
  [ "$status" -eq "$expected_status" ] || { cat "$scratch/report.json"; fail "exit status $status, expected $expected_status"; }
  printf '%s\n' "$@" > "$scratch/expected_failures"
  "$python" - "$scratch/report.json" "$scratch/expected_failures" <<'PY' || exit 1
import json, sys
report = json.load(open(sys.argv[1]))
expected = [line for line in open(sys.argv[2]).read().splitlines() if line]
for check in report["checks"]:
    fix = f"fix #{check['fix']}" if check["fix"] else "      "
    print(f"{check['status']:4}  {fix}  {check['name']}: {check['detail']}")
print("estimators:", report["estimators"])
failed = [c["name"] for c in report["checks"] if c["status"] == "fail"]
names = [c["name"] for c in report["checks"]]
unknown = [name for name in expected if name not in names]
if unknown:
    sys.exit(f"FAIL: no check named {unknown}")
if sorted(failed) != sorted(expected):
    sys.exit(f"FAIL: failing checks {failed}, expected exactly {expected}")
print(f"ok: {len(failed)} failing check(s), as expected; {report['passed']} passed, {report['skipped']} skipped")
PY
}

[ $# -ge 1 ] || { echo "usage: $0 double VARIANT STATUS [CHECK...] | library STATUS [CHECK...] | bad_driver NAME"; exit 2; }
: "${VQVAE:?VQVAE must name the vqvae program}"
mode=$1
shift
case "$mode" in
  double)
    need_python
    variant=$1
    shift
    "$python" "$here/doubles/variants.py" "$variant" "$scratch/repo" || fail "cannot materialise $variant"
    judge "$python ${SOURCE:?}/tools/python/seed_api_driver.py --repo $scratch/repo" "$@"
    ;;
  library)
    judge "${LIBRARY_DRIVER:?}" "$@"
    ;;
  self_check)
    need_python
    "$python" "$here/doubles/check_doubles.py" --vqvae "$VQVAE" || fail "the doubles' self-check failed"
    ;;
  bad_driver)
    case "$1" in
      missing) driver="$scratch/no_such_driver" ;;
      *) need_python; driver="$python $here/bad_drivers/$1.py" ;;
    esac
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --driver "$driver" --timeout 5 > "$scratch/stdout" 2> "$scratch/stderr"
    status=$?
    out=$(cat "$scratch/stderr")
    echo "exit status $status; stderr: $out"
    [ "$status" -eq 2 ] || fail "expected exit status 2"
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "stderr is not one line"
    printf '%s\n' "$out" | grep -qF -- "$driver" || fail "stderr does not name the driver"
    [ ! -s "$scratch/stdout" ] || fail "stdout is not empty"
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
echo "ok"
