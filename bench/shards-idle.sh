#!/bin/sh
# Idle cost of hosting 64 shard groups: starts N agents on loopback (default 3, so every node
# hosts a replica of all 64 shards), waits for every shard to have a leader, then measures each
# process's CPU time and RSS over a quiet window.
# Usage: bench/shards-idle.sh [BINARY] [NODES] [SECONDS]
set -eu
BIN=${1:-.build/release/chorus}
N=${2:-3}
WINDOW=${3:-60}
DIR=$(mktemp -d /tmp/chorus-idle.XXXXXX)
trap 'kill -9 $(cat "$DIR"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$DIR"' EXIT
HZ=$(getconf CLK_TCK)
for i in $(seq 1 "$N"); do
  port=$((27000 + i * 10)); api=$((port + 1))
  seed=""; [ "$i" -gt 1 ] && seed="--seed 127.0.0.1:27010"
  "$BIN" agent --name "idle$i" --bind 127.0.0.1:$port --api 127.0.0.1:$api --data-dir "$DIR/n$i" $seed \
    > "$DIR/n$i.log" 2>&1 &
  echo $! > "$DIR/n$i.pid"
  sleep 0.3
done
# Wait until every shard has a leader and R voters.
for _ in $(seq 1 120); do
  if curl -s 127.0.0.1:27011/v1/shards | python3 -c '
import json,sys
d=json.load(sys.stdin)
sys.exit(0 if len(d)==64 and all(x["leader"] and len(x["replicas"])==min(3,'"$N"') and not x["learners"] for x in d) else 1)' 2>/dev/null; then break; fi
  sleep 0.5
done
sleep 5
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for i in $(seq 1 "$N"); do eval "start$i=$(ticks "$(cat "$DIR/n$i.pid")")"; done
sleep "$WINDOW"
echo "node  replicas  leaders  quiescent  cpu%    rss_mib"
for i in $(seq 1 "$N"); do
  pid=$(cat "$DIR/n$i.pid")
  eval "s=\$start$i"
  e=$(ticks "$pid")
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status")
  m=$(curl -s 127.0.0.1:$((27001 + i * 10))/metrics)
  reps=$(echo "$m" | awk '/^chorus_raft_replicas / {print $2}')
  leads=$(echo "$m" | awk '/^chorus_raft_leaders / {print $2}')
  quiet=$(echo "$m" | awk '/^chorus_raft_quiescent_replicas / {print $2}')
  cpu=$(echo "$s $e $HZ $WINDOW" | awk '{printf "%.2f", ($2 - $1) / $3 / $4 * 100}')
  echo "idle$i  $reps        $leads       ${quiet:--}         $cpu    $rss"
done
