#!/usr/bin/env bash
# The cache, chorus against Redis 7, on one machine over loopback, in one run so that both
# see the same load. The same redis-benchmark command line for every server:
#     redis-benchmark -h 127.0.0.1 -p PORT -t set,get -n N -c 50 -P P -r 10000 -d 100 --csv
# with P = 1 and P = 16 (redis-benchmark always runs SET before GET). Servers:
#   chorus        3 agents on 127.0.0.1 (64 shards, 3 replicas: every agent replicates every
#                 key, so the node asked holds a copy after its first read); the benchmark
#                 talks RESP to agent 0. A SET is written through to the key's shard (quorum
#                 commit, fsync) before +OK.
#   redis         one redis-server, no persistence (--save '' --appendonly no).
#   redis-fsync   one redis-server, --appendonly yes --appendfsync always.
# Then `chorus bench cache` on the three agents (Zipf 0.99 over 10,000 keys, 90 % reads) and
# `chorus bench cache --embedded` (the in-process read path on one core).
#
# Usage: bench/cache-vs-redis.sh [n] [repeats]   (from the repository root; n default 100000)
# Env:   CHORUS=path/to/chorus (default: release build in .build-rel), KEYS=10000, CLIENTS=50,
#        MIX_DURATION=10s, SKIP_MIX=1, KEEP=1 (keep the work dir), WORK=dir
set -euo pipefail

N=${1:-100000}
REPEATS=${2:-1}
KEYS=${KEYS:-10000}
CLIENTS=${CLIENTS:-50}
MIX_DURATION=${MIX_DURATION:-10s}
CHORUS=${CHORUS:-}
WORK=${WORK:-}
PIDS=()

REDIS_PORT=24901
REDIS_FSYNC_PORT=24902
CHORUS_BIND_PORTS=(24921 24922 24923)
CHORUS_API_PORTS=(24931 24932 24933)
CHORUS_RESP_PORTS=(24941 24942 24943)

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

make_work_dir() {
  if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/cache-vs-redis.XXXXXX); fi
  mkdir -p "$WORK"
  : >"$WORK/results.csv"
  : >"$WORK/mix.jsonl"
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

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    log "installing redis-server redis-tools"
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools >&2
  fi
  redis-server --version >&2
}

build_chorus() {
  if [ -z "$CHORUS" ]; then
    log "building chorus (release, .build-rel)"
    swift build -c release --scratch-path .build-rel >&2
    CHORUS=.build-rel/release/chorus
  fi
}

# start_redis NAME PORT EXTRA...: one redis-server on 127.0.0.1 in its own directory.
start_redis() {
  local name=$1 port=$2; shift 2
  mkdir -p "$WORK/$name"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$WORK/$name" --save '' --protected-mode yes "$@" \
    >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  local _
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "$name did not start (log in $WORK)"; return 1
}

start_chorus() {
  local i seed
  for i in 0 1 2; do
    seed=()
    [ "$i" -gt 0 ] && seed=(--seed "127.0.0.1:${CHORUS_BIND_PORTS[0]}")
    "$CHORUS" agent --name "cache$i" --bind "127.0.0.1:${CHORUS_BIND_PORTS[$i]}" --api "127.0.0.1:${CHORUS_API_PORTS[$i]}" \
      --resp "127.0.0.1:${CHORUS_RESP_PORTS[$i]}" --data-dir "$WORK/chorus-$i" --log-level warn "${seed[@]}" \
      >"$WORK/chorus-$i.log" 2>&1 &
    PIDS+=($!)
    sleep 0.3
  done
}

chorus_apis() {
  local apis="" i
  for i in 0 1 2; do apis+="${apis:+,}127.0.0.1:${CHORUS_API_PORTS[$i]}"; done
  echo "$apis"
}

# Waits until all 64 shards report a leader and three voters, and the homes serve (a write
# and a read through RESP answer).
wait_chorus() {
  local _
  for _ in $(seq 1 240); do
    if curl -sf "127.0.0.1:${CHORUS_API_PORTS[0]}/v1/shards" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if len(d) == 64 and all(x["leader"] and len(x["replicas"]) == 3 and not x["learners"] for x in d) else 1)' 2>/dev/null \
      && [ "$(redis-cli -p "${CHORUS_RESP_PORTS[0]}" set warm-check 1 2>/dev/null)" = OK ]; then
      log "chorus: 64 shards have a leader and the cache answers"
      return 0
    fi
    sleep 0.5
  done
  log "chorus did not come up within 120 s (logs in $WORK)"; return 1
}

