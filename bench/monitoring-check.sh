#!/usr/bin/env bash
# Checks the monitoring files against promtool and against a live cluster:
#   1. promtool check config / check rules / test rules (config/prometheus.yml, alerts.yml,
#      alerts.test.yml);
#   2. starts `chorus dev` (3 nodes) and a real Prometheus scraping it with config/prometheus.yml
#      (its targets replaced by the dev cluster's API addresses), puts lock and key-value load on
#      the cluster (locks, key-value, queue, cache), and runs every query of
#      config/grafana-dashboard.json: each must return data; every metric config/alerts.yml reads
#      must have a series.
# Needs Debian's prometheus package (apt-get install -y prometheus) and python3.
#
# Usage: bench/monitoring-check.sh [--pending PREFIX,PREFIX...]
#   --pending: panels whose query uses a metric starting with one of the prefixes are reported
#              as "pending" instead of failing (metrics not exported yet).
# Environment: CHORUS_BINARY (default .build/release/chorus, else .build/debug/chorus),
#              PROM_PORT (default 19090), LOAD_SECONDS (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."

pending=""
if [[ ${1:-} == --pending ]]; then pending=${2:-}; fi
prom_port=${PROM_PORT:-19090}
load_seconds=${LOAD_SECONDS:-30}

step() { printf '\n== %s\n' "$*"; }

step "promtool"
promtool check config config/prometheus.yml
promtool check rules config/alerts.yml
promtool test rules config/alerts.test.yml

chorus=${CHORUS_BINARY:-}
if [[ -z $chorus ]]; then
    if [[ -x .build/release/chorus ]]; then chorus=.build/release/chorus
    else swift build --product chorus >/dev/null && chorus=.build/debug/chorus; fi
