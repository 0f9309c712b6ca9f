#!/usr/bin/env bash
# The agent's own key-value path as a new user calls it: PUTs of 16-byte values to
# /v1/kv/{key} on ONE chorus node (which forwards each key to its shard's leader over the
# peer RPC), against etcd 3.4's v3 JSON gateway (POST /v3/kv/put) on ONE member of a
# 3-member cluster, driven by wrk (Debian) with the same settings, in one run. fsync on both.
#
# Usage: bench/kv-vs-etcd.sh            (from the repository root)
# Env:   CHORUS=path/to/chorus (default: release build in .build-rel2), DURATION=10s,
#        CONNS="32 128", THREADS=2, ROUNDS=1, KEEP=1
set -euo pipefail
source "$(dirname "$0")/locks-vs-etcd.sh" --source-only 2>/dev/null || true
DURATION=${DURATION:-10s}
CONNS=${CONNS:-"32 128"}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2

trap cleanup EXIT
make_work_dir
build_chorus
ensure_etcd
start_chorus
wait_chorus
start_etcd
wait_etcd
sleep 2

run_wrk() { # SYSTEM CONNS URL
  local system=$1 c=$2 url=$3 out
  out=$(KIND=$system wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency -s "$(dirname "$0")/kv-put.lua" "$url" 2>&1 | grep RESULT)
  python3 - "$system" "$c" "$out" <<'PY'
import sys
system, c, line = sys.argv[1], sys.argv[2], sys.argv[3]
f = dict(kv.split("=") for kv in line.split()[1:])
secs = int(f["duration_us"]) / 1e6
ok = int(f["requests"]) - int(f["non2xx"])
print(f"{system:7} conns={c:>4}  puts/s={ok/secs:9.0f}  p50={float(f['p50_ms']):7.2f} ms  p99={float(f['p99_ms']):7.2f} ms  non2xx={f['non2xx']} errors={f['errors']}")
PY
}

for round in $(seq 1 "$ROUNDS"); do
  for c in $CONNS; do
    run_wrk chorus "$c" "http://127.0.0.1:${CHORUS_API_PORTS[0]}"
    run_wrk etcd "$c" "http://127.0.0.1:${ETCD_CLIENT_PORTS[0]}"
  done
done
