#!/bin/sh
# `vqvae conform` against the test doubles (ctest conform.*):
#   conform_test.sh double VARIANT STATUS [FAILING-ID...] [na=N] [skipped=ID,...]
#       materialise the Python double VARIANT (doubles/variants.py), run conform through
#       tools/python/seed_api_driver.py, and pass when the exit status is STATUS, the checks that
#       fail are exactly the ids named, those skipped exactly the ids of skipped= (none without
#       it), and, with na=N, exactly N checks are not applicable.
#   conform_test.sh library STATUS [FAILING-ID...]
#       the same through the C++ driver built from this library ($LIBRARY_DRIVER).
#   conform_test.sh ids FILE [DOC]
#       `vqvae conform --list-checks` lists exactly the ids of FILE, in its order (the pinned list),
#       and DOC (docs/conform_protocol.md) names each of them.
#   conform_test.sh expect
#       --write-expect, --expect and --strict through the CLI and in JUnit, on a double with known
#       defects and on the fixed double.
#   conform_test.sh bad_expect
#       an unknown id in --expect or --only, a line without a reason, an id listed twice: exit 2,
#       one line naming the flag.
#   conform_test.sh only ID
#       --only ID: that check and the surface checks of the parts it needs, only the case kinds it
#       reads, all passing on the fixed double.
#   conform_test.sh config FLAGS...
#       the fixed double at a configuration: the report names the config_train and config_evaluate
#       cases at it, and every check passes.
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
#       the fixed double with --area AREA: only that area's checks and the surface checks of the
#       parts they need (all pass or are not applicable), and only their cases.
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

# Each mode is gated on what it runs: the Python doubles and the baseline-API driver import torch and
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

# Runs conform with driver $1; checks status $2, the failing ids $3... and, given as na=N, the
# count of checks not applicable (JSON report).
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
lines = [line for line in open(sys.argv[2]).read().splitlines() if line]
na = [int(line[3:]) for line in lines if line.startswith("na=")]
allowed_skips = sorted(i for line in lines if line.startswith("skipped=") for i in line[8:].split(","))
expected = [line for line in lines if not line.startswith(("na=", "skipped="))]
for check in report["checks"]:
    fix = f"fix #{check['fix']}" if check["fix"] else "      "
    print(f"{check['status']:14}  {fix}  {check['id']}: {check['detail']}")
print("estimators:", report["estimators"])
failed = [c["id"] for c in report["checks"] if c["status"] == "failed"]
skipped = [c["id"] for c in report["checks"] if c["status"] == "skipped"]
inapplicable = [c["id"] for c in report["checks"] if c["status"] == "not_applicable"]
ids = [c["id"] for c in report["checks"]]
unknown = [name for name in expected if name not in ids]
if unknown:
    sys.exit(f"FAIL: no check has the id {unknown}")
if sorted(failed) != sorted(expected):
    sys.exit(f"FAIL: failing checks {failed}, expected exactly {expected}")
if sorted(skipped) != allowed_skips:
    sys.exit(f"FAIL: checks skipped (nothing judged): {skipped}, expected {allowed_skips}")
if na and len(inapplicable) != na[0]:
    sys.exit(f"FAIL: {len(inapplicable)} checks not applicable ({inapplicable}), expected {na[0]}")
# Every failing case carries its numbers (theirs, ours, the tolerance there), consistent with its
# failing, unless it failed on something absent, an error, or an order (docs/conform.md, "JSON").
import math, re
nothing_to_compare = re.compile(r"\bno \w|missing|driver reported|raised|without |repeats the first|in X's order|"
                                r"global generator|comes twice|is no row of X|pairs X row|wrote nothing")
def number(value):  # null: not finite (NaN or inf)
    return math.nan if value is None else value
