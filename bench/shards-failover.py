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
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

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
    a = ap.parse_args()
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

    results = []
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
                    if d and all(by.get(s) not in (None, name) for s in led):
                        done.add(i)
                if time.time() - t0 > 60:
                    raise SystemExit("no failover within 60 s")
                time.sleep(0.02)
            dt = time.time() - t0
            results.append(dt)
            print("trial %d: killed %s (led %d shards): every survivor sees new leaders after %.2f s" % (t + 1, name, len(led), dt), flush=True)
            start(victim)
            wait(placed, 120, "placement after restart")
            wait(quiet, 120, "quiescence after restart")
        print("median failover %.2f s over %d trials (min %.2f, max %.2f)" % (statistics.median(results), len(results), min(results), max(results)))
    finally:
        for p in procs.values():
            p.kill()
        for p in procs.values():
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
