#!/usr/bin/env bash
# A rolling restart of a 3-agent cluster under key-value writes, with the commands
# docs/operations.md gives for a rolling upgrade: for each node in turn, SIGTERM (a graceful
# leave: its replicas are handed off first), wait for the process to exit, start it again
# from the same data directory (here the same binary stands in for the new one), wait for
# `chorus health` and for every shard to be led with all its replicas and no learners.
# A writer PUTs keys through all three APIs during the whole run; at the end every key
# that was acknowledged is read back.
#
# Usage: bench/rolling-restart.sh [CHORUS_BINARY]   (loopback ports 29946..29967 only)
set -euo pipefail
cd "$(dirname "$0")/.."
chorus=${1:-${CHORUS_BINARY:-.build/debug/chorus}}
work=$(mktemp -d /tmp/chorus-rolling-XXXXXX)
declare -A pid gossip api
gossip=([n1]=127.0.0.1:29946 [n2]=127.0.0.1:29956 [n3]=127.0.0.1:29966)
api=([n1]=127.0.0.1:29947 [n2]=127.0.0.1:29957 [n3]=127.0.0.1:29967)
writer=""
cleanup() {
    [[ -n $writer ]] && kill "$writer" 2>/dev/null || true
    for n in n1 n2 n3; do [[ -n ${pid[$n]:-} ]] && kill -9 "${pid[$n]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

start() {   # start NAME: the agent on its ports and data directory, seeded at the others
    local n=$1 seeds=()
    for m in n1 n2 n3; do [[ $m != "$n" ]] && seeds+=(--seed "${gossip[$m]}"); done
    [[ $n == n1 && ! -d $work/n1 ]] && seeds=()   # the first start of n1 founds the cluster
    "$chorus" agent --name "$n" --bind "${gossip[$n]}" --api "${api[$n]}" --data-dir "$work/$n" "${seeds[@]}" \
        >>"$work/$n.log" 2>&1 &
    pid[$n]=$!
}

settled() {   # every shard led, 3 replicas, no learners, as seen through $1
    "$chorus" shards --json --api "$1" 2>/dev/null | python3 -c '
import json, sys
views = json.load(sys.stdin)
sys.exit(0 if views and all(v["leader"] and len(v["replicas"]) == 3 and not v["learners"] for v in views) else 1)'
}

healthy() { "$chorus" health --api "$1" >/dev/null 2>&1; }

wait_for() {   # wait_for SECONDS CMD...: seconds it took, or fail
    local limit=$1 t0=$SECONDS; shift
    until "$@"; do
        ((SECONDS - t0 < limit)) || { echo "timed out after ${limit}s: $*" >&2; tail -5 "$work"/*.log >&2; exit 1; }
        sleep 0.5
    done
    echo $((SECONDS - t0))
}

start n1; sleep 1; start n2; start n3
echo "cluster settled in $(wait_for 60 settled "${api[n1]}") s"

# The writer: one PUT at a time, round robin over the APIs; acknowledged keys go to acked.txt.
(
    i=0
    while :; do
        a=${api[n$((i % 3 + 1))]}
        if curl -sf -m 5 -o /dev/null -X PUT "$a/v1/kv/rolling-$i" -d "v$i"; then echo "$i" >>"$work/acked.txt"
        else echo "$i" >>"$work/failed.txt"; fi
        i=$((i + 1))
    done
) &
writer=$!
sleep 3

for n in n1 n2 n3; do
    other=$([[ $n == n1 ]] && echo n2 || echo n1)
    t0=$SECONDS
    kill -TERM "${pid[$n]}"
    wait "${pid[$n]}" || true
    stopped=$((SECONDS - t0))
    start "$n"
    healthy=$(wait_for 60 healthy "${api[$n]}")
    led=$(wait_for 120 settled "${api[$other]}")
    echo "$n: stopped (graceful leave) in ${stopped}s, healthy ${healthy}s after its start, every shard led with 3 replicas ${led}s later"
done

kill "$writer"; wait "$writer" 2>/dev/null || true; writer=""
acked=$(wc -l <"$work/acked.txt"); failed=$( [[ -f $work/failed.txt ]] && wc -l <"$work/failed.txt" || echo 0)
missing=0
while read -r i; do
    v=$(curl -sf -m 5 "${api[n1]}/v1/kv/rolling-$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])' || echo "")
    [[ $v == "v$i" ]] || missing=$((missing + 1))
done <"$work/acked.txt"
echo "writes: $acked acknowledged, $failed refused or timed out during the restarts; acknowledged keys missing afterwards: $missing"
grep -h 'drain\|handed off\|shards recovered' "$work"/n*.log | cut -c1-160 | sed 's/^/  log: /' | head -12
[[ $missing == 0 ]]
