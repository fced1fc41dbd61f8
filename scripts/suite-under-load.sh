#!/usr/bin/env bash
# The whole suite RUNS times in a row beside two CPU-bound busy loops (issue 20's done-when), each run as
# CI runs it (CI=true: a skipped test fails), counted from vitest's JSON report:
#   npm run build && scripts/suite-under-load.sh RUNS [LOGDIR]
# One line per run: exit status (vitest's: 1 also for unhandled errors such as a worker's RPC timeout),
# passed/failed/skipped, seconds, load, the fast-check seed (XD_SEED=N replays it). Stops at the first
# run that is not clean. Stretches over 20 s in which a test worker's event loop stood go to stall-N.log
# (test/setup/stall.ts). The busy loops are this script's children and end with it.
set -u
runs=$1
logs=${2:-/tmp/suite-under-load.$$}
mkdir -p "$logs"
cd "$(dirname "$0")/.."
loops=()
cleanup() { for p in "${loops[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT INT TERM
for _ in 1 2; do
  sh -c 'while :; do :; done' &
  loops+=($!)
done
for ((i = 1; i <= runs; i++)); do
  start=$(date +%s)
  CI=true XD_STALL_LOG="$logs/stall-$i.log" XD_VITEST_JSON="$logs/run-$i.json" npx vitest run >"$logs/run-$i.log" 2>&1
  rc=$?
  counts=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const t = r.testResults.flatMap((f) => f.assertionResults);
    const unloaded = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    const passed = t.filter((a) => a.status === "passed").length;
    const failed = t.filter((a) => a.status === "failed").length;
    console.log(`${passed} passed, ${failed + unloaded} failed, ${t.length - passed - failed} skipped`);' "$logs/run-$i.json" 2>&1)
  seed=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/run-$i.log" | grep -oE 'fast-check seed: -?[0-9]+' | head -n 1)
  echo "run $i: exit $rc, $counts, $(($(date +%s) - start)) s, load $(cut -d' ' -f1-3 /proc/loadavg), $seed" | tee -a "$logs/summary.txt"
  if [ "$rc" -ne 0 ]; then
    echo "run $i is not clean: $logs/run-$i.log"
    exit 1
  fi
done
echo "$runs runs in a row passed beside two busy loops ($logs/summary.txt)"
