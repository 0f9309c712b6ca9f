#!/usr/bin/env bash
# A 3-node chorus Raft group and a 3-member etcd 3.4 cluster on loopback, measured by the
# same client (`chorus bench raft`) in one run: committed puts/s and p50/p99 commit latency
# for 1, 8, 32 and 128 closed-loop clients, then leader failover (kill -9 of the leader
# until a write commits) over TRIALS trials. fsync is on for both (neither is told to skip it).
#
# Usage: bench/raft-vs-etcd.sh [out-dir]          (from the repository root)
# Env:   CHORUS=path/to/chorus (default: release build in .build-rb), DURATION=10, TRIALS=20,
#        CLIENTS=1,8,32,128, VALUE_BYTES=16, SKIP_ETCD=1, SKIP_CHORUS=1
set -euo pipefail
OUT=${1:-/tmp/raft-bench-$$}
DURATION=${DURATION:-10}
TRIALS=${TRIALS:-20}
CLIENTS=${CLIENTS:-1,8,32,128}
VALUE_BYTES=${VALUE_BYTES:-16}
CHORUS=${CHORUS:-}
if [ -z "$CHORUS" ]; then
  swift build -c release --scratch-path .build-rb >&2
  CHORUS=$(swift build -c release --scratch-path .build-rb --show-bin-path)/chorus
fi
rm -rf "$OUT"; mkdir -p "$OUT"
STOP="$OUT/stop"
SUPERVISORS=()

# Runs "$@" again whenever it exits (so kill -9 of a member is followed by a restart), and
# keeps the current pid in $pidfile.
supervise() {
  local pidfile=$1 log=$2; shift 2
  (
    trap 'kill -9 $(cat "$pidfile") 2>/dev/null; exit 0' TERM
    while [ ! -e "$STOP" ]; do
      "$@" >>"$log" 2>&1 &
      echo $! >"$pidfile"
      wait $! || true
      sleep 0.1
    done
  ) &
  SUPERVISORS+=($!)
}
cleanup() {
  touch "$STOP"
  for s in "${SUPERVISORS[@]}"; do kill "$s" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

echo "machine: $(nproc) cores; $(uptime)" | tee "$OUT/machine.txt"

if [ -z "${SKIP_CHORUS:-}" ]; then
  PEERS="1=127.0.0.1:24101,2=127.0.0.1:24102,3=127.0.0.1:24103"
  for i in 1 2 3; do
    supervise "$OUT/chorus-$i.pid" "$OUT/chorus-$i.log" \
      "$CHORUS" raft serve --id $i --peers $PEERS --client 127.0.0.1:2420$i --data-dir "$OUT/chorus-$i"
  done
  sleep 1
  T=127.0.0.1:24201,127.0.0.1:24202,127.0.0.1:24203
  "$CHORUS" bench raft --targets $T --clients "$CLIENTS" --duration "$DURATION" --value-bytes "$VALUE_BYTES" | tee "$OUT/chorus-throughput.txt"
  "$CHORUS" bench raft --targets $T --duration 0 --failover-trials "$TRIALS" --value-bytes "$VALUE_BYTES" \
      --pid-files "$OUT/chorus-1.pid,$OUT/chorus-2.pid,$OUT/chorus-3.pid" | tee "$OUT/chorus-failover.txt"
  echo "after chorus: $(uptime)" | tee -a "$OUT/machine.txt"
  touch "$STOP"; for s in "${SUPERVISORS[@]}"; do kill "$s" 2>/dev/null || true; done; wait 2>/dev/null || true
  SUPERVISORS=(); rm -f "$STOP"
fi

if [ -z "${SKIP_ETCD:-}" ]; then
  if ! command -v etcd >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client >&2
  fi
  etcd --version | head -1 | tee -a "$OUT/machine.txt"
  CLUSTER="e1=http://127.0.0.1:24301,e2=http://127.0.0.1:24302,e3=http://127.0.0.1:24303"
  for i in 1 2 3; do
    supervise "$OUT/etcd-$i.pid" "$OUT/etcd-$i.log" \
      etcd --name e$i --data-dir "$OUT/etcd-$i" \
        --listen-client-urls http://127.0.0.1:2440$i --advertise-client-urls http://127.0.0.1:2440$i \
        --listen-peer-urls http://127.0.0.1:2430$i --initial-advertise-peer-urls http://127.0.0.1:2430$i \
        --initial-cluster $CLUSTER --initial-cluster-state new --initial-cluster-token raft-bench
  done
  sleep 3
  T=127.0.0.1:24401,127.0.0.1:24402,127.0.0.1:24403
  "$CHORUS" bench raft --etcd --targets $T --clients "$CLIENTS" --duration "$DURATION" --value-bytes "$VALUE_BYTES" | tee "$OUT/etcd-throughput.txt"
  "$CHORUS" bench raft --etcd --targets $T --duration 0 --failover-trials "$TRIALS" --value-bytes "$VALUE_BYTES" \
      --pid-files "$OUT/etcd-1.pid,$OUT/etcd-2.pid,$OUT/etcd-3.pid" | tee "$OUT/etcd-failover.txt"
  echo "after etcd: $(uptime)" | tee -a "$OUT/machine.txt"
fi
echo "results in $OUT"
