#!/usr/bin/env python3
"""A backlog of N 1 KiB messages in one queue on a real 3-agent cluster, with `chorus agent`
processes on 127.0.0.1 (Python 3 stdlib only):

1. Agents a, b, c start on fresh data directories (64 shards, 3 replicas: every agent holds a
   replica of every shard); one queue of PARTITIONS partitions is created and N messages of
   1 KiB are published in batches of BATCH over CONNECTIONS keep-alive connections spread over
   the three agents. Every body carries its index and a CRC-32 of the rest.
2. The queue's stats must show depth N (nothing lost at acceptance).
3. kill -9 of all three; they restart on the same data directories. The time until the queue
   answers stats with depth N again is the recovery time.
4. A fourth agent d joins. The ring places some shards' replicas on it by itself (3 of 4
   members per shard); the time until d is a voter holding, caught up, every queue partition
   the ring gives it is the copy time. The streamed snapshot counters and the most bytes of one
   snapshot held while sending / receiving are read from /metrics.
5. c leaves gracefully (POST /v1/leave): its replicas move to d, which then holds every queue
   partition; the time until every shard is on a, b, d with d caught up, and the counters again.
6. A sample is fetched and acked; every body must match its CRC-32 and its index.

Every agent's RSS (/proc/PID/status VmRSS) is sampled once a second throughout; each phase's
peak per agent is reported. Disk use of each data directory is recorded after each phase.
Prints a Markdown report and writes the raw results as JSON. Kills only the agents it started,
on every path. Usage, from the repository root:
    bench/queue-backlog-cluster.py [--chorus .build/release/chorus] [-n 2000000] [--keep]
"""
import argparse, base64, http.client, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, zlib