numbered = 0
for check in report["checks"]:
    cases = check.get("failed_cases", [])
    if check["status"] == "failed" and not cases:
        sys.exit(f"FAIL: {check['id']} failed with no failed_cases")
    for case in cases:
        n, where = case["numbers"], f"{check['id']}: {case['detail']}"
        if n is None:
            if not nothing_to_compare.search(case["detail"]):
                sys.exit(f"FAIL: no numbers for a failed comparison: {where}")
            continue
        numbered += 1
        if n["theirs_shape"] != n["ours_shape"]:
            if "theirs" in n:
                sys.exit(f"FAIL: values beside a shape mismatch: {where}")
            continue
        theirs, ours, difference, tolerance = (number(n[k]) for k in ("theirs", "ours", "difference", "tolerance"))
        if not math.isnan(difference) and abs(abs(theirs - ours) - difference) > 1e-9 * max(1.0, difference):
            sys.exit(f"FAIL: difference {difference} is not |theirs - ours| = |{theirs} - {ours}|: {where}")
        if difference < tolerance:
            sys.exit(f"FAIL: difference {difference} within its tolerance {tolerance}, yet the case failed: {where}")
        if not 1 <= n["outside"] <= n["elements"] or not (number(n["max_difference"]) >= difference or math.isnan(difference)
                                                          or math.isnan(number(n["max_difference"]))):
            sys.exit(f"FAIL: outside {n['outside']} of {n['elements']}, max {n['max_difference']}: {where}")
print(f"ok: {len(failed)} failing check(s), as expected; {report['passed']} passed, {len(inapplicable)} not applicable; "
      f"{numbered} failed case(s) with numbers")
PY
}

# conform with the flags $1 (and a driver never run): exit 2, one line naming the flag $2 and the
# value $3.
usage_error_is_one_line() {
  # shellcheck disable=SC2086
  out=$("$VQVAE" conform $1 --driver true 2>&1)
  status=$?
  echo "$1: exit $status; $out"
  [ "$status" -eq 2 ] || fail "$1: expected exit status 2"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "$1: not one line"
  printf '%s\n' "$out" | grep -qF -- "$2" || fail "$1: does not name $2"
  printf '%s\n' "$out" | grep -qF -- "$3" || fail "$1: does not name $3"
}

# The fixed double, materialised once per test into $scratch/fixed.
fixed_double() {
  [ -d "$scratch/fixed" ] || "$python" "$here/doubles/variants.py" fixed "$scratch/fixed" || fail "cannot materialise fixed"
  echo "$python ${SOURCE:?}/tools/python/seed_api_driver.py --repo $scratch/fixed"
}

[ $# -ge 1 ] || { echo "usage: $0 double VARIANT STATUS [ID...] [na=N] | library STATUS [ID...] | ids FILE | expect | bad_expect | only ID | config FLAGS... | bad_driver NAME | empty_ok | area AREA | junit VARIANT | bad_area"; exit 2; }
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
    driver=$(fixed_double) || exit 1
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --area "$area" --keep "$scratch/keep" --json --driver "$driver" > "$scratch/report.json"
    status=$?
    [ "$status" -eq 0 ] || { cat "$scratch/report.json"; fail "exit status $status, expected 0"; }
    "$python" - "$scratch/report.json" "$scratch/keep/request.h5" "$area" <<'PY' || exit 1
import json, sys
import h5py
report, area = json.load(open(sys.argv[1])), sys.argv[3]
kinds = {"surface": set(), "data": {"dataset"}, "pca": {"pca", "legacy"}, "quantizer": {"quantizer", "ste"},
         "loss": {"loss", "model", "ste"}, "init": {"init"}, "metrics": {"metrics", "tracker"},
         "trainer": {"train", "evaluate", "checkpoint", "modules"}}[area] | {"surface"}
areas = {c["area"] for c in report["checks"]}
statuses = {c["status"] for c in report["checks"]}
with h5py.File(sys.argv[2], "r") as request:
    sent = {request["cases"][name].attrs["kind"].decode() for name in request["cases"]}
print(f"--area {area}: {len(report['checks'])} checks of areas {sorted(areas)}, statuses {sorted(statuses)}; "
      f"request kinds {sorted(sent)}")
if area not in areas or not areas <= {area, "surface"} or not statuses <= {"passed", "not_applicable"} \
        or "passed" not in statuses or not sent <= kinds:
    sys.exit("FAIL: expected only this area's checks (and the surface checks they need), passing, and only its case kinds")
# The documented fixes are checked in the pca, quantizer and loss areas (BASELINE_FIXES.md's five
# fixes); elsewhere the fixes' verdict judged nothing and must say so.
expected = "ok" if area in {"pca", "quantizer", "loss"} else "not_run"
if report.get("fixes_verdict") != expected:
    sys.exit(f"FAIL: fixes_verdict {report.get('fixes_verdict')!r}, expected {expected!r}")
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
json_failed = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "failed"}
print(f"{len(cases)} testcases, {len(failures)} failures, {len(skips)} skipped; JSON {len(report['checks'])} checks")
if len(cases) != len(report["checks"]) or failures != json_failed or len(skips) != report["skipped"] + report["not_applicable"] \
        or int(suite.get("failures")) != report["failed"] or not failures:
    sys.exit("FAIL: the JUnit file does not say what the JSON report says")
