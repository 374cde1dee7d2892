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
#       a driver that cannot run or breaks the protocol (bad_drivers/NAME, or "missing"): exit 2,
#       one line on stderr naming the driver.
#   conform_test.sh empty_ok
#       a driver answering every case "ok" with no output (bad_drivers/empty_ok.py): exit 1, every
#       check failed, none passed or skipped (nothing to judge is never a pass).
#   conform_test.sh area AREA
#       the fixed double with --area AREA: only that area's checks (all pass) and only its cases.
#   conform_test.sh junit VARIANT
#       --junit FILE on a variant: one testcase per check, failures and skips as the JSON says.
#   conform_test.sh bad_area
#       --area with an unknown name: exit 2, one line naming --area and the value.
# Environment: VQVAE (the program), LIBRARY_DRIVER, SOURCE (the repository). Exits 77 (ctest:
# skipped, with the reason printed) when what the mode runs is missing (see need_python below).
set -u
fail() { echo "FAIL: $*"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_conform_XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# A small configuration: the cases at the configuration run too, and stay quick.
config="--n 1000 --codebook-size 32 --batch-size 64"

# Each mode is gated on what it runs: the Python doubles and the seed-API driver import torch and
# h5py; the drivers that answer with a file import h5py; those that crash, hang or write garbage
# need only Python's standard library.
need_python() {
  "$python" -c "import torch, h5py" 2> /dev/null ||
    { echo "SKIP: $python cannot import torch and h5py (apt-get install python3-torch python3-h5py)"; exit 77; }
}
need_h5py() {
  "$python" -c "import h5py" 2> /dev/null ||
    { echo "SKIP: $python cannot import h5py (apt-get install python3-h5py)"; exit 77; }
}
need_stdlib_python() {
  [ -x "$python" ] || { echo "SKIP: no $python (apt-get install python3)"; exit 77; }
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
failed = [c["name"] for c in report["checks"] if c["status"] == "failed"]
names = [c["name"] for c in report["checks"]]
unknown = [name for name in expected if name not in names]
if unknown:
    sys.exit(f"FAIL: no check named {unknown}")
if sorted(failed) != sorted(expected):
    sys.exit(f"FAIL: failing checks {failed}, expected exactly {expected}")
print(f"ok: {len(failed)} failing check(s), as expected; {report['passed']} passed, {report['skipped']} skipped")
PY
}

[ $# -ge 1 ] || { echo "usage: $0 double VARIANT STATUS [CHECK...] | library STATUS [CHECK...] | bad_driver NAME | empty_ok | area AREA | junit VARIANT | bad_area"; exit 2; }
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
  empty_ok)
    need_h5py
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --driver "$python $here/bad_drivers/empty_ok.py" --json > "$scratch/report.json"
    status=$?
    [ "$status" -eq 1 ] || fail "exit status $status, expected 1"
    "$python" - "$scratch/report.json" <<'PY' || exit 1
import json, sys
report = json.load(open(sys.argv[1]))
checks = report["checks"]
not_failed = [c["name"] + ": " + c["status"] for c in checks if c["status"] != "failed"]
print(f"{len(checks)} checks, {report['failed']} failed")
if not checks or not_failed:
    sys.exit(f"FAIL: with no outputs to judge, these did not fail: {not_failed}")
PY
    ;;
  area)
    need_python
    area=$1
    "$python" "$here/doubles/variants.py" fixed "$scratch/repo" || fail "cannot materialise fixed"
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --area "$area" --keep "$scratch/keep" --json \
      --driver "$python ${SOURCE:?}/tools/python/seed_api_driver.py --repo $scratch/repo" > "$scratch/report.json"
    status=$?
    [ "$status" -eq 0 ] || { cat "$scratch/report.json"; fail "exit status $status, expected 0"; }
    "$python" - "$scratch/report.json" "$scratch/keep/request.h5" "$area" <<'PY' || exit 1
import json, sys
import h5py
report, area = json.load(open(sys.argv[1])), sys.argv[3]
kinds = {"data": {"dataset"}, "pca": {"pca", "legacy"}, "quantizer": {"quantizer", "ste"},
         "loss": {"loss", "model", "ste"}, "init": {"init"}, "metrics": {"metrics"},
         "trainer": {"train", "evaluate", "modules"}}[area]
areas = {c["area"] for c in report["checks"]}
statuses = {c["status"] for c in report["checks"]}
with h5py.File(sys.argv[2], "r") as request:
    sent = {request["cases"][name].attrs["kind"].decode() for name in request["cases"]}
print(f"--area {area}: {len(report['checks'])} checks of areas {sorted(areas)}, statuses {sorted(statuses)}; "
      f"request kinds {sorted(sent)}")
if areas != {area} or statuses != {"passed"} or not sent or not sent <= kinds:
    sys.exit("FAIL: expected only this area's checks, all passed, and only its case kinds")
PY
    ;;
  junit)
    need_python
    "$python" "$here/doubles/variants.py" "$1" "$scratch/repo" || fail "cannot materialise $1"
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --junit "$scratch/report.xml" --json \
      --driver "$python ${SOURCE:?}/tools/python/seed_api_driver.py --repo $scratch/repo" > "$scratch/report.json"
    [ -s "$scratch/report.xml" ] || fail "no JUnit file written"
    "$python" - "$scratch/report.json" "$scratch/report.xml" <<'PY' || exit 1
import json, sys
import xml.etree.ElementTree as ET
report = json.load(open(sys.argv[1]))
suite = ET.parse(sys.argv[2]).getroot().find("testsuite")
cases = suite.findall("testcase")
failures = {c.get("name"): c.find("failure").get("message") for c in cases if c.find("failure") is not None}
skips = [c for c in cases if c.find("skipped") is not None]
json_failed = {(f"fix #{c['fix']}: " if c["fix"] else "") + c["name"]: c["detail"]
               for c in report["checks"] if c["status"] == "failed"}
print(f"{len(cases)} testcases, {len(failures)} failures, {len(skips)} skipped; JSON {len(report['checks'])} checks")
if len(cases) != len(report["checks"]) or failures != json_failed or len(skips) != report["skipped"] \
        or int(suite.get("failures")) != report["failed"] or not failures:
    sys.exit("FAIL: the JUnit file does not say what the JSON report says")
if any(not c.get("classname", "").startswith("conform.") for c in cases):
    sys.exit("FAIL: a testcase without its area's classname")
PY
    ;;
  bad_area)
    out=$("$VQVAE" conform --area data,nope --driver true 2>&1)
    status=$?
    echo "exit status $status; output: $out"
    [ "$status" -eq 2 ] || fail "expected exit status 2"
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "not one line"
    printf '%s\n' "$out" | grep -qF -- "--area" || fail "does not name --area"
    printf '%s\n' "$out" | grep -qF -- "nope" || fail "does not name the value"
    ;;
  self_check)
    need_python
    "$python" "$here/doubles/check_doubles.py" --vqvae "$VQVAE" || fail "the doubles' self-check failed"
    ;;
  bad_driver)
    case "$1" in
      missing) driver="$scratch/no_such_driver" ;;
      crash|hang|garbage) need_stdlib_python; driver="$python $here/bad_drivers/$1.py" ;;
      *) need_h5py; driver="$python $here/bad_drivers/$1.py" ;;
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
