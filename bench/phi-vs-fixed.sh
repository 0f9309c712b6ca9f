#!/usr/bin/env bash
# Phi accrual vs fixed-timeout failure detection under heavy-tailed latency, in the simulator.
# Usage: bench/phi-vs-fixed.sh [chorus-binary]   (default: build release and use it)
# Prints a Markdown table: per detector, summed over seeds, the false suspicions (suspect
# events about members that were alive), false positives (live members declared dead), and
# median detection times of the crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-}
if [ -z "$BIN" ]; then swift build -c release >/dev/null; BIN=.build/release/chorus; fi
SEEDS=${SEEDS:-"1 2 3 4 5"}
run() { # network-args... -- detector-args...
  python3 - "$BIN" "$@" <<'PY'
import json, subprocess, sys, statistics
binary = sys.argv[1]; args = sys.argv[2:]
split = args.index("--"); net = args[:split]; det = args[split+1:]
import os
seeds = os.environ.get("SEEDS", "1 2 3 4 5").split()
fs = fp = 0; first = []; allp = []
for s in seeds:
    out = subprocess.run([binary, "sim", "--nodes", "200", "--duration", "300", "--crash-fraction", "0.02",
                          "--crash-at", "60", "--seed", s, "--json"] + net + det, capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    fs += r["false_suspicions"]; fp += r["false_positives"]
    if r["detection"]["first_p50"] is not None: first.append(r["detection"]["first_p50"])
    if r["detection"]["all_p50"] is not None: allp.append(r["detection"]["all_p50"])
print(f"| {' '.join(net)} | {' '.join(det)} | {fs} | {fp} | {statistics.median(first):.2f} | {statistics.median(allp):.2f} |")
PY
}
echo "| network | detector | false suspicions | false positives | detection first p50 (s) | detection all p50 (s) |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for NET in "--jitter pareto --latency-ms 4 --loss 0.01" "--jitter lognormal --latency-ms 8 --loss 0.01"; do
  run $NET -- --detector phi
  for T in 500 200 100; do run $NET -- --detector fixed --probe-timeout-ms $T; done
done