# warm PORT: every key of the keyspace redis-benchmark draws from (key:%012d, 0 ≤ i < KEYS)
# written once, so that the GETs find values and the keyspace is the whole working set.
warm() {
  local port=$1
  python3 - "$KEYS" <<'EOF' | redis-cli -p "$port" --pipe >&2
import sys
v = "x" * 100
for i in range(int(sys.argv[1])):
    k = "key:%012d" % i
    sys.stdout.write(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n${len(v)}\r\n{v}\r\n")
EOF
}

# bench SYSTEM PORT P REPEAT: the one redis-benchmark line; its CSV rows go to results.csv.
bench() {
  local system=$1 port=$2 pipeline=$3 repeat=$4
  log "$system -P $pipeline (run $repeat): redis-benchmark -t set,get -n $N -c $CLIENTS -P $pipeline -r $KEYS -d 100"
  redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -n "$N" -c "$CLIENTS" -P "$pipeline" -r "$KEYS" -d 100 --csv 2>"$WORK/bench-err.log" |
    sed -n '2,$p' | sed "s/^/$system,$pipeline,$repeat,/" | tee -a "$WORK/results.csv" >&2
}

print_table() {
  python3 - "$WORK/results.csv" "$WORK/mix.jsonl" <<'EOF'
import csv, json, sys
from collections import defaultdict
rows = defaultdict(list)
for r in csv.reader(open(sys.argv[1])):
    if len(r) < 8: continue
    system, p, _, test, rps, avg, mn, p50, p95, p99 = r[:10]
    rows[(system, int(p), test.strip('"'))].append((float(rps), float(p50), float(p99)))
print("| server | -P | test | requests/s (runs) | p50 ms | p99 ms |")
print("|---|---:|---|---:|---:|---:|")
for (system, p, test), v in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    rps = " / ".join(f"{x[0]:,.0f}" for x in v)
    print(f"| {system} | {p} | {test} | {rps} | {min(x[1] for x in v):.3f}–{max(x[1] for x in v):.3f} | "
          f"{min(x[2] for x in v):.3f}–{max(x[2] for x in v):.3f} |")
for line in open(sys.argv[2]):
    if line.strip(): print(line.strip())
EOF
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  make_work_dir
  ensure_redis
  build_chorus
  log "machine: $(nproc) cores; $(uptime); n=$N repeats=$REPEATS keys=$KEYS"
  start_chorus
  start_redis redis "$REDIS_PORT" --appendonly no
  start_redis redis-fsync "$REDIS_FSYNC_PORT" --appendonly yes --appendfsync always
  wait_chorus
  log "warming $KEYS keys on each server"
  warm "${CHORUS_RESP_PORTS[0]}"; warm "$REDIS_PORT"; warm "$REDIS_FSYNC_PORT"
  local r p
  for r in $(seq 1 "$REPEATS"); do
    for p in 1 16; do
      bench chorus "${CHORUS_RESP_PORTS[0]}" "$p" "$r"
      bench redis "$REDIS_PORT" "$p" "$r"
      bench redis-fsync "$REDIS_FSYNC_PORT" "$p" "$r"
    done
  done
  if [ -z "${SKIP_MIX:-}" ]; then
    for r in $(seq 1 "$REPEATS"); do
      log "chorus bench cache (Zipf 0.99, 90/10, 3 nodes), run $r"
      "$CHORUS" bench cache --api "$(chorus_apis)" --keys "$KEYS" --duration "$MIX_DURATION" --json | tee -a "$WORK/mix.jsonl" >&2
    done
    stop_processes
    for r in $(seq 1 "$REPEATS"); do
      log "chorus bench cache --embedded, run $r"
      "$CHORUS" bench cache --embedded --keys "$KEYS" --json | tee -a "$WORK/mix.jsonl" >&2
    done
  fi
  print_table
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
