#!/usr/bin/env python3
"""Shard failover after kill -9 of a leader, with quiescent idle groups.

Usage:
    python3 bench/shards-failover.py --chorus .build-rel/release/chorus --agents 3 --trials 5

Starts N agents on loopback (64 shards, 3 replicas each), waits until every shard has a leader
and 3 voters and every replica is quiescent (`chorus_raft_quiescent_replicas`), then per trial:
kill -9 of the agent that leads the most shards; failover time = seconds from the kill until
EVERY survivor reports, for every shard the killed agent led, a leader that is not it (polls
`GET /v1/shards` of each survivor every 20 ms). The killed agent is then restarted from its
data directory and the cluster left to quiesce again before the next trial. Prints each
trial and the median. Stdlib only; every process is killed on exit.

With --svg-dir DIR it also records, per trial and survivor, when it first listed the killed
agent as not alive (`GET /v1/members`) and when it saw a new leader for each shard the killed
agent led, writes them to DIR/failover-timelines.json and draws the median trial as
DIR/shards-failover-timeline.svg (bench/svgplot.py): for each survivor, the number of those
shards with a new leader against seconds since the kill, with the kill and each survivor's
verdict on the killed agent as markers.
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svgplot  # noqa: E402

HOST = "127.0.0.1"


def get(port, path, timeout=1.0):
    with urllib.request.urlopen("http://%s:%d%s" % (HOST, port, path), timeout=timeout) as r:
        return r.read().decode()


def metric(port, name):
    try:
        for line in get(port, "/metrics").splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def member_status(port, name):
    try:
        for m in json.loads(get(port, "/v1/members")):
            if m["name"] == name:
                return m["status"]
    except (OSError, ValueError, KeyError):
        return None
    return None


def draw(svg_dir, timelines):
    """The median trial's timeline as an SVG; every trial's in JSON."""
    os.makedirs(svg_dir, exist_ok=True)
    with open(os.path.join(svg_dir, "failover-timelines.json"), "w") as f:
        json.dump(timelines, f, indent=1, sort_keys=True)
    ordered = sorted(timelines, key=lambda t: t["failover_s"])
    t = ordered[len(ordered) // 2]
    series, markers = [], [(0.0, "kill -9 %s" % t["victim"])]
    for survivor, seen in sorted(t["new_leader_seen_s"].items()):
        times = sorted(seen.values())
        series.append(("%s sees a new leader" % survivor, [(0.0, 0)] + [(x, k + 1) for k, x in enumerate(times)]))
    for survivor, (status, at) in sorted(t["verdicts"].items()):
        markers.append((at, "%s sees %s %s" % (survivor, t["victim"], status)))
    markers.append((t["failover_s"], "every survivor sees new leaders"))
    svgplot.timeline(os.path.join(svg_dir, "shards-failover-timeline.svg"),
                     "Shard failover after kill -9 of %s (led %d of 64 shards)" % (t["victim"], t["led"]),
                     series, markers, xlabel="seconds since the kill", ylabel="shards the killed agent led",
                     subtitle="trial %d of %d, the median (%.2f s; all trials %.2f–%.2f s); %d cores, load %s" % (
                         t["trial"], len(timelines), t["failover_s"], ordered[0]["failover_s"], ordered[-1]["failover_s"],
                         os.cpu_count(), t["load"]))


def shards(port):
    try:
        return json.loads(get(port, "/v1/shards"))
    except (OSError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chorus", default=".build-rel/release/chorus")
    ap.add_argument("--agents", type=int, default=3)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--base-port", type=int, default=28000)
    ap.add_argument("--svg-dir", default=None, help="record timelines and draw the median trial's there")
    ap.add_argument("--redraw", default=None, metavar="JSON", help="only draw --svg-dir's picture again from a failover-timelines.json")
    a = ap.parse_args()
    if a.redraw:
        with open(a.redraw) as f:
            draw(a.svg_dir or os.path.dirname(a.redraw), json.load(f))
        return
    tmp = tempfile.mkdtemp(prefix="chorus-failover.")
    procs = {}

    def start(i):
        port = a.base_port + i * 10
        cmd = [a.chorus, "agent", "--name", "f%d" % i, "--bind", "%s:%d" % (HOST, port), "--api", "%s:%d" % (HOST, port + 1),
               "--data-dir", os.path.join(tmp, "f%d" % i), "--log-level", "info"]
        if i > 0:
            cmd += ["--seed", "%s:%d" % (HOST, a.base_port)]
        log = open(os.path.join(tmp, "f%d.log" % i), "a")
        procs[i] = subprocess.Popen(cmd, stdout=log, stderr=log)

    def api(i):
        return a.base_port + i * 10 + 1

    def wait(cond, timeout, what):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if cond():
                return time.time() - t0
            time.sleep(0.05)
        raise SystemExit("timed out waiting for " + what)

    def placed():
        for i in procs:
            d = shards(api(i))
            if not d or len(d) != 64 or not all(x["leader"] and len(x["replicas"]) == min(3, a.agents) and not x["learners"] for x in d):
                return False
        return True

    def quiet():
        for i in procs:
            q, r = metric(api(i), "chorus_raft_quiescent_replicas"), metric(api(i), "chorus_raft_replicas")
            if q is None or r is None or q != r or r == 0:
                return False
        return True

    results, timelines = [], []
    try:
        for i in range(a.agents):
            start(i)
            time.sleep(0.3)
        wait(placed, 120, "placement")
        wait(quiet, 120, "quiescence")
        for t in range(a.trials):
            leads = {i: metric(api(i), "chorus_raft_leaders") or 0 for i in procs}
            victim = max(leads, key=lambda i: leads[i])
            name = "f%d" % victim
            led = [x["shard"] for x in shards(api(victim)) if x["leader"] == name]
            survivors = [i for i in procs if i != victim]
            load = " ".join(open("/proc/loadavg").read().split()[:3])
            seen = {"f%d" % i: {} for i in survivors}
            verdicts = {}
            t0 = time.time()
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            del procs[victim]
            done = set()
            while len(done) < len(survivors):
                for i in survivors:
                    if i in done:
                        continue
                    d = shards(api(i), ) or []
                    by = {x["shard"]: x["leader"] for x in d}
                    now = time.time() - t0
                    for s in led:
                        if by.get(s) not in (None, name):
                            seen["f%d" % i].setdefault(str(s), now)
                    if a.svg_dir and "f%d" % i not in verdicts:
                        status = member_status(api(i), name)
                        if status not in (None, "alive"):
                            verdicts["f%d" % i] = (status, time.time() - t0)
                    if d and all(by.get(s) not in (None, name) for s in led):
                        done.add(i)
                if time.time() - t0 > 60:
                    raise SystemExit("no failover within 60 s")
                time.sleep(0.02)
            dt = time.time() - t0
            results.append(dt)
            timelines.append({"trial": t + 1, "victim": name, "led": len(led), "failover_s": dt, "load": load,
                              "new_leader_seen_s": seen, "verdicts": verdicts})
            print("trial %d: killed %s (led %d shards): every survivor sees new leaders after %.2f s" % (t + 1, name, len(led), dt), flush=True)
            start(victim)
            wait(placed, 120, "placement after restart")
            wait(quiet, 120, "quiescence after restart")
        print("median failover %.2f s over %d trials (min %.2f, max %.2f)" % (statistics.median(results), len(results), min(results), max(results)))
        if a.svg_dir:
            draw(a.svg_dir, timelines)
    finally:
        for p in procs.values():
            p.kill()
        for p in procs.values():
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