fi
work=$(mktemp -d /tmp/chorus-monitoring-XXXXXX)
dev_pid="" prom_pid=""
cleanup() {
    [[ -n $prom_pid ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null || true
    if [[ -n $dev_pid ]]; then kill -INT "$dev_pid" 2>/dev/null; wait "$dev_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

step "chorus dev (3 nodes) with $chorus"
"$chorus" dev --nodes 3 --data-dir "$work/dev" >"$work/dev.out" 2>"$work/dev.err" &
dev_pid=$!
for _ in $(seq 1 120); do grep -qs 'Ctrl-C stops every node' "$work/dev.out" && break; sleep 0.5; done
grep -q ' ready in ' "$work/dev.out" || { cat "$work/dev.out" "$work/dev.err"; echo "chorus dev did not get ready" >&2; exit 1; }
head -1 "$work/dev.out"
mapfile -t apis < <(awk '$1 ~ /^node[0-9]+$/ {print $4}' "$work/dev.out")
echo "APIs: ${apis[*]}"

step "prometheus on 127.0.0.1:$prom_port"
targets=$(printf '"%s", ' "${apis[@]}")
sed "s|      - targets: .*# chorus dev targets|      - targets: [${targets%, }]|" config/prometheus.yml >"$work/prometheus.yml"
cp config/alerts.yml "$work/alerts.yml"
grep -q "${apis[0]}" "$work/prometheus.yml" || { echo "could not set the targets in $work/prometheus.yml" >&2; exit 1; }
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 1 60); do curl -sf "127.0.0.1:$prom_port/-/ready" >/dev/null && break; sleep 0.5; done
curl -sf "127.0.0.1:$prom_port/-/ready" >/dev/null || { tail -20 "$work/prometheus.log"; exit 1; }

step "load for ${load_seconds}s: chorus bench lock (4 clients), key-value writes, lock acquire -- CMD, queue publish/fetch, cache put/get"
api_list=$(IFS=,; echo "${apis[*]}")
curl -sf -o /dev/null -X POST "${apis[0]}/v1/queues" -d '{"name":"monitoring","partitions":3}' || true
"$chorus" bench lock --clients 4 --duration "${load_seconds}s" --api "$api_list" >"$work/bench.out" 2>&1 &
bench_pid=$!
end=$((SECONDS + load_seconds))
i=0
while ((SECONDS < end)); do
    curl -s -o /dev/null -X PUT "${apis[$((i % ${#apis[@]}))]}/v1/kv/key-$((i % 50))" -d "value-$i" || true
    if ((i % 20 == 0)); then "$chorus" lock acquire "demo/$((i % 3))" --wait 2s --api "${apis[0]}" -- true || true; fi
    # Publishes outrun fetches two to one, so the queue keeps a backlog (chorus_queue_depth).
    curl -s -o /dev/null -X POST "${apis[$((i % ${#apis[@]}))]}/v1/queues/monitoring/messages" -d "{\"messages\":[{\"body\":\"m-$i\"}]}" || true
    if ((i % 2 == 0)); then curl -s -o /dev/null -X POST "${apis[0]}/v1/queues/monitoring/fetch" -d '{"max_messages":1}' || true; fi
    # A write, then two reads on one node: a miss fills its copy, the second read hits it.
    cache_api=${apis[$((i % ${#apis[@]}))]}
    curl -s -o /dev/null -X PUT "$cache_api/v1/cache/c-$((i % 20))" -d "v-$i" || true
    curl -s -o /dev/null "$cache_api/v1/cache/c-$(((i + 7) % 20))" || true
    curl -s -o /dev/null "$cache_api/v1/cache/c-$(((i + 7) % 20))" || true
    i=$((i + 1))
done
wait "$bench_pid" || true
tail -3 "$work/bench.out"
echo "$i rounds (key-value write, queue publish, cache put and two gets each)"
sleep 6   # one more scrape after the load

step "dashboard queries (config/grafana-dashboard.json)"
python3 - "$prom_port" "$pending" <<'PY'
import json, sys, urllib.parse, urllib.request
port, pending = sys.argv[1], [p for p in sys.argv[2].split(",") if p]
dashboard = json.load(open("config/grafana-dashboard.json"))
failed = 0
print(f"{'PANEL':40} {'REF':3} {'SERIES':>6}  RESULT")
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        expr = target["expr"]
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        answer = json.load(urllib.request.urlopen(url, timeout=10))
        series = answer["data"]["result"] if answer.get("status") == "success" else []
        if series:
            verdict = "data"
        elif any(p in expr for p in pending):
            verdict = "pending (metric not exported yet)"
        else:
            verdict = "NO DATA"
            failed += 1
        sample = series[0]["value"][1] if series and "value" in series[0] else ""
        print(f"{panel['title'][:40]:40} {target['refId']:3} {len(series):6}  {verdict}" + (f" (first: {sample})" if sample else ""))
# Every metric an alerting rule reads must be on /metrics: a rule over a missing series never fires.
import re
alert_metrics = sorted(set(re.findall(r"\b(up|chorus_[a-z_]+)\{", open("config/alerts.yml").read())))
print(f"\n{'ALERT METRIC':48} {'SERIES':>6}  RESULT")
for name in alert_metrics:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": name + '{job="chorus"}'})
    series = json.load(urllib.request.urlopen(url, timeout=10))["data"]["result"]
    if series:
        verdict = "exported"
    elif any(name.startswith(p) for p in pending):
        verdict = "pending (metric not exported yet)"
    else:
        verdict = "MISSING"
        failed += 1
    print(f"{name:48} {len(series):6}  {verdict}")
rules = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=10))
names = [r["name"] for g in rules["data"]["groups"] for r in g["rules"]]
alerts = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=10))["data"]["alerts"]
print(f"\n{len(names)} alerting rules loaded: {', '.join(names)}")
print("alerts pending or firing: " + (", ".join(f"{a['labels']['alertname']} ({a['state']})" for a in alerts) or "none"))
if failed:
    print(f"\n{failed} queries returned no data or alert metrics are missing", file=sys.stderr)
    sys.exit(1)
print("\nevery dashboard query returned data and every alert metric is exported" + (" (pending ones aside)" if pending else ""))
PY
