#!/usr/bin/env python3
"""Membership benchmark: Chorus agents side by side with serf agents, on loopback, in one run.

Usage:
    swift build -c release --scratch-path .build-bench
    python3 bench/membership-vs-serf.py --chorus .build-bench/release/chorus --serf "$(command -v serf)" \\
        --agents 10,30 --trials 3 --out /tmp/membership-vs-serf.md

    python3 bench/membership-vs-serf.py --report /tmp/membership-vs-serf.md.json   # re-render a report

Options:
    --agents 10,30        cluster sizes to run
    --trials 3            trials per system and size (the two systems alternate trial by trial)
    --chorus PATH         the chorus binary (release build)
    --serf PATH           the serf binary (Debian package `serf`, default LAN profile, no tuning flags)
    --out FILE            Markdown report; the raw results go to FILE.json
    --systems chorus,serf which systems to run
    --poll-interval 0.05  seconds between two polls of one agent
    --serf-poll rpc|cli   how serf agents are polled: `rpc` (default) speaks serf's msgpack RPC
                          protocol over one kept-alive TCP connection per agent (the same
                          `members` call `serf members` makes); `cli` runs
                          `serf members -rpc-addr=... -format=json` subprocesses
    --idle-wait 10 --idle-window 20   idle phase: settle, then measure
    --no-netns            do not isolate the run in a private network namespace
    --keep-logs           keep every trial's agent logs (the directory is printed)
    --chorus-log-level L  chorus --log-level (default warn; `info` logs every join, for diagnosis)
    --chorus-config FILE  pass --config FILE to chorus agents (tuning experiments, not the benchmark)

What one trial does, for one system and N agents (all on 127.0.0.1, free ports):
 1. Starts agent n0 (the seed), waits until its API answers, then starts n1..n(N-1) as fast as
    possible, each joining through n0. Convergence = seconds from the LAST start until EVERY agent
    lists all N members alive.
 2. Idle: waits --idle-wait s, pauses polling, then over --idle-window s measures per agent
    CPU% ((utime+stime) delta from /proc/PID/stat / wall), VmRSS, and bytes/s per agent on
    loopback: delta of /sys/class/net/lo/statistics/tx_bytes while only this system's agents run
    and nothing polls them, divided by N and by the seconds (every loopback packet is counted once;
    IP/UDP/TCP headers included).
 3. kill -9 of one agent (not the seed): seconds until EVERY survivor reports it dead
    (chorus `dead`, serf `failed`); also until the FIRST does.
 4. Graceful leave of another agent (`chorus leave --api ...`, `serf leave -rpc-addr=...`):
    seconds until EVERY remaining agent reports it `left`.
 5. False positives: every poll of every agent is checked; a live agent reported anything but
    `alive` by another agent counts (chorus `suspect` sightings are counted separately, since
    serf's members list has no suspect state). Agents' logs are also scanned afterwards for
    suspicions / deaths of live members, which covers the idle window when nothing polls.
 Every agent is polled concurrently (one thread per agent) every --poll-interval s; a state is
 timed at the moment its poll's answer arrived. Every process is killed at the end of a trial,
 on every path. Requires Python 3 (stdlib only) and Linux /proc; a private network namespace
 (the default when run as root and `ip` exists) keeps other loopback traffic out of the byte
 counts and other processes off the ports.
"""

import argparse
import calendar
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- msgpack (serf RPC)

def mp_pack(o):
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 0x80:
            return bytes([o])
        if 0 <= o <= 0xFF:
            return b"\xcc" + struct.pack(">B", o)
        if 0 <= o <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", o)
        if 0 <= o <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", o)
        if o >= 0:
            return b"\xcf" + struct.pack(">Q", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, str):
        b = o.encode()
        n = len(b)
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n <= 0xFFFF:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(o, dict):
        n = len(o)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return head + b"".join(mp_pack(k) + mp_pack(v) for k, v in o.items())
    if isinstance(o, (list, tuple)):
        n = len(o)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)
        return head + b"".join(mp_pack(v) for v in o)
    raise TypeError(type(o))


def _mp_str(raw):
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


