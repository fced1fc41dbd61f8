#!/usr/bin/env bash
# End-to-end Xen lab (issue 8): for each scenario (all, or those named), boot Xen 4.17 + the 6.1 PV dom0
# under QEMU with test/lab/xenlab.sh, capture the serial console and the marked sections into a fresh
# folder, run `node bin/xendoctor.js scan --format json` on the files that samples/lab/SCENARIO/expect.json
# lists, and check its findings against that expect.json. For toolstack it also scans, on its own, the live
# output of `xl dmesg` run inside dom0 (section xl-dmesg -> xl-dmesg.txt).
#
# Usage: test/lab/run.sh [--samples] [SCENARIO...]
#   --samples   do not boot: check the committed captures in samples/lab/SCENARIO/ instead (seconds)
# Environment: XENLAB_WORK (work folder, default ${TMPDIR:-/tmp}/xendoctor-lab; packages are cached there),
#   XENLAB_NOBUILD=1 (skip `npm run build`), and xenlab.sh's own (XENLAB_TIMEOUT, ...).
# Prints one line per scenario and "N passed, N failed"; exits 1 when any failed, 3 on bad usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
work=${XENLAB_WORK:-${TMPDIR:-/tmp}/xendoctor-lab}
mode=boot; [ "${1:-}" = "--samples" ] && { mode=samples; shift; }
if [ $# -gt 0 ]; then scenarios=("$@"); else mapfile -t scenarios < <("$here/xenlab.sh" --list); fi
for s in "${scenarios[@]}"; do
  [ -f "$root/samples/lab/$s/expect.json" ] || { echo "no samples/lab/$s/expect.json (scenarios: $("$here/xenlab.sh" --list | tr '\n' ' '))" >&2; exit 3; }
done
cd "$root"
if [ -z "${XENLAB_NOBUILD:-}" ]; then
  npm run build >/dev/null 2>&1 || { echo "npm run build failed" >&2; npm run build 2>&1 | tail -20 >&2; exit 1; }
fi
[ -f bin/xendoctor.js ] || { echo "bin/xendoctor.js not found" >&2; exit 3; }

caps=$work/runs/$(date +%Y%m%d-%H%M%S); mkdir -p "$caps"
pass=0; fail=0

# check JSON_FILE EXPECT_FILE LABEL [absent/maxSeverity only]: prints the verdict line, returns 0/1
check() {
  node --input-type=module - "$1" "$2" "$3" "${4:-}" <<'JS'
import { readFileSync } from 'node:fs';
const [out, exp, label, partial] = process.argv.slice(2);
const rank = { info: 0, warning: 1, error: 2, critical: 3 };
let res;
try { res = JSON.parse(readFileSync(out, 'utf8')); } catch (e) {
  console.log(`FAIL ${label}: xendoctor printed no JSON (${e.message.split('\n')[0]})`); process.exit(1);
}
const want = JSON.parse(readFileSync(exp, 'utf8'));
const findings = res.findings ?? [];
const found = [...new Set(findings.map((f) => f.rule))].sort();
const problems = [];
const lines = (res.inputs ?? []).reduce((n, i) => n + (i.lines ?? 0), 0);
if (lines === 0) problems.push('xendoctor read no lines');
for (const i of res.inputs ?? []) for (const e of i.errors ?? []) problems.push(`input error ${i.source}: ${e.message ?? JSON.stringify(e)}`);
if (!partial) for (const id of want.present ?? []) if (!found.includes(id)) problems.push(`missing ${id}`);
for (const id of want.absent ?? []) if (found.includes(id)) problems.push(`unexpected ${id}`);
if (want.maxSeverity) for (const f of findings)
  if ((rank[f.severity] ?? 9) > rank[want.maxSeverity]) problems.push(`${f.rule} is ${f.severity} (> ${want.maxSeverity})`);
const what = `${lines} lines, found [${found.join(', ')}]`;
if (problems.length) { console.log(`FAIL ${label}: ${[...new Set(problems)].join('; ')} -- ${what}`); process.exit(1); }
console.log(`PASS ${label}: ${what}`);
JS
}

for s in "${scenarios[@]}"; do
  exp=samples/lab/$s/expect.json
  if [ $mode = boot ]; then
    dir=$caps/$s
    t0=$(date +%s)
    if ! "$here/xenlab.sh" "$s" "$work" > "$caps/$s.boot.txt" 2>&1 || [ ! -s "$work/out/$s-serial.log" ]; then
      echo "FAIL $s: the lab run failed (see $caps/$s.boot.txt)"; tail -5 "$caps/$s.boot.txt" | sed 's/^/    /'; fail=$((fail+1)); continue
    fi
    "$here/xenlab.sh" --capture "$work/out/$s-serial.log" "$dir"
    echo "     $s: booted in $(( $(date +%s) - t0 ))s, captured into $dir"
  else
    dir=samples/lab/$s
  fi
  mapfile -t files < <(node -e 'for (const f of JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).files) console.log(f)' "$exp")
  missing=""; args=()
  for f in "${files[@]}"; do [ -f "$dir/$f" ] && args+=("$dir/$f") || missing="$missing $f"; done
  if [ -n "$missing" ]; then echo "FAIL $s: capture lacks$missing"; fail=$((fail+1)); continue; fi
  node bin/xendoctor.js scan --format json --no-color "${args[@]}" > "$caps/$s.json" 2> "$caps/$s.stderr"
  if check "$caps/$s.json" "$exp" "$s"; then pass=$((pass+1)); else fail=$((fail+1)); head -3 "$caps/$s.stderr" | sed 's/^/    /'; fi
  if [ "$s" = toolstack ]; then   # the live `xl dmesg` from inside dom0, on its own
    if [ -s "$dir/xl-dmesg.txt" ]; then
      node bin/xendoctor.js scan --format json --no-color "$dir/xl-dmesg.txt" > "$caps/$s.xl-dmesg.json" 2> "$caps/$s.xl-dmesg.stderr"
      if check "$caps/$s.xl-dmesg.json" "$exp" "$s/xl-dmesg (live xl dmesg in dom0)" partial; then pass=$((pass+1)); else fail=$((fail+1)); fi
    else echo "FAIL $s/xl-dmesg: no xl dmesg output captured"; fail=$((fail+1)); fi
  fi
done
echo "captures and xendoctor output: $caps"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
