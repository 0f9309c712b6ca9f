#!/usr/bin/env bash
# Fuzzes a live dev cluster against its contract, docs/openapi.yaml, with Schemathesis
# (PyPI): generated valid and invalid requests for every operation, each answer checked for
# 5xx, an undocumented status, a content type or body the schema does not allow, invalid
# input that was accepted, valid input that was refused, a missing 405 for an undocumented
# method, and an API token that was not enforced.
#
#   1. creates a venv under /tmp and installs schemathesis into it (once; kept for reruns);
#   2. starts 3 agents on loopback ports, every API behind a bearer token;
#   3. runs `schemathesis run` against node1 for a bounded time;
#   4. stops the cluster and prints where the reports are.
#
# Left out of the run: POST /v1/leave (the node would exit), POST /v1/join (generated
# addresses could name hosts off this machine) and the keyring's writes, POST
# /v1/keys/install, /use, /remove and PUT /v1/keys/mode (the first key installed on a node
# without a keyring becomes its primary at once, and a node sealing with a key the others
# lack is cut off the cluster for the rest of the run). The contract test
# (OpenAPIContractTests) calls every one of them.
#
# Usage: bench/openapi-schemathesis.sh
# Environment: CHORUS_BINARY (default .build/release/chorus, else .build/debug/chorus),
#              MAX_TIME (seconds, default 240), MAX_EXAMPLES (per operation, default 100),
#              SEED (default 1), CHECKS (default all), PORT_BASE (default 0: kernel-picked),
#              VENV (default /tmp/chorus-schemathesis-venv), REPORT_DIR (default
#              /tmp/chorus-schemathesis-report: JUnit XML and NDJSON events).
# Not part of `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

max_time=${MAX_TIME:-240}
max_examples=${MAX_EXAMPLES:-100}
seed=${SEED:-1}
checks=${CHECKS:-all}
port_base=${PORT_BASE:-0}
venv=${VENV:-/tmp/chorus-schemathesis-venv}
report_dir=${REPORT_DIR:-/tmp/chorus-schemathesis-report}

step() { printf '\n== %s\n' "$*"; }

step "schemathesis in $venv"
if [[ ! -x $venv/bin/schemathesis ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet schemathesis
fi
"$venv/bin/schemathesis" --version

chorus=${CHORUS_BINARY:-}
if [[ -z $chorus ]]; then
    if [[ -x .build/release/chorus ]]; then chorus=.build/release/chorus
    else swift build --product chorus >/dev/null && chorus=.build/debug/chorus; fi
fi
work=$(mktemp -d /tmp/chorus-schemathesis-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

token="schemathesis-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" >"$work/token"
chmod 600 "$work/token"

# Three agents on loopback ports the kernel picks (chorus dev has no token option), every
# API behind the token; node2 and node3 join through node1.
mapfile -t ports < <(python3 -c '
import socket
socks = []
for _ in range(6):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s); print(s.getsockname()[1])
')
apis=()
step "3 agents with $chorus"
for i in 1 2 3; do
    gossip=127.0.0.1:${ports[$(( (i - 1) * 2 ))]}
    api=127.0.0.1:${ports[$(( (i - 1) * 2 + 1 ))]}
    seed_flag=()
    [[ $i -gt 1 ]] && seed_flag=(--seed "127.0.0.1:${ports[0]}")
    "$chorus" agent --name "node$i" --bind "$gossip" --api "$api" --data-dir "$work/node$i" \
        --api-token-file "$work/token" --shards 16 "${seed_flag[@]}" >"$work/node$i.log" 2>&1 &
    pids+=($!)
    apis+=("$api")
    echo "node$i gossip $gossip api $api"
done
ready() {
    local members shards
    members=$(curl -s -m 2 -H "Authorization: Bearer $token" "http://${apis[0]}/v1/members?status=alive") || return 1
    [[ $(grep -o '"name"' <<<"$members" | wc -l) -eq 3 ]] || return 1
    shards=$(curl -s -m 2 -H "Authorization: Bearer $token" "http://${apis[0]}/v1/shards") || return 1
    [[ $shards == \[* ]] && ! grep -q '"leader":null' <<<"$shards"
}
for _ in $(seq 1 120); do ready && break; sleep 0.5; done
ready || { tail -20 "$work"/node*.log; echo "the cluster did not get ready" >&2; exit 1; }
echo "ready: 3 members alive, every shard led"

step "schemathesis against http://${apis[0]} for up to ${max_time}s (seed $seed, $max_examples examples per operation)"
mkdir -p "$report_dir"
report_dir=$(cd "$report_dir" && pwd)
spec=$PWD/docs/openapi.yaml
status=0
# From the scratch directory: schemathesis keeps a .schemathesis/ directory where it runs.
(cd "$work" && "$venv/bin/schemathesis" run "$spec" \
    --url "http://${apis[0]}" \
    --header "Authorization: Bearer $token" \
    --checks "$checks" \
    --max-time "$max_time" \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers 2 \
    --request-timeout 20 \
    --exclude-operation-id leave --exclude-operation-id join \
    --exclude-operation-id installKey --exclude-operation-id useKey \
    --exclude-operation-id removeKey --exclude-operation-id setSealMode \
    --report junit,ndjson --report-dir "$report_dir" \
    --generation-database none \
    --no-color) || status=$?

step "cluster after the run"
for api in "${apis[@]}"; do
    printf '%s /health: %s\n' "$api" "$(curl -s -m 5 "http://$api/health" || echo unreachable)"
done
echo "reports in $report_dir; schemathesis exited $status"
exit "$status"
