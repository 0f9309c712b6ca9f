#!/usr/bin/env bash
# Builds the libFuzzer targets in Tests/Fuzz/targets and runs each for SECONDS seconds
# (default 60) on its corpus in Tests/Fuzz/corpus/<target>, printing the executions done.
# Crashing inputs land in Tests/Fuzz/crashes/<target>; once fixed, copy them into the corpus
# so `swift test` replays them (FuzzCorpusTests).
#   Tests/Fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}; shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(packet peer-message shard-batch http-request config-file scenario-file storage-record snapshot sealed-message body-log data-archive)
fi
scratch=.build-fuzz
# Every library module, instrumented for coverage (the executables' main is left out).
swift build --scratch-path "$scratch" --target ChorusCLI -Xswiftc -sanitize=fuzzer >/dev/null
build="$scratch/debug"
objects=()
for dir in "$build"/*.build; do
    case "$(basename "$dir")" in chorus.build|*Tests.build|ChorusPackageTests.build|ChorusPackageDiscoveredTests.build) continue ;; esac
    module=$(basename "$dir" .build)
    for o in "$dir"/*.o; do
        [ -e "$o" ] || continue
        # An object whose source was moved or deleted is stale: linking it would define its
        # symbols twice.
        src=$(basename "$o" .o)
        case "$src" in *.swift) find "Sources/$module" -name "$src" | grep -q . || continue ;; esac
        objects+=("$o")
    done
done
mkdir -p "$scratch/fuzzers" Tests/Fuzz/crashes
for t in "${targets[@]}"; do
    bin="$scratch/fuzzers/$t"
    if ! swiftc -sanitize=fuzzer -parse-as-library -I "$build/Modules" -I Sources/CLibCrypto \
            "Tests/Fuzz/targets/$t.swift" "${objects[@]}" -lcrypto -o "$bin"; then
        echo "$t: does not build"; continue
    fi
    mkdir -p "Tests/Fuzz/corpus/$t" "Tests/Fuzz/crashes/$t" "$scratch/work/$t"
    # New inputs go to a scratch corpus; the repository keeps seeds and fixed crashes only.
    out=$(SWIFT_BACKTRACE=enable=no "$bin" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
          -artifact_prefix="Tests/Fuzz/crashes/$t/" "$scratch/work/$t" "Tests/Fuzz/corpus/$t" 2>&1) || true
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' <<<"$out" | grep -o '[0-9]*$' || echo "?")
    crashes=$(find "Tests/Fuzz/crashes/$t" -type f | wc -l)
    echo "$t: $runs executions in ${seconds} s, $crashes crashing inputs"
done
