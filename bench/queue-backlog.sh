#!/bin/sh
# A queue backlog at the body-log level: 2 M x 1 KiB bodies into one partition replica's
# SegmentBodyStore on the real disk, kill -9, recovery in a fresh process with every body
# read back, and the one-never-acked run showing disk use flat. Not yet a 3-node cluster:
# the runtime still keeps queue bodies in memory (docs/queue.md, "Not built yet").
# Usage: bench/queue-backlog.sh [N] [WORKDIR]      (N default 2000000)
set -eu
N=${1:-2000000}
WORK=${2:-$(mktemp -d /tmp/chorus-backlog-XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="$WORK/src"; mkdir -p "$SRC"
for m in ChorusBase ChorusWire ChorusStorage ChorusQueue; do
  for f in "$ROOT/Sources/$m"/*.swift; do
    sed -e '/^import Chorus/d' "$f" > "$SRC/$m-$(basename "$f")"
  done
done
cp "$ROOT/bench/bodylog-main.swift" "$SRC/main.swift"
echo "building (swiftc -O -wmo)..."
nice swiftc -O -wmo -module-name BodyLogBench -o "$WORK/bodylog" "$SRC"/*.swift
rm -rf "$WORK/p" "$WORK/f"
/usr/bin/time -f "write: %e s wall, max RSS %M KiB" "$WORK/bodylog" write "$WORK/p" "$N" || true   # exits by SIGKILL
du -sm "$WORK/p" | awk '{print "disk after kill -9: " $1 " MiB"}'
/usr/bin/time -f "recover: %e s wall, max RSS %M KiB" "$WORK/bodylog" recover "$WORK/p" "$N"
rm -rf "$WORK/p"
/usr/bin/time -f "flat: %e s wall, max RSS %M KiB" "$WORK/bodylog" flat "$WORK/f" "$N"
du -sm "$WORK/f" | awk '{print "disk at the end of the flat run: " $1 " MiB"}'
rm -rf "$WORK/f"
