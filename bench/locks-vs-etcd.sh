#!/usr/bin/env bash
# Distributed locks, chorus against etcd 3.4, on one machine over loopback, measured by the
# same client (`chorus bench lock`): acquire+release pairs/s and acquire latency p50/p99 for
# C = 1, 8, 32 client threads, each with its own lock name (uncontended) and all on one name
# (contended). chorus: 3 agents (64 shards, 3 replicas each, so every agent hosts every shard
# and leads about a third). etcd: a 3-member cluster. fsync is on for both. Both are driven
# over persistent HTTP/1.1 connections, chorus to each lock's shard leader, etcd to its leader.
#
# Usage: bench/locks-vs-etcd.sh [work-dir [svg-dir]]   (from the repository root)
# Env:   CHORUS=path/to/chorus (default: release build in .build-rel2), DURATION=10s,
#        WARMUP=1s, CLIENTS="1 8 32", REPEATS=1, SKIP_ETCD=1, SKIP_CHORUS=1, KEEP=1 (keep the
#        work dir), SVG_DIR=dir (or the second argument): draw the pictures there with
#        bench/locks-plots.py (acquire latency CDF at the largest C; pairs/s against C)
# The functions can be sourced (`source bench/locks-vs-etcd.sh`) and called one by one;
# then call `cleanup` yourself.
set -euo pipefail

WORK=${WORK:-}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-1s}
CLIENTS=${CLIENTS:-"1 8 32"}
CHORUS=${CHORUS:-}
REPEATS=${REPEATS:-1}
SVG_DIR=${SVG_DIR:-}
PIDS=()

ETCD_PEER_PORTS=(24601 24602 24603)
ETCD_CLIENT_PORTS=(24701 24702 24703)
CHORUS_BIND_PORTS=(24801 24802 24803)
CHORUS_API_PORTS=(24811 24812 24813)

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

make_work_dir() {
  if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/locks-vs-etcd.XXXXXX); fi
  mkdir -p "$WORK"
  : >"$WORK/results.jsonl"
}

stop_processes() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

cleanup() {
  stop_processes
  if [ -n "$WORK" ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi
}

# --- etcd -------------------------------------------------------------------------------

ensure_etcd() {
  if ! command -v etcd >/dev/null; then
    log "installing etcd-server"
    DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server >&2
  fi
  etcd --version | head -1 >&2
}

start_etcd() {
  local cluster="" i
  for i in 0 1 2; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${ETCD_PEER_PORTS[$i]}"; done
  for i in 0 1 2; do
    etcd --name "e$i" --data-dir "$WORK/etcd-$i" \
      --listen-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
      --advertise-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token locks-bench \
      >"$WORK/etcd-$i.log" 2>&1 &
    PIDS+=($!)
  done
}

etcd_urls() {
  local urls="" i
  for i in 0 1 2; do urls+="${urls:+,}http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}"; done
  echo "$urls"
}

# Waits until a member reports a leader and the lock endpoint of the JSON gateway answers.
wait_etcd() {
  local port=${ETCD_CLIENT_PORTS[0]} _
  for _ in $(seq 1 120); do
    if curl -sf -X POST "http://127.0.0.1:$port/v3/maintenance/status" -d '{}' 2>/dev/null |
        python3 -c 'import json,sys; sys.exit(0 if int(json.load(sys.stdin).get("leader","0")) != 0 else 1)' 2>/dev/null; then
      log "etcd has a leader"
      return 0
    fi
    sleep 0.5
  done
  log "etcd found no leader within 60 s (logs in $WORK)"; return 1
}

# --- chorus -----------------------------------------------------------------------------

build_chorus() {
  if [ -z "$CHORUS" ]; then
    log "building chorus (release, .build-rel2)"
    swift build -c release --scratch-path .build-rel2 >&2
    CHORUS=.build-rel2/release/chorus
  fi
}

start_chorus() {
  local i seed
  for i in 0 1 2; do
    seed=()
    [ "$i" -gt 0 ] && seed=(--seed "127.0.0.1:${CHORUS_BIND_PORTS[0]}")
    "$CHORUS" agent --name "lock$i" --bind "127.0.0.1:${CHORUS_BIND_PORTS[$i]}" --api "127.0.0.1:${CHORUS_API_PORTS[$i]}" \
      --data-dir "$WORK/chorus-$i" --log-level warn "${seed[@]}" >"$WORK/chorus-$i.log" 2>&1 &
    PIDS+=($!)
    sleep 0.3
  done
}

chorus_apis() {
  local apis="" i
  for i in 0 1 2; do apis+="${apis:+,}127.0.0.1:${CHORUS_API_PORTS[$i]}"; done
  echo "$apis"
}

# Waits until all 64 shards report a leader and three voters.
wait_chorus() {
  local _
  for _ in $(seq 1 240); do
    if curl -sf "127.0.0.1:${CHORUS_API_PORTS[0]}/v1/shards" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if len(d) == 64 and all(x["leader"] and len(x["replicas"]) == 3 and not x["learners"] for x in d) else 1)' 2>/dev/null; then
      log "chorus: 64 shards have a leader"
      return 0
    fi
    sleep 0.5
  done
  log "chorus shards did not all get a leader within 120 s (logs in $WORK)"; return 1
}