BODY = 1024
SHARDS = 64


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body_of(i):
    """1,024 ASCII bytes: `m<index>-<crc32 of the filler>-<filler>`."""
    head = f"m{i:010d}-"
    fill_len = BODY - len(head) - 9
    fill = (f"{i * 2654435761 % 4294967296:08x}" * (fill_len // 8 + 1))[:fill_len]
    return f"{head}{zlib.crc32(fill.encode()):08x}-{fill}"


def check_body(b):
    """The index the body names, or None when it is not as published."""
    try:
        i = int(b[1:11])
        crc, fill = b[12:20], b[21:]
        if f"{zlib.crc32(fill.encode()):08x}" != crc or b != body_of(i):
            return None
        return i
    except (ValueError, IndexError):
        return None


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


class Agent:
    def __init__(self, work, name, binary, extra):
        self.name, self.binary, self.extra = name, binary, extra
        self.bind, self.api = free_port(), free_port()
        self.data = os.path.join(work, name)
        self.log = os.path.join(work, name + ".log")
        self.proc = None
        self.seeds = []

    def start(self):
        args = [self.binary, "agent", "--name", self.name, "--bind", f"127.0.0.1:{self.bind}",
                "--api", f"127.0.0.1:{self.api}", "--data-dir", self.data, "--log-level", "warn"]
        for s in self.seeds:
            args += ["--seed", f"127.0.0.1:{s.bind}"]
        self.proc = subprocess.Popen(args + self.extra, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except (OSError, AttributeError, ValueError):
            pass
        return None

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def request(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.api, timeout=timeout)
        try:
            c.request(method, path, body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def json(self, method, path, body=None, timeout=30):
        try:
            status, data = self.request(method, path, body, timeout)
            return status, json.loads(data) if data else None
        except (OSError, ValueError, http.client.HTTPException):
            return 0, None

    def metric(self, name):
        try:
            status, data = self.request("GET", "/metrics", timeout=10)
        except (OSError, http.client.HTTPException):
            return None
        if status != 200:
            return None
        total = 0.0
        for line in data.decode().splitlines():
            if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
                try:
                    total += float(line.split()[-1])
                except ValueError:
                    pass
        return total


class Sampler(threading.Thread):
    """VmRSS of every agent once a second, tagged with the phase it fell in."""

    def __init__(self, agents):
        super().__init__(daemon=True)
        self.agents, self.phase, self.stop = agents, "start", threading.Event()
        self.samples = []  # (t, phase, {name: rss_kib})
        self.peaks = {}  # phase -> name -> kib
        self.t0 = time.time()

    def run(self):
        while not self.stop.wait(1.0):
            self.sample()

    def sample(self):
        row = {}
        for a in self.agents:
            if a.alive():
                v = a.rss_kib()
                if v is not None:
                    row[a.name] = v
                    p = self.peaks.setdefault(self.phase, {})
                    p[a.name] = max(p.get(a.name, 0), v)
        self.samples.append((round(time.time() - self.t0, 1), self.phase, row))


def wait(what, timeout, check, step=0.5):
    start = time.time()
    while time.time() - start < timeout:
        if check():
            return time.time() - start
        time.sleep(step)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def shards(agent):
    s, v = agent.json("GET", "/v1/shards", timeout=10)
    return v if s == 200 and isinstance(v, list) else None


def settled(agent, replicas=3):
    v = shards(agent)
    return bool(v and len(v) == SHARDS and all(x.get("leader") and len(x["replicas"]) == replicas and not x["learners"] for x in v))


def stats(agent, queue):
    s, v = agent.json("GET", f"/v1/queues/{queue}/stats", timeout=20)
    return v if s == 200 and isinstance(v, dict) else None


def publish(agents, queue, n, batch, connections):
    """Publishes bodies 0..<n in batches over `connections` keep-alive connections; every batch
    is retried (with its message ids, so a retry is deduplicated) until it is accepted."""
    lock, next_batch, errors, done = threading.Lock(), [0], [], [0]
    batches = (n + batch - 1) // batch

    def worker(k):
        agent = agents[k % len(agents)]
        c = http.client.HTTPConnection("127.0.0.1", agent.api, timeout=60)
        while True:
            with lock:
                b = next_batch[0]
                next_batch[0] += 1
            if b >= batches:
                break
            lo, hi = b * batch, min(n, (b + 1) * batch)
            payload = '{"messages":[' + ",".join(f'{{"id":"{i}","body":"{body_of(i)}"}}' for i in range(lo, hi)) + "]}"
            for attempt in range(100):
                try:
                    c.request("POST", f"/v1/queues/{queue}/messages", body=payload, headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    data = r.read()
                    if r.status == 200:
                        res = json.loads(data)["results"]
                        if all("offset" in x for x in res):
                            break
                    time.sleep(0.1)
                except (OSError, http.client.HTTPException, ValueError):
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", agent.api, timeout=60)
                    time.sleep(0.2)
            else:
                with lock:
                    errors.append(lo)
            with lock:
                done[0] += hi - lo
        c.close()

    ts = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(connections)]
    for t in ts:
        t.start()
    last = time.time()
    while any(t.is_alive() for t in ts):
        time.sleep(0.5)
        if time.time() - last >= 10:
            last = time.time()
            print(f"  published {done[0]:,} of {n:,}", file=sys.stderr, flush=True)
    if errors:
        raise RuntimeError(f"{len(errors)} batches were not accepted, first at {errors[0]}")


def queue_shards(agent, queue):
    """Partition index -> shard, from the body log directories `shards/bodies/<shard>/<queue>-<p>-<inc>`."""
    root = os.path.join(agent.data, "shards", "bodies")
    out = {}
    for sh in os.listdir(root) if os.path.isdir(root) else []:
        for name in os.listdir(os.path.join(root, sh)):
            parts = name.rsplit("-", 2)
            if len(parts) == 3 and parts[0] == queue:
                out[int(parts[1])] = int(sh)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chorus", default=".build/release/chorus")
    p.add_argument("-n", type=int, default=2_000_000)
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--batch", type=int, default=60, help="messages per publish (the API takes bodies up to 64 KiB)")
    p.add_argument("--connections", type=int, default=12)
    p.add_argument("--sample", type=int, default=20_000, help="messages fetched and acked at the end")
    p.add_argument("--agent-arg", action="append", default=[], help="extra argument to every agent")
    p.add_argument("--json", default="queue-backlog-cluster.json")
    p.add_argument("--no-leave", action="store_true", help="skip the graceful leave of c after d joined")
    p.add_argument("--keep", action="store_true")
    o = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # the agents are killed on the way out
    work = tempfile.mkdtemp(prefix="chorus-qbig.", dir=os.environ.get("QBIG_TMP"))
    a, b, c, d = (Agent(work, x, o.chorus, o.agent_arg) for x in "abcd")
    b.seeds = c.seeds = [a]
    d.seeds = [a, b, c]
    agents = [a, b, c, d]
    first = [a, b, c]
    q = "backlog"
    rep = {"n": o.n, "body_bytes": BODY, "partitions": o.partitions, "batch": o.batch, "connections": o.connections,
           "agent_args": o.agent_arg, "phases": {}}
    sampler = Sampler(agents)
    sampler.start()
    try:
        for x in first:
            x.start()
        sampler.phase = "publish"
        wait("the 64 shards to settle on 3 agents", 120, lambda: settled(a))
        s, v = a.json("POST", "/v1/queues", json.dumps({"name": q, "partitions": o.partitions, "visibility_timeout_ms": 300000}))
        if s not in (200, 201):
            raise RuntimeError(f"create: {s} {v}")
        t = time.time()
        publish(first, q, o.n, o.batch, o.connections)
        el = time.time() - t
        rep["phases"]["publish"] = {"seconds": round(el, 1), "msgs_per_s": round(o.n / el), "mib_per_s": round(o.n * BODY / el / 2**20, 1)}
        print(f"published {o.n:,} in {el:.1f} s ({o.n / el:,.0f} msg/s)", file=sys.stderr, flush=True)

        st = stats(a, q)
        rep["stats_after_publish"] = st
        if not st or st.get("depth") != o.n:
            raise RuntimeError(f"depth after publish is not {o.n}: {st}")
        time.sleep(3)  # let followers apply
        rep["disk_after_publish_mib"] = {x.name: round(dir_bytes(x.data) / 2**20) for x in first}
        rep["rss_before_kill_mib"] = {x.name: round((x.rss_kib() or 0) / 1024) for x in first}
        rep["partition_shards"] = queue_shards(a, q)

        for x in first:
            x.kill()
        sampler.phase = "restart"
        t = time.time()
        for x in first:
            x.start()

        def answers():
            st = stats(a, q)
            return bool(st and st.get("depth") == o.n and not st.get("partitions_unanswered"))
        el = wait("the queue to answer stats with depth N after kill -9 of all three", 1800, answers)
        settle = wait("the shards to settle after the restart", 600, lambda: settled(a)) + el
        rep["phases"]["restart"] = {"seconds_to_depth_n": round(el, 1), "seconds_to_all_settled": round(settle, 1)}
        print(f"restart: depth {o.n:,} after {el:.1f} s", file=sys.stderr, flush=True)
        time.sleep(2)
        rep["rss_after_restart_mib"] = {x.name: round((x.rss_kib() or 0) / 1024) for x in first}

        sampler.phase = "join"
        before = {x.name: {"streamed": x.metric("chorus_raft_snapshots_streamed_total"),
                           "sent": x.metric("chorus_raft_snapshots_sent_total")} for x in first}
        qshards = set(rep["partition_shards"].values())
        t = time.time()
        d.start()
        target = {}

        def copied():
            # The ring (on a) names how many shards d is to host; every shard must have a
            # leader, 3 voters and no learner, d must be a voter of exactly that many, and d
            # must have applied every queue shard it holds up to its leader's commit index.
            s, ring = a.json("GET", "/v1/ring", timeout=10)
            hosted = {m["name"]: m["shards_hosted"] for m in (ring or {}).get("members", [])}
            if "d" not in hosted:
                return False
            v = shards(a)
            if not v or len(v) != SHARDS:
                return False
            if not all(x.get("leader") and len(x["replicas"]) == 3 and not x["learners"] for x in v):
                return False
            mine = {x["shard"] for x in v if "d" in x["replicas"]}
            if len(mine) != hosted["d"]:
                return False
            target["hosted"] = hosted["d"]
            local = d.json("GET", "/v1/shards?local=1", timeout=10)[1] or []
            by = {x["shard"]: x for x in local}
            lead = {x["shard"]: x for x in v}
            for sh in mine & qshards:
                x = by.get(sh)
                if not x or x["applied_index"] < lead[sh]["commit_index"]:
                    return False
            target["shards"] = sorted(mine & qshards)
            return True
        el = wait("d to hold its placed queue partitions", 1800, copied, step=1.0)
        after = {x.name: {"streamed": x.metric("chorus_raft_snapshots_streamed_total"),
                          "sent": x.metric("chorus_raft_snapshots_sent_total"),
                          "held_sending_max": x.metric("chorus_raft_snapshot_bytes_held_sending_max")} for x in first}
        rep["phases"]["join"] = {
            "seconds": round(el, 1),
            "shards_on_d": target.get("hosted"),
            "queue_shards_on_d": target.get("shards"),
            "queue_partitions_on_d": sorted(p for p, sh in rep["partition_shards"].items() if sh in set(target.get("shards", []))),
            "snapshots_streamed": {k: (after[k]["streamed"] or 0) - (before[k]["streamed"] or 0) for k in after},
            "snapshots_sent": {k: (after[k]["sent"] or 0) - (before[k]["sent"] or 0) for k in after},
            "bytes_held_sending_max": {k: after[k]["held_sending_max"] for k in after},
            "bytes_held_receiving_max_d": d.metric("chorus_raft_snapshot_bytes_held_receiving_max"),
            "snapshots_taken_d": d.metric("chorus_raft_snapshots_taken_total"),
        }
        print(f"join: d caught up on {len(target.get('shards', []))} queue shards after {el:.1f} s", file=sys.stderr, flush=True)
        time.sleep(2)
        rep["disk_after_join_mib"] = {x.name: round(dir_bytes(x.data) / 2**20) for x in agents}
        st = stats(d, q)
        rep["stats_after_join"] = st
        if not st or st.get("depth") != o.n:
            raise RuntimeError(f"depth after the join is not {o.n}: {st}")

        if not o.no_leave:
            # c leaves gracefully: its replicas go to d, which then holds every partition.
            sampler.phase = "leave"
            before = {x.name: {"streamed": x.metric("chorus_raft_snapshots_streamed_total") or 0} for x in (a, b)}
            t = time.time()
            s, v = c.json("POST", "/v1/leave", timeout=300)
            answered = time.time() - t
            try:
                c.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                raise RuntimeError("c did not exit after its leave")
            rest = {"a", "b", "d"}

            def moved():
                v = shards(a)
                if not v or len(v) != SHARDS:
                    return False
                if not all(x.get("leader") and sorted(x["replicas"]) == sorted(rest) and not x["learners"] for x in v):
                    return False
                by = {x["shard"]: x for x in (d.json("GET", "/v1/shards?local=1", timeout=10)[1] or [])}
                lead = {x["shard"]: x for x in v}
                return all(sh in by and by[sh]["applied_index"] >= lead[sh]["commit_index"] for sh in qshards)
            el = wait("d to hold every queue partition after c left", 1800, moved, step=1.0)
            rep["phases"]["leave"] = {
                "leave_answered_s": round(answered, 1), "leave_status": s,
                "seconds_to_all_on_a_b_d": round(el, 1),
                "snapshots_streamed": {k: (x.metric("chorus_raft_snapshots_streamed_total") or 0) - before[k]["streamed"]
                                       for k, x in (("a", a), ("b", b))},
                "bytes_held_sending_max": {k: x.metric("chorus_raft_snapshot_bytes_held_sending_max") for k, x in (("a", a), ("b", b))},
                "bytes_held_receiving_max_d": d.metric("chorus_raft_snapshot_bytes_held_receiving_max"),
                "snapshots_taken_d": d.metric("chorus_raft_snapshots_taken_total"),
            }
            print(f"leave: every shard on a, b, d after {el:.1f} s", file=sys.stderr, flush=True)
            time.sleep(2)
            rep["disk_after_leave_mib"] = {x.name: round(dir_bytes(x.data) / 2**20) for x in (a, b, d)}
            st = stats(d, q)
            rep["stats_after_leave"] = st
            if not st or st.get("depth") != o.n:
                raise RuntimeError(f"depth after the leave is not {o.n}: {st}")

        sampler.phase = "drain"
        got, bad, dup, seen = 0, 0, 0, set()
        t = time.time()
        k = 0
        live = [x for x in agents if x.alive()]
        while got < o.sample and time.time() - t < 600:
            x = live[k % len(live)]
            k += 1
            s, v = x.json("POST", f"/v1/queues/{q}/fetch", json.dumps({"consumer": "check", "max_messages": 200, "wait_ms": 200}))
            if s != 200 or not v or not v.get("messages"):
                continue
            ms = v["messages"]
            for m in ms:
                body = m["body"] if "body" in m else base64.b64decode(m.get("body_base64", "")).decode("latin-1")
                i = check_body(body)
                if i is None:
                    bad += 1
                elif i in seen:
                    dup += 1
                else:
                    seen.add(i)
            got += len(ms)
            x.json("POST", f"/v1/queues/{q}/ack", json.dumps({"receipts": [m["receipt"] for m in ms]}))
        el = time.time() - t
        st = stats(a, q)
        rep["phases"]["drain_sample"] = {"fetched": got, "distinct": len(seen), "bad_bodies": bad, "duplicates": dup,
                                         "seconds": round(el, 1), "depth_after": (st or {}).get("depth")}
        if bad:
            raise RuntimeError(f"{bad} bodies were not as published")
        sampler.sample()
        rep["ok"] = True
    except BaseException as e:
        rep["ok"] = False
        rep["error"] = f"{type(e).__name__}: {e}"
        print("FAILED:", rep["error"], file=sys.stderr)
        for x in agents:
            try:
                with open(x.log, "rb") as f:
                    tail = f.read()[-2000:].decode(errors="replace")
                print(f"--- {x.name} log tail\n{tail}", file=sys.stderr)
            except OSError:
                pass
    finally:
        sampler.stop.set()
        for x in agents:
            x.kill()
        rep["peak_rss_mib"] = {ph: {k: round(v / 1024) for k, v in row.items()} for ph, row in sampler.peaks.items()}
        rep["rss_samples"] = sampler.samples
        with open(o.json, "w") as f:
            json.dump(rep, f, indent=1)
        if o.keep:
            print("work directory:", work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(markdown(rep))
    sys.exit(0 if rep.get("ok") else 1)


def markdown(rep):
    L = [f"### {rep['n']:,} × {rep['body_bytes']} B in one queue of {rep['partitions']} partitions on 3 agents",
         "", f"ok: {rep.get('ok')}" + (f" — {rep['error']}" if rep.get("error") else ""), ""]
    ph = rep["phases"]
    if "publish" in ph:
        x = ph["publish"]
        L.append(f"- publish ({rep['batch']} per request, {rep['connections']} keep-alive connections): {x['seconds']} s, "
                 f"{x['msgs_per_s']:,} msg/s, {x['mib_per_s']} MiB/s of bodies")
    if "disk_after_publish_mib" in rep:
        L.append(f"- disk per data dir after publish (MiB): {rep['disk_after_publish_mib']}")
    if "restart" in ph:
        x = ph["restart"]
        L.append(f"- kill -9 of all three, restart: stats show depth N after {x['seconds_to_depth_n']} s, "
                 f"all 64 shards settled after {x['seconds_to_all_settled']} s")
    if "join" in ph:
        x = ph["join"]
        L.append(f"- fourth agent joins: holds {x.get('shards_on_d')} of the 64 shards as the ring places them, caught up on queue partitions {x['queue_partitions_on_d']} (shards {x['queue_shards_on_d']}) "
                 f"after {x['seconds']} s; snapshots streamed {x['snapshots_streamed']}, sent {x['snapshots_sent']}; "
                 f"max bytes of one snapshot held sending {x['bytes_held_sending_max']}, receiving on d {x['bytes_held_receiving_max_d']}")
    if "disk_after_join_mib" in rep:
        L.append(f"- disk per data dir after the join (MiB): {rep['disk_after_join_mib']}")
    if "leave" in ph:
        x = ph["leave"]
        L.append(f"- c leaves gracefully (answered {x['leave_status']} after {x['leave_answered_s']} s): every shard on a, b, d and d caught up "
                 f"on all {rep['partitions']} partitions after {x['seconds_to_all_on_a_b_d']} s; snapshots streamed {x['snapshots_streamed']}; "
                 f"max bytes of one snapshot held sending {x['bytes_held_sending_max']}, receiving on d {x['bytes_held_receiving_max_d']}")
    if "disk_after_leave_mib" in rep:
        L.append(f"- disk per data dir after the leave (MiB): {rep['disk_after_leave_mib']}")
    if "drain_sample" in ph:
        x = ph["drain_sample"]
        L.append(f"- drain sample: {x['fetched']:,} fetched+acked, {x['distinct']:,} distinct, {x['bad_bodies']} bad bodies, "
                 f"{x['duplicates']} duplicates, depth after {x['depth_after']}")
    L += ["", "| phase | " + " | ".join("abcd") + " |", "|---|---|---|---|---|"]
    for name, row in rep["peak_rss_mib"].items():
        L.append(f"| peak RSS {name} (MiB) | " + " | ".join(str(row.get(k, "–")) for k in "abcd") + " |")
    return "\n".join(L)


if __name__ == "__main__":
    main()