if [c.get("name") for c in cases] != [c["id"] for c in report["checks"]]:
    sys.exit("FAIL: the testcases are not named by the checks' ids, in order")
if any(c.get("classname") != "conform." + check["area"] for c, check in zip(cases, report["checks"])):
    sys.exit("FAIL: a testcase without its area's classname")
PY
    ;;
  bad_area)
    usage_error_is_one_line "--area data,nope" --area nope
    ;;
  self_check)
    need_python
    "$python" "$here/doubles/check_doubles.py" --vqvae "$VQVAE" || fail "the doubles' self-check failed"
    ;;
  ids)
    "$VQVAE" conform --list-checks > "$scratch/list" || fail "--list-checks failed"
    cut -f1 "$scratch/list" > "$scratch/ids"
    grep -v '^#' "$1" | grep -v '^$' > "$scratch/pinned"
    if ! diff -u "$scratch/pinned" "$scratch/ids"; then
      fail "the check ids changed (above: - pinned in $1, + now); ids are stable across releases: change them only on purpose, in both places, with a note in docs/conform.md"
    fi
    if [ -n "${2:-}" ]; then  # the protocol's list of every check names each id
      while read -r id; do
        grep -qF "\`$id\`" "$2" || fail "$id is not in $2's list of every check"
      done < "$scratch/ids"
    fi
    echo "$(wc -l < "$scratch/ids") ids, as pinned${2:+, each in $2}"
    ;;
  expect)
    need_python
    "$python" "$here/doubles/variants.py" init_rate_times_k "$scratch/repo" || fail "cannot materialise init_rate_times_k"
    known="$python ${SOURCE:?}/tools/python/seed_api_driver.py --repo $scratch/repo"
    driver=$(fixed_double) || exit 1
    # 1. --write-expect writes this run's failures; the run still fails (exit 1).
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --driver "$known" --write-expect "$scratch/expect.txt" --json > "$scratch/written.json"
    status=$?
    [ "$status" -eq 1 ] || fail "--write-expect run: exit $status, expected 1"
    # 2. With that file (reasons filled in): exit 0, each failure expected, JUnit xfails.
    sed 's/: TODO (failing at this revision: .*/: known: the default rate is log2(n)·k (issue 1)/' "$scratch/expect.txt" > "$scratch/expect_reasons.txt"
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --driver "$known" --expect "$scratch/expect_reasons.txt" --json --junit "$scratch/expected.xml" > "$scratch/expected.json"
    status=$?
    [ "$status" -eq 0 ] || fail "--expect with every failure listed: exit $status, expected 0"
    # 3. The fixed double with the same file: the expected failures pass now (fixed): exit 0, and
    #    with --strict exit 1 and JUnit failures [XPASS(strict)].
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --driver "$driver" --expect "$scratch/expect_reasons.txt" --json > "$scratch/fixed.json"
    status=$?
    [ "$status" -eq 0 ] || fail "fixed double with --expect: exit $status, expected 0"
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --driver "$driver" --expect "$scratch/expect_reasons.txt" --strict --json --junit "$scratch/strict.xml" > "$scratch/strict.json"
    status=$?
    [ "$status" -eq 1 ] || fail "fixed double with --expect --strict: exit $status, expected 1"
    # 4. A file listing only one of the failures: the others fail the run (exit 1).
    head -n 5 "$scratch/expect_reasons.txt" | grep -v '^#' | head -n 1 > "$scratch/one.txt"
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --driver "$known" --expect "$scratch/one.txt" --json > "$scratch/one.json"
    status=$?
    [ "$status" -eq 1 ] || fail "--expect listing one of several failures: exit $status, expected 1"
    "$python" - "$scratch" <<'PY' || exit 1
