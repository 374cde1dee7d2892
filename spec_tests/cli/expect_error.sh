#!/bin/sh
# A command-line error as a user meets it (docs/reliability.md's "Bad input" table and `validate`'s
# invalid configurations):
#   expect_error.sh VQVAE STATUS MESSAGE SETUP ARGUMENTS
# In a fresh folder, runs the shell command SETUP, then, in the same shell (so that a `ulimit` in
# SETUP applies), `VQVAE ARGUMENTS` (split on spaces), and passes when the exit status is STATUS, stdout is empty, stderr is exactly one line containing
# MESSAGE, and the folder holds only what SETUP put there (no output file, no temporary).
set -u
vqvae=$1 status=$2 message=$3 setup=$4 arguments=$5
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vqvae_cli_XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/work" && cd "$scratch/work" || exit 1
(
  eval "$setup" || { echo "set-up failed: $setup"; exit 199; }
  ls -A > "$scratch/before"
  # shellcheck disable=SC2086  # ARGUMENTS is split on purpose
  exec "$vqvae" $arguments > "$scratch/stdout" 2> "$scratch/stderr"
)
got=$?
[ "$got" -ne 199 ] || exit 1
before=$(cat "$scratch/before")
out=$(cat "$scratch/stderr")
echo "exit status $got; stderr: $out"
[ "$got" -eq "$status" ] || { echo "FAIL: expected exit status $status"; exit 1; }
[ ! -s "$scratch/stdout" ] || { echo "FAIL: stdout is not empty: $(cat "$scratch/stdout")"; exit 1; }
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || { echo "FAIL: stderr is not one line"; exit 1; }
printf '%s\n' "$out" | grep -qF -- "$message" || { echo "FAIL: stderr lacks: $message"; exit 1; }
[ "$(ls -A)" = "$before" ] || { echo "FAIL: the folder changed: before '$before', after '$(ls -A)'"; exit 1; }
echo "ok"
