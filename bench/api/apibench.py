#!/usr/bin/env python3
"""laoyou bench/api: the HTTP API and the WebSocket event stream under load,
with calls in progress.

One laoyou on 127.0.0.1 (its own temp dir, database and ports) with a site
of one hotline into queue q1 (more queues, QUEUES, stay empty) and AGENTS
agents, none of them ready.  CALLS callers from one sipp (an
IP-authenticated trunk) wait in q1 hearing music for the whole run.  Then:

  idle      CALLS calls in line, no API load: laoyou's CPU baseline.
  health    wrk on GET /health (no auth, no store): the HTTP ceiling.
  queues    wrk on GET /api/v1/queues with a bearer token (read scope):
            the queue-stats endpoint (token look-up, today's KPIs per queue).
  put-0     EVENTS agent state changes (PUT /api/v1/agents/{id}/state,
            not-ready with reason bench-<seq>) at EVENT_RATE/s, nobody
            listening: the request's own cost.
  fanout    WS_CLIENTS WebSocket clients on /api/v1/events (wsfan.py):
            first IDLE_SECS connected and idle, then the same PUTs:
            delivery latency from the moment the PUT was sent to the
            moment the matching agent.state message reached each client's
            socket (kernel receive stamp), and missing deliveries.
  reference the same clients and PUTs against wsref.py, a minimal fan-out
            server: what this machine allows (WS_REF=1).
  history   GET /api/v1/queues one request at a time once agent_log holds
            HISTORY_ROWS rows, with GET /health timed meanwhile: how long
            the KPI queries hold laoyou's one event loop.

Per phase: laoyou's CPU (utime+stime from /proc/PID/stat) and peak RSS
(VmRSS, sampled 4×/s), the load generator's CPU and the rest of the
machine.  /health must still count CALLS active calls after every phase.
Loopback only, bounded; every process started leads its own process group
and is ended by that id.  Stdlib only.  Started by bench/api/run; `--help`
lists the knobs.
"""

import argparse
import json
import os
import random
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from benchlib import Procs, Abort, free_port as _free, log, percentile, pid_ticks, udp_bound  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HZ = os.sysconf("SC_CLK_TCK")
HOTLINE = "7000"
TRUNK_USER, TRUNK_EXT = "citizens", "8000"
KNOBS = ("LAOYOU", "CALLS", "QUEUES", "AGENTS", "WRK_SECS", "WRK_THREADS", "WRK_CONNS",
         "CONNECT_PACE_US", "WS_CLIENTS", "WS_REF", "EVENTS", "EVENT_RATE",
         "GRACE_SECS", "IDLE_SECS", "HISTORY_ROWS", "HISTORY_REQS", "NICE", "RT",
         "LAOYOU_NODELAY", "LOG_LEVEL", "RTP_PORTS", "OUT")


# ---------------------------------------------------------------- processes


PROCS = Procs()


# --------------------------------------------------------------------- /proc


def pid_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def machine_busy_ticks():
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(v[:8]) - v[3] - v[4]


