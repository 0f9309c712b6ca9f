#!/usr/bin/env bash
# Queue throughput and latency, chorus vs NATS JetStream, side by side in one run on loopback:
# 3 chorus agents (`chorus dev`) and `chorus bench queue`, then 3 nats-server processes with
# JetStream (an R3 file stream, work-queue retention) and the compiled C client
# bench/jetstream-queue.c on Debian's libnats-dev. 100-byte messages; P=C=4 and P=C=32;
# publish with ack and consume with ack, end to end; REPEAT runs of DURATION seconds each.
# Fsync: chorus fsyncs every Raft commit before acking; nats-server 2.9 syncs its file store
# on an interval (sync_interval, 2 min by default) and not per message.
# Usage: bench/queue-vs-jetstream.sh [DURATION] [REPEAT]   (needs: swift build -c release,
#        apt-get install nats-server libnats-dev, gcc)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
REPEAT=${2:-2}
CHORUS=.build/release/chorus
WORK=$(mktemp -d /tmp/queue-bench.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 1; rm -rf "$WORK"' EXIT
gcc -O2 -o "$WORK/jetstream-queue" bench/jetstream-queue.c -lnats -lpthread

echo "# machine: $(nproc) cores; $(uname -sr)"
echo "# chorus: batch 10 per publish request and batch 1; jetstream: one message per js_Publish"

run_chorus() {
  "$CHORUS" dev --nodes 3 --port-base 19200 --data-dir "$WORK/chorus" > "$WORK/dev.log" 2>&1 &
  local dev=$!
  for _ in $(seq 1 60); do grep -q "Ctrl-C stops every node" "$WORK/dev.log" && break; sleep 1; done
  for pc in 4 32; do
    for batch in 10 1; do
      for r in $(seq 1 "$REPEAT"); do
        /usr/bin/time -f "# client cpu %U user %S sys" "$CHORUS" bench queue --producers $pc --consumers $pc --batch $batch \
          --duration ${DURATION}s --api 127.0.0.1:19201,127.0.0.1:19211,127.0.0.1:19221 --json
      done
    done
  done
  kill $dev; wait $dev 2>/dev/null || true
  rm -rf "$WORK/chorus"
}

run_jetstream() {
  local pids=()
  for i in 1 2 3; do
    cat > "$WORK/n$i.conf" <<CONF
port: $((14221 + i))
server_name: n$i
jetstream { store_dir: "$WORK/js$i" }
cluster { name: bench, listen: 127.0.0.1:$((16221 + i)), routes: [nats-route://127.0.0.1:16222, nats-route://127.0.0.1:16223, nats-route://127.0.0.1:16224] }
CONF
    nats-server -c "$WORK/n$i.conf" > "$WORK/n$i.log" 2>&1 &
    pids+=($!)
  done
  sleep 4
  for pc in 4 32; do
    for r in $(seq 1 "$REPEAT"); do
      /usr/bin/time -f "# client cpu %U user %S sys" "$WORK/jetstream-queue" nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224 $pc $pc "$DURATION"
    done
  done
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
}

run_chorus
run_jetstream
