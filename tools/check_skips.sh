#!/bin/sh
# The skip policy: after ctest, every test that did not run must be on the committed list of
# allowed skips, each with its reason. Prints the count of skips either way; fails (exit 1),
# naming them, when a skipped or not-run test is not on the list.
#   check_skips.sh CTEST_OUTPUT [ALLOWED_LIST]
# CTEST_OUTPUT: what `ctest` printed (its "The following tests did not run:" section lists the
# skipped ones; a test whose program is missing is "***Not Run" and fails ctest itself, and is
# named here too). ALLOWED_LIST: default spec_tests/allowed_skips.txt (name, tab, reason).
set -u
log=${1:?usage: check_skips.sh CTEST_OUTPUT [ALLOWED_LIST]}
allowed=${2:-$(cd "$(dirname "$0")/.." && pwd)/spec_tests/allowed_skips.txt}
[ -r "$log" ] || { echo "check_skips: cannot read the ctest output '$log'"; exit 2; }
[ -r "$allowed" ] || { echo "check_skips: cannot read the list of allowed skips '$allowed'"; exit 2; }
# "  51 - slurm.sweep_array_and_merge (Skipped)" under "did not run", and "***Not Run" lines.
skipped=$(awk '/^The following tests did not run:/ { listing = 1; next }
               listing && /^[ \t]+[0-9]+ - / { print $3; next }
               listing { listing = 0 }
               /\*\*\*Not Run/ { for (i = 1; i <= NF; i++) if ($i ~ /^#[0-9]+:$/) print $(i + 1) }' "$log" | sort -u)
count=0 unlisted=0
for name in $skipped; do
  count=$((count + 1))
  reason=$(awk -F '\t' -v n="$name" '$1 == n { print $2 }' "$allowed")
  if [ -n "$reason" ]; then
    echo "skipped (allowed): $name: $reason"
  else
    echo "skipped, NOT ALLOWED: $name (not on $allowed)"
    unlisted=$((unlisted + 1))
  fi
done
echo "skips: $count test(s) did not run, $unlisted of them not on the allowed list"
[ "$unlisted" -eq 0 ]
