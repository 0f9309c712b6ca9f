#!/usr/bin/env python3
"""Throughput against cluster size: lock pairs/s, queue msgs/s and cache ops/s at 3, 5 and 7 nodes.

Usage (from the repository root):
    python3 bench/scaling.py --chorus .build-rel/release/chorus [--nodes 3,5,7] [--repeats 2]
                             [--duration 10s] [--out DIR] [--svg-dir DIR]

For each repeat and each N (repeats outermost, so a drift in machine load spreads over every
N): `chorus dev --nodes N` starts N agents on loopback (64 shards, 3 replicas each: the
cluster's defaults) and is waited on until it prints that the cluster is ready (every node
alive everywhere, every shard with its replicas and a leader); then, with the same client
settings at every N and every agent's API given to the client so its threads spread over all
nodes:
    chorus bench lock  --clients 32 (uncontended: a lock name per client; requests go to each
                        name's shard leader, so the 64 shards' leaders spread the load)
    chorus bench queue --producers 8 --consumers 8 (threads dealt round-robin over the nodes)
    chorus bench cache --clients 16 (the default Zipf 0.99, 90 % reads mix)
and the cluster is stopped with SIGINT (chorus dev stops every agent and removes its data).
Each result is one JSON line in OUT/scaling.jsonl with the machine's load average beside it;
prints a Markdown table (median and range over the repeats) and writes
SVG_DIR/scaling-throughput.svg (throughput against nodes, one line per service, relative to
its 3-node median so the three fit one axis) and SVG_DIR/scaling-absolute.svg.
Stdlib only (and bench/svgplot.py); every process it starts is stopped on exit.
"""
import argparse, json, os, signal, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svgplot  # noqa: E402

HOST = "127.0.0.1"


def log(text):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), text), file=sys.stderr, flush=True)


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def members(api):
    with urllib.request.urlopen("http://%s/v1/members" % api, timeout=5) as r:
        return json.loads(r.read().decode())


class Cluster:
    """One `chorus dev --nodes N` run: started, waited on, stopped."""

    def __init__(self, chorus, nodes, port_base, work):
        self.chorus, self.nodes = chorus, nodes
        self.out = open(os.path.join(work, "dev-%d.out" % nodes), "w+")
        self.err = open(os.path.join(work, "dev-%d.err" % nodes), "w+")
        self.proc = subprocess.Popen([chorus, "dev", "--nodes", str(nodes), "--port-base", str(port_base), "--timeout", "180s"],
                                     stdout=self.out, stderr=self.err)
        self.port_base = port_base

    def wait_ready(self, timeout=200):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                self.err.seek(0)
                raise SystemExit("chorus dev exited early: " + self.err.read()[-2000:])
            self.out.seek(0)
            if self.out.read().strip():
                return time.time() - t0
            time.sleep(0.2)
        raise SystemExit("chorus dev --nodes %d not ready within %d s" % (self.nodes, timeout))

    def apis(self):
        # The ready text names node 1's API (`export CHORUS_API=...`); each node's own API is
        # its `chorus.api` tag.
        self.out.seek(0)
        first = "%s:%d" % (HOST, self.port_base + 1)
        for line in self.out.read().splitlines():
            if line.strip().startswith("export CHORUS_API="):
                first = line.strip().split("=", 1)[1]
        found = sorted(m["tags"].get("chorus.api", "") for m in members(first) if m["status"] == "alive")
        found = [a for a in found if a]
        if len(found) != self.nodes:
            raise SystemExit("expected %d alive members with an API, found %s" % (self.nodes, found))
        return found

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bench(chorus, kind, apis, duration):
    api = ",".join(apis)
    if kind == "lock":
        cmd = [chorus, "bench", "lock", "--clients", "32", "--duration", duration, "--warmup", "1s", "--api", api, "--json"]
        key = "pairs_per_second"
    elif kind == "queue":
        cmd = [chorus, "bench", "queue", "--producers", "8", "--consumers", "8", "--duration", duration, "--api", api, "--json"]
        key = "consumed_per_s"
    else:
        cmd = [chorus, "bench", "cache", "--clients", "16", "--duration", duration, "--api", api, "--json"]
        key = "ops_per_s"
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit("%s bench printed no JSON (rc %d): %s" % (kind, run.returncode, run.stderr[-1000:]))
    result = json.loads(lines[-1])
    return float(result[key]), result


UNITS = {"lock": "lock pairs/s (32 clients)", "queue": "queue msgs/s consumed (8+8)", "cache": "cache ops/s (16 clients)"}


def summarise(rows, nodes):
    table = {}
    for kind in UNITS:
        for n in nodes:
            vs = [r["value"] for r in rows if r["kind"] == kind and r["nodes"] == n]
            if vs:
                table[(kind, n)] = (statistics.median(vs), min(vs), max(vs), vs)
    return table


