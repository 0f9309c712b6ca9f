#!/usr/bin/env python3
"""Pictures of a bench/locks-vs-etcd.sh run, from its results.jsonl and latency files.

Usage: python3 bench/locks-plots.py WORK/results.jsonl SVG_DIR

Writes SVG_DIR/locks-latency-cdf.svg (acquire latency CDF at the largest client count, one
line per system and mode, every repeat's samples pooled) and SVG_DIR/locks-pairs-vs-clients.svg
(pairs/s against client threads, one line per system and mode: the median of the repeats,
bars from the least to the most).
"""
import json, os, statistics, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svgplot  # noqa: E402


def main(results, svg_dir):
    os.makedirs(svg_dir, exist_ok=True)
    rows = [json.loads(l) for l in open(results) if l.strip()]
    loads = [float(r["load"].split()[0]) for r in rows if r.get("load")]
    note = "%d cores shared by both clusters and the client; 1-min load %.1f–%.1f at the runs' starts" % (
        os.cpu_count(), min(loads or [0]), max(loads or [0]))
    clients = sorted({r["clients"] for r in rows})
    top = clients[-1]
    kinds = [(s, m) for s in ("chorus", "etcd") for m in ("uncontended", "contended")]
    series = []
    for system, mode in kinds:
        values = []
        for r in rows:
            # A results file kept without its work directory has no latency files: no CDF line.
            if r["system"] == system and r["mode"] == mode and r["clients"] == top and os.path.exists(r.get("latencies", "")):
                values += svgplot.read_latencies(r["latencies"], "acquire")
        if values:
            series.append(("%s %s" % (system, mode), values))
    svgplot.cdf(os.path.join(svg_dir, "locks-latency-cdf.svg"),
                "Lock acquire latency, %d clients (repeats pooled)" % top, series, subtitle=note)
    lines = []
    for system, mode in kinds:
        pts = []
        for c in clients:
            vs = [r["pairs_per_second"] for r in rows if r["system"] == system and r["mode"] == mode and r["clients"] == c]
            if vs:
                pts.append((c, statistics.median(vs), min(vs), max(vs)))
        if pts:
            lines.append(("%s %s" % (system, mode), pts))
    svgplot.lines(os.path.join(svg_dir, "locks-pairs-vs-clients.svg"), "Lock acquire+release pairs/s against clients",
                  lines, "client threads", "pairs/s (median; bars: min–max of repeats)", subtitle=note, xticks=clients)
    print("wrote %s/locks-latency-cdf.svg and locks-pairs-vs-clients.svg" % svg_dir, file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