import json, os, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
load = lambda name: json.load(open(os.path.join(d, name)))
written = load("written.json")
failing = sorted(c["id"] for c in written["checks"] if c["status"] == "failed")
listed = sorted(line.split(":")[0] for line in open(os.path.join(d, "expect.txt")) if line.strip() and not line.startswith("#"))
print("failing:", failing, "\nwritten:", listed)
if not failing or listed != failing:
    sys.exit("FAIL: --write-expect did not write exactly the failing ids")
expected = load("expected.json")
outcomes = {c["id"]: c["outcome"] for c in expected["checks"]}
if any(outcomes[i] != "expected_failure" for i in failing) or expected["failed"] != 0 or not expected["ok"] \
        or expected["expected_failures"] != len(failing):
    sys.exit(f"FAIL: with --expect the failures are not reported as expected: {expected['failed']} failed, "
             f"{expected['expected_failures']} expected")
suite = ET.parse(os.path.join(d, "expected.xml")).getroot().find("testsuite")
xfails = [c for c in suite.findall("testcase") if c.find("skipped") is not None and c.find("skipped").get("type") == "pytest.xfail"]
if sorted(c.get("name") for c in xfails) != failing or int(suite.get("failures")) != 0 \
        or any("known: the default rate" not in c.find("skipped").get("message") for c in xfails):
    sys.exit("FAIL: JUnit does not report each expected failure as a pytest.xfail skip with its reason")
fixed = load("fixed.json")
if sorted(c["id"] for c in fixed["checks"] if c["outcome"] == "fixed") != failing or not fixed["ok"]:
    sys.exit("FAIL: on the fixed double the expected failures are not reported as fixed")
strict = load("strict.json")
suite = ET.parse(os.path.join(d, "strict.xml")).getroot().find("testsuite")
xpass = [c.get("name") for c in suite.findall("testcase")
         if c.find("failure") is not None and c.find("failure").get("message").startswith("[XPASS(strict)]")]
if strict["ok"] or sorted(xpass) != failing:
    sys.exit("FAIL: --strict does not fail the fixed expected failures (JUnit [XPASS(strict)])")
one = load("one.json")
if one["ok"] or one["expected_failures"] != 1 or one["failed"] != len(failing) - 1:
    sys.exit("FAIL: with one failure listed, the others should fail the run")
print(f"ok: {len(failing)} expected failures; fixed and --strict; one listed, {one['failed']} others fail")
PY
    ;;
  bad_expect)
    printf 'data.dataset.X: ok\nno.such.check: a reason\n' > "$scratch/unknown.txt"
    printf 'data.dataset.X\n' > "$scratch/no_reason.txt"
    printf 'data.dataset.X: one\ndata.dataset.X: two\n' > "$scratch/twice.txt"
    for case in "--expect $scratch/unknown.txt|--expect|no.such.check" "--expect $scratch/no_reason.txt|--expect|no_reason.txt:1" \
                "--expect $scratch/twice.txt|--expect|twice" "--expect $scratch/absent.txt|--expect|absent.txt" \
                "--only data.dataset.X,nope.nope|--only|nope.nope"; do
      args=${case%%|*}; rest=${case#*|}
      usage_error_is_one_line "$args" "${rest%%|*}" "${rest#*|}"
    done
    ;;
  only)
    need_python
    driver=$(fixed_double) || exit 1
    # shellcheck disable=SC2086
    "$VQVAE" conform $config --only "$1" --keep "$scratch/keep" --json --driver "$driver" > "$scratch/report.json"
    status=$?
    [ "$status" -eq 0 ] || { cat "$scratch/report.json"; fail "exit status $status, expected 0"; }
    "$VQVAE" conform --list-checks > "$scratch/list"
    "$python" - "$scratch/report.json" "$scratch/keep/request.h5" "$1" <<'PY' || exit 1
