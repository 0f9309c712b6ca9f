#!/usr/bin/env python3
"""A shard whose state is far larger than a 16 MiB frame, with real `chorus agent` processes
on 127.0.0.1:

1. Agent a founds a cluster of one shard (--shards 1 --replicas 3) and is filled through the
   KV API with STATE_MIB of values (10,100 keys: more than the host's snapshot_every of 10,000
   applied entries, so the shard takes a snapshot of the whole state).
2. a is killed (kill -9) and started again from its data directory; the time until it serves
   a read again is the restart time (snapshot file read back in chunks, log replayed).
3. Agents b and c join; the rebalancer adds them as replicas and a streams the snapshot to
   each in chunks. The time until both apply what a applied is the copy time.
4. a is killed for good; b and c elect a leader and every sampled key reads back with the
   value that was written, from their copies.

Prints the timings and each process's peak RSS (VmHWM). Usage, from the repository root:
    bench/big-snapshot.py [--chorus .build-rel2/release/chorus] [--state-mib 500] [--keep]
"""
import argparse, http.client, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

KEYS = 10_100  # beyond ShardHostSettings.snapshotEvery (10,000 applied entries)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def value_of(key, size):
    seed = (key + "|").encode()
    return (seed * (size // len(seed) + 1))[:size]


class Agent:
    def __init__(self, work, name, binary, seed=None):
        self.name, self.binary, self.seed = name, binary, seed
        self.bind, self.api = free_port(), free_port()
        self.data = os.path.join(work, name)
        self.log = os.path.join(work, name + ".log")
        self.proc = None
        self.peak_rss_mib = 0.0

    def start(self):
        args = [self.binary, "agent", "--name", self.name, "--bind", f"127.0.0.1:{self.bind}",
                "--api", f"127.0.0.1:{self.api}", "--data-dir", self.data, "--shards", "1",
                "--replicas", "3", "--log-level", "warn"]
        if self.seed:
            args += ["--seed", f"127.0.0.1:{self.seed.bind}"]
        self.proc = subprocess.Popen(args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def sample_rss(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_mib = max(self.peak_rss_mib, int(line.split()[1]) / 1024)
        except (OSError, AttributeError):
            pass

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.sample_rss()
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def request(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.api, timeout=timeout)
        try:
            c.request(method, path, body=body)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def local_shard(self):
        try:
            status, body = self.request("GET", "/v1/shards?local=1", timeout=5)
            if status == 200:
                d = json.loads(body)
                return d[0] if d else None
        except (OSError, ValueError, http.client.HTTPException):
            return None
        return None


def wait(what, timeout, check, agents=()):
    start = time.time()
    while time.time() - start < timeout:
        for a in agents:
            a.sample_rss()
        if check():
            return time.time() - start
        time.sleep(0.2)
    sys.exit(f"timed out after {timeout} s waiting for {what}")


def fill(agent, keys, size, threads=8):
    errors, lock, next_key = [], threading.Lock(), [0]

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", agent.api, timeout=60)
        while True:
            with lock:
                i = next_key[0]
                next_key[0] += 1
            if i >= keys:
                break
            key = f"k{i:06d}"
            for attempt in range(20):
                try:
                    c.request("PUT", f"/v1/kv/{key}?request_id={key}", body=value_of(key, size))
                    r = c.getresponse()
                    r.read()
                    if r.status == 200:
                        break
                    time.sleep(0.2)
                except (OSError, http.client.HTTPException):
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", agent.api, timeout=60)
                    time.sleep(0.2)
            else:
                with lock:
                    errors.append(key)
        c.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        agent.sample_rss()
        time.sleep(0.5)
    if errors:
        sys.exit(f"{len(errors)} puts failed, first {errors[0]}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chorus", default=".build-rel2/release/chorus")
    p.add_argument("--state-mib", type=int, default=500)
    p.add_argument("--keep", action="store_true")
    o = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # the agents are killed on the way out
    size = min(64 << 10, (o.state_mib << 20) // KEYS + 1)
    work = tempfile.mkdtemp(prefix="chorus-big-snapshot.")
    a = Agent(work, "a", o.chorus)
    b, c = Agent(work, "b", o.chorus, seed=a), Agent(work, "c", o.chorus, seed=a)
    agents = [a, b, c]
    report = {}
    try:
        a.start()
        wait("a's shard to have a leader", 60, lambda: ((s := a.local_shard()) or {}).get("leader") == "a", [a])
        t = time.time()
        fill(a, KEYS, size)
        report["fill_s"] = time.time() - t
        report["state_mib"] = KEYS * size / (1 << 20)
        snap = os.path.join(a.data, "shards", "snap", "group-00000000000000000000.snap")
        wait("a's snapshot of the whole state", 120,
             lambda: os.path.exists(snap) and os.path.getsize(snap) >= KEYS * size * 0.98, [a])
        report["snapshot_file_mib"] = os.path.getsize(snap) / (1 << 20)
        applied = a.local_shard()["applied_index"]

        a.kill()
        t = time.time()
        a.start()
        probe = "k000123"
        wait("a to serve a read after the restart", 300,
             lambda: a.request("GET", f"/v1/kv/{probe}", timeout=5)[0] == 200 if a.local_shard() else False, [a])
        report["restart_to_first_read_s"] = time.time() - t
        applied = max(applied, a.local_shard()["applied_index"])

        t = time.time()
        b.start()
        c.start()

        def copied():
            sb, sc = b.local_shard(), c.local_shard()
            return bool(sb and sc and sb["applied_index"] >= applied and sc["applied_index"] >= applied
                        and sorted(sb["replicas"]) == ["a", "b", "c"] and not sb["learners"])
        wait("b and c to hold the shard's state", 900, copied, agents)
        report["copy_to_two_new_replicas_s"] = time.time() - t
        for x in agents:
            x.sample_rss()
        metrics = a.request("GET", "/metrics")[1].decode()
        report["snapshots_sent_by_a"] = sum(float(l.split()[-1]) for l in metrics.splitlines()
                                            if l.startswith("chorus_raft_snapshots_sent_total"))

        a.kill()
        t = time.time()
        wait("b or c to lead", 60, lambda: any((s := x.local_shard()) and s.get("leader") in ("b", "c") for x in (b, c)), [b, c])
        checked = 0
        for i in range(0, KEYS, 97):
            key = f"k{i:06d}"
            for attempt in range(50):
                try:
                    status, body = b.request("GET", f"/v1/kv/{key}", timeout=10)
                except (OSError, http.client.HTTPException):
                    status, body = 0, b""
                if status == 200:
                    break
                time.sleep(0.2)
            d = json.loads(body)
            got = d["value"].encode() if "value" in d else __import__("base64").b64decode(d["value_base64"])
            if got != value_of(key, size):
                sys.exit(f"{key}: the copy holds a different value")
            checked += 1
        report["keys_checked_on_copies"] = checked
        for x in agents:
            x.sample_rss()
            report[f"peak_rss_mib_{x.name}"] = round(x.peak_rss_mib, 1)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in report.items()}, indent=1))
    finally:
        for x in agents:
            x.kill()
        if o.keep:
            print("work directory:", work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
