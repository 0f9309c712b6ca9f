#!/usr/bin/env bash
# The process-level chaos test (docs/shards.md#chaos-test): five agents in network namespaces
# of their own, partitions, a flapping link and kill -9, under KV and fenced-counter workloads.
# Needs root. Runs `swift test --filter ChaosProcessTests` with CHORUS_CHAOS=1; whatever
# happens to the test process, the trap kills the agents left in the run's namespaces and
# removes the namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "chaos.sh: needs root (ip netns)" >&2; exit 1; fi
export CHORUS_CHAOS=1 CHORUS_CHAOS_ID="$$"
prefix="chaos-$$-"
cleanup() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix" || true); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    [ -n "${CHORUS_CHAOS_KEEP:-}" ] || rm -rf "${TMPDIR:-/tmp}/chorus-chaos-$$"
}
trap cleanup EXIT INT TERM
timeout 900 swift test --filter ChaosProcessTests "$@"