import json, sys
import h5py
report, only = json.load(open(sys.argv[1])), sys.argv[3]
ids = [c["id"] for c in report["checks"]]
others = [i for i in ids if i != only]
with h5py.File(sys.argv[2], "r") as request:
    sent = sorted({request["cases"][name].attrs["kind"].decode() for name in request["cases"]})
print(f"--only {only}: checks {ids}; request kinds {sent}")
if only not in ids or any(not i.startswith("surface.") for i in others) or not others:
    sys.exit("FAIL: expected the check and the surface checks of its parts only")
if any(c["status"] != "passed" for c in report["checks"]):
    sys.exit("FAIL: not every check passed on the fixed double")
if sent != ["metrics", "surface"]:
    sys.exit(f"FAIL: --only {only} should send only its case kind (metrics) and the surface")
PY
    ;;
  config)
    need_python
    driver=$(fixed_double) || exit 1
    "$VQVAE" conform "$@" --driver "$driver" > "$scratch/report.txt"
    status=$?
    cat "$scratch/report.txt"
    [ "$status" -eq 0 ] || fail "exit status $status, expected 0"
    "$VQVAE" conform "$@" --driver "$driver" --json --keep "$scratch/keep" > "$scratch/report.json" || fail "JSON run failed"
    "$python" - "$scratch/report.json" "$scratch/keep/request.h5" "$scratch/report.txt" "$*" <<'PY' || exit 1
import json, sys
import h5py
report, text, flags = json.load(open(sys.argv[1])), open(sys.argv[3]).read(), sys.argv[4]
with h5py.File(sys.argv[2], "r") as request:
    cases = {name: dict(request["cases"][name].attrs) for name in request["cases"]}
text_of = lambda v: v.decode() if isinstance(v, bytes) else v
train, evaluate = cases.get("config_train"), cases.get("config_evaluate")
if not train or not evaluate:
    sys.exit("FAIL: no config_train or config_evaluate case in the request")
# The request's model is the configuration's (the flags given).
want = {"--quantizer": ("class", {"vq": "VectorQuantizer", "rotation": "RotationVectorQuantizer",
                                  "projection": "ProjectionVectorQuantizer"}),
        "--encoder": ("encoder", None), "--optimizer": ("optimizer", None)}
words = flags.split()
for flag, (attribute, names) in want.items():
    if flag in words:
        value = words[words.index(flag) + 1]
        value = names[value] if names else value
        for case in (train, evaluate):
            if text_of(case[attribute]) != value:
                sys.exit(f"FAIL: {attribute} {text_of(case[attribute])}, the configuration says {value}")
if "--codebook-size" in words:
    n = int(words[words.index("--codebook-size") + 1])
    if int(evaluate["codebook_size"]) != n or "config_init_kmeans_init" not in cases:
        sys.exit("FAIL: the configuration's codebook size or its k-means case is missing")
if "config_train" not in text or "config_evaluate" not in text or not any("config_train" in line for line in report["configuration_cases"]):
    sys.exit("FAIL: the report does not say which configuration cases ran")
judged = {c["id"]: c["status"] for c in report["checks"]}
for id in ("trainer.configuration.train_step", "trainer.evaluate.recon_loss", "init.kmeans.fixed_point"):
    if judged.get(id) != "passed":
        sys.exit(f"FAIL: {id} is {judged.get(id)}")
print("ok: config_train and config_evaluate at", report["configuration"])
PY
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
