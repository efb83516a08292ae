#!/usr/bin/env bash
# From a clone to a green new project on your own data, each step timed (docs/monorepo.md, 1b):
#
#     bash tools/scaffold/walkthrough.sh <csv or parquet file or folder> <target column> [project name]
#
# Clones this repository (its committed HEAD) into a temporary folder, then runs what a newcomer
# does: make setup, make project, make check, make lint, commit, make repro P=, make test P=,
# make exp P=. Prints each step's wall time and the total; stops at the first step that fails,
# showing its output. Nothing in this checkout is touched.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: bash tools/scaffold/walkthrough.sh <data file or folder> <target column> [project name]" >&2
  exit 2
fi
data=$(realpath "$1")
target=$2
name=${3:-walk}
repository=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
log="$work/step.log"
# make's recipes use bash; an inherited SHELL of another kind would not matter, but a stale
# VIRTUAL_ENV would put another environment's tools first.
unset VIRTUAL_ENV

# Seconds since $1 (nanoseconds from `date +%s%N`), to a tenth.
seconds_since() {
  local tenths=$((($(date +%s%N) - $1) / 100000000))
  echo "$((tenths / 10)).$((tenths % 10))"
}

step() {
  local start
  start=$(date +%s%N)
  if ! "$@" >"$log" 2>&1; then
    echo "FAILED: $*" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  printf '%-64s %7s s\n' "$*" "$(seconds_since "$start")"
}

begin=$(date +%s%N)
cd "$work"
step git clone --quiet "$repository" research
cd research
step make setup
step make project "NAME=$name" "DATA=$data" "TARGET=$target"
step make check
step make lint
step git add -A
step git commit --quiet -m "project $name"
step make repro "P=$name"
step make test "P=$name"
step make exp "P=$name" "ARGS=-S $name.prepare.seed=7"
printf '%-64s %7s s\n' "total, from clone to a green project and its first experiment" \
  "$(seconds_since "$begin")"
echo "the clone: $work/research (remove it when done)"