def listen_overflows():
    """The kernel's count of connections dropped because a listening
    socket's accept queue was full (machine-wide)."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for names, vals in zip(lines, lines[1:]):
        if names.startswith("TcpExt:") and vals.startswith("TcpExt:"):
            d = dict(zip(names.split()[1:], vals.split()[1:]))
            if "ListenOverflows" in d:
                return int(d["ListenOverflows"])
    return None


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def self_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Meter:
    """laoyou's CPU and RSS, the generators' CPU and the machine's over a
    phase.  A thread samples RSS 4×/s for the peak."""

    def __init__(self, ly_pid, sipp_pid):
        self.ly, self.sipp = ly_pid, sipp_pid
        self.peak = 0
        self.lock = threading.Lock()
        self.quit = threading.Event()
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while not self.quit.wait(0.25):
            r = pid_rss_kib(self.ly)
            if r:
                with self.lock:
                    self.peak = max(self.peak, r)

    def begin(self):
        with self.lock:
            self.peak = pid_rss_kib(self.ly) or 0
        return self._sample()

    def _sample(self):
        return {"t": time.monotonic(), "ly": pid_ticks(self.ly) or 0,
                "sipp": pid_ticks(self.sipp) or 0, "busy": machine_busy_ticks() or 0,
                "kids": children_cpu_s(), "self": self_cpu_s()}

    def end(self, b, extra_gen_s=0.0):
        """extra_gen_s: CPU of a generator not reaped by us (none now)."""
        e = self._sample()
        dt = e["t"] - b["t"]
        pct = lambda ticks: 100.0 * ticks / HZ / dt
        with self.lock:
            peak = self.peak
        ly = pct(e["ly"] - b["ly"])
        gen = 100.0 * (e["kids"] - b["kids"] + e["self"] - b["self"] + extra_gen_s) / dt
        sipp = pct(e["sipp"] - b["sipp"])
        busy = pct(e["busy"] - b["busy"])
        return {"secs": dt, "ly_cpu": ly, "gen_cpu": gen, "sipp_cpu": sipp,
                "other_cpu": max(0.0, busy - ly - gen - sipp), "busy": busy,
                "rss_kib": max(peak, pid_rss_kib(self.ly) or 0)}


# -------------------------------------------------------------------- ports


def pick_ports(n, span=8):
    """n base ports with base..base+span-1 free for UDP and TCP, above the
    kernel's ephemeral range when there is room (so no client socket is
    handed our port between the check and the bind)."""
    lo, hi = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    lo, hi = (hi + 1, 65500) if 65500 - (hi + 1) >= 2000 else (1024, lo - 1)
    got, taken = [], set()
    for _ in range(5000):
        if len(got) == n:
            return got
        b = random.randrange(lo + span, hi - span) & ~7
        block = set(range(b, b + span))
        if taken & block:
            continue
        if all(_free(p) for p in block):
            got.append(b)
            taken |= block
    raise Abort("could not find %d free port blocks on 127.0.0.1" % n)


def wait_until(pred, secs, proc=None, what=""):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise Abort("%s exited (status %s)" % (what, proc.returncode))
        if pred():
            return
        time.sleep(0.1)
    raise Abort("%s: not so after %.0f s" % (what, secs))


def fmt_ms(v):
    if v is None:
        return "—"
    if v >= 100:
        return "%.0f ms" % v
    if v >= 10:
        return "%.1f ms" % v
    return "%.2f ms" % v


# --------------------------------------------------------------------- HTTP

class Http:
    """One keep-alive HTTP/1.1 connection with raw sockets: the driver's
    own requests, timed exactly (one send per request, TCP_NODELAY)."""

    def __init__(self, port):
        self.port = port
        self.s = None

    def _connect(self):
        self.s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def request(self, method, path, headers=None, body=None):
        """(status, body, ns when sent, ns when the reply was complete)."""
        if self.s is None:
            self._connect()
        body = body or b""
        h = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        req = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %d\r\n\r\n"
               % (method, path, self.port, h, len(body))).encode() + body
        t_sent = time.time_ns()
        self.s.sendall(req)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                self.s = None
                raise Abort("laoyou closed the HTTP connection")
            self.buf += chunk
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        m = re.search(rb"(?im)^content-length:\s*([0-9]+)", head)
        n = int(m.group(1)) if m else 0
        while len(rest) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                self.s = None
                raise Abort("laoyou closed the HTTP connection mid-body")
            rest += chunk
        t_done = time.time_ns()
        self.buf = rest[n:]
        status = int(head.split(b" ", 2)[1])
        if re.search(rb"(?im)^connection:\s*close", head):
            self.s.close()
            self.s = None
        return status, rest[:n], t_sent, t_done

    def close(self):
        if self.s:
            self.s.close()
            self.s = None


# -------------------------------------------------------------------- bench

WRK_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text):
    r = {}
    m = re.search(r"Requests/sec:\s*([0-9.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s*%s%%\s+([0-9.]+)(us|ms|s|m)\b" % pct, text, re.M)
        r["p" + pct] = float(m.group(1)) * WRK_UNIT[m.group(2)] if m else None
    m = re.search(r"Latency\s+[0-9.]+\w+\s+[0-9.]+\w+\s+([0-9.]+)(us|ms|s|m)\b", text)
    r["max"] = float(m.group(1)) * WRK_UNIT[m.group(2)] if m else None
    m = re.search(r"([0-9]+) requests in ([0-9.]+)(\w+)", text)
    r["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s*([0-9]+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), "
                  r"timeout ([0-9]+)", text)
    r["sock_errors"] = sum(int(x) for x in m.groups()) if m else 0
    r["sock_errors_text"] = m.group(0) if m else ""
    return r


class Bench:
    def __init__(self, a, out):
        self.a = a
        self.out = out
        self.t0 = time.monotonic()
        self.ly_sip, self.ly_http, self.uac_port = pick_ports(3)
        self.base = "http://127.0.0.1:%d" % self.ly_http
        self.lydir = os.path.join(out, "laoyou")
        self.conf = os.path.join(self.lydir, "laoyou.conf")
        self.stderr = os.path.join(out, "laoyou.stderr")
        self.ly = self.sipp = None
        self.rows = []          # result rows: (phase, dict)
        self.notes = []

    # ---- setup

    def cli(self, *args):
        argv = [self.a.laoyou] + list(args) + ["-c", self.conf]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise Abort("`%s` failed (%d): %s" % (" ".join(argv), r.returncode,
                                                  r.stderr.decode(errors="replace")[:600]))
        return r.stdout.decode(errors="replace")

    def agents(self):
        return ["agent%02d" % i for i in range(1, self.a.agents + 1)]

    def site(self):
        a = self.a
        queues = ["q%d" % i for i in range(1, a.queues + 1)]
        return {
            "hotlines": [{"number": HOTLINE, "flow": "line", "language": "zh"}],
            # callers must stay in line the whole run: no max_wait cut
            "queues": {q: {"strategy": "longest-idle", "max_wait": 86400, "announce": 30}
                       for q in queues},
            "agents": {u: {"account": u, "queues": queues, "skills": {"lang:zh": 5}}
                       for u in self.agents()},
            "flows": {"line": {"start": "q", "nodes": {
                "q": {"type": "queue", "queue": queues[0], "prompt": "beep",
                      "fallback": "bye"},
                "bye": {"type": "hangup", "prompts": ["goodbye"]}}}},
        }

    def setup(self):
        a = self.a
        os.makedirs(self.lydir, exist_ok=True)
        prompts = os.path.join(os.path.dirname(os.path.abspath(a.laoyou)), "prompts")
        if not os.path.isdir(prompts):
            prompts = os.path.join(REPO, "build", "prompts")
        with open(self.conf, "w") as f:
            f.write("# written by bench/api\n"
                    "sip_udp = 127.0.0.1:%d\nsip_tcp = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\n"
                    "rtp_ip = 127.0.0.1\nrtp_ports = %s\ndb = %s\nprompts_dir = %s\n"
                    "log_level = %s\nmax_calls = 100000\n"
                    # sipp sends no RTP: the silent callers must not be
                    # ended by the no-media guard
                    "rtp_timeout = 3600\n"
                    % (self.ly_sip, self.ly_sip, self.ly_http, a.rtp_ports,
                       os.path.join(self.lydir, "laoyou.db"), prompts, a.log_level))
        self.cli("account", "add", TRUNK_USER, "--ext", TRUNK_EXT, "--kind", "trunk",
                 "--from-addr", "127.0.0.1:%d" % self.uac_port, "--max-calls", "100000")
        for i, u in enumerate(self.agents()):
            self.cli("account", "add", u, "--secret", "pw-%s" % u, "--ext", str(5001 + i),
                     "--kind", "agent")
        site = os.path.join(self.lydir, "site.json")
        with open(site, "w") as f:
            json.dump(self.site(), f, indent=1)
        out = self.cli("site", "import", site)
        if "imported" not in out:
            raise Abort("site import: %s" % out.strip()[:400])
        self.tok_read = self.cli("token", "add", "bench-read", "--scopes", "read").strip()
        self.tok_ctl = self.cli("token", "add", "bench-control", "--scopes",
                                "read,control").strip()
        if not re.fullmatch(r"[0-9a-f]{64}", self.tok_read or "") or \
                not re.fullmatch(r"[0-9a-f]{64}", self.tok_ctl or ""):
            raise Abort("laoyou token add printed no token: %r %r"
                        % (self.tok_read, self.tok_ctl))
        self.shim = None
        if a.connect_pace_us > 0 or a.laoyou_nodelay:
            so = os.path.join(self.out, "netshim.so")
            try:
                r = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so,
                                    os.path.join(HERE, "netshim.c"), "-ldl"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                why = r.stdout.decode(errors="replace")[:200].strip()
                ok = r.returncode == 0
            except OSError as e:
                why, ok = str(e), False
            if ok:
                self.shim = so
            elif a.laoyou_nodelay:
                raise Abort("LAOYOU_NODELAY=1 needs netshim.c built: %s" % why)
            else:
                self.notes.append("netshim.c did not build (%s): wrk ran with its connects "
                                  "at once only" % why)
        argv = [a.laoyou, "run", "-c", self.conf]
        if a.rt:
            argv = ["chrt", "-f", str(a.rt)] + argv
        env = None
        if a.laoyou_nodelay:
            env = dict(os.environ, LD_PRELOAD=self.shim, SHIM_NODELAY="1")
            self.notes.append("diagnosis run: laoyou's accepted sockets had TCP_NODELAY set "
                              "by netshim.so (LAOYOU_NODELAY=1)")
        self.ly = PROCS.start("laoyou", argv, None, self.stderr, env=env)
        wait_until(lambda: self.health() is not None, 15, self.ly, "laoyou (GET /health)")
        log("   laoyou pid %d: SIP 127.0.0.1:%d, HTTP %s, RTP %s"
            % (self.ly.pid, self.ly_sip, self.base, a.rtp_ports))

    def health(self):
        try:
            with urllib.request.urlopen(self.base + "/health", timeout=1) as r:
                return json.loads(r.read().decode())
        except Exception:
            return None

    def get_json(self, path, token):
        req = urllib.request.Request(self.base + path,
                                     headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read().decode())

    def metrics(self):
        try:
            with urllib.request.urlopen(self.base + "/metrics", timeout=2) as r:
                text = r.read().decode()
        except Exception:
            return {}
        return {m.group(1): float(m.group(2))
                for m in re.finditer(r"^(laoyou_[a-z_]+) ([0-9.eE+-]+)$", text, re.M)}

    def start_calls(self):
        a = self.a
        with open(os.path.join(HERE, "caller.xml")) as f:
            scen = f.read().replace("@HOLD_MS@", str(int(a.hold_secs * 1000)))
        path = os.path.join(self.out, "caller.xml")
        with open(path, "w") as f:
            f.write(scen)
        argv = ["sipp", "-sf", path, "-i", "127.0.0.1", "-p", str(self.uac_port),
                "-mp", str(self.uac_port + 2), "-cp", str(self.uac_port + 1), "-nostdin",
                "-s", HOTLINE, "-r", "25", "-m", str(a.calls), "-l", str(a.calls),
                "-timeout", str(int(a.hold_secs + 60)), "-timeout_error",
                "-default_behaviors", "all,-abortunexp",
                "-trace_err", "-error_file", os.path.join(self.out, "callers.errors.log"),
                "-trace_stat", "-stf", os.path.join(self.out, "callers.stat.csv"), "-fd", "1",
                "127.0.0.1:%d" % self.ly_sip]
        self.sipp = PROCS.start("callers", argv, os.path.join(self.out, "callers.out"),
                                os.path.join(self.out, "callers.stderr"))
        t0 = time.monotonic()
        wait_until(lambda: (self.health() or {}).get("active_calls", 0) >= a.calls,
                   30, self.sipp, "%d active calls in /health" % a.calls)
        wait_until(lambda: self.waiting() >= a.calls, 15, self.sipp,
                   "%d callers waiting in q1" % a.calls)
        log("   %d calls in progress (all waiting in q1 with music) after %.1f s"
            % (a.calls, time.monotonic() - t0))

    def waiting(self):
        try:
            q = self.get_json("/api/v1/queues", self.tok_read)
            return sum(i.get("waiting", 0) for i in q.get("items", []))
        except Exception:
            return -1

    def check_calls(self, phase):
        h = self.health() or {}
        n = h.get("active_calls")
        if self.ly.poll() is not None:
            raise Abort("laoyou exited (status %s) during %s" % (self.ly.returncode, phase))
        if n != self.a.calls:
            self.notes.append("after %s: /health active_calls %s (want %d)"
                              % (phase, n, self.a.calls))
        return n

    # ---- phases

    def phase_idle(self):
        b = self.meter.begin()
        time.sleep(self.a.idle_secs)
        m = self.meter.end(b)
        self.rows.append(("idle (%d calls, no API load)" % self.a.calls, {"m": m}))
        self.idle_cpu = m["ly_cpu"]
        log("   idle: laoyou %.1f %% CPU, RSS %.1f MiB" % (m["ly_cpu"], m["rss_kib"] / 1024))

    def phase_wrk(self, label, path, token, paced):
        a = self.a
        argv = ["wrk", "-t", str(a.wrk_threads), "-c", str(a.wrk_conns),
                "-d", "%ds" % a.wrk_secs, "--latency", "--timeout", "5s"]
        if token:
            argv += ["-H", "Authorization: Bearer " + token]
        argv.append(self.base + path)
        tag = "paced" if paced else "burst"
        outp = os.path.join(self.out, "wrk-%s-%s.txt" % (label, tag))
        shown = " ".join(shlex.quote(x) for x in argv).replace(token or "\0", "$TOKEN")
        env = None
        if paced:
            shown = "LD_PRELOAD=netshim.so CONNECT_PACE_US=%d %s" % (a.connect_pace_us, shown)
            env = dict(os.environ, LD_PRELOAD=self.shim, CONNECT_PACE_US=str(a.connect_pace_us))
        with open(outp, "w") as f:
            f.write("$ %s\n" % shown)
        req0 = self.metrics().get("laoyou_http_requests_total")
        ovf0 = listen_overflows()
        b = self.meter.begin()
        p = PROCS.start("wrk", argv, outp, outp, env=env)
        try:
            p.wait(a.wrk_secs + 30)
        except subprocess.TimeoutExpired:
            pass
        PROCS.stop(p)
        m = self.meter.end(b)
        ovf1 = listen_overflows()
        req1 = self.metrics().get("laoyou_http_requests_total")
        with open(outp) as f:
            text = f.read()
        r = parse_wrk(text)
        r["m"] = m
        r["cmd"] = shown
        r["paced"] = paced
        r["overflows"] = ovf1 - ovf0 if ovf0 is not None and ovf1 is not None else None
        r["served"] = int(req1 - req0) if req0 is not None and req1 is not None else None
        r["calls_after"] = self.check_calls(label)
        if r["rps"] is None:
            raise Abort("wrk on %s printed no result:\n%s" % (path, text[-1500:]))
        if r["non2xx"] or r["sock_errors"]:
            self.notes.append("wrk %s (%s): %d non-2xx responses; %s"
                              % (path, tag, r["non2xx"], r["sock_errors_text"]))
        name = "GET %s, %s" % (path, "connects spaced" if paced else "connects at once")
        self.rows.append((name, r))
        log("   wrk GET %s (%s): %.0f req/s, p50 %s, p99 %s, max %s; laoyou %.0f %% CPU, "
            "wrk %.0f %%, other %.0f %%; RSS %.1f MiB; listen overflows %s; non-2xx %d, %s"
            % (path, tag, r["rps"], fmt_ms(r["p50"]), fmt_ms(r["p99"]), fmt_ms(r["max"]),
               m["ly_cpu"], m["gen_cpu"], m["other_cpu"], m["rss_kib"] / 1024,
               r["overflows"], r["non2xx"], r["sock_errors_text"] or "no socket errors"))

    def put_events(self, first_seq, port=None):
        """EVENTS state changes at EVENT_RATE/s on one keep-alive
        connection; returns {seq: (t_sent_ns, t_done_ns)} and failures."""
        a = self.a
        http = Http(port or self.ly_http)
        hdrs = {"Authorization": "Bearer " + self.tok_ctl,
                "Content-Type": "application/json"}
        agents = self.agents()
        sent, bad = {}, []
        start = time.monotonic() + 0.2
        for k in range(a.events):
            seq = first_seq + k
            at = start + k / a.event_rate
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps({"state": "not-ready", "reason": "bench-%d" % seq}).encode()
            st, rb, t_s, t_d = http.request("PUT", "/api/v1/agents/%s/state"
                                            % agents[k % len(agents)], hdrs, body)
            sent[seq] = (t_s, t_d)
            if st != 200:
                bad.append((seq, st, rb[:200]))
        http.close()
        late = time.monotonic() - (start + (a.events - 1) / a.event_rate)
        return sent, bad, late

    def phase_put0(self):
        a = self.a
        b = self.meter.begin()
        sent, bad, late = self.put_events(0)
        m = self.meter.end(b)
        rtt = sorted((d - s) / 1e6 for s, d in sent.values())
        r = {"m": m, "rtt_p50": percentile(rtt, 50), "rtt_p99": percentile(rtt, 99),
             "rtt_max": rtt[-1] if rtt else None, "bad": len(bad)}
        if bad:
            self.notes.append("PUT without listeners: %d failed, first %r" % (len(bad), bad[0]))
        r["calls_after"] = self.check_calls("put-0")
        self.rows.append(("PUT state, 0 WS clients", r))
        log("   %d PUTs at %g/s, no listeners: round trip p50 %s, p99 %s, max %s; "
            "laoyou %.1f %% CPU" % (a.events, a.event_rate, fmt_ms(r["rtt_p50"]),
                                     fmt_ms(r["rtt_p99"]), fmt_ms(r["rtt_max"]), m["ly_cpu"]))

    def phase_fanout(self, ref=False):
        """WS_CLIENTS clients on laoyou's /api/v1/events, or (ref) on
        wsref.py, the reference server; then the PUTs."""
        a = self.a
        meter, port, rp = self.meter, self.ly_http, None
        if ref:
            rp = PROCS.start("wsref", [sys.executable, os.path.join(HERE, "wsref.py")],
                             subprocess.PIPE, os.path.join(self.out, "wsref.stderr"))
            line = rp.stdout.readline().decode(errors="replace").split()
            if len(line) != 2 or line[0] != "LISTENING":
                PROCS.stop(rp)
                raise Abort("wsref.py did not start: %r" % line)
            port = int(line[1])
            meter = Meter(rp.pid, self.sipp.pid)
        resfile = os.path.join(self.out, "ws-deliveries%s.txt" % ("-ref" if ref else ""))
        argv = [sys.executable, os.path.join(HERE, "wsfan.py"), "--port", str(port),
                "--token", self.tok_read, "--clients", str(a.ws_clients), "--out", resfile,
                "--max-secs", str(int(a.events / a.event_rate + a.grace_secs + 120))]
        b_conn = meter.begin()
        p = PROCS.start("wsfan", argv, subprocess.PIPE,
                        os.path.join(self.out, "wsfan%s.stderr" % ("-ref" if ref else "")),
                        stdin=subprocess.PIPE)
        line = p.stdout.readline().decode(errors="replace").strip()
        m_conn = meter.end(b_conn)
        if not line.startswith("READY"):
            PROCS.stop(p)
            raise Abort("WebSocket clients: %s" % (line or "wsfan.py printed nothing"))
        n_clients, connect_s = int(line.split()[1]), float(line.split()[2])
        time.sleep(1.0)
        if ref:
            log("   %d WebSocket clients connected to the reference server in %.2f s"
                % (n_clients, connect_s))
        else:
            ev_clients = self.metrics().get("laoyou_event_clients")
            log("   %d WebSocket clients connected in %.2f s (laoyou counts %s); "
                "RSS %.1f MiB" % (n_clients, connect_s, ev_clients,
                                  (pid_rss_kib(self.ly.pid) or 0) / 1024))
        if not ref and a.idle_secs > 0:
            b = meter.begin()
            w0 = pid_ticks(p.pid) or 0
            time.sleep(a.idle_secs)
            w1 = pid_ticks(p.pid) or 0
            m_idle = meter.end(b)
            # wsfan is still running: its CPU from /proc, not from getrusage
            m_idle["gen_cpu"] = 100.0 * (w1 - w0) / HZ / m_idle["secs"]
            m_idle["other_cpu"] = max(0.0, m_idle["busy"] - m_idle["ly_cpu"] -
                                      m_idle["gen_cpu"] - m_idle["sipp_cpu"])
            self.rows.append(("%d WS clients connected, no events" % n_clients,
                              {"m": m_idle, "calls_after": self.check_calls("ws-idle")}))
            log("   %d idle WebSocket clients: laoyou %.1f %% CPU (%.1f %% with none), "
                "RSS %.1f MiB" % (n_clients, m_idle["ly_cpu"], self.idle_cpu,
                                  m_idle["rss_kib"] / 1024))
        first = 200000 if ref else 100000
        b = meter.begin()
        sent, bad, late = self.put_events(first, port)
        time.sleep(a.grace_secs)
        p.stdin.close()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            pass
        rc = PROCS.stop(p)
        # wsfan is reaped now: its CPU is in RUSAGE_CHILDREN, so in gen_cpu
        m = meter.end(b)
        if ref:
            meter.quit.set()
            PROCS.stop(rp)
        lat, ulat, per_seq = [], [], {}
        by_pos = {"first": [], "last": []}          # in laoyou's fan-out order
        tenth = max(1, a.ws_clients // 10)
        seen = set()
        dup = 0
        summary = {}
        with open(resfile) as f:
            for ln in f:
                if ln.startswith("# "):
                    summary = json.loads(ln[2:])
                    continue
                ci, seq, kts, uts = (int(x) for x in ln.split())
                if seq not in sent:
                    continue
                if (ci, seq) in seen:
                    dup += 1
                    continue
                seen.add((ci, seq))
                t_s = sent[seq][0]
                lat.append((kts - t_s) / 1e6)
                if ci < tenth:
                    by_pos["first"].append(lat[-1])
                elif ci >= n_clients - tenth:
                    by_pos["last"].append(lat[-1])
                ulat.append((uts - t_s) / 1e6)
                lo, hi = per_seq.get(seq, (kts, kts))
                per_seq[seq] = (min(lo, kts), max(hi, kts))
        lat.sort()
        ulat.sort()
        spread = sorted((hi - lo) / 1e6 for lo, hi in per_seq.values())
        rtt = sorted((d - s) / 1e6 for s, d in sent.values())
        want = n_clients * len(sent)
        r = {"m": m, "m_conn": m_conn, "clients": n_clients, "connect_s": connect_s,
             "events": len(sent), "deliveries": len(seen), "missing": want - len(seen),
             "dup": dup, "bad": len(bad), "p50": percentile(lat, 50),
             "p99": percentile(lat, 99), "max": lat[-1] if lat else None,
             "up50": percentile(ulat, 50), "up99": percentile(ulat, 99),
             "umax": ulat[-1] if ulat else None,
             "spread50": percentile(spread, 50), "spread99": percentile(spread, 99),
             "rtt_p50": percentile(rtt, 50), "rtt_p99": percentile(rtt, 99),
             "rtt_max": rtt[-1] if rtt else None, "summary": summary, "wsfan_rc": rc,
             "sender_late_s": late, "tenth": tenth,
             "first_p50": percentile(sorted(by_pos["first"]), 50),
             "last_p50": percentile(sorted(by_pos["last"]), 50)}
        if bad:
            self.notes.append("PUT with listeners: %d failed, first %r" % (len(bad), bad[0]))
        if summary.get("closed"):
            self.notes.append("%d WebSocket clients were closed by laoyou during the run"
                              % summary["closed"])
        if summary.get("reads_without_kernel_stamp"):
            self.notes.append("%d WebSocket reads had no kernel stamp (user time used)"
                              % summary["reads_without_kernel_stamp"])
        r["calls_after"] = self.check_calls("fanout")
        r["ref"] = ref
        self.rows.append(("WS fan-out, %s, %d clients"
                          % ("reference server wsref.py" if ref else "laoyou", n_clients), r))
        log("   %s: %d events × %d clients: %d delivered, %d missing, %d duplicate; latency "
            "p50 %s, p99 %s, max %s (user-space p99 %s); spread first→last client p50 %s; "
            "PUT round trip p50 %s p99 %s; server %.1f %% CPU, wsfan+driver %.1f %%, "
            "RSS %.1f MiB" % ("reference" if ref else "laoyou", len(sent), n_clients,
                              len(seen), r["missing"], dup,
                              fmt_ms(r["p50"]), fmt_ms(r["p99"]), fmt_ms(r["max"]),
                              fmt_ms(r["up99"]), fmt_ms(r["spread50"]), fmt_ms(r["rtt_p50"]),
                              fmt_ms(r["rtt_p99"]), m["ly_cpu"], m["gen_cpu"],
                              m["rss_kib"] / 1024))
        log("   frames seen by the clients: %s" % json.dumps(summary.get("frames", {})))

    def phase_history(self):
        """GET /api/v1/queues once the agent state log holds HISTORY_ROWS
        rows (a contact centre's past days), seeded straight into the
        database (WAL: laoyou's next read sees them).  Sequential requests,
        each timed, while another thread times GET /health every 20 ms:
        how long laoyou's one event loop (SIP, RTP, API) is held."""
        a = self.a
        import sqlite3
        db = os.path.join(self.lydir, "laoyou.db")
        have = 0
        now = int(time.time() * 1000)
        states = ("reserved", "on-call", "wrap-up", "ready", "not-ready")
        for rows in a.history_rows:
            add = rows - have
            if add > 0:
                con = sqlite3.connect(db, timeout=10)
                span = 30 * 86400 * 1000
                con.executemany(
                    "INSERT INTO agent_log(ts_ms,agent,state,reason) VALUES(?,?,?,?)",
                    ((now - span + (have + i) * (span // rows), "past%03d" % ((have + i) % 200),
                      states[(have + i) % 5], "") for i in range(add)))
                con.commit()
                con.close()
                have = rows
            stop = threading.Event()
            hl = []

            def poll():
                h = Http(self.ly_http)
                while not stop.is_set():
                    try:
                        _, _, t_s, t_d = h.request("GET", "/health")
                        hl.append((t_d - t_s) / 1e6)
                    except (OSError, Abort):
                        h = Http(self.ly_http)
                    stop.wait(0.02)
                h.close()
            th = threading.Thread(target=poll, daemon=True)
            http = Http(self.ly_http)
            b = self.meter.begin()
            th.start()
            lat = []
            t_end = time.monotonic() + a.history_secs
            while len(lat) < a.history_reqs and time.monotonic() < t_end:
                st, body, t_s, t_d = http.request(
                    "GET", "/api/v1/queues", {"Authorization": "Bearer " + self.tok_read})
                if st != 200:
                    self.notes.append("history %d rows: GET /api/v1/queues %d" % (rows, st))
                lat.append((t_d - t_s) / 1e6)
            time.sleep(0.1)
            stop.set()
            th.join(5)
            http.close()
            m = self.meter.end(b)
            lat.sort()
            hl.sort()
            r = {"m": m, "rows": rows, "n": len(lat), "p50": percentile(lat, 50),
                 "max": lat[-1] if lat else None, "rps": 1000.0 * len(lat) / sum(lat) if lat else 0,
                 "health_max": hl[-1] if hl else None, "health_p50": percentile(hl, 50),
                 "calls_after": self.check_calls("history")}
            self.rows.append(("GET /api/v1/queues one at a time, agent_log %d rows" % rows, r))
            log("   agent_log %d rows: GET /api/v1/queues %s each (p50 of %d, max %s), "
                "%.1f req/s one at a time; meanwhile GET /health p50 %s, max %s; "
                "laoyou %.0f %% CPU" % (rows, fmt_ms(r["p50"]), len(lat), fmt_ms(r["max"]),
                                         r["rps"], fmt_ms(r["health_p50"]),
                                         fmt_ms(r["health_max"]), m["ly_cpu"]))
            if r["p50"] is not None and r["p50"] > 5000:
                self.notes.append("history: stopped after %d rows (%.1f s a request)"
                                  % (rows, r["p50"] / 1000))
                break

    # ---- the run

    def run(self):
        a = self.a
        log("== setup")
        self.setup()
        self.start_calls()
        self.meter = Meter(self.ly.pid, self.sipp.pid)
        q = self.get_json("/api/v1/queues", self.tok_read)
        body = json.dumps(q)
        log("   GET /api/v1/queues: %d queues, %d bytes; q1 waiting %s"
            % (len(q.get("items", [])), len(body) + 1,
               q["items"][0].get("waiting") if q.get("items") else "?"))
        log("== phases")
        self.phase_idle()
        for paced in ((True, False) if self.shim and a.connect_pace_us > 0 else (False,)):
            self.phase_wrk("health", "/health", None, paced)
            self.phase_wrk("queues", "/api/v1/queues", self.tok_read, paced)
        self.phase_put0()
        self.phase_fanout()
        if a.ws_ref:
            self.phase_fanout(ref=True)
        if a.history_rows:
            self.phase_history()
        self.meter.quit.set()
        st = PROCS.stop(self.ly, grace=15)
        if st != 0:
            self.notes.append("laoyou exited %s on SIGTERM (want 0)" % st)
        PROCS.stop(self.sipp, grace=5)

    def report(self, cmdline):
        a = self.a
        rows = dict(self.rows)
        log("")
        log("## bench/api results")
        log("")
        log("Command: `%s`" % cmdline)
        log("")
        log("laoyou %s; %d calls in progress (callers waiting in line with music) "
            "throughout; %d queues, %d agents; wrk -t%d -c%d -d%ds; the load generators run "
            "on the same %d cores as laoyou."
            % (a.laoyou, a.calls, a.queues, a.agents, a.wrk_threads, a.wrk_conns,
               a.wrk_secs, os.cpu_count() or 0))
        log("")
        log("| phase | requests/s | p50 | p99 | max | laoyou CPU | laoyou RSS "
            "| generator CPU | other CPU | calls after |")
        # (in the reference fan-out row, "laoyou" CPU and RSS are wsref.py's)
        log("|---|---|---|---|---|---|---|---|---|---|")
        for name, r in self.rows:
            m = r["m"]
            tail = "| %.0f %% | %.1f MiB | %s | %.0f %% | %s |" % (
                m["ly_cpu"], m["rss_kib"] / 1024,
                "—" if name.startswith("idle") else "%.0f %%" % m["gen_cpu"],
                m["other_cpu"], r.get("calls_after", a.calls))
            if "agent_log" in name:
                log("| %s | %.1f | %s | — | %s %s" % (name, r["rps"], fmt_ms(r["p50"]),
                                                     fmt_ms(r["max"]), tail))
            elif name.startswith("GET"):
                log("| %s | %.0f | %s | %s | %s %s" % (name, r["rps"], fmt_ms(r["p50"]),
                                                      fmt_ms(r["p99"]), fmt_ms(r["max"]), tail))
            elif name.startswith("PUT"):
                log("| %s (%d at %g/s; round trip) | — | %s | %s | %s %s"
                    % (name, a.events, a.event_rate, fmt_ms(r["rtt_p50"]),
                       fmt_ms(r["rtt_p99"]), fmt_ms(r["rtt_max"]), tail))
            elif name.startswith("WS"):
                log("| %s (PUT round trip) | — | %s | %s | %s %s"
                    % (name, fmt_ms(r["rtt_p50"]), fmt_ms(r["rtt_p99"]),
                       fmt_ms(r["rtt_max"]), tail))
                log("| %s: delivery latency | — | %s | %s | %s %s"
                    % (name, fmt_ms(r["p50"]), fmt_ms(r["p99"]), fmt_ms(r["max"]), tail))
            else:
                log("| %s | — | — | — | — %s" % (name, tail))
        f = next((r for n, r in self.rows if n.startswith("WS") and not r["ref"]), None)
        fr = next((r for n, r in self.rows if n.startswith("WS") and r["ref"]), None)
        log("")
        for tag in ("connects spaced", "connects at once"):
            g = rows.get("GET /api/v1/queues, " + tag)
            h = rows.get("GET /health, " + tag)
            if g and h:
                log("- /api/v1/queues vs /health, %s: %.2f× the requests/s, p99 %.1f×."
                    % (tag, g["rps"] / h["rps"], (g["p99"] or 0) / (h["p99"] or 1)))
        for n, r in self.rows:
            if n.startswith("GET") and "agent_log" not in n:
                log("- wrk %s: %s requests in %d s, laoyou counted %s; non-2xx %d; %s; "
                    "machine-wide listen-queue overflows during the run: %s."
                    % (n, r["requests"], a.wrk_secs, r["served"], r["non2xx"],
                       r["sock_errors_text"] or "no socket errors", r["overflows"]))
        if f:
            log("- WS fan-out: %d events × %d clients = %d deliveries expected, %d received, "
                "**%d missing**, %d duplicate. Latency = PUT sent → message in the client's "
                "socket (kernel receive stamp); as the Python client read it: p50 %s, "
                "p99 %s, max %s."
                % (f["events"], f["clients"], f["events"] * f["clients"], f["deliveries"],
                   f["missing"], f["dup"], fmt_ms(f["up50"]), fmt_ms(f["up99"]),
                   fmt_ms(f["umax"])))
            p0 = next((r for n, r in self.rows if n.startswith("PUT")), None)
            if p0 and f["rtt_p50"] is not None and p0["rtt_p50"] is not None:
                d = f["rtt_p50"] - p0["rtt_p50"]
                log("- laoyou writes the event to every client inside the PUT handler, before "
                    "it replies: PUT round trip p50 %s with %d clients vs %s with none, so "
                    "≈ %s of fan-out work per event, %.1f µs per client."
                    % (fmt_ms(f["rtt_p50"]), f["clients"], fmt_ms(p0["rtt_p50"]), fmt_ms(d),
                       1000.0 * d / max(1, f["clients"])))
            log("- One event reaches the first and the last client this far apart: p50 %s, "
                "p99 %s; latency p50 of the first %d clients in laoyou's list %s, of the last "
                "%d %s. Time beyond the PUT round trip passed after laoyou's write(): "
                "in the kernel's loopback delivery, or held by Nagle's algorithm while an "
                "earlier segment on that socket (a ping, another event) was unacknowledged."
                % (fmt_ms(f["spread50"]), fmt_ms(f["spread99"]), f["tenth"],
                   fmt_ms(f["first_p50"]), f["tenth"], fmt_ms(f["last_p50"])))
            if fr:
                log("- The same fan-out from the reference server (wsref.py: Python, one loop, "
                    "no database, same clients, same PUTs): latency p50 %s, p99 %s, max %s; "
                    "%d missing; PUT round trip p50 %s; first→last client p50 %s. What this "
                    "machine allows; laoyou's latency beyond it is laoyou's. (In its table "
                    "rows the laoyou CPU and RSS columns are wsref.py's.)"
                    % (fmt_ms(fr["p50"]), fmt_ms(fr["p99"]), fmt_ms(fr["max"]), fr["missing"],
                       fmt_ms(fr["rtt_p50"]), fmt_ms(fr["spread50"])))
            fr_ = f["summary"].get("frames", {})
            secs = f["summary"].get("secs") or 0
            if fr_.get("ping") and secs:
                rate = fr_["ping"] / secs / max(1, f["clients"])
                log("- laoyou sent each client %.1f WebSocket pings a second (%d in %.0f s to %d "
                    "clients), which the clients answered with pongs."
                    % (rate, fr_["ping"], secs, f["clients"]))
                if rate > 1:
                    self.notes.append(
                        "laoyou pings every WebSocket client every %.0f ms: src/api/events.c "
                        "passes KEEPALIVE_S (30) to libre's websock_accept(), whose keep-alive "
                        "interval is in milliseconds" % (1000.0 / rate))
            log("- %d clients connected in %.2f s; laoyou used %.0f %% of a core meanwhile. "
                "Frames the clients saw: %s."
                % (f["clients"], f["connect_s"], f["m_conn"]["ly_cpu"],
                   json.dumps(f["summary"].get("frames", {}))))
        for n, r in self.rows:
            if "agent_log" in n:
                log("- With agent_log at %d rows, GET /api/v1/queues took %s (p50 of %d) and "
                    "GET /health, sent every 20 ms meanwhile, waited up to %s: the KPI "
                    "queries run on laoyou's one event loop, which SIP and RTP share."
                    % (r["rows"], fmt_ms(r["p50"]), r["n"], fmt_ms(r["health_max"])))
        for n in self.notes:
            log("- NOTE: " + n)
        log("- CPU: 100 %% = one core; generator = wrk, or the WS clients and the PUT "
            "sender (this script); other = the rest of the machine (other sessions, "
            "sipp ≈ %.0f %%)." % max(r["m"]["sipp_cpu"] for _, r in self.rows))
        log("- Log directory: %s" % self.out)


def env(name, default, cast=str):
    v = os.environ.get(name)
    return cast(v) if v not in (None, "") else default


def main():
    ap = argparse.ArgumentParser(
        description="laoyou bench/api: wrk on GET /api/v1/queues and /health with calls "
                    "in progress, and WebSocket event fan-out latency to many clients. "
                    "Each option also reads the environment variable in capitals.")
    ap.add_argument("--laoyou", default=env("LAOYOU", os.path.join(REPO, "build", "laoyou")))
    ap.add_argument("--calls", type=int, default=env("CALLS", 50, int))
    ap.add_argument("--queues", type=int, default=env("QUEUES", 2, int))
    ap.add_argument("--agents", type=int, default=env("AGENTS", 4, int))
    ap.add_argument("--wrk-secs", type=int, default=env("WRK_SECS", 30, int))
    ap.add_argument("--wrk-threads", type=int, default=env("WRK_THREADS", 2, int))
    ap.add_argument("--wrk-conns", type=int, default=env("WRK_CONNS", 50, int))
    ap.add_argument("--ws-clients", type=int, default=env("WS_CLIENTS", 500, int))
    ap.add_argument("--ws-ref", type=int, default=env("WS_REF", 1, int),
                    help="1: the same fan-out against wsref.py, a minimal reference server")
    ap.add_argument("--events", type=int, default=env("EVENTS", 200, int))
    ap.add_argument("--event-rate", type=float, default=env("EVENT_RATE", 20.0, float))
    ap.add_argument("--grace-secs", type=float, default=env("GRACE_SECS", 3.0, float),
                    help="wait after the last PUT before missing deliveries count")
    ap.add_argument("--idle-secs", type=float, default=env("IDLE_SECS", 5.0, float))
    ap.add_argument("--connect-pace-us", type=int, default=env("CONNECT_PACE_US", 2000, int),
                    help="space wrk's connects this far apart in the 'spaced' runs "
                         "(0: run wrk only with its connects at once)")
    ap.add_argument("--laoyou-nodelay", type=int, default=env("LAOYOU_NODELAY", 0, int),
                    help="1: a diagnosis run with TCP_NODELAY on laoyou's accepted sockets "
                         "(netshim.so preloaded)")
    ap.add_argument("--rt", type=int, default=env("RT", 0, int),
                    help="run laoyou under SCHED_FIFO at this priority (0: no)")
    ap.add_argument("--history-rows", default=env("HISTORY_ROWS", "10000 100000"),
                    help="agent_log sizes (rows over the past 30 days, seeded into the "
                         "database after the other phases) for GET /api/v1/queues one at a "
                         "time; empty: skip")
    ap.add_argument("--history-reqs", type=int, default=env("HISTORY_REQS", 5, int))
    ap.add_argument("--history-secs", type=float, default=env("HISTORY_SECS", 30.0, float),
                    help="at most this long per size")
    ap.add_argument("--log-level", default=env("LOG_LEVEL", "warn"))
    ap.add_argument("--rtp-ports", default=env("RTP_PORTS", None))
    ap.add_argument("--out", default=env("OUT", None))
    a = ap.parse_args()
    a.laoyou = os.path.abspath(a.laoyou)
    a.hold_secs = 3600
    a.nice = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        a.history_rows = sorted(int(x) for x in a.history_rows.replace(",", " ").split())
    except ValueError:
        ap.error("HISTORY_ROWS: a list of row counts")
    if not a.rtp_ports:
        base = random.randrange(20000, 31000, 2)     # below the ephemeral range
        a.rtp_ports = "%d-%d" % (base, base + 999)
    if a.events < 1 or a.event_rate <= 0 or a.ws_clients < 1 or a.calls < 1:
        ap.error("EVENTS, EVENT_RATE, WS_CLIENTS and CALLS must be positive")
    out = a.out or tempfile.mkdtemp(prefix="laoyou-api-bench.")
    os.makedirs(out, exist_ok=True)
    a.out = out
    shown = {k: getattr(a, k.lower()) for k in KNOBS}
    shown = {k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in shown.items()}
    cmdline = " ".join("%s=%s" % (k, shlex.quote(str(v))) for k, v in shown.items()
                       if k not in ("OUT", "RTP_PORTS")) + " " + \
        os.environ.get("APIBENCH_CMD", "bench/api/run")

    def on_signal(sig, _frm):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    b = Bench(a, out)
    rc = 0
    try:
        b.run()
    except Abort as e:
        log("bench/api: %s" % e)
        try:
            with open(b.stderr, errors="replace") as f:
                tail = f.readlines()[-15:]
            if tail:
                log("laoyou's stderr (last lines):\n" + "".join(tail))
        except OSError:
            pass
        rc = 1
    except KeyboardInterrupt:
        log("bench/api: interrupted")
        rc = 130
    finally:
        PROCS.stop_all()
    if b.rows:
        b.report(cmdline)
    log("total %.0f s" % (time.monotonic() - b.t0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