def mp_unpack(rd):
    """Decodes one msgpack object; rd(n) returns exactly n bytes."""
    b = rd(1)[0]
    if b <= 0x7F:
        return b
    if b >= 0xE0:
        return b - 0x100
    if 0x80 <= b <= 0x8F:
        return {_key(mp_unpack(rd)): mp_unpack(rd) for _ in range(b & 0x0F)}
    if 0x90 <= b <= 0x9F:
        return [mp_unpack(rd) for _ in range(b & 0x0F)]
    if 0xA0 <= b <= 0xBF:
        return _mp_str(rd(b & 0x1F))
    if b == 0xC0:
        return None
    if b == 0xC2:
        return False
    if b == 0xC3:
        return True
    fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i",
             0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
    if b in fixed:
        fmt = fixed[b]
        return struct.unpack(fmt, rd(struct.calcsize(fmt)))[0]
    lens = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
    if b in lens:
        fmt = lens[b]
        n = struct.unpack(fmt, rd(struct.calcsize(fmt)))[0]
        raw = rd(n)
        return raw if b in (0xC4, 0xC5, 0xC6) else _mp_str(raw)
    if b in (0xDC, 0xDD):
        n = struct.unpack(">H" if b == 0xDC else ">I", rd(2 if b == 0xDC else 4))[0]
        return [mp_unpack(rd) for _ in range(n)]
    if b in (0xDE, 0xDF):
        n = struct.unpack(">H" if b == 0xDE else ">I", rd(2 if b == 0xDE else 4))[0]
        return {_key(mp_unpack(rd)): mp_unpack(rd) for _ in range(n)}
    if b in (0xD4, 0xD5, 0xD6, 0xD7, 0xD8):
        n = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}[b]
        t = rd(1)
        return ("ext", t, rd(n))
    if b in (0xC7, 0xC8, 0xC9):
        fmt = {0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}[b]
        n = struct.unpack(fmt, rd(struct.calcsize(fmt)))[0]
        t = rd(1)
        return ("ext", t, rd(n))
    raise ValueError("msgpack: bad byte 0x%02x" % b)


def _key(k):
    return k.decode(errors="replace") if isinstance(k, bytes) else k


class SerfRPC:
    """One kept-alive connection to a serf agent's RPC port (the protocol `serf members` speaks)."""

    def __init__(self, port, timeout=3.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb")
        self.seq = 0
        self.call("handshake", {"Version": 1})

    def _read(self, n):
        data = self.rf.read(n)
        if data is None or len(data) < n:
            raise EOFError("serf rpc closed")
        return data

    def call(self, command, body=None, has_reply=False):
        seq = self.seq
        self.seq += 1
        self.sock.sendall(mp_pack({"Command": command, "Seq": seq}) + (mp_pack(body) if body is not None else b""))
        header = mp_unpack(self._read)
        if header.get("Error"):
            raise RuntimeError("serf rpc %s: %s" % (command, header["Error"]))
        return mp_unpack(self._read) if has_reply else None

    def members(self):
        reply = self.call("members", None, True)
        return {m["Name"]: m["Status"] for m in reply["Members"]}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class ChorusHTTP:
    """One kept-alive HTTP/1.1 connection to a chorus agent's API."""

    def __init__(self, port, timeout=3.0):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def get(self, path):
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("GET %s: %d" % (path, r.status))
        return body

    def members(self):
        return {m["name"]: m["status"] for m in json.loads(self.get("/v1/members"))}

    def close(self):
        self.conn.close()


def parse_prometheus(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


# --------------------------------------------------------------------------- processes and /proc

def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_ports(count):
    """`count` distinct ports free for both TCP and UDP on 127.0.0.1, chosen BELOW the kernel's
    ephemeral range, so that no outgoing connection (agents dialling peers, pollers) can take
    one between the choice and the agent's bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError):
        ephemeral_low = 32768
    ports, port = [], max(1024, ephemeral_low - 12000) + (os.getpid() * 7) % 2000
    while len(ports) < count:
        port += 1
        if port >= ephemeral_low:
            raise RuntimeError("no free ports below the ephemeral range")
        held = []
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                sock = socket.socket(socket.AF_INET, kind)
                held.append(sock)
                sock.bind((HOST, port))
            ports.append(port)
        except OSError:
            pass
        finally:
            for sock in held:
                sock.close()
    return ports


_next_port_base = [0]


def proc_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, IndexError, ValueError):
        return None


def proc_memory_kib(pid):
    """VmRSS, RssAnon, RssFile (from /proc/PID/status) and Pss (smaps_rollup), in KiB."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key = line.split(":")[0]
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(line.split()[1])
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1])
    except OSError:
        pass
    return out if "VmRSS" in out else None


def lo_tx_bytes():
    with open("/sys/class/net/lo/statistics/tx_bytes") as f:
        return int(f.read())


def cpu_busy_sample():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v), idle


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --------------------------------------------------------------------------- the two systems

