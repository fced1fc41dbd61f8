#!/usr/bin/env bash
# Run test files repeatedly beside two CPU-bound busy loops (the "loaded 2-core machine" of the brief):
#   scripts/under-load.sh RUNS test/a.test.ts [test/b.test.ts ...]
#   UNDER_LOAD_FILTER='copytruncate' scripts/under-load.sh ...   (only the tests whose name matches, vitest -t)
# Each file runs on its own (npx vitest run FILE), RUNS times, niced so the busy loops win the CPU;
# prints one line per run and a runs/passes total per file. Build first (tests run dist/).
# The busy loops are ended on exit, whatever happens (they are this script's children, by PID).
set -u
runs=$1
shift
loops=()
cleanup() { for p in "${loops[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT INT TERM
for _ in 1 2; do
  nice -n 0 sh -c 'while :; do :; done' &
  loops+=($!)
done
log=${UNDER_LOAD_LOG:-/tmp/under-load.$$.log}
: >"$log"
declare -A pass
for f in "$@"; do pass[$f]=0; done
for ((i = 1; i <= runs; i++)); do
  for f in "$@"; do
    start=$(date +%s)
    if nice -n 10 npx vitest run "$f" ${UNDER_LOAD_FILTER:+-t "$UNDER_LOAD_FILTER"} >>"$log" 2>&1; then
      pass[$f]=$((pass[$f] + 1))
      r=pass
    else
      r=FAIL
    fi
    echo "run $i $f: $r ($(($(date +%s) - start)) s, load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
for f in "$@"; do echo "$f: ${pass[$f]}/$runs passed under two busy loops"; done
echo "output: $log"