# --- measuring --------------------------------------------------------------------------

# run_bench SYSTEM C MODE [REPEAT]: one `chorus bench lock` run, its JSON line (with the load
# average beside it) appended to results.jsonl, its latencies in lat-SYSTEM-C-MODE-REPEAT.csv.
run_bench() {
  local system=$1 clients=$2 mode=$3 repeat=${4:-1} target=() load
  if [ "$system" = etcd ]; then target=(--etcd "$(etcd_urls)"); else target=(--api "$(chorus_apis)"); fi
  local csv="$WORK/lat-$system-$clients-$mode-$repeat.csv"
  local flags=(--clients "$clients" --duration "$DURATION" --warmup "$WARMUP" --latencies "$csv" --json)
  [ "$mode" = contended ] && flags+=(--contended)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  log "$system C=$clients $mode (repeat $repeat, load $load)"
  "$CHORUS" bench lock "${target[@]}" "${flags[@]}" |
    python3 -c 'import json, sys; r = json.loads(sys.stdin.read()); r.update(repeat=int(sys.argv[1]), load=sys.argv[2], latencies=sys.argv[3]); print(json.dumps(r, sort_keys=True))' \
      "$repeat" "$load" "$csv" | tee -a "$WORK/results.jsonl" >&2
}

print_table() {
  python3 - "$WORK/results.jsonl" <<'EOF'
import json, sys
def ms(x): return "-" if x is None else f"{x:.2f}"
def rate(r):
    x = r.get("success_rate")
    if x is None: return "-"
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r.get("acquire_failures", {}).items()))
    return f"{x * 100:.2f} %" + (f" ({kinds})" if kinds else "")
print("| system | C | mode | run | pairs/s | acquire mean / p50 / p95 / p99, ms | release mean / p50 / p95 / p99, ms | acquire success | load |")
print("|---|---:|---|---:|---:|---:|---:|---|---|")
for line in open(sys.argv[1]):
    if not line.strip(): continue
    r = json.loads(line)
    a = " / ".join(ms(r.get("acquire_" + k + "_ms")) for k in ("mean", "p50", "p95", "p99"))
    rl = " / ".join(ms(r.get("release_" + k + "_ms")) for k in ("mean", "p50", "p95", "p99"))
    print(f"| {r['system']} | {r['clients']} | {r['mode']} | {r.get('repeat', 1)} | {r['pairs_per_second']:.0f} | {a} | {rl} | "
          f"{rate(r)} | {r.get('load', '-')} |")
EOF
}

main() {
  if [ $# -gt 0 ]; then WORK=$1; fi
  if [ $# -gt 1 ]; then SVG_DIR=$2; fi
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  make_work_dir
  build_chorus
  log "machine: $(nproc) cores; $(uptime)"
  local c mode r
  if [ -z "${SKIP_CHORUS:-}" ]; then
    start_chorus
    wait_chorus
    for r in $(seq 1 "$REPEATS"); do
      for c in $CLIENTS; do for mode in uncontended contended; do run_bench chorus "$c" "$mode" "$r"; done; done
    done
    stop_processes
  fi
  if [ -z "${SKIP_ETCD:-}" ]; then
    ensure_etcd
    start_etcd
    wait_etcd
    for r in $(seq 1 "$REPEATS"); do
      for c in $CLIENTS; do for mode in uncontended contended; do run_bench etcd "$c" "$mode" "$r"; done; done
    done
  fi
  print_table
  if [ -n "$SVG_DIR" ]; then python3 "$(dirname "${BASH_SOURCE[0]}")/locks-plots.py" "$WORK/results.jsonl" "$SVG_DIR"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
