#!/usr/bin/env bash
# Kill soak: runs a study once undisturbed, then again while SIGKILLing `kdpipe run` until KILLS
# kills have interrupted it at random moments (each rerun resumes what the last left; when a run is
# nearly through, or finished before its kill, the next starts a fresh run directory), and checks
# that the interrupted run
# ends with exactly the reference's results: every model, prediction file and cache equal, every
# cache intact, no stage left unfinished, no temporary file behind.
#
#   bash bench/kill_soak.sh [STUDY.ini] [KILLS] [SEED]
#   KD_SOAK_REFERENCE=DIR KD_SOAK_SPAN_S=S   reuse a finished reference run (an earlier soak's
#                                            work folder's ref/) that took S seconds
#
# Default study: a small one on Fashion-MNIST written to the work folder (about a minute a run on
# 2 cores). Results repeat exactly only for the same --jobs and --threads, so both are fixed here.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kdpipe=${KDPIPE:-$here/build/kdpipe}
work=$(mktemp -d "${TMPDIR:-/tmp}/kdpipe-soak-XXXXXX")
study=${1:-}
kills=${2:-20}
seed=${3:-1}
RANDOM=$seed
if [[ -z $study ]]; then
  study=$work/soak.ini
  cat > "$study" <<'INI'
[study]
name = soak
[data]
val-size = 1000
[teacher]
arch = mlp:64
smoothing = 0 0.1
epochs = 2
mi-examples = 20
[cache]
views = 2
temperatures = 1 4
[student]
arch = mlp:32
temperature = 1 4
train-subset = 5000
epochs = 2
[baseline]
smoothing =
[report]
projection-examples = 10
INI
fi
run() { "$kdpipe" run "$study" --jobs 1 --threads 2 --out "$1"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
if [[ -n ${KD_SOAK_REFERENCE:-} ]]; then
  # An earlier soak's finished reference run of the same study and binary, and its span.
  cp -a "$KD_SOAK_REFERENCE" "$work/ref"
  span_ms=$(( ${KD_SOAK_SPAN_S:?KD_SOAK_REFERENCE needs KD_SOAK_SPAN_S} * 1000 ))
  echo "== reference run: $KD_SOAK_REFERENCE (${KD_SOAK_SPAN_S} s)"
else
  echo "== reference run"
  start=$(now_ms)
  run "$work/ref" > "$work/ref.log" 2>&1
  span_ms=$(( $(now_ms) - start ))
  echo "   $(grep -m1 ' ran, ' "$work/ref.log") in $(( span_ms / 1000 )) s"
fi

# Every dataset of two HDF5 files equal; every stage of a manifest done.
cat > "$work/same_h5.py" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
names = []
a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)
for n in names:
    if not np.array_equal(a[n][()], b[n][()]):
        print(f"FAIL: {sys.argv[2]}: /{n} differs"); sys.exit(1)
PY
cat > "$work/all_done.py" <<'PY'
import json, sys
bad = [s["id"] for s in json.load(open(sys.argv[1]))["stages"] if s["state"] != "done"]
if bad: print("FAIL: not done:", bad); sys.exit(1)
PY

# Finishes the interrupted run directory and compares it with the reference; sets fail=1 on any
# difference.
fail=0
checked=0
finish_and_compare() {
  run "$work/soak" > "$work/soak-final.log" 2>&1 || { echo "FAIL: the finishing run failed"; fail=1; }
  echo "   finished: $(grep -m1 ' ran, ' "$work/soak-final.log")"
  checked=$((checked + 1))
  local leftovers
  leftovers=$(find "$work/soak" -name '*.tmp-*' -o -name '*.partial' | wc -l)
  [[ $leftovers -eq 0 ]] || { echo "FAIL: $leftovers temporary or partial files left"; fail=1; }
  (cd "$work/ref" && find . \( -name model.pt -o -name predictions.pt \) | sort) > "$work/files"
  while read -r f; do
    cmp -s "$work/ref/$f" "$work/soak/$f" || { echo "FAIL: $f differs"; fail=1; }
  done < "$work/files"
  for cache in $(cd "$work/ref" && find . -name '*.h5' | sort); do
    "$kdpipe" inspect "$work/soak/$cache" > /dev/null || { echo "FAIL: $cache not intact"; fail=1; }
    /usr/bin/python3 "$work/same_h5.py" "$work/ref/$cache" "$work/soak/$cache" || fail=1
  done
  /usr/bin/python3 "$work/all_done.py" "$work/soak/manifest.json" || fail=1
}

echo "== $kills kills"
interrupted=0
attempt=0
done_ms=0  # how much of the span the interrupted runs of this run directory have got through
# Until KILLS kills have interrupted a run (a kill that comes after the run finished does not count).
while (( interrupted < kills && attempt < 3 * kills )); do
  attempt=$((attempt + 1))
  # A moment uniformly in what is left of the study, so that kills land in teach, cache, distill
  # and report alike; when little is left, the soak starts a fresh run directory.
  if (( span_ms - done_ms < 1000 )); then
    finish_and_compare
    rm -rf "$work/soak"
    done_ms=0
    echo "   (fresh run directory)"
  fi
  fresh=$(( done_ms == 0 ))
  at_ms=$(( (RANDOM * 32768 + RANDOM) % (span_ms - done_ms) ))
  done_ms=$(( done_ms + at_ms ))
  at=$(printf '%d.%03d' $(( at_ms / 1000 )) $(( at_ms % 1000 )))
  # kdpipe itself in the background (not a subshell around it): the kill must reach `kdpipe run`,
  # whose stage processes die with it.
  log=$work/soak-$attempt.log
  started_s=$(date +%s)
  "$kdpipe" run "$study" --jobs 1 --threads 2 --out "$work/soak" > "$log" 2>&1 &
  pid=$!
  sleep "$at"
  # A run that printed its report line had finished, whatever kill says of its process.
  if kill -9 "$pid" 2> /dev/null && ! grep -q '^report: ' "$log"; then
    interrupted=$((interrupted + 1))
    echo "   kill $interrupted: killed at ${at} s"
    wait "$pid" 2> /dev/null || true
  else
    wait "$pid" 2> /dev/null || true
    # It finished before the kill: runs take less than the span assumed. From a fresh directory,
    # that run's time is the span from now on; the directory is complete, so start afresh.
    took_s=$(( $(stat -c %Y "$log") - started_s + 1 ))
    if (( fresh && took_s * 1000 < span_ms )); then span_ms=$(( took_s * 1000 )); fi
    done_ms=$span_ms
    echo "   (the run had finished before ${at} s: not counted; span now $(( span_ms / 1000 )) s)"
  fi
done
echo "== final run and comparison"
finish_and_compare
n=$(wc -l < "$work/files")
if ((interrupted < kills)); then
  echo "FAIL: only $interrupted of $kills kills interrupted a run in $attempt tries"
  fail=1
fi
if [[ $fail -eq 0 ]]; then
  echo "PASS: $interrupted of $kills kills interrupted the run; after each of $checked resumed runs," \
       "$n model and prediction files and every cache identical to the reference (work folder $work)"
else
  echo "FAILED (work folder $work)"
  exit 1
fi
