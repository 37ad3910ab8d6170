#!/usr/bin/env python3
"""laoyou bench/acd-load: callers through the IVR into queues, answered by
sipp agents; the highest call rate at which laoyou loses no call.

One laoyou on 127.0.0.1 (its own temp dir, database and ports) with a site
of one hotline (a one-key menu, then queue q1 or q2, longest-idle) and
AGENTS agents, each with its own SIP account and extension.  The agents'
phones are sipp processes (AGENT_PROCS of them, each answering for a share
of the agents); every agent REGISTERs with digest auth and logs in by
dialling *61, then answers each call after RING s, talks HOLD s and hangs
up; laoyou's wrap-up is WRAPUP s.  Callers come from one sipp at a fixed
rate for STEP_SECS per step; each is patient for PATIENCE s in line, then
hangs up itself.

Per step: calls offered, answered, abandoned (the caller hung up itself,
and laoyou logged ABANDON), lost (everything else: refused, dropped, hung
up by laoyou, or not accounted for), the wait of answered calls from
laoyou's queue_log, the steady answered rate, and laoyou's CPU from
/proc/PID/stat.  Stepping stops after the first step that loses calls
(STOP_ON_LOSS=1).  A step whose callers' sipp crashed is not counted: laoyou
is restarted and the step run once more.  Everything runs on loopback,
bounded in time; every
process started leads its own process group and is ended by that id.
Stdlib only.  Started by bench/acd-load/run; `--help` lists the knobs.
"""

import argparse
import csv
import json
import os
import random
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from benchlib import Procs, Abort, free_port as _free, first_lines, log, machine_busy_ticks, percentile, udp_bound, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HZ = os.sysconf("SC_CLK_TCK")

DEFAULT_RATES = "10 20 40 80 120 160"
HOTLINE = "7000"
TRUNK_USER, TRUNK_EXT = "citizens", "8000"
# knobs a reader needs to reproduce a run: printed with the command line
KNOBS = ("LAOYOU", "RATES", "STEP_SECS", "AGENTS", "AGENT_PROCS", "QUEUES", "HOLD",
         "RING", "WRAPUP", "PATIENCE", "ANNOUNCE", "STOP_ON_LOSS", "MAX_TOTAL_SECS",
         "LOG_LEVEL", "RTP_PORTS", "NICE", "RT", "SIPP", "OUT")


# ---------------------------------------------------------------- processes


PROCS = Procs()


def pid_ticks(pid):
    """utime+stime of one process, in clock ticks (None once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def machine_busy_ticks():
    """Busy clock ticks of all CPUs together, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(v[:8]) - v[3] - v[4]   # less idle and iowait


class CpuMeter:
    """CPU of named processes and of the whole machine between marks."""

    def __init__(self, procs):
        self.procs = procs              # {label: [pid, ...]}

    def sample(self):
        s = {"t": time.monotonic(), "busy": machine_busy_ticks(),
             "ru": resource.getrusage(resource.RUSAGE_CHILDREN)}
        for k, pids in self.procs.items():
            s[k] = sum(pid_ticks(p) or 0 for p in pids)
        return s

    @staticmethod
    def pct(a, b, key):
        """% of one core that key used between samples a and b."""
        dt = b["t"] - a["t"]
        if dt <= 0:
            return None
        if key == "busy":
            if a["busy"] is None or b["busy"] is None:
                return None
            return 100.0 * (b["busy"] - a["busy"]) / HZ / dt
        return 100.0 * (b[key] - a[key]) / HZ / dt


# -------------------------------------------------------------------- ports


def pick_ports(n, span=8):
    """n base ports with base..base+span-1 free for UDP and TCP.  Above the
    kernel's ephemeral range when there is room, so nothing is handed our
    ports behind our back between the check and the bind."""
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


def health_json(url):
    try:
        with urllib.request.urlopen(url, timeout=0.5) as r:
            d = json.loads(r.read(4096).decode("utf-8", "replace"))
            return d if isinstance(d, dict) else None
    except Exception:
        return None


# --------------------------------------------------------------------- sipp

def parse_stat_csv(path):
    """The rows of a sipp -trace_stat file, each as {column: value}."""
    try:
        with open(path, newline="", errors="replace") as f:
            rows = [r for r in csv.reader(f, delimiter=";") if r]
    except OSError:
        return None
    if len(rows) < 2:
        return None
    head = [h.strip() for h in rows[0]]
    out = []
    for row in rows[1:]:
        d = {}
        for i, h in enumerate(head):
            v = row[i].strip() if i < len(row) else ""
            try:
                d[h] = float(v)
            except ValueError:
                d[h] = v
        out.append(d)
    return out