class Chorus:
    name = "chorus"
    dead = "dead"
    left = "left"

    def __init__(self, binary, log_level="warn", config=None):
        self.binary = binary
        self.log_level = log_level
        self.config = config

    def command(self, i, gossip, api, seed_port, tmp):
        cmd = [self.binary, "agent", "--name", "n%d" % i, "--bind", "%s:%d" % (HOST, gossip),
               "--api", "%s:%d" % (HOST, api), "--data-dir", os.path.join(tmp, "n%d" % i), "--log-level", self.log_level]
        if seed_port is not None:
            cmd += ["--seed", "%s:%d" % (HOST, seed_port)]
        if self.config:
            cmd += ["--config", self.config]
        return cmd

    def client(self, api):
        return ChorusHTTP(api)

    def ready(self, api):
        c = ChorusHTTP(api, timeout=1.0)
        try:
            c.get("/health")
            return True
        finally:
            c.close()

    def leave_command(self, api):
        return [self.binary, "leave", "--api", "%s:%d" % (HOST, api)]

    def metrics(self, api):
        c = ChorusHTTP(api)
        try:
            return parse_prometheus(c.get("/metrics").decode())
        finally:
            c.close()

    # log lines: 2026-11-22T01:09:14.909Z WARN member suspected name=b ...
    LOG = re.compile(r"^(\S+) WARN member (suspected|declared dead) name=(\S+)")

    def log_events(self, path):
        events = []
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    m = self.LOG.match(line)
                    if m:
                        ts = calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
                        ts += float("0" + m.group(1)[19:-1]) if m.group(1)[19:-1] else 0.0
                        events.append((ts, "suspect" if m.group(2) == "suspected" else "dead", m.group(3)))
        except OSError:
            pass
        return events


class Serf:
    name = "serf"
    dead = "failed"
    left = "left"

    def __init__(self, binary, poll_mode):
        self.binary = binary
        self.poll_mode = poll_mode

    def command(self, i, gossip, api, seed_port, tmp):
        cmd = [self.binary, "agent", "-node=n%d" % i, "-bind=%s:%d" % (HOST, gossip), "-rpc-addr=%s:%d" % (HOST, api)]
        if seed_port is not None:
            cmd.append("-join=%s:%d" % (HOST, seed_port))
        return cmd

    def client(self, api):
        if self.poll_mode == "cli":
            return SerfCLI(self.binary, api)
        return SerfRPC(api)

    def ready(self, api):
        SerfRPC(api, timeout=1.0).close()
        return True

    def leave_command(self, api):
        return [self.binary, "leave", "-rpc-addr=%s:%d" % (HOST, api)]

    # log lines: 2026/11/22 01:08:35 [INFO] memberlist: Suspect n3 has failed, no acks received
    LOG_SUSPECT = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[\w+\] memberlist: Suspect (\S+) has failed")
    LOG_FAILED = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[\w+\] serf: EventMemberFailed: (\S+)")

    def log_events(self, path):
        events = []
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    for rx, kind in ((self.LOG_SUSPECT, "suspect"), (self.LOG_FAILED, "dead")):
                        m = rx.search(line)
                        if m:
                            ts = time.mktime(time.strptime(m.group(1), "%Y/%m/%d %H:%M:%S"))
                            events.append((ts, kind, m.group(2)))
        except OSError:
            pass
        return events


class SerfCLI:
    def __init__(self, binary, api):
        self.cmd = [binary, "members", "-rpc-addr=%s:%d" % (HOST, api), "-format=json"]

    def members(self):
        out = subprocess.run(self.cmd, capture_output=True, timeout=5)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.decode(errors="replace").strip())
        return {m["name"]: m["status"] for m in json.loads(out.stdout)["members"]}

    def close(self):
        pass


# --------------------------------------------------------------------------- one trial

