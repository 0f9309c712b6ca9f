#!/usr/bin/env bash
# The container path end to end, on this machine only:
#   1. starts Debian's dockerd (apt-get install -y docker.io docker-compose) if none runs, with
#      no bridge and no iptables rules, so nothing uses a private range such as 172.17.0.0/16;
#   2. assembles the image's root file system (bench/container-rootfs.sh) and builds the
#      Dockerfile FROM scratch: no image is pulled;
#   3. brings compose.yaml's 3 nodes up (host networking, loopback ports 17946-17967), waits
#      until docker reports every container healthy (chorus health, i.e. GET /health);
#   4. checks membership and a lock through the published APIs, from the host and from inside
#      a container (whose CHORUS_API names its own node);
#   5. tears everything down (containers, volumes, image) and stops dockerd if it started it.
# Output of a run: docs/operations.md.
set -euo pipefail
cd "$(dirname "$0")/.."

docker=${DOCKER:-/usr/bin/docker}    # Debian's client, the daemon's own version
compose=(docker-compose -p chorus-bench -f compose.yaml)
work=$(mktemp -d /tmp/chorus-containers-XXXXXX)
dockerd_pid=""
host_chorus=${CHORUS_BINARY:-.build/release/chorus}   # the client on the host side
step() { printf '\n== %s\n' "$*"; }

cleanup() {
    step "tear down"
    "${compose[@]}" down --volumes --timeout 20 2>&1 || true
    "$docker" rmi chorus:latest >/dev/null 2>&1 && echo "removed image chorus:latest" || true
    if [[ -n $dockerd_pid ]]; then
        kill "$dockerd_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
        echo "stopped the dockerd this script started (pid $dockerd_pid)"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

step "dockerd"
if "$docker" info >/dev/null 2>&1; then
    echo "a docker daemon is already running; using it"
else
    dockerd --bridge=none --iptables=false --ip6tables=false >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 100); do "$docker" info >/dev/null 2>&1 && break; sleep 0.2; done
    "$docker" info >/dev/null 2>&1 || { tail -20 "$work/dockerd.log"; echo "dockerd did not start" >&2; exit 1; }
    echo "started dockerd (pid $dockerd_pid, no bridge, no iptables)"
fi
"$docker" version --format 'server {{.Server.Version}}, client {{.Client.Version}}'

step "image FROM scratch"
bench/container-rootfs.sh .build/container
"$docker" build --network host -t chorus:latest -f Dockerfile .build/container
"$docker" images chorus:latest --format 'image {{.Repository}}:{{.Tag}} {{.Size}}'

step "compose up (3 nodes, host networking)"
"${compose[@]}" up -d
healthy() { [[ $("$docker" inspect --format '{{.State.Health.Status}}' "chorus-bench_$1_1" 2>/dev/null) == healthy ]]; }
for _ in $(seq 1 120); do healthy node1 && healthy node2 && healthy node3 && break; sleep 0.5; done
"${compose[@]}" ps
for n in node1 node2 node3; do healthy "$n" || { "${compose[@]}" logs --tail 20; echo "$n is not healthy" >&2; exit 1; }; done
echo "networks: $("$docker" network ls --format '{{.Name}}/{{.Driver}}' | tr '\n' ' ')"

step "membership through the published API (127.0.0.1:17947, from the host)"
for _ in $(seq 1 60); do
    alive=$(curl -s 127.0.0.1:17947/v1/members | grep -o '"status":"alive"' | wc -l)
    ((alive == 3)) && break
    sleep 0.5
done
"$host_chorus" members --api 127.0.0.1:17947
((alive == 3)) || { echo "expected 3 members alive, saw $alive" >&2; exit 1; }
for _ in $(seq 1 120); do
    led=$(curl -s 127.0.0.1:17957/v1/shards | grep -o '"leader":"node' | wc -l)
    ((led == ${CHORUS_SHARDS:-64})) && break
    sleep 0.5
done
echo "$led shards led"

step "chorus inside node3's container (its CHORUS_API is node3's API)"
"${compose[@]}" exec -T node3 chorus members
"${compose[@]}" exec -T node3 chorus health

step "a lock through the published API: session, acquire, status, release"
session=$(curl -s -X POST 127.0.0.1:17957/v1/sessions -d '{"ttl_ms":10000}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "session $session (node2)"
curl -s -X POST 127.0.0.1:17947/v1/locks/bench%2Fcontainers/acquire -d "{\"session\":\"$session\",\"wait_ms\":5000}"; echo
curl -s 127.0.0.1:17967/v1/locks/bench%2Fcontainers; echo
curl -s -X POST 127.0.0.1:17957/v1/locks/bench%2Fcontainers/release -d "{\"session\":\"$session\"}"; echo
curl -s -X DELETE 127.0.0.1:17957/v1/sessions/"$session"; echo
step "a lock from inside node1's container: chorus lock acquire NAME -- CMD"
"${compose[@]}" exec -T node1 chorus lock acquire bench/exec --wait 5s -- chorus lock status bench/exec

step "restart policy: kill -9 node2's agent, docker restarts it, it rejoins"
pid=$("$docker" inspect --format '{{.State.Pid}}' chorus-bench_node2_1)
kill -9 "$pid"
for _ in $(seq 1 60); do
    sleep 0.5
    [[ $("$docker" inspect --format '{{.RestartCount}}' chorus-bench_node2_1) -ge 1 ]] && healthy node2 && break
done
echo "node2 restart count $("$docker" inspect --format '{{.RestartCount}}' chorus-bench_node2_1), health $("$docker" inspect --format '{{.State.Health.Status}}' chorus-bench_node2_1)"
for _ in $(seq 1 60); do
    alive=$(curl -s 127.0.0.1:17967/v1/members | grep -o '"status":"alive"' | wc -l)
    ((alive == 3)) && break
    sleep 0.5
done
echo "node3 sees $alive members alive"
((alive == 3)) || { echo "node2 did not rejoin" >&2; exit 1; }

echo
echo "containers check passed"