def fill(template, out_dir, values):
    """A scenario with its @NAME@ placeholders filled in, written to the log
    dir (the copy sipp runs, kept for the record)."""
    with open(os.path.join(HERE, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    left = re.findall(r"@([A-Z_]+)@", text)
    if left:
        # an unfilled placeholder would make sipp refuse the scenario
        raise Abort("%s: @%s@ left unfilled" % (template, left[0]))
    path = os.path.join(out_dir, template)
    with open(path, "w") as f:
        f.write(text)
    return path


# -------------------------------------------------------------------- bench

class Bench:
    def __init__(self, a, out):
        self.a = a
        self.out = out
        self.t_start = time.monotonic()
        # blocks of 8 ports: sipp takes base (SIP), base+1 (its control
        # socket), base+2 and base+4 (media sockets it always opens)
        blocks = pick_ports(5 + a.agent_procs)
        (self.ly_sip, self.ly_http, self.uac_port, self.reg_port,
         self.login_port) = blocks[:5]
        self.uas_ports = blocks[5:]
        self.health_url = "http://127.0.0.1:%d/health" % self.ly_http
        self.ly = None
        self.uas = []
        self.steps = []
        self.lydir = os.path.join(out, "laoyou")
        self.db = os.path.join(self.lydir, "laoyou.db")
        self.conf = os.path.join(self.lydir, "laoyou.conf")
        self.stderr = os.path.join(out, "laoyou.stderr")

    def elapsed(self):
        return time.monotonic() - self.t_start

    # ---- laoyou

    def cli(self, *args):
        argv = [self.a.laoyou] + list(args) + ["-c", self.conf]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise Abort("`%s` failed (%d): %s" % (" ".join(argv), r.returncode,
                                                  r.stdout.decode(errors="replace")[:600]))
        return r.stdout.decode(errors="replace")

    def agents(self):
        """(user, secret, ext, contact port) of every agent; the phones are
        dealt round-robin to the agent sipp processes."""
        return [("agent%03d" % i, "pw%03d-%04x" % (i, i * 7919 % 65536), str(5000 + i),
                 self.uas_ports[(i - 1) % len(self.uas_ports)])
                for i in range(1, self.a.agents + 1)]

    def site(self):
        a = self.a
        queues = ["q%d" % i for i in range(1, a.queues + 1)]
        qset = {"strategy": "longest-idle", "ring_timeout": 10, "wrapup": a.wrapup,
                # callers must leave by their own hang-up, never by laoyou's
                # max_wait: keep it far beyond their patience
                "max_wait": int(a.patience * 4 + 120), "announce": a.announce}
        nodes = {
            # barge-in: the caller's key cuts the beep short
            "menu": {"type": "menu", "prompt": "beep", "timeout": 3, "retries": 1,
                     "options": {str(i + 1): q for i, q in enumerate(queues)},
                     "fallback": queues[0]},
            "bye": {"type": "hangup", "prompts": ["goodbye"]},
        }
        for q in queues:
            # a short prompt (the default, "transfer", lasts 3.9 s)
            nodes[q] = {"type": "queue", "queue": q, "prompt": "beep", "fallback": "bye"}
        return {
            "hotlines": [{"number": HOTLINE, "flow": "line", "language": "zh"}],
            "queues": {q: dict(qset) for q in queues},
            # every agent serves every queue; the skill is the caller's
            # language, which every strategy requires the agent to have
            "agents": {u: {"account": u, "queues": queues, "skills": {"lang:zh": 5}}
                       for u, _, _, _ in self.agents()},
            "flows": {"line": {"start": "menu", "nodes": nodes}},
        }

    def start_laoyou(self):
        a = self.a
        os.makedirs(self.lydir, exist_ok=True)
        prompts = os.path.join(os.path.dirname(os.path.abspath(a.laoyou)), "prompts")
        if not os.path.isdir(prompts):
            prompts = os.path.join(REPO, "build", "prompts")
        base = ["# written by bench/acd-load",
                "sip_udp = 127.0.0.1:%d" % self.ly_sip,
                "sip_tcp = 127.0.0.1:%d" % self.ly_sip,
                "http = 127.0.0.1:%d" % self.ly_http,
                "rtp_ip = 127.0.0.1",
                "rtp_ports = %s" % a.rtp_ports,
                "db = %s" % self.db,
                "prompts_dir = %s" % prompts,
                "log_level = %s" % a.log_level,
                "max_calls = 100000",
                "# sipp sends no RTP: silent callers in line must not be ended",
                "# by the no-media guard (60 s by default)",
                "rtp_timeout = 3600"]
        flood = ["# every caller comes through one trunk address, which a site",
                 "# would exempt from the per-address INVITE limit",
                 "flood_invite = 0"]
        self.write_conf(base + flood)
        r = subprocess.run([a.laoyou, "check", "-c", self.conf], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0 and b"flood_invite" in r.stdout:
            # a laoyou from before the flood limits has no such key
            self.write_conf(base)
        t0 = time.monotonic()
        # IP-authenticated trunk for the callers: no digest round per call
        self.cli("account", "add", TRUNK_USER, "--ext", TRUNK_EXT, "--kind", "trunk",
                 "--from-addr", "127.0.0.1:%d" % self.uac_port, "--max-calls", "100000")
        for user, secret, ext, _ in self.agents():
            self.cli("account", "add", user, "--secret", secret, "--ext", ext,
                     "--kind", "agent")
        site = os.path.join(self.lydir, "site.json")
        with open(site, "w") as f:
            json.dump(self.site(), f, indent=1)
        out = self.cli("site", "import", site)
        if "imported" not in out:
            raise Abort("site import: %s" % out.strip()[:400])
        log("   %d accounts and the site in %.1f s" % (self.a.agents + 1, time.monotonic() - t0))
        self.launch()

    def write_conf(self, lines):
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def launch(self):
        # chrt and nice exec laoyou: the PID measured is laoyou's
        pre = ["chrt", "-f", str(self.a.rt)] if self.a.rt else \
            ["nice", "-n", str(self.a.nice)] if self.a.nice else []
        self.ly = PROCS.start("laoyou", pre + [self.a.laoyou, "run", "-c", self.conf], None,
                              self.stderr)
        wait_until(lambda: health_json(self.health_url) is not None, 15, self.ly,
                   "laoyou (GET /health)")

    def restart(self):
        """A fresh start after a step whose callers' sipp died: its calls
        would stay in line (nobody left to hang up) and skew the next step.
        laoyou ends every call on SIGTERM; the phones' bindings come back
        from the store, the agents' log-in does not, so *61 again."""
        t0 = time.monotonic()
        st = PROCS.stop(self.ly, grace=15)
        if st != 0:
            log("   laoyou exited %s on SIGTERM (want 0)" % st)
        self.launch()
        wait_until(lambda: (health_json(self.health_url) or {}).get("registrations", 0)
                   >= self.a.agents, 10, self.ly, "laoyou's restored registrations")
        self.run_sipp_once("login-again", "login.xml", self.login_port, "*61",
                           self.a.agents, 40, self.inf, 90)
        log("   laoyou restarted and %d agents logged in again in %.1f s"
            % (self.a.agents, time.monotonic() - t0))

    # ---- agents

    def start_agents(self):
        a = self.a
        scen = fill("agent.xml", self.out, {"RING_MS": max(1, int(a.ring * 1000)),
                                             "HOLD_MS": max(1, int(a.hold * 1000))})
        for i, port in enumerate(self.uas_ports):
            name = "agents%d" % (i + 1)
            argv = [a.sipp, "-sf", scen, "-i", "127.0.0.1", "-p", str(port),
                    "-mp", str(port + 2), "-cp", str(port + 1), "-nostdin",
                    "-buff_size", "4194304",
                    # a CANCEL or BYE that crosses the phone's own message
                    # is logged and the call goes on, as a phone would
                    "-default_behaviors", "all,-abortunexp",
                    "-trace_err", "-error_file", os.path.join(self.out, name + ".errors.log"),
                    "-trace_stat", "-stf", os.path.join(self.out, name + ".stat.csv"),
                    "-fd", "5", "-max_log_size", "20000000"]
            p = PROCS.start(name, argv, os.path.join(self.out, name + ".out"),
                            os.path.join(self.out, name + ".stderr"))
            self.uas.append(p)
        for p, port in zip(self.uas, self.uas_ports):
            wait_until(lambda: udp_bound(port), 10, p, "sipp agents on port %d" % port)

    def run_sipp_once(self, name, scen, port, service, calls, rate, inf, timeout):
        """A short sipp UAC run that must complete all its calls."""
        a = self.a
        stat = os.path.join(self.out, name + ".stat.csv")
        # the digest's uri must be the Request-URI (laoyou checks it);
        # sipp's default is remote_ip:port, without the user part
        target = "127.0.0.1:%d" % self.ly_sip
        auth_uri = target if scen == "register.xml" else "%s@%s" % (service, target)
        argv = [a.sipp, "-sf", os.path.join(HERE, scen), "-i", "127.0.0.1",
                "-p", str(port), "-mp", str(port + 2), "-cp", str(port + 1), "-nostdin",
                "-inf", inf, "-s", service, "-auth_uri", auth_uri,
                "-m", str(calls), "-r", str(rate),
                "-l", str(max(rate * 4, 50)), "-timeout", str(timeout), "-timeout_error",
                "-trace_err", "-error_file", os.path.join(self.out, name + ".errors.log"),
                "-trace_stat", "-stf", stat, "-fd", "1", target]
        p = PROCS.start(name, argv, os.path.join(self.out, name + ".out"),
                        os.path.join(self.out, name + ".stderr"))
        try:
            p.wait(timeout + 10)
        except subprocess.TimeoutExpired:
            pass
        PROCS.stop(p)
        rows = parse_stat_csv(stat)
        ok = int(rows[-1].get("SuccessfulCall(C)", 0)) if rows else 0
        if ok != calls:
            detail = first_lines(os.path.join(self.out, name + ".errors.log"), 8) or \
                first_lines(os.path.join(self.out, name + ".stderr"), 8)
            raise Abort("%s: %d of %d calls succeeded (sipp exit %s):\n    %s"
                        % (name, ok, calls, p.returncode, "\n    ".join(detail)))

    def register_and_login(self):
        a = self.a
        inf = self.inf = os.path.join(self.out, "agents.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for user, secret, _, port in self.agents():
                # sipp expands a keyword in an injected field, but not
                # [field0] nested in [authentication]: inject it whole
                f.write("%s;[authentication username=%s password=%s];%d\n"
                        % (user, user, secret, port))
        t0 = time.monotonic()
        self.run_sipp_once("register", "register.xml", self.reg_port, "register",
                           a.agents, 50, inf, 60)
        regs = (health_json(self.health_url) or {}).get("registrations")
        if regs is not None and regs < a.agents:
            raise Abort("laoyou counts %s registrations, want %d" % (regs, a.agents))
        # *61: log in and ready.  The prompt lasts 1.4 s; 40 at a time.
        self.run_sipp_once("login", "login.xml", self.login_port, "*61", a.agents, 40, inf, 90)
        log("   %d agents registered and logged in (*61) in %.1f s"
            % (a.agents, time.monotonic() - t0))

    # ---- one rate step

    def step_estimate(self):
        """Seconds a step takes: calls for STEP_SECS, then the last callers
        leave (IVR ~1 s, then answered and done, or patient until they
        give up), sipp's 4 s time-wait, the rest between steps."""
        a = self.a
        return a.step_secs + 1 + max(a.patience, a.ring + a.hold) + 4 + 2 + a.wrapup

    def run_step(self, rate, retry=False):
        a = self.a
        calls = int(round(rate * a.step_secs))
        name = "step-%s%s" % (fmt_rate(rate), "-retry" if retry else "")
        paths = {k: os.path.join(self.out, "%s.%s" % (name, k))
                 for k in ("stat.csv", "errors.log", "calls.log", "out", "stderr")}
        for f in paths.values():
            if os.path.exists(f):
                os.unlink(f)
        patience_ms = int(a.patience * 1000)
        scen = fill("caller.xml", self.out,
                    {"PATIENCE_MS": patience_ms,
                     # the longest a connected call can last, with room
                     "TALK_MAX_MS": int((a.hold + a.ring + 30) * 1000)})
        inf = os.path.join(self.out, "choices.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n" + "".join("%d\n" % (i + 1) for i in range(a.queues)))
        life = a.patience + a.ring + a.hold + 2 + 4       # + menu, timewait
        tmo = int(a.step_secs + life + 40)
        argv = [a.sipp, "-sf", scen, "-i", "127.0.0.1", "-p", str(self.uac_port),
                "-mp", str(self.uac_port + 2), "-cp", str(self.uac_port + 1), "-nostdin",
                "-buff_size", "4194304", "-inf", inf, "-s", HOTLINE,
                "-r", fmt_rate(rate), "-m", str(calls),
                "-l", str(int(rate * life * 1.5) + 200),
                "-timeout", str(tmo), "-timeout_error",
                "-default_behaviors", "all,-abortunexp",
                "-trace_stat", "-stf", paths["stat.csv"], "-fd", "1",
                "-trace_err", "-error_file", paths["errors.log"],
                "-trace_logs", "-log_file", paths["calls.log"],
                "-max_log_size", "50000000",
                "127.0.0.1:%d" % self.ly_sip]
        stderr_at = os.path.getsize(self.stderr) if os.path.exists(self.stderr) else 0
        pids = {"laoyou": [self.ly.pid], "agents": [p.pid for p in self.uas]}
        meter = CpuMeter(pids)
        s0 = meter.sample()
        wall0 = time.time()
        p = PROCS.start("callers", argv, paths["out"], paths["stderr"])
        peak, s_offer = {}, None
        end = time.monotonic() + tmo + 10
        while True:
            h = health_json(self.health_url)
            for k in ("active_calls", "rtp_ports_in_use"):
                if h and isinstance(h.get(k), int):
                    peak[k] = max(peak.get(k, 0), h[k])
            if s_offer is None and time.monotonic() - s0["t"] >= a.step_secs:
                s_offer = meter.sample()
            try:
                p.wait(0.5)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > end:
                    break
            if self.ly.poll() is not None:
                break
        s_end = meter.sample()
        rc = p.poll()
        PROCS.stop(p)
        # the callers' sipp has exited with its /proc entry: its CPU is in
        # RUSAGE_CHILDREN once reaped (nothing else was reaped meanwhile)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        callers_cpu = 100.0 * ((ru.ru_utime + ru.ru_stime) -
                               (s0["ru"].ru_utime + s0["ru"].ru_stime)) / (s_end["t"] - s0["t"])
        if s_offer is None:
            s_offer = s_end
        # the agents' legs end with the callers'; then wrap-up
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.ly.poll() is None:
            h = health_json(self.health_url)
            if h and h.get("active_calls") == 0:
                break
            time.sleep(0.25)
        after = health_json(self.health_url) or {}

        r = {"rate": rate, "calls": calls, "rc": rc, "peak": peak, "after": after,
             "wall": s_end["t"] - s0["t"], "paths": paths,
             "ly_cpu_offer": CpuMeter.pct(s0, s_offer, "laoyou"),
             "ly_cpu_step": CpuMeter.pct(s0, s_end, "laoyou"),
             "agents_cpu": CpuMeter.pct(s0, s_end, "agents"),
             "callers_cpu": callers_cpu}
        busy = CpuMeter.pct(s0, s_end, "busy")
        r["other_cpu"] = None if busy is None else max(
            0.0, busy - r["ly_cpu_step"] - r["agents_cpu"] - callers_cpu)
        r.update(self.account(p.pid, calls, wall0, paths))
        # sipp crashed, or was cut short: the step measured the generator
        r["gen_failed"] = rc is None or rc < 0 or r["created"] < calls
        r["laoyou_exited"] = self.ly.poll()
        r["stderr_lines"] = self.new_stderr(stderr_at)
        return r

    def new_stderr(self, since):
        try:
            with open(self.stderr, "rb") as f:
                f.seek(since)
                return f.read(2000000).decode(errors="replace").splitlines()
        except OSError:
            return []

    def account(self, sipp_pid, calls, wall0, paths):
        """Each call of this step: what the caller saw (its sipp log line)
        and what laoyou logged (queue_log), joined on the Call-ID."""
        a = self.a
        rows = parse_stat_csv(paths["stat.csv"]) or [{}]
        last = rows[-1]
        created = int(last.get("TotalCallCreated", 0) or last.get("OutgoingCall(C)", 0) or 0)
        # the rate sipp really offered: calls over the time it took to
        # create them (from the one-second stat rows)
        achieved = None
        for d in rows:
            if d.get("TotalCallCreated", 0) >= created and created:
                el = d.get("ElapsedTime(C)", "")
                secs = parse_hms(el)
                if secs:
                    achieved = created / max(secs, 1e-3)
                break
        seen = {}
        try:
            with open(paths["calls.log"], errors="replace") as f:
                for line in f:
                    parts = line.split()
                    # "<Call-ID> <outcome...>"; the Call-ID is the word with @
                    for i, w in enumerate(parts):
                        if "@" in w and i + 1 < len(parts):
                            seen[w] = " ".join(parts[i + 1:])
                            break
        except OSError:
            pass
        # sipp's Call-IDs are "<n>-<pid>@<ip>": this step's calls only
        pat = "%%-%d@%%" % sipp_pid
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            q = con.execute("SELECT callid, event, wait_ms, ts_ms FROM queue_log"
                            " WHERE callid LIKE ? ORDER BY id", (pat,)).fetchall()
            cdr = {row[0]: row[1:] for row in con.execute(
                "SELECT callid, disposition, cause, reason, hangup_by, path FROM cdr"
                " WHERE callid LIKE ?", (pat,))}
        finally:
            con.close()
        ev = {}
        for callid, event, wait_ms, ts_ms in q:
            ev.setdefault(callid, []).append((event, wait_ms, ts_ms))
        answered, abandoned, waits, ab_waits = set(), set(), [], []
        steady = 0
        t_lo = wall0 * 1000 + a.step_secs * 1000 / 3
        t_hi = wall0 * 1000 + a.step_secs * 1000
        for callid, evs in ev.items():
            names = [e[0] for e in evs]
            caller = seen.get(callid, "")
            if "CONNECT" in names and caller in ("connected", "abandon"):
                # "abandon" here: the patience ran out as the agent
                # answered; laoyou connected it (COMPLETECALLER)
                answered.add(callid)
                c = next(e for e in evs if e[0] == "CONNECT")
                waits.append(c[1])
                if t_lo <= c[2] < t_hi:
                    steady += 1
            elif "ABANDON" in names and "CONNECT" not in names and caller == "abandon":
                abandoned.add(callid)
                ab_waits.append(next(e for e in evs if e[0] == "ABANDON")[1])
        offered = max(created, len(seen), len(ev))
        lost = offered - len(answered) - len(abandoned)
        # what became of the lost ones, as the caller and laoyou tell it
        why = {}
        for callid in set(seen) | set(ev):
            if callid in answered or callid in abandoned:
                continue
            names = [e[0] for e in ev.get(callid, [])]
            k = "caller: %s; queue_log: %s" % (seen.get(callid, "(no outcome: sipp failure)"),
                                               ",".join(names) or "-")
            c = cdr.get(callid)
            if c:
                k += "; cdr: %s %s %s by %s" % (c[0], c[1], c[2], c[3])
            why[k] = why.get(k, 0) + 1
        unknown = offered - len(set(seen) | set(ev))
        if unknown > 0:
            why["no trace at all (sipp created it, no log line, no queue_log)"] = unknown
        waits.sort()
        ab_waits.sort()
        outcomes = {}
        for v in seen.values():
            outcomes[v] = outcomes.get(v, 0) + 1
        return {"offered": offered, "created": created, "achieved": achieved,
                "answered": len(answered), "abandoned": len(abandoned), "lost": lost,
                "waits": waits, "ab_waits": ab_waits, "why": why, "outcomes": outcomes,
                "steady_rate": steady / (t_hi - t_lo) * 1000}


def parse_hms(v):
    """sipp's "HH:MM:SS:mmm" (or with a dot) elapsed time in seconds."""
    if not isinstance(v, str) or not v:
        return None
    v = v.split("\t")[0].replace(".", ":")
    try:
        p = [float(x) for x in v.split(":")]
    except ValueError:
        return None
    if len(p) == 4:
        return p[0] * 3600 + p[1] * 60 + p[2] + p[3] / 1000
    if len(p) == 3:
        return p[0] * 3600 + p[1] * 60 + p[2]
    return None


def fmt_rate(r):
    return ("%g" % r)


def ms(v):
    return "-" if v is None else "%.1f s" % (v / 1000) if v >= 10000 else "%d ms" % v


def print_step(r):
    w = r["waits"]
    log("  %6s calls/s  offered %5d  answered %5d  abandoned %5d  LOST %4d  | answered/s %.1f"
        "  wait p50 %s p90 %s p99 %s max %s  | laoyou CPU %.0f%% (step %.0f%%)"
        "  callers %.0f%% agents %.0f%% other %s  | peak calls %s"
        % (fmt_rate(r["rate"]), r["offered"], r["answered"], r["abandoned"], r["lost"],
           r["steady_rate"], ms(percentile(w, 50)), ms(percentile(w, 90)),
           ms(percentile(w, 99)), ms(w[-1] if w else None),
           r["ly_cpu_offer"] or 0, r["ly_cpu_step"] or 0, r["callers_cpu"],
           r["agents_cpu"] or 0,
           "-" if r["other_cpu"] is None else "%.0f%%" % r["other_cpu"],
           r["peak"].get("active_calls", "?")))
    notes = []
    if r["achieved"] is not None and r["achieved"] < 0.95 * r["rate"]:
        notes.append("sipp offered only %.1f calls/s" % r["achieved"])
    if r["rc"] is None or r["rc"] < 0 or r["rc"] > 1:
        notes.append("the callers' sipp %s" % (
            "was still running (stopped by the script)" if r["rc"] is None else
            "died of signal %d" % -r["rc"] if r["rc"] < 0 else "exited %d" % r["rc"]))
    if r["created"] < r["calls"]:
        notes.append("sipp created %d of %d calls" % (r["created"], r["calls"]))
    if r["after"].get("active_calls"):
        notes.append("%s calls still up after the step" % r["after"]["active_calls"])
    if r["laoyou_exited"] is not None:
        notes.append("LAOYOU EXITED (status %s)" % r["laoyou_exited"])
    if notes:
        log("          note: " + "; ".join(notes))
    log("          callers saw: " + ", ".join("%s %d" % kv for kv in sorted(r["outcomes"].items()))
        + ("; abandons left the line after p50 %s" % ms(percentile(r["ab_waits"], 50))
           if r["ab_waits"] else ""))
    for k, n in sorted(r["why"].items(), key=lambda kv: -kv[1])[:8]:
        log("          not answered, not abandoned: %5d  %s" % (n, k))
    if r["stderr_lines"]:
        # the same message for many calls: count it once, without the
        # timestamp and the Call-ID
        kinds = {}
        for line in r["stderr_lines"]:
            k = re.sub(r"^\S+Z\s+", "", line)
            k = re.sub(r"\[[^\]]*@[^\]]*\]\s*", "", k)
            k = re.sub(r"\d+", "N", k)[:150]
            kinds[k] = kinds.get(k, 0) + 1
        log("          laoyou stderr during the step: %d lines; most frequent:"
            % len(r["stderr_lines"]))
        for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:4]:
            log("            %6d  %s" % (n, k))


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--rates", default=env("RATES", DEFAULT_RATES),
                    help="call rates to step through, calls/s (default: %s)" % DEFAULT_RATES)
    ap.add_argument("--step-secs", type=float, default=float(env("STEP_SECS", "45")),
                    help="seconds of new calls per step (default 45)")
    ap.add_argument("--agents", type=int, default=int(env("AGENTS", "200")),
                    help="agents, each with its own account and phone (default 200)")
    ap.add_argument("--agent-procs", type=int, default=int(env("AGENT_PROCS", "2")),
                    help="sipp processes answering for the agents (default 2)")
    ap.add_argument("--queues", type=int, default=int(env("QUEUES", "2")), choices=(1, 2, 3, 4),
                    help="queues the menu leads to; callers alternate (default 2)")
    ap.add_argument("--hold", type=float, default=float(env("HOLD", "8")),
                    help="seconds an agent talks (default 8)")
    ap.add_argument("--ring", type=float, default=float(env("RING", "1")),
                    help="seconds an agent's phone rings before it answers (default 1)")
    ap.add_argument("--wrapup", type=int, default=int(env("WRAPUP", "1")),
                    help="queue wrap-up seconds after each call (default 1)")
    ap.add_argument("--patience", type=float, default=float(env("PATIENCE", "20")),
                    help="seconds a caller waits unanswered before hanging up (default 20)")
    ap.add_argument("--announce", type=int, default=int(env("ANNOUNCE", "15")),
                    help="queue position announcement period, s (default 15)")
    ap.add_argument("--stop-on-loss", type=int, default=int(env("STOP_ON_LOSS", "1")),
                    help="1: no further step after one that lost calls (default 1)")
    ap.add_argument("--max-total-secs", type=int, default=int(env("MAX_TOTAL_SECS", "600")),
                    help="no step starts that would end after this (default 600)")
    ap.add_argument("--log-level", default=env("LOG_LEVEL", "warn"),
                    help="laoyou's log_level (default warn; info costs CPU at high rates)")
    # below the kernel's ephemeral ports and the system tests' RTP blocks
    # (20000-32000): at 160 calls/s laoyou binds ~15000 ports, which in the
    # ephemeral range would starve other programs on a shared machine
    ap.add_argument("--rtp-ports", default=env("RTP_PORTS", "2000-19999"),
                    help="laoyou rtp_ports, 4 per call up (default 2000-19999: 4500 calls)")
    ap.add_argument("--nice", type=int, default=int(env("NICE", "0")),
                    help="nice level for laoyou (e.g. -10 on a shared, busy machine; default 0)")
    ap.add_argument("--rt", type=int, default=int(env("RT", "0")),
                    help="run laoyou under SCHED_FIFO at this priority (chrt; needs root),"
                         " so other programs cannot preempt it (default 0: off)")
    ap.add_argument("--laoyou", default=env("LAOYOU", os.path.join(REPO, "build", "laoyou")),
                    help="the binary (default <repo>/build/laoyou)")
    ap.add_argument("--sipp", default=env("SIPP", "sipp"), help="the sipp binary")
    ap.add_argument("--out", default=env("OUT", ""),
                    help="log directory (default: a new /tmp/laoyou-acd-load.*)")
    a = ap.parse_args()
    a.rates = [float(x) for x in a.rates.replace(",", " ").split()]
    if not a.rates or a.step_secs < 5 or a.agents < 1 or a.agent_procs < 1:
        ap.error("need rates, --step-secs >= 5, agents >= 1, agent procs >= 1")
    a.agent_procs = min(a.agent_procs, a.agents)
    out = a.out or tempfile.mkdtemp(prefix="laoyou-acd-load.")
    os.makedirs(out, exist_ok=True)

    def on_signal(signum, frame):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    cmd = " ".join(["%s=%s" % (k, json.dumps(env(k)) if " " in env(k) else env(k))
                    for k in KNOBS if env(k)] + [env("ACDLOAD_CMD") or sys.argv[0]]
                   + sys.argv[1:])
    handle = a.ring + a.hold + a.wrapup
    capacity = a.agents / handle
    log("== bench/acd-load: %d agents (%d sipp), %d queue(s) longest-idle; ring %g s, talk %g s,"
        " wrap-up %d s -> capacity about %d / %g = %.1f calls/s; callers' patience %g s;"
        " %g s of calls per step at %s calls/s"
        % (a.agents, a.agent_procs, a.queues, a.ring, a.hold, a.wrapup, a.agents, handle,
           capacity, a.patience, a.step_secs, " ".join(fmt_rate(r) for r in a.rates)))
    log("   laoyou %s%s; logs in %s" % (a.laoyou, " (SCHED_FIFO %d)" % a.rt if a.rt else
                                      " (nice %d)" % a.nice if a.nice else "", out))
    b = None
    rc = 0
    try:
        if not os.access(a.laoyou, os.X_OK):
            raise Abort("no laoyou binary at %s" % a.laoyou)
        b = Bench(a, out)
        log("   ports: laoyou sip %d http %d, callers %d, agents %s"
            % (b.ly_sip, b.ly_http, b.uac_port, " ".join(map(str, b.uas_ports))))
        b.start_laoyou()
        b.start_agents()
        b.register_and_login()
        for rate in a.rates:
            if b.elapsed() + b.step_estimate() > a.max_total_secs:
                log("  %6s calls/s  skipped: it would end after MAX_TOTAL_SECS=%d"
                    % (fmt_rate(rate), a.max_total_secs))
                break
            r = b.run_step(rate)
            print_step(r)
            if r["gen_failed"] and r["laoyou_exited"] is None:
                # sipp 3.6.1 sometimes dies of SIGSEGV under load (see
                # README): not laoyou's doing, so start clean and retry once
                log("          the callers' sipp failed: not counted; laoyou restarted,"
                    " step retried")
                b.restart()
                if b.elapsed() + b.step_estimate() > a.max_total_secs:
                    b.steps.append(r)
                    log("  %6s calls/s  retry skipped: it would end after MAX_TOTAL_SECS=%d"
                        % (fmt_rate(rate), a.max_total_secs))
                    break
                r = b.run_step(rate, retry=True)
                r["retried"] = True
                print_step(r)
            b.steps.append(r)
            if r["laoyou_exited"] is not None or r["gen_failed"]:
                break
            if r["lost"] and a.stop_on_loss:
                break
            time.sleep(1 + a.wrapup)
        summary(b, a, capacity, cmd)
    except KeyboardInterrupt:
        log("bench/acd-load: interrupted; stopping what it started")
        rc = 130
    except Abort as e:
        log("bench/acd-load: ERROR: %s" % e)
        rc = 2
    finally:
        if b is not None and b.ly is not None and b.ly in PROCS.live:
            # a clean stop: SIGTERM, then all calls end and records commit
            st = PROCS.stop(b.ly, grace=15)
            if st not in (0, None) and rc == 0:
                log("   laoyou exited %s on SIGTERM (want 0)" % st)
        PROCS.stop_all()
    return rc


def summary(b, a, capacity, cmd):
    log("")
    log("### bench/acd-load results")
    log("")
    log("%d agents, %d queue(s) (longest-idle), ring %g s + talk %g s + wrap-up %d s: capacity"
        " about %.1f calls/s.  Callers: IVR menu (a key by SIP INFO), then a queue; patience"
        " %g s.  %g s of calls per step.  CPU: %% of one core (laoyou is one thread),"
        " over the seconds calls were offered."
        % (a.agents, a.queues, a.ring, a.hold, a.wrapup, capacity, a.patience, a.step_secs))
    log("")
    log("| calls/s offered | offered | answered | abandoned (caller hung up) | lost by laoyou"
        " | answered/s (steady) | wait p50 | wait p90 | wait p99 | wait max"
        " | laoyou CPU | peak calls up | other CPU |")
    log("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in b.steps:
        w = r["waits"]
        lost = str(r["lost"]) if not r["gen_failed"] else \
            "n/a: the callers' sipp died (%d unaccounted)" % r["lost"]
        log("| %s%s | %d | %d | %d | %s | %.1f | %s | %s | %s | %s | %.0f %% | %s | %s |"
            % (fmt_rate(r["rate"]), " (retry)" if r.get("retried") else "",
               r["offered"], r["answered"], r["abandoned"], lost,
               r["steady_rate"], ms(percentile(w, 50)), ms(percentile(w, 90)),
               ms(percentile(w, 99)), ms(w[-1] if w else None), r["ly_cpu_offer"] or 0,
               r["peak"].get("active_calls", "?"),
               "-" if r["other_cpu"] is None else "%.0f %%" % r["other_cpu"]))
    log("")
    held = [r["rate"] for r in b.steps if r["lost"] == 0 and not r["gen_failed"]]
    first_loss = next((r for r in b.steps if r["lost"] and not r["gen_failed"]), None)
    gen_fail = next((r for r in b.steps if r["gen_failed"]), None)
    best = None
    for r in b.steps:          # the highest rate below the first loss
        if r["lost"] or r["gen_failed"]:
            break
        best = r["rate"]
    if best is None:
        log("Highest rate with 0 lost: none (the first step, %s calls/s, lost %d)"
            % (fmt_rate(b.steps[0]["rate"]), b.steps[0]["lost"]) if b.steps else
            "Highest rate with 0 lost: no step ran")
    else:
        top = "" if first_loss else " (the highest step measured: the limit is higher)"
        log("Highest rate with 0 lost: **%s calls/s**%s" % (fmt_rate(best), top))
    if gen_fail:
        log("At %s calls/s the callers' sipp died (twice, or with no time left to retry):"
            " laoyou was not measured there." % fmt_rate(gen_fail["rate"]))
    if first_loss:
        log("First step with losses: %s calls/s, %d lost of %d"
            % (fmt_rate(first_loss["rate"]), first_loss["lost"], first_loss["offered"]))
    if held and max(held) > capacity:
        log("Above the agents' capacity (%.1f calls/s) the excess callers abandon at their"
            " patience; laoyou still accounts for every call." % capacity)
    others = [r["other_cpu"] for r in b.steps if r["other_cpu"] is not None]
    if others and max(others) >= 15:
        log("WARNING: other programs used up to %.0f %% of a core during the steps (machine"
            " of %d cores): figures are skewed by them." % (max(others), os.cpu_count() or 0))
    log("")
    log("Command: `%s`" % cmd)
    log("Logs: %s" % b.out)


if __name__ == "__main__":
    sys.exit(main())