class Trial:
    def __init__(self, system, n, poll_interval, log):
        self.system, self.n, self.interval, self.log = system, n, poll_interval, log
        self.names = ["n%d" % i for i in range(n)]
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.inflight = [False] * n
        self.retired = [False] * n
        self.converged_at = [None] * n
        self.dead_at = [None] * n
        self.first_dead_at = None
        self.left_at = [None] * n
        self.victim = self.leaver = None
        self.t_kill = self.t_leave = None
        self.false_positives = {}   # (observer, subject, status) -> first time
        self.suspect_sightings = {}
        self.poll_count = 0
        self.poll_errors = 0
        self.poll_latencies = []
        self.missing_timeline = [[] for _ in range(n)]  # (t, names not listed alive) while not converged
        self.last_view = [None] * n

    # ---- poller
    def poller(self, i, api):
        client = None
        while not self.stop.is_set():
            if self.paused.is_set() or self.retired[i]:
                time.sleep(0.02)
                continue
            self.inflight[i] = True
            t0 = time.monotonic()
            view = None
            try:
                if client is None:
                    client = self.system.client(api)
                view = client.members()
            except Exception:
                if client is not None:
                    client.close()
                client = None
            t1 = time.monotonic()
            self.inflight[i] = False
            self.record(i, t0, t1, view)
            time.sleep(max(0.0, self.interval - (t1 - t0)))
        if client is not None:
            client.close()

    def record(self, i, t0, t1, view):
        with self.lock:
            if view is None:
                self.poll_errors += 1
                return
            self.poll_count += 1
            self.poll_latencies.append(t1 - t0)
            self.last_view[i] = view
            me = self.names[i]
            if self.converged_at[i] is None:
                missing = [nm for nm in self.names if view.get(nm) != "alive"]
                if not missing:
                    self.converged_at[i] = t1
                tl = self.missing_timeline[i]
                if not tl or tl[-1][1] != missing:
                    tl.append((t1, missing))
            if self.victim is not None and self.t_kill is not None and i != self.victim:
                if self.dead_at[i] is None and view.get(self.names[self.victim]) == self.system.dead:
                    self.dead_at[i] = t1
                    if self.first_dead_at is None:
                        self.first_dead_at = t1
            if self.leaver is not None and self.t_leave is not None and i not in (self.victim, self.leaver):
                if self.left_at[i] is None and view.get(self.names[self.leaver]) == self.system.left:
                    self.left_at[i] = t1
            for subject, status in view.items():
                if subject == me or status == "alive" or subject not in self.names:
                    continue
                s = self.names.index(subject)
                if s == self.victim and self.t_kill is not None and t1 >= self.t_kill:
                    continue
                if s == self.leaver and self.t_leave is not None and t1 >= self.t_leave:
                    continue
                book = self.suspect_sightings if status == "suspect" else self.false_positives
                book.setdefault((me, subject, status), round(t1, 3))

    def check_exits(self, procs, tmp, expected=()):
        """Agents that exited on their own (not killed, not left), with their log's tail."""
        out = []
        for i, p in enumerate(procs):
            if i in expected or p.poll() is None:
                continue
            try:
                with open(os.path.join(tmp, "n%d.log" % i), errors="replace") as f:
                    tail = f.read()[-400:]
            except OSError:
                tail = ""
            out.append({"agent": "n%d" % i, "exit": p.returncode, "log_tail": tail})
        return out

    def wait_all(self, times_of, indices, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(times_of[i] is not None for i in indices):
                    return True
            time.sleep(0.02)
        return False

    def pause_polls(self):
        self.paused.set()
        deadline = time.monotonic() + 10
        while any(self.inflight) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)

    # ---- the run
    def run(self, tmp, idle_wait, idle_window):
        sysm, n = self.system, self.n
        ports = free_ports(_next_port_base[0] + 2 * n)[_next_port_base[0]:]
        _next_port_base[0] = (_next_port_base[0] + 2 * n) % 400  # do not reuse the last trial's ports at once
        gossip, api = ports[:n], ports[n:]
        procs, logs, threads = [], [], []
        result = {"system": sysm.name, "agents": n, "load_start": loadavg()}
        poll_cpu = [0.0, 0.0]  # seconds of this process (+ children) while polling, wall seconds polling

        def cpu_now():
            t = os.times()
            return t.user + t.system + t.children_user + t.children_system

        def spawn(i):
            lf = open(os.path.join(tmp, "n%d.log" % i), "wb")
            logs.append(lf)
            os.makedirs(os.path.join(tmp, "n%d" % i), exist_ok=True)
            p = subprocess.Popen(sysm.command(i, gossip[i], api[i], None if i == 0 else gossip[0], tmp),
                                 stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp,
                                 preexec_fn=_die_with_parent)
            procs.append(p)
            return p

        try:
            spawn(0)
            deadline = time.monotonic() + 30
            while True:
                try:
                    if sysm.ready(api[0]):
                        break
                except Exception:
                    pass
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise RuntimeError("%s seed did not start (see %s)" % (sysm.name, tmp))
                time.sleep(0.02)
            for i in range(1, n):
                spawn(i)
            t_last = time.monotonic()
            c0, w0 = cpu_now(), time.monotonic()
            for i in range(n):
                t = threading.Thread(target=self.poller, args=(i, api[i]), daemon=True)
                t.start()
                threads.append(t)

            # 1. convergence
            ok = self.wait_all(self.converged_at, range(n), 60)
            result["converge_s"] = max(self.converged_at) - t_last if ok else None
            result["converge_per_agent_s"] = [round(t - t_last, 3) if t else None for t in self.converged_at]
            # for agents later than 1 s: when which members were missing from their view
            result["slow_convergence"] = {
                self.names[i]: [[round(t - t_last, 3), m] for t, m in self.missing_timeline[i]]
                for i in range(n) if self.converged_at[i] is None or self.converged_at[i] - t_last > 1.0}
            exited = self.check_exits(procs, tmp)
            if exited:
                result["exited_early"] = exited
                raise RuntimeError("agents exited on their own: %s" % exited)
            self.log("  %s N=%d converged: %s" % (sysm.name, n, _fmt(result["converge_s"])))

            # 2. idle
            time.sleep(idle_wait)
            poll_cpu[0] += cpu_now() - c0
            poll_cpu[1] += time.monotonic() - w0
            self.pause_polls()
            m_before = self.chorus_metrics(api) if sysm.name == "chorus" else None
            tm0 = time.monotonic()
            ticks0 = [proc_ticks(p.pid) for p in procs]
            lo0, (tot0, idle0) = lo_tx_bytes(), cpu_busy_sample()
            t0 = time.monotonic()
            time.sleep(idle_window)
            ticks1 = [proc_ticks(p.pid) for p in procs]
            lo1, (tot1, idle1) = lo_tx_bytes(), cpu_busy_sample()
            t1 = time.monotonic()
            mem = [m for m in (proc_memory_kib(p.pid) for p in procs) if m is not None]
            m_after = self.chorus_metrics(api) if sysm.name == "chorus" else None
            tm1 = time.monotonic()
            wall = t1 - t0
            cpu = [100.0 * (b - a) / CLK_TCK / wall for a, b in zip(ticks0, ticks1) if a is not None and b is not None]
            result["idle_cpu_pct_mean"] = statistics.mean(cpu)
            result["idle_cpu_pct_max"] = max(cpu)
            result["idle_cpu_pct_per_agent"] = [round(c, 3) for c in cpu]
            result["rss_mib_mean"] = statistics.mean(m["VmRSS"] for m in mem) / 1024
            result["rss_mib_max"] = max(m["VmRSS"] for m in mem) / 1024
            for key, name in (("RssAnon", "rss_anon_mib_mean"), ("RssFile", "rss_file_mib_mean"), ("Pss", "pss_mib_mean")):
                if all(key in m for m in mem):
                    result[name] = statistics.mean(m[key] for m in mem) / 1024
            result["lo_bytes_per_s_per_agent"] = (lo1 - lo0) / n / wall
            result["machine_busy_pct_idle_window"] = 100.0 * (1 - (idle1 - idle0) / max(1, tot1 - tot0))
            result["load_idle_window"] = loadavg()
            if m_before and m_after:
                sent = lambda m: sum(v for k, v in m.items() if k.startswith("chorus_message_bytes_total{") and 'direction="sent"' in k)
                result["chorus_payload_bytes_per_s_per_agent"] = (sent(m_after) - sent(m_before)) / n / (tm1 - tm0)
            self.log("  %s N=%d idle: cpu %.2f%%/agent, rss %.1f MiB, lo %.0f B/s/agent, machine busy %.0f%%, load %s" % (
                sysm.name, n, result["idle_cpu_pct_mean"], result["rss_mib_mean"], result["lo_bytes_per_s_per_agent"],
                result["machine_busy_pct_idle_window"], result["load_idle_window"]))
            c0, w0 = cpu_now(), time.monotonic()
            self.paused.clear()
            time.sleep(1.0)

            # 3. kill -9
            victim, leaver = n // 2, n - 1
            remaining = [i for i in range(n) if i not in (victim, leaver)]
            if sysm.name == "chorus":
                result["chorus_metrics_before_kill"] = self.chorus_counters(self.chorus_metrics(api))
                m_kill = self.chorus_metrics([api[i] for i in remaining])
            with self.lock:
                self.victim = victim
                self.t_kill = time.monotonic()
            wall_kill = time.time()
            os.kill(procs[victim].pid, signal.SIGKILL)
            self.retired[victim] = True
            survivors = [i for i in range(n) if i != victim]
            ok = self.wait_all(self.dead_at, survivors, 60)
            result["dead_all_s"] = max(self.dead_at[i] for i in survivors) - self.t_kill if ok else None
            result["dead_first_s"] = self.first_dead_at - self.t_kill if self.first_dead_at else None
            result["dead_per_agent_s"] = [round(t - self.t_kill, 3) if t else None for t in self.dead_at]
            if not ok:  # what the laggards still say about the victim
                result["dead_timeout_views"] = {self.names[i]: (self.last_view[i] or {}).get(self.names[victim], "absent")
                                                for i in survivors if self.dead_at[i] is None}
            self.log("  %s N=%d kill -9: first %s, all %s" % (sysm.name, n, _fmt(result["dead_first_s"]), _fmt(result["dead_all_s"])))
            time.sleep(1.0)

            # 4. graceful leave
            with self.lock:
                self.leaver = leaver
                self.t_leave = time.monotonic()
            wall_leave = time.time()
            leave_proc = subprocess.Popen(sysm.leave_command(api[leaver]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ok = self.wait_all(self.left_at, remaining, 30)
            result["left_all_s"] = max(self.left_at[i] for i in remaining) - self.t_leave if ok else None
            result["left_per_agent_s"] = [round(t - self.t_leave, 3) if t else None for t in self.left_at]
            if not ok:  # what the laggards still say about the leaver
                result["left_timeout_views"] = {self.names[i]: (self.last_view[i] or {}).get(self.names[leaver], "absent")
                                                for i in remaining if self.left_at[i] is None}
            self.log("  %s N=%d leave: all %s" % (sysm.name, n, _fmt(result["left_all_s"])))
            try:
                leave_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                leave_proc.kill()
            self.retired[leaver] = True
            time.sleep(2.0)  # keep watching for false positives
            poll_cpu[0] += cpu_now() - c0
            poll_cpu[1] += time.monotonic() - w0
            self.stop.set()
            exited = self.check_exits(procs, tmp, expected=(victim, leaver))
            if exited:
                result["exited_early"] = exited
            if sysm.name == "chorus":
                m_end = self.chorus_metrics([api[i] for i in remaining])
                # counters summed over the remaining agents, change from just before the kill to the end
                result["chorus_metric_deltas_after_kill"] = {
                    k: v - m_kill.get(k, 0.0) for k, v in sorted(m_end.items())
                    if k.startswith(("chorus_probes", "chorus_ping_reqs", "chorus_suspicions", "chorus_deaths",
                                     "chorus_nacks", "chorus_member_events", "chorus_refutations",
                                     'chorus_messages_total{direction="sent"'))
                    and abs(v - m_kill.get(k, 0.0)) > 0}
        finally:
            self.stop.set()
            for p in procs:
                if p.poll() is None:
                    p.kill()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            for lf in logs:
                lf.close()
            for t in threads:
                t.join(timeout=5)

        # logs: suspicions and deaths of members that were alive at the time
        fs, fd = [], []
        for i in range(n):
            for ts, kind, subject in sysm.log_events(os.path.join(tmp, "n%d.log" % i)):
                if subject == self.names[victim] and ts >= wall_kill - (1.0 if sysm.name == "serf" else 0.0):
                    continue
                if subject == self.names[leaver] and ts >= wall_leave - (1.0 if sysm.name == "serf" else 0.0):
                    continue
                (fs if kind == "suspect" else fd).append(("n%d" % i, subject, round(ts, 3)))
        # the kill as the agents' logs tell it: when each suspected / declared the victim dead
        kill_tl = {"suspect": [], "dead": []}
        for i in range(n):
            if i == victim:
                continue
            seen = set()
            for ts, kind, subject in sysm.log_events(os.path.join(tmp, "n%d.log" % i)):
                if subject == self.names[victim] and ts >= wall_kill - 1.0 and kind not in seen:
                    seen.add(kind)
                    kill_tl[kind].append(round(ts - wall_kill, 3))
        result["kill_log_timeline"] = {k: sorted(v) for k, v in kill_tl.items()}
        result["log_false_suspicions"] = len(fs)
        result["log_false_deaths"] = len(fd)
        result["log_false_events"] = (fs + fd)[:20]
        result["false_positives"] = len(self.false_positives)
        result["false_positive_examples"] = [list(k) + [v] for k, v in list(self.false_positives.items())[:20]]
        result["suspect_sightings"] = len(self.suspect_sightings)
        result["polls"] = self.poll_count
        result["poll_errors"] = self.poll_errors
        result["poll_latency_ms_median"] = 1000 * statistics.median(self.poll_latencies) if self.poll_latencies else None
        result["poll_latency_ms_p99"] = 1000 * sorted(self.poll_latencies)[int(0.99 * (len(self.poll_latencies) - 1))] if self.poll_latencies else None
        result["polls_per_s"] = self.poll_count / poll_cpu[1] if poll_cpu[1] else None
        result["poller_cpu_pct"] = 100.0 * poll_cpu[0] / poll_cpu[1] if poll_cpu[1] else None
        result["load_end"] = loadavg()
        return result

    def chorus_metrics(self, apis):
        out = {}
        for a in apis:
            try:
                for k, v in self.system.metrics(a).items():
                    out[k] = out.get(k, 0.0) + v
            except Exception:
                pass
        return out

    @staticmethod
    def chorus_counters(m):
        keys = ["chorus_probes_total", "chorus_probes_failed_total", "chorus_ping_reqs_sent_total",
                "chorus_suspicions_raised_total", "chorus_suspicions_refuted_total", "chorus_refutations_total",
                "chorus_deaths_declared_total", 'chorus_nacks_total{direction="received"}',
                'chorus_member_events_total{kind="suspect"}', 'chorus_member_events_total{kind="dead"}',
                "chorus_local_health_score", "chorus_local_health_multiplier"]
        return {k: m.get(k) for k in keys}


def _fmt(x):
    return "timeout" if x is None else "%.2f s" % x


# --------------------------------------------------------------------------- report

ROWS = [
    ("converge_s", "all list all alive, s after last start", "%.2f"),
    ("dead_first_s", "kill -9: first survivor marks it dead, s", "%.2f"),
    ("dead_all_s", "kill -9: every survivor marks it dead, s", "%.2f"),
    ("left_all_s", "leave: every remaining agent shows `left`, s", "%.2f"),
    ("false_positives", "false positives seen by polls (live member not alive)", "%d"),
    ("log_false_deaths", "false deaths in agents' logs", "%d"),
    ("log_false_suspicions", "false suspicions in agents' logs", "%d"),
    ("suspect_sightings", "`suspect` sightings of live members (chorus only)", "%d"),
    ("idle_cpu_pct_mean", "idle CPU per agent, % of one core (mean over agents)", "%.2f"),
    ("rss_mib_mean", "RSS per agent, MiB (mean over agents)", "%.1f"),
    ("rss_anon_mib_mean", "… of which anonymous (heap, stacks), MiB", "%.1f"),
    ("rss_file_mib_mean", "… of which file-backed (binary, shared libraries), MiB", "%.1f"),
    ("pss_mib_mean", "PSS per agent (shared pages split among sharers), MiB", "%.1f"),
    ("lo_bytes_per_s_per_agent", "loopback bytes/s per agent (lo tx_bytes / N / s)", "%.0f"),
    ("chorus_payload_bytes_per_s_per_agent", "membership payload bytes/s sent per agent, no IP/UDP/TCP headers (chorus metrics)", "%.0f"),
    ("poll_latency_ms_median", "poll latency, ms (median)", "%.1f"),
    ("polls_per_s", "polls/s, all agents", "%.0f"),
    ("poller_cpu_pct", "poller CPU, % of one core", "%.0f"),
    ("machine_busy_pct_idle_window", "whole machine busy during idle window, % of 2 cores", "%.0f"),
]
SUMMED = {"false_positives", "log_false_deaths", "log_false_suspicions", "suspect_sightings"}


def summarize(values, fmt, summed):
    vals = [v for v in values if v is not None]
    missing = len(values) - len(vals)
    if not values:
        return "—"
    if summed:
        return (fmt % sum(vals)) + (" (%d trials)" % len(values))
    if not vals:
        return "timeout"
    med = statistics.median(vals)
    s = fmt % med
    if len(vals) > 1:
        s += " (%s–%s)" % (fmt % min(vals), fmt % max(vals))
    if missing:
        s += ", %d timeout" % missing
    return s


def render(data):
    runs = data["runs"]
    sizes = sorted({r["agents"] for r in runs})
    systems = [s for s in ("chorus", "serf") if any(r["system"] == s for r in runs)]
    lines = ["| metric | agents | " + " | ".join(systems) + " |", "|---|---:|" + "---:|" * len(systems)]
    for key, label, fmt in ROWS:
        for n in sizes:
            cells = []
            for s in systems:
                vals = [r.get(key) for r in runs if r["system"] == s and r["agents"] == n]
                if all(v is None for v in vals) and key.startswith("chorus_") and s != "chorus":
                    cells.append("—")
                elif key == "suspect_sightings" and s == "serf":
                    cells.append("n/a")
                else:
                    cells.append(summarize(vals, fmt, key in SUMMED))
            lines.append("| %s | %d | %s |" % (label, n, " | ".join(cells)))
    table = "\n".join(lines)
    head = [
        "Command: `%s`" % data["command"],
        "",
        "Started %s; %s; serf %s; poll interval %.0f ms; serf polled via %s; network namespace: %s." % (
            data["started"], data["machine"], data["serf_version"], 1000 * data["poll_interval"],
            data["serf_poll"], data["netns"]),
        "Load average (1/5/15 min) at start: %s; at end: %s." % (data["load_start"], data.get("load_end", "?")),
        "Cells: median over trials (min–max); counts are summed over trials.",
        "",
    ]
    per = ["", "Per trial (s; idle CPU %/agent; RSS MiB; lo B/s/agent; machine busy % in the idle window; load at the start):", "",
           "| system | agents | trial | converge | first dead | all dead | all left | CPU % | RSS | B/s | busy % | load |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    f = lambda v, fmt: "timeout" if v is None else fmt % v
    for r in sorted(runs, key=lambda r: (r["agents"], r["system"], r.get("trial", 0))):
        if "error" in r:
            per.append("| %s | %d | %d | error: %s |||||||||" % (r["system"], r["agents"], r["trial"], r["error"]))
            continue
        per.append("| %s | %d | %d | %s | %s | %s | %s | %.2f | %.1f | %.0f | %.0f | %s |" % (
            r["system"], r["agents"], r["trial"], f(r.get("converge_s"), "%.2f"), f(r.get("dead_first_s"), "%.2f"),
            f(r.get("dead_all_s"), "%.2f"), f(r.get("left_all_s"), "%.2f"), r["idle_cpu_pct_mean"], r["rss_mib_mean"],
            r["lo_bytes_per_s_per_agent"], r["machine_busy_pct_idle_window"], r["load_start"]))
    return "\n".join(head) + "\n" + table + "\n" + "\n".join(per) + "\n"


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", default="10,30")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--chorus", default=".build-bench/release/chorus")
    ap.add_argument("--serf", default=shutil.which("serf") or "serf")
    ap.add_argument("--out", default="membership-vs-serf.md")
    ap.add_argument("--systems", default="chorus,serf")
    ap.add_argument("--poll-interval", type=float, default=0.05)
    ap.add_argument("--serf-poll", choices=["rpc", "cli"], default="rpc")
    ap.add_argument("--idle-wait", type=float, default=10.0)
    ap.add_argument("--idle-window", type=float, default=20.0)
    ap.add_argument("--no-netns", action="store_true")
    ap.add_argument("--keep-logs", action="store_true", help="keep every trial's agent logs (printed directory)")
    ap.add_argument("--chorus-log-level", default="warn", help="for diagnosis runs only (default warn)")
    ap.add_argument("--chorus-config", default=None, help="a chorus --config FILE, for tuning experiments only")
    ap.add_argument("--in-netns", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--report", default=None, help="re-render the Markdown of a results JSON file and exit")
    args = ap.parse_args()

    if args.report:
        with open(args.report) as f:
            print(render(json.load(f)), end="")
        return 0

    if not args.no_netns and args.in_netns is None and os.geteuid() == 0 and shutil.which("ip"):
        ns = "chorusbench%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
            argv = [os.path.abspath(a) if a in (args.chorus, args.serf) else a for a in sys.argv[1:]]
            return subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__)] + argv +
                                  ["--in-netns", ns]).returncode
        finally:
            subprocess.run(["ip", "netns", "del", ns])

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    sizes = [int(x) for x in args.agents.split(",")]
    systems = []
    for s in args.systems.split(","):
        systems.append(Chorus(os.path.abspath(args.chorus), args.chorus_log_level,
                                    os.path.abspath(args.chorus_config) if args.chorus_config else None) if s == "chorus" else Serf(os.path.abspath(args.serf), args.serf_poll))
    serf_version = subprocess.run([args.serf, "version"], capture_output=True, text=True).stdout.split("\n")[0] \
        if any(s.name == "serf" for s in systems) else "-"
    cmdline = " ".join(["python3", "bench/membership-vs-serf.py"] + [a for a in sys.argv[1:] if a != "--in-netns" and a != args.in_netns])
    data = {"command": cmdline, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": "%d cores, %s" % (os.cpu_count(), os.uname().release), "serf_version": serf_version,
            "poll_interval": args.poll_interval, "serf_poll": args.serf_poll,
            "netns": args.in_netns or "none (host loopback)", "load_start": loadavg(), "runs": [],
            "byte_method": "delta of /sys/class/net/lo/statistics/tx_bytes over the idle window (polling paused) / N / s"}
    log("load %s" % data["load_start"])
    for n in sizes:
        for trial in range(args.trials):
            order = systems if trial % 2 == 0 else list(reversed(systems))
            for sysm in order:
                tmp = tempfile.mkdtemp(prefix="bench-%s-%d-" % (sysm.name, n))
                log("trial %d, %s, %d agents (load %s)" % (trial + 1, sysm.name, n, loadavg()))
                try:
                    r = Trial(sysm, n, args.poll_interval, log).run(tmp, args.idle_wait, args.idle_window)
                    r["trial"] = trial + 1
                    data["runs"].append(r)
                    if args.keep_logs or any(r.get(k) is None for k in ("converge_s", "dead_all_s", "left_all_s")):
                        log("  logs kept in %s" % tmp)
                        r["logs"] = tmp
                    else:
                        shutil.rmtree(tmp, ignore_errors=True)
                except Exception as e:  # keep the other trials; the logs stay in tmp
                    log("  FAILED: %r (logs in %s)" % (e, tmp))
                    data["runs"].append({"system": sysm.name, "agents": n, "trial": trial + 1, "error": repr(e)})
                with open(args.out + ".json", "w") as f:
                    json.dump(data, f, indent=1)
    data["load_end"] = loadavg()
    with open(args.out + ".json", "w") as f:
        json.dump(data, f, indent=1)
    report = render(data)
    with open(args.out, "w") as f:
        f.write(report)
    print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