def print_table(table, nodes):
    print("| service | " + " | ".join("%d nodes" % n for n in nodes) + " | %d→%d nodes |" % (nodes[0], nodes[1] if len(nodes) > 1 else nodes[0]))
    print("|---|" + "---:|" * (len(nodes) + 1))
    for kind, unit in UNITS.items():
        cells = []
        for n in nodes:
            if (kind, n) not in table:
                cells.append("-")
                continue
            med, lo, hi, _ = table[(kind, n)]
            cells.append("{:,.0f} ({:,.0f}–{:,.0f})".format(med, lo, hi))
        change = "-"
        if len(nodes) > 1 and (kind, nodes[0]) in table and (kind, nodes[1]) in table:
            a, b = table[(kind, nodes[0])][0], table[(kind, nodes[1])][0]
            change = "%+.0f %%" % ((b / a - 1) * 100) if a else "-"
        print("| %s | %s | %s |" % (unit, " | ".join(cells), change))


def plots(table, nodes, svg_dir, subtitle):
    relative, absolute = [], []
    for kind, unit in UNITS.items():
        pts = [(n,) + table[(kind, n)][:3] for n in nodes if (kind, n) in table]
        if not pts:
            continue
        base = pts[0][1] or 1
        relative.append((unit, [(n, m / base, lo / base, hi / base) for n, m, lo, hi in pts]))
        absolute.append((unit, pts))
    # The seed's claim: lock throughput +60 % from 3 to 5 nodes.
    claim = [("seed's claim: +60 % at 5 nodes", [(3, 1.0), (5, 1.6)])] if nodes[:2] == [3, 5] else []
    svgplot.lines(os.path.join(svg_dir, "scaling-throughput.svg"), "Throughput against cluster size, relative to 3 nodes",
                  relative, "nodes (every agent on the same 2 cores)", "throughput / median at %d nodes" % nodes[0],
                  subtitle=subtitle, xticks=nodes, references=claim)
    svgplot.lines(os.path.join(svg_dir, "scaling-absolute.svg"), "Throughput against cluster size", absolute,
                  "nodes (every agent on the same 2 cores)", "operations per second", subtitle=subtitle, xticks=nodes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chorus", default=".build-rel/release/chorus")
    ap.add_argument("--nodes", default="3,5,7")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--services", default="lock,queue,cache")
    ap.add_argument("--port-base", type=int, default=29100)
    ap.add_argument("--out", default=None, help="directory for scaling.jsonl and the logs (default: a temporary one)")
    ap.add_argument("--svg-dir", default=None, help="where to write the SVGs (default: --out)")
    ap.add_argument("--redraw", default=None, metavar="JSONL", help="measure nothing: print the table and draw from a scaling.jsonl")
    a = ap.parse_args()
    nodes = [int(x) for x in a.nodes.split(",")]
    if a.redraw:
        with open(a.redraw) as f:
            rows = [json.loads(l) for l in f if l.strip()]
        report(rows, nodes, a.repeats, a.svg_dir or os.path.dirname(a.redraw))
        return
    work = a.out or tempfile.mkdtemp(prefix="chorus-scaling.")
    os.makedirs(work, exist_ok=True)
    svg_dir = a.svg_dir or work
    os.makedirs(svg_dir, exist_ok=True)
    results = os.path.join(work, "scaling.jsonl")
    log("machine: %d cores, load %s; results in %s" % (os.cpu_count(), load(), results))
    rows = []
    with open(results, "a") as sink:
        for rep in range(1, a.repeats + 1):
            for n in nodes:
                cluster = Cluster(a.chorus, n, a.port_base, work)
                try:
                    ready = cluster.wait_ready()
                    apis = cluster.apis()
                    log("repeat %d, %d nodes ready after %.1f s: %s" % (rep, n, ready, ",".join(apis)))
                    time.sleep(2)
                    for kind in a.services.split(","):
                        before = load()
                        value, raw = bench(a.chorus, kind, apis, a.duration)
                        row = {"repeat": rep, "nodes": n, "kind": kind, "value": value, "load_before": before,
                               "load_after": load(), "result": raw}
                        rows.append(row)
                        sink.write(json.dumps(row, sort_keys=True) + "\n")
                        sink.flush()
                        log("  %s: %.0f/s (load %s → %s)" % (kind, value, before, row["load_after"]))
                finally:
                    cluster.stop()
                time.sleep(2)
    report(rows, nodes, a.repeats, svg_dir)


def report(rows, nodes, repeats, svg_dir):
    table = summarise(rows, nodes)
    print_table(table, nodes)
    loads = [float(r["load_before"].split()[0]) for r in rows]
    subtitle = "median of %d repeats, bars min–max; %d cores; 1-min load %.1f–%.1f during the run" % (
        repeats, os.cpu_count(), min(loads), max(loads))
    plots(table, nodes, svg_dir, subtitle)
    log("wrote %s/scaling-throughput.svg and scaling-absolute.svg" % svg_dir)


if __name__ == "__main__":
    main()
