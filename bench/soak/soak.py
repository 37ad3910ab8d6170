#!/usr/bin/env python3
"""laoyou bench/soak: a fixed call rate for a set time through the IVR, a
queue and agents, plus plain extension-to-extension calls; failed calls,
RSS and fd count over time.

One laoyou on 127.0.0.1 (its own temp dir, database, ports, and a copy of
the binary and prompts, so a rebuild elsewhere cannot touch the run), with
a site of one hotline: a welcome prompt, a menu (key 0 by RFC 4733 from
the caller), "transferring you", then queue `hotline` (longest-idle) served
by AGENTS sipp agents that register, log in with *61 and answer with a
random talk time.  A share of the calls (PLAIN_SHARE) are plain calls
between extensions, with digest authentication.  Callers come from two
sipp UACs at a fixed rate for SOAK_MINUTES.

Every SAMPLE_SECS: laoyou's RSS (VmRSS), fd count (and how many are RTP
sockets), CPU, /health (active calls, RTP pairs, registrations), the
sipps' cumulative successful and failed calls, the callers' outcomes and
laoyou's own records of failed calls; into samples.csv, one line printed.
At the end a table with PASS/FAIL per target: 0 failed calls, RSS growth
< 5 % after the warm-up (the first WARMUP_PCT % of the run), no fd growth.

RAMP=1 instead steps the same workload up through RAMP_RATES (STEP_SECS
each) and reports the highest rate with 0 failed calls: the capacity the
soak's default rate is 70 % of.  CAPACITY=ramp runs the ramp, then the
soak at 70 % of what it found.

Loopback only, bounded in time and in count (sipp -m), every process
started leads its own process group and is ended by that id on exit,
error, Ctrl-C or SIGTERM.  Stdlib only.  Started by bench/soak/run.
"""

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from benchlib import Procs, Abort, first_lines, log, machine_busy_ticks, udp_bound, wait_until  # noqa: E402
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HZ = os.sysconf("SC_CLK_TCK")

HOTLINE = "12345"
TRUNK_USER, TRUNK_EXT = "citizens", "8000"
WELCOME, MENU, TRANSFER = "welcome_12345", "menu_12345", "transfer"
DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_0.pcap"   # key 0: "an agent"

# Capacity of THIS workload on this machine, measured with RAMP=1 (see
# README.md for the run): the highest total rate (hotline + plain calls)
# with 0 failed calls.  The default RATE is 70 % of it.
DEFAULT_CAPACITY = 80.0

KNOBS = ("LAOYOU", "SOAK_MINUTES", "CAPACITY", "RATE", "PLAIN_SHARE", "AGENTS",
         "OCCUPANCY", "AGENT_PROCS", "HOLD", "RING", "WRAPUP", "PLAIN_HOLD", "PATIENCE",
         "ANNOUNCE", "STAFF", "SAMPLE_SECS", "WARMUP_PCT", "REREG_SECS", "KEY_MARGIN",
         "RAMP", "RAMP_RATES", "STEP_SECS", "LOG_LEVEL", "RTP_PORTS", "SIPP", "OUT")


# ---------------------------------------------------------------- processes
# (the pattern of bench/acd-load/acdload.py and bench/cps/cps.py)


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


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return [None, None, None]


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def fd_breakdown(pid, rtp_lo, rtp_hi):
    """(fds, sockets, RTP sockets) of a process.  The RTP sockets are its
    UDP sockets bound to a port in rtp_lo..rtp_hi (laoyou's pool, which
    keeps up to 4096 released pairs bound for reuse), found by inode in
    /proc/net/udp."""
    fd_dir = "/proc/%d/fd" % pid
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return None, None, None
    inodes = set()
    for n in names:
        try:
            t = os.readlink(os.path.join(fd_dir, n))
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    rtp = 0
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                v = line.split()
                if len(v) < 10 or v[9] not in inodes:
                    continue
                port = int(v[1].rsplit(":", 1)[1], 16)
                if rtp_lo <= port <= rtp_hi:
                    rtp += 1
    except (OSError, ValueError, StopIteration):
        pass
    return len(names), len(inodes), rtp


# -------------------------------------------------------------------- ports

HELD = {}   # base port -> sockets holding its block until its user binds it


def _hold(port):
    """Sockets bound to port for UDP and TCP (None if either is taken)."""
    got = []
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            for x in got:
                x.close()
            return None
        got.append(s)
    return got


def pick_ports(n, span=8):
    """n base ports with base..base+span-1 free for UDP and TCP, held by
    this process (release() before the program that uses a block starts),
    so nothing else can take them meanwhile.  Above the kernel's ephemeral
    range when there is room."""
    lo, hi = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    lo, hi = (hi + 1, 65500) if 65500 - (hi + 1) >= 2000 else (1024, lo - 1)
    got = []
    for _ in range(5000):
        if len(got) == n:
            return got
        b = random.randrange(lo + span, hi - span) & ~7
        if b in HELD:
            continue
        socks = []
        for p in range(b, b + span):
            h = _hold(p)
            if h is None:
                break
            socks += h
        else:
            HELD[b] = socks
            got.append(b)
            continue
        for x in socks:
            x.close()
    raise Abort("could not find %d free port blocks on 127.0.0.1" % n)


def release(*bases):
    for b in bases:
        for x in HELD.pop(b, []):
            x.close()


def health_json(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            d = json.loads(r.read(4096).decode("utf-8", "replace"))
            return d if isinstance(d, dict) else None
    except Exception:
        return None


# --------------------------------------------------------------------- sipp

class StatFile:
    """The last row of a sipp -trace_stat CSV, read from its tail."""

    def __init__(self, path):
        self.path = path
        self.head = None

    def last(self):
        try:
            with open(self.path, "rb") as f:
                if self.head is None:
                    first = f.readline().decode(errors="replace")
                    if not first.endswith("\n"):
                        return None
                    self.head = [h.strip() for h in first.split(";")]
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 16384))
                lines = f.read().decode(errors="replace").split("\n")
        except OSError:
            return None
        # the last complete data row
        for line in reversed(lines[:-1]):
            row = line.split(";")
            if len(row) >= len(self.head) - 1 and not line.startswith("StartTime"):
                d = {}
                for i, h in enumerate(self.head):
                    v = row[i].strip() if i < len(row) else ""
                    try:
                        d[h] = float(v)
                    except ValueError:
                        d[h] = v
                return d
        return None


def stat_counts(sf):
    """(created, successful, failed) so far from a StatFile (zeros before
    the first row)."""
    d = sf.last() if sf else None
    if not d:
        return 0, 0, 0
    created = int(d.get("TotalCallCreated", 0) or d.get("OutgoingCall(C)", 0) or 0)
    return created, int(d.get("SuccessfulCall(C)", 0) or 0), int(d.get("FailedCall(C)", 0) or 0)


def fill(template, out_dir, values, name=None):
    """A scenario with its @NAME@ placeholders filled in, written to the log
    dir (the copy sipp runs, kept for the record)."""
    with open(os.path.join(HERE, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    left = re.findall(r"@([A-Z_]+)@", text)
    if left:
        raise Abort("%s: @%s@ left unfilled" % (template, left[0]))
    path = os.path.join(out_dir, name or template)
    with open(path, "w") as f:
        f.write(text)
    return path


def sipp_rate(rate):
    """-r/-rp for a rate with a fraction: calls per 10 s."""
    return ["-r", str(max(1, int(round(rate * 10)))), "-rp", "10000"]


def wav_secs(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


def sipp_error_kinds(path, limit=6):
    """What sipp's error log says went wrong, counted by kind."""
    counts = {}
    try:
        with open(path, errors="replace") as f:
            text = f.read(50000000)
    except OSError:
        return []
    for m in re.finditer(r"while expecting '([^']*)'[^']*?received '([^\r\n']*)", text):
        k = "expected %s, got %s" % (m.group(1), m.group(2).strip()[:80])
        counts[k] = counts.get(k, 0) + 1
    for m in re.finditer(r"(receive timeout on message [^ ]+ [^ \r\n]+|"
                         r"[Mm]ax (?:UDP )?retrans[^\r\n:]{0,60}|Aborting call[^\r\n]{0,80}|"
                         r"Dead call[^\r\n]{0,60}|Discarding message[^\r\n]{0,60})", text):
        k = re.sub(r"\d{3,}", "N", m.group(1).strip())
        counts[k] = counts.get(k, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:limit]


# -------------------------------------------------------------------- soak

class Soak:
    def __init__(self, a, out):
        self.a = a
        self.out = out
        self.t_start = time.monotonic()
        # blocks of 8 ports: sipp takes base (SIP), base+1 (control),
        # base+2 and base+4 (media)
        blocks = pick_ports(7 + a.agent_procs)
        (self.ly_sip, self.ly_http, self.uac_port, self.puac_port, self.reg_port,
         self.login_port, self.puas_port) = blocks[:7]
        self.uas_ports = blocks[7:]
        self.health_url = "http://127.0.0.1:%d/health" % self.ly_http
        self.rtp_lo, self.rtp_hi = (int(x) for x in a.rtp_ports.split("-"))
        self.ly = None
        self.agent_procs = []
        self.puas = None
        self.bindir = os.path.join(out, "bin")
        self.lydir = os.path.join(out, "laoyou")
        self.db = os.path.join(self.lydir, "laoyou.db")
        self.conf = os.path.join(self.lydir, "laoyou.conf")
        self.stderr = os.path.join(out, "laoyou.stderr")
        self.laoyou = None
        self.n_agents = 0
        self.rereg = None
        self.rereg_runs = []

    def elapsed(self):
        return time.monotonic() - self.t_start

    # ---- laoyou

    def cli(self, *args):
        argv = [self.laoyou] + list(args) + ["-c", self.conf]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise Abort("`%s` failed (%d): %s" % (" ".join(argv), r.returncode,
                                                  r.stdout.decode(errors="replace")[:600]))
        return r.stdout.decode(errors="replace")

    def agents(self):
        """(user, secret, ext, contact port) of every agent, dealt
        round-robin to the agent sipp processes."""
        return [("agent%04d" % i, "ag%04d-%04x" % (i, i * 7919 % 65536), str(50000 + i),
                 self.uas_ports[(i - 1) % len(self.uas_ports)])
                for i in range(1, self.n_agents + 1)]

    def staff(self):
        """(user, secret, ext) of the plain extensions."""
        return [("staff%03d" % i, "st%03d-%04x" % (i, i * 104729 % 65536), str(6000 + i))
                for i in range(1, self.a.staff + 1)]

    def site(self):
        a = self.a
        q = {"strategy": "longest-idle", "ring_timeout": 10, "wrapup": a.wrapup,
             # callers leave by their own hang-up, never by laoyou's
             # max_wait: keep it far beyond their patience
             "max_wait": int(a.patience * 2 + 120), "announce": a.announce,
             "max_length": 10000}
        nodes = {
            "welcome": {"type": "play", "prompts": [WELCOME], "next": "menu"},
            "menu": {"type": "menu", "prompt": MENU, "timeout": 5, "retries": 1,
                     "options": {"0": "agent"}, "fallback": "bye"},
            "agent": {"type": "queue", "queue": "hotline", "prompt": TRANSFER,
                      "fallback": "bye"},
            "bye": {"type": "hangup", "prompts": ["goodbye"]},
        }
        return {
            "hotlines": [{"number": HOTLINE, "flow": "line", "language": "zh"}],
            "queues": {"hotline": q},
            # the caller's language is required of the agent for 60 s
            "agents": {u: {"account": u, "queues": ["hotline"], "skills": {"lang:zh": 5}}
                       for u, _, _, _ in self.agents()},
            "flows": {"line": {"start": "welcome", "nodes": nodes}},
        }

    def install(self):
        """A private copy of the binary and its prompts: others rebuild
        build/ while the soak runs."""
        a = self.a
        os.makedirs(self.bindir, exist_ok=True)
        self.laoyou = os.path.join(self.bindir, "laoyou")
        shutil.copy2(a.laoyou, self.laoyou)
        src = os.path.join(os.path.dirname(os.path.abspath(a.laoyou)), "prompts")
        if not os.path.isdir(os.path.join(src, "zh")):
            src = os.path.join(REPO, "build", "prompts")
        if not os.path.isdir(os.path.join(src, "zh")):
            raise Abort("no prompts next to %s nor in build/prompts (run make)" % a.laoyou)
        self.prompts = os.path.join(self.bindir, "prompts")
        shutil.copytree(src, self.prompts, dirs_exist_ok=True)
        self.welcome_secs = wav_secs(os.path.join(self.prompts, "zh", WELCOME + ".wav"))

    def setup(self, n_agents):
        a = self.a
        self.n_agents = n_agents
        self.install()
        os.makedirs(self.lydir, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("# written by bench/soak\n"
                    "sip_udp = 127.0.0.1:%d\n"
                    "sip_tcp = 127.0.0.1:%d\n"
                    "http = 127.0.0.1:%d\n"
                    "rtp_ip = 127.0.0.1\n"
                    "rtp_ports = %s\n"
                    "db = %s\n"
                    "prompts_dir = %s\n"
                    "web_dir = %s\n"
                    "log_level = %s\n"
                    "max_calls = 100000\n"
                    # sipp sends RTP only for the key: a caller waiting in
                    # line must not be ended by the no-media guard (60 s);
                    # a call still up after 5 minutes is stuck, and laoyou
                    # ends it with a record (counted as failed)
                    "rtp_timeout = 300\n"
                    # one address sends all the load
                    "flood_invite = 0\n"
                    "flood_register = 0\n"
                    "flood_options = 0\n"
                    % (self.ly_sip, self.ly_sip, self.ly_http, a.rtp_ports, self.db,
                       self.prompts, os.path.join(REPO, "web"), a.log_level))
        t0 = time.monotonic()
        # IP-authenticated trunk for the hotline callers
        self.cli("account", "add", TRUNK_USER, "--ext", TRUNK_EXT, "--kind", "trunk",
                 "--from-addr", "127.0.0.1:%d" % self.uac_port, "--max-calls", "100000")
        for user, secret, ext, _ in self.agents():
            self.cli("account", "add", user, "--secret", secret, "--ext", ext,
                     "--kind", "agent")
        for user, secret, ext in self.staff():
            self.cli("account", "add", user, "--secret", secret, "--ext", ext,
                     "--kind", "agent", "--max-calls", "1000")
        site = os.path.join(self.lydir, "site.json")
        with open(site, "w") as f:
            json.dump(self.site(), f, indent=1)
        out = self.cli("site", "import", site)
        if "imported" not in out:
            raise Abort("site import: %s" % out.strip()[:400])
        log("   %d accounts and the site in %.1f s"
            % (1 + self.n_agents + a.staff, time.monotonic() - t0))
        release(self.ly_sip, self.ly_http)
        self.ly = PROCS.start("laoyou", [self.laoyou, "run", "-c", self.conf], None,
                              self.stderr)
        wait_until(lambda: health_json(self.health_url) is not None, 20, self.ly,
                   "laoyou (GET /health)")
        self.start_phones()
        self.register_and_login()

    def sipp_common(self, port):
        return [self.a.sipp, "-i", "127.0.0.1", "-p", str(port), "-mp", str(port + 2),
                "-cp", str(port + 1), "-nostdin"]

    def start_phones(self):
        a = self.a
        scen = fill("agent.xml", self.out,
                    {"RING_MS": max(1, int(a.ring * 1000)),
                     "HOLD_MIN_MS": int(a.hold * 400), "HOLD_MAX_MS": int(a.hold * 1600)})
        for i, port in enumerate(self.uas_ports):
            name = "agents%d" % (i + 1)
            release(port)
            argv = self.sipp_common(port) + [
                "-sf", scen, "-buff_size", "4194304",
                # a CANCEL or BYE that crosses the phone's own message is
                # logged and the call goes on, as a phone would
                "-default_behaviors", "all,-abortunexp",
                "-trace_err", "-error_file", os.path.join(self.out, name + ".errors.log"),
                "-trace_stat", "-stf", os.path.join(self.out, name + ".stat.csv"),
                "-fd", "5", "-max_log_size", "20000000"]
            p = PROCS.start(name, argv, os.path.join(self.out, name + ".out"),
                            os.path.join(self.out, name + ".stderr"))
            p.stat = StatFile(os.path.join(self.out, name + ".stat.csv"))
            self.agent_procs.append(p)
        scen = fill("plain-uas.xml", self.out,
                    {"RING_MS": max(1, int(a.ring * 500)),
                     "TALK_MAX_MS": int((a.plain_hold * 1.5 + 30) * 1000)})
        release(self.puas_port)
        argv = self.sipp_common(self.puas_port) + [
            "-sf", scen, "-buff_size", "4194304", "-default_behaviors", "all,-abortunexp",
            "-trace_err", "-error_file", os.path.join(self.out, "plain-uas.errors.log"),
            "-trace_stat", "-stf", os.path.join(self.out, "plain-uas.stat.csv"),
            "-fd", "5", "-max_log_size", "20000000"]
        self.puas = PROCS.start("plain-uas", argv, os.path.join(self.out, "plain-uas.out"),
                                os.path.join(self.out, "plain-uas.stderr"))
        self.puas.stat = StatFile(os.path.join(self.out, "plain-uas.stat.csv"))
        for p, port in [(q, self.uas_ports[i]) for i, q in enumerate(self.agent_procs)] + \
                [(self.puas, self.puas_port)]:
            wait_until(lambda: udp_bound(port), 10, p, "sipp phones on port %d" % port)

    def run_sipp_once(self, name, scen, port, service, calls, rate, inf, timeout,
                      background=False, extra=()):
        """A short sipp UAC run (register, log in); its final stat row."""
        stat = os.path.join(self.out, name + ".stat.csv")
        for f in (stat, os.path.join(self.out, name + ".errors.log")):
            if os.path.exists(f):
                os.unlink(f)
        release(port)
        argv = self.sipp_common(port) + [
            "-sf", os.path.join(HERE, scen), "-inf", inf, "-s", service,
            "-m", str(calls), "-r", str(rate), "-l", str(max(rate * 4, 50)),
            "-timeout", str(timeout), "-timeout_error",
            "-trace_err", "-error_file", os.path.join(self.out, name + ".errors.log"),
            "-trace_stat", "-stf", stat, "-fd", "1"] + list(extra) + [
            "127.0.0.1:%d" % self.ly_sip]
        p = PROCS.start(name, argv, os.path.join(self.out, name + ".out"),
                        os.path.join(self.out, name + ".stderr"))
        p.stat = StatFile(stat)
        p.calls = calls
        p.t0 = time.monotonic()
        p.timeout = timeout
        if background:
            return p
        try:
            p.wait(timeout + 10)
        except subprocess.TimeoutExpired:
            pass
        PROCS.stop(p)
        _, ok, _ = stat_counts(p.stat)
        if ok != calls:
            detail = first_lines(os.path.join(self.out, name + ".errors.log"), 8) or \
                first_lines(os.path.join(self.out, name + ".stderr"), 8)
            raise Abort("%s: %d of %d calls succeeded (sipp exit %s):\n    %s"
                        % (name, ok, calls, p.returncode, "\n    ".join(detail)))
        return ok

    def register_and_login(self):
        a = self.a
        self.reg_inf = os.path.join(self.out, "phones.csv")
        with open(self.reg_inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for user, secret, _, port in self.agents():
                f.write("%s;[authentication username=%s password=%s];%d\n"
                        % (user, user, secret, port))
            for user, secret, _ in self.staff():
                f.write("%s;[authentication username=%s password=%s];%d\n"
                        % (user, user, secret, self.puas_port))
        agents_inf = os.path.join(self.out, "agents.csv")
        with open(agents_inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for user, secret, _, port in self.agents():
                f.write("%s;[authentication username=%s password=%s];%d\n"
                        % (user, user, secret, port))
        self.n_phones = self.n_agents + a.staff
        t0 = time.monotonic()
        self.run_sipp_once("register", "register.xml", self.reg_port, "register",
                           self.n_phones, 100, self.reg_inf, 120)
        regs = (health_json(self.health_url) or {}).get("registrations")
        if regs is not None and regs < self.n_phones:
            raise Abort("laoyou counts %s registrations, want %d" % (regs, self.n_phones))
        # *61: log in and ready.  "ready" lasts 1.4 s, then laoyou hangs up.
        # laoyou wants the digest's uri to be the Request-URI, and sipp
        # signs sip:HOST:PORT unless told otherwise
        self.run_sipp_once("login", "login.xml", self.login_port, "*61", self.n_agents,
                           50, agents_inf, 180,
                           extra=["-auth_uri", "*61@127.0.0.1:%d" % self.ly_sip])
        log("   %d agents and %d extensions registered, the agents logged in (*61) in %.1f s"
            % (self.n_agents, a.staff, time.monotonic() - t0))

    def rereg_tick(self, now, may_start=True):
        """Refresh every phone's registration every REREG_SECS (Expires is
        3600 s), in the background: long soaks must not lose bindings, and
        the registrar's refresh path is part of the load."""
        a = self.a
        if self.rereg is not None and self.rereg.poll() is not None:
            p = self.rereg
            _, ok, failed = stat_counts(p.stat)
            PROCS.stop(p)
            self.rereg_runs.append((ok, p.calls))
            if ok != p.calls:
                log("   re-registration: only %d of %d phones refreshed (see %s)"
                    % (ok, p.calls, os.path.join(self.out, "reregister.errors.log")))
            self.rereg = None
        if self.rereg is not None and time.monotonic() - self.rereg.t0 > self.rereg.timeout + 10:
            PROCS.stop(self.rereg)
            self.rereg_runs.append((0, self.rereg.calls))
            self.rereg = None
        if a.rereg_secs <= 0 or self.rereg is not None or not may_start:
            return
        if now - self.last_rereg >= a.rereg_secs:
            self.last_rereg = now
            self.rereg = self.run_sipp_once("reregister", "register.xml", self.reg_port,
                                            "register", self.n_phones, 50, self.reg_inf,
                                            120, background=True)

    # ---- load

    def rates(self, rate):
        hot = rate * (1 - self.a.plain_share)
        return hot, rate - hot

    def start_load(self, rate, secs, tag):
        """Both call generators, each bounded by -m (rate x secs calls) and
        a global -timeout."""
        a = self.a
        hot, plain = self.rates(rate)
        gens = []
        life_h = (self.welcome_secs + a.key_margin + 15 + a.patience + a.ring +
                  a.hold * 1.6 + 10)
        if hot > 0:
            scen = fill("caller.xml", self.out,
                        {"KEY_DELAY_MS": int((self.welcome_secs + a.key_margin) * 1000),
                         "DTMF_PCAP": DTMF_PCAP,
                         "PATIENCE_MS": int(a.patience * 1000),
                         "TALK_MAX_MS": int((a.hold * 1.6 + a.ring + 30) * 1000)})
            gens.append(self.start_gen("hotline", tag, scen, self.uac_port, hot, secs, life_h,
                                       ["-s", HOTLINE]))
        if plain > 0:
            # staff002... call staff001's extension: sipp signs one digest
            # uri per process (-auth_uri) and laoyou wants it to be the
            # Request-URI, so every plain call dials the same extension
            inf = os.path.join(self.out, "plain.csv")
            st = self.staff()
            with open(inf, "w") as f:
                f.write("SEQUENTIAL\n")
                for user, secret, _ in st[1:]:
                    f.write("%s;[authentication username=%s password=%s];%s\n"
                            % (user, user, secret, st[0][2]))
            scen = fill("plain-uac.xml", self.out,
                        {"HOLD_MIN_MS": int(a.plain_hold * 500),
                         "HOLD_MAX_MS": int(a.plain_hold * 1500)})
            gens.append(self.start_gen("plain", tag, scen, self.puac_port, plain, secs,
                                       a.plain_hold * 1.5 + a.ring + 20,
                                       ["-inf", inf, "-s", st[0][2], "-auth_uri",
                                        "%s@127.0.0.1:%d" % (st[0][2], self.ly_sip)]))
        return gens

    def start_gen(self, kind, tag, scen, port, rate, secs, life, extra):
        name = "%s-%s" % (kind, tag)
        paths = {k: os.path.join(self.out, "%s.%s" % (name, k))
                 for k in ("stat.csv", "errors.log", "calls.log", "out", "stderr")}
        for f in paths.values():
            if os.path.exists(f):
                os.unlink(f)
        calls = int(round(rate * secs))
        tmo = int(secs + life + 60)
        release(port)
        argv = self.sipp_common(port) + [
            "-sf", scen, "-buff_size", "4194304"] + extra + sipp_rate(rate) + [
            "-m", str(calls), "-l", str(int(rate * life * 2) + 200),
            "-timeout", str(tmo), "-timeout_error",
            "-default_behaviors", "all,-abortunexp",
            "-trace_stat", "-stf", paths["stat.csv"], "-fd", "5",
            "-trace_err", "-error_file", paths["errors.log"],
            "-trace_logs", "-log_file", paths["calls.log"],
            "-max_log_size", "100000000",
            "127.0.0.1:%d" % self.ly_sip]
        p = PROCS.start(name, argv, paths["out"], paths["stderr"])
        p.kind, p.calls, p.rate, p.paths, p.tmo = kind, calls, rate, paths, tmo
        p.t0 = time.monotonic()
        p.stat = StatFile(paths["stat.csv"])
        p.outcomes = {}
        p.log_pos = 0
        return p

    @staticmethod
    def read_outcomes(p):
        """New outcome lines of a hotline caller's log, counted by kind."""
        try:
            with open(p.paths["calls.log"], "rb") as f:
                f.seek(p.log_pos)
                data = f.read()
        except OSError:
            return p.outcomes
        end = data.rfind(b"\n")
        if end < 0:
            return p.outcomes
        p.log_pos += end + 1
        for line in data[:end].decode(errors="replace").splitlines():
            parts = line.split()
            for i, w in enumerate(parts):
                if "@" in w and i + 1 < len(parts):
                    k = parts[i + 1]
                    if k == "rejected" and i + 2 < len(parts):
                        k = "rejected " + parts[i + 2]
                    p.outcomes[k] = p.outcomes.get(k, 0) + 1
                    break
        return p.outcomes

    # ---- laoyou's records

    def db_counts(self, since_cdr, since_q):
        """Counts of records with id above the marks: laoyou's failed calls
        (disposition failed with a 5xx, ended by the system), other calls
        the system ended abnormally (timeouts), and queue-log events."""
        out = {"cdr": 0, "failed5xx": 0, "sys_abnormal": 0, "q": {}, "why": {}}
        try:
            con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)
        except sqlite3.Error:
            return None
        try:
            out["cdr"] = con.execute("SELECT count(*) FROM cdr WHERE id > ?",
                                     (since_cdr,)).fetchone()[0]
            for disp, cause, reason, by, dialled, n in con.execute(
                    "SELECT disposition, cause, reason, hangup_by, dialled, count(*) FROM cdr"
                    " WHERE id > ? AND ((disposition = 'failed' AND cause >= 500"
                    "  AND hangup_by = 'system') OR (hangup_by = 'system' AND reason IN"
                    "  ('RTP Timeout', 'No ACK from caller', 'Callee Timeout')))"
                    " GROUP BY 1, 2, 3, 4, 5", (since_cdr,)):
                if disp == "failed" and cause >= 500:
                    out["failed5xx"] += n
                else:
                    out["sys_abnormal"] += n
                k = "%s %s %s by %s (dialled %s)" % (disp, cause, reason, by, dialled)
                out["why"][k] = out["why"].get(k, 0) + n
            for ev, n in con.execute("SELECT event, count(*) FROM queue_log WHERE id > ?"
                                     " GROUP BY event", (since_q,)):
                out["q"][ev] = n
        except sqlite3.Error as e:
            out["error"] = str(e)
        finally:
            con.close()
        return out

    def db_marks(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)
        try:
            c = con.execute("SELECT coalesce(max(id), 0) FROM cdr").fetchone()[0]
            q = con.execute("SELECT coalesce(max(id), 0) FROM queue_log").fetchone()[0]
        finally:
            con.close()
        return c, q

    def stderr_lines(self, since):
        try:
            with open(self.stderr, "rb") as f:
                f.seek(since)
                return f.read(5000000).decode(errors="replace").splitlines()
        except OSError:
            return []

    # ---- sampling

    def sample(self, phase, t0, gens, prev, marks):
        """One row: laoyou's process, /health, the generators, the records."""
        now = time.monotonic()
        pid = self.ly.pid
        fds, socks, rtp = fd_breakdown(pid, self.rtp_lo, self.rtp_hi)
        ticks = pid_ticks(pid)
        busy = machine_busy_ticks()
        sipp_ticks = sum(pid_ticks(p.pid) or 0 for p in PROCS.live if p is not self.ly)
        h = health_json(self.health_url) or {}
        la = loadavg()
        row = {"t_s": round(now - t0, 1), "phase": phase, "rss_kib": rss_kib(pid),
               "fds": fds, "sockets": socks, "rtp_sockets": rtp,
               "fds_not_rtp": None if fds is None else fds - (rtp or 0),
               "active_calls": h.get("active_calls"),
               "rtp_pairs_in_use": h.get("rtp_ports_in_use"),
               "registrations": h.get("registrations"), "loadavg1": la[0],
               "_mono": now, "_ticks": ticks, "_busy": busy, "_sipp": sipp_ticks}
        row["ly_cpu_pct"] = row["machine_cpu_pct"] = row["other_cpu_pct"] = None
        if prev is not None and ticks is not None and prev["_ticks"] is not None:
            dt = now - prev["_mono"]
            row["ly_cpu_pct"] = round(100.0 * (ticks - prev["_ticks"]) / HZ / dt, 1)
            if busy is not None and prev["_busy"] is not None:
                m = 100.0 * (busy - prev["_busy"]) / HZ / dt
                row["machine_cpu_pct"] = round(m, 1)
                # sipps that exited between samples make this approximate
                s = 100.0 * max(0, sipp_ticks - prev["_sipp"]) / HZ / dt
                row["other_cpu_pct"] = round(max(0.0, m - row["ly_cpu_pct"] - s), 1)
        for kind in ("hotline", "plain"):
            g = next((p for p in gens if p.kind == kind), None)
            c, ok, bad = stat_counts(g.stat) if g else (0, 0, 0)
            row[kind + "_created"], row[kind + "_ok"], row[kind + "_failed"] = c, ok, bad
        hg = next((p for p in gens if p.kind == "hotline"), None)
        oc = self.read_outcomes(hg) if hg else {}
        row["connected"] = oc.get("connected", 0)
        row["not_connected"] = sum(v for k, v in oc.items() if k != "connected")
        ag = [stat_counts(p.stat) for p in self.agent_procs]
        row["agent_ok"] = sum(x[1] for x in ag)
        row["agent_failed"] = sum(x[2] for x in ag)
        pu = stat_counts(self.puas.stat)
        row["plain_uas_failed"] = pu[2]
        d = self.db_counts(*marks) if marks else None
        row["ly_failed_5xx"] = d["failed5xx"] if d else None
        row["ly_sys_abnormal"] = d["sys_abnormal"] if d else None
        q = d["q"] if d else {}
        row["q_enter"] = q.get("ENTER", 0)
        row["q_connect"] = q.get("CONNECT", 0)
        row["q_abandon"] = q.get("ABANDON", 0)
        row["q_ringnoanswer"] = q.get("RINGNOANSWER", 0)
        return row

    CSV_COLS = ("t_s", "phase", "rss_kib", "fds", "sockets", "rtp_sockets", "fds_not_rtp",
                "ly_cpu_pct", "machine_cpu_pct", "other_cpu_pct", "loadavg1",
                "active_calls", "rtp_pairs_in_use", "registrations",
                "hotline_created", "hotline_ok", "hotline_failed", "connected",
                "not_connected", "plain_created", "plain_ok", "plain_failed",
                "agent_ok", "agent_failed", "plain_uas_failed", "ly_failed_5xx",
                "ly_sys_abnormal", "q_enter", "q_connect", "q_abandon", "q_ringnoanswer")

    def print_row(self, r):
        def f(v, fmt="%s"):
            return "-" if v is None else fmt % v
        log("  %7.0f s %-7s rss %s MiB  fds %s (rtp %s)  cpu %s%%  other %s%%  load %s  calls %s"
            "  | hotline %s ok %s fail %s  plain %s ok %s fail %s  agents fail %s"
            "  | laoyou failed %s/%s  q enter %s connect %s abandon %s"
            % (r["t_s"], r["phase"], f(r["rss_kib"] and r["rss_kib"] / 1024.0, "%.1f"),
               f(r["fds"]), f(r["rtp_sockets"]), f(r["ly_cpu_pct"], "%.0f"),
               f(r["other_cpu_pct"], "%.0f"), f(r["loadavg1"], "%.1f"), f(r["active_calls"]),
               r["hotline_created"], r["hotline_ok"], r["hotline_failed"],
               r["plain_created"], r["plain_ok"], r["plain_failed"], r["agent_failed"],
               f(r["ly_failed_5xx"]), f(r["ly_sys_abnormal"]),
               r["q_enter"], r["q_connect"], r["q_abandon"]))

    def run_phase(self, rate, secs, tag, csv_path, warmup_secs=0, stop_early=None):
        """Calls at rate for secs, sampled every SAMPLE_SECS; then the
        generators finish their calls and laoyou drains.  Returns the
        samples and the generators."""
        a = self.a
        marks = self.db_marks()
        stderr_at = os.path.getsize(self.stderr) if os.path.exists(self.stderr) else 0
        t0 = time.monotonic()
        self.last_rereg = t0
        rows = []
        prev = self.sample("start", t0, [], None, marks)
        rows.append(prev)
        gens = self.start_load(rate, secs, tag)
        f = open(csv_path, "a", newline="")
        w = csv.writer(f)
        if f.tell() == 0:
            w.writerow(("run",) + self.CSV_COLS)
        w.writerow((tag,) + tuple(prev.get(c) for c in self.CSV_COLS))
        next_t = t0 + a.sample_secs
        drained_at = None
        hard_end = t0 + max(g.tmo for g in gens) + 30
        try:
            while True:
                time.sleep(max(0.0, min(1.0, next_t - time.monotonic())))
                now = time.monotonic()
                if self.ly.poll() is not None:
                    raise Abort("laoyou exited (status %s) at %.0f s; stderr: %s"
                                % (self.ly.returncode, now - t0,
                                   " | ".join(first_lines(self.stderr, 5))))
                self.rereg_tick(now, now - t0 <= secs - 30)
                if now < next_t:
                    continue
                next_t += a.sample_secs
                running = [g for g in gens if g.poll() is None]
                phase = ("warmup" if now - t0 < warmup_secs else "load") if now - t0 <= secs \
                    else "drain"
                r = self.sample(phase, t0, gens, prev, marks)
                rows.append(r)
                prev = r
                w.writerow((tag,) + tuple(r.get(c) for c in self.CSV_COLS))
                f.flush()
                self.print_row(r)
                if stop_early and stop_early(r):
                    log("   stopping this step early: calls are failing")
                    for g in running:
                        PROCS.stop(g)
                    running = []
                if not running:
                    # the generators are done: wait for laoyou's last calls
                    if r["active_calls"] == 0:
                        break
                    if drained_at is None:
                        drained_at = now
                    elif now - drained_at > 60:
                        log("   %s calls still up 60 s after the generators ended"
                            % r["active_calls"])
                        break
                if now > hard_end:
                    log("   generators overran their time: stopped")
                    break
        finally:
            f.close()
            for g in gens:
                PROCS.stop(g)
        # the final counts, once every sipp has written its stat row again
        # (every 5 s; the generators wrote their last one on exit)
        time.sleep(6)
        final = self.sample("end", t0, gens, prev, marks)
        final["_stderr"] = self.stderr_lines(stderr_at)
        final["_db"] = self.db_counts(*marks)
        final["_marks"] = marks
        with open(csv_path, "a", newline="") as f:
            csv.writer(f).writerow((tag,) + tuple(final.get(c) for c in self.CSV_COLS))
        rows.append(final)
        return rows, gens


# ------------------------------------------------------------------ results

def failures(final, gens, soak):
    """Every kind of failed call, from sipp and from laoyou's records."""
    out = {}
    for g in gens:
        c, ok, bad = stat_counts(g.stat)
        out[g.kind + "_failed"] = bad
        # created but neither successful nor failed: cut short
        out[g.kind + "_unfinished"] = max(0, c - ok - bad)
        out[g.kind + "_created"] = c
        out[g.kind + "_ok"] = ok
        out[g.kind + "_short"] = max(0, g.calls - c)
    out["agent_failed"] = final["agent_failed"]
    out["plain_uas_failed"] = final["plain_uas_failed"]
    db = final.get("_db") or {}
    out["ly_failed_5xx"] = db.get("failed5xx", 0)
    out["ly_sys_abnormal"] = db.get("sys_abnormal", 0)
    out["still_up"] = final.get("active_calls") or 0
    return out


def total_failed(fl):
    return (fl.get("hotline_failed", 0) + fl.get("hotline_unfinished", 0) +
            fl.get("plain_failed", 0) + fl.get("plain_unfinished", 0) +
            fl.get("agent_failed", 0) + fl.get("plain_uas_failed", 0) +
            fl.get("ly_failed_5xx", 0) + fl.get("ly_sys_abnormal", 0) +
            fl.get("still_up", 0))


def slope_per_min(rows, key):
    pts = [(r["t_s"], r[key]) for r in rows if r.get(key) is not None]
    if len(pts) < 3:
        return None
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return 60.0 * sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def diagnose(final, gens, soak):
    lines = []
    db = final.get("_db") or {}
    for k, n in sorted(db.get("why", {}).items(), key=lambda kv: -kv[1])[:8]:
        lines.append("laoyou record: %5d  %s" % (n, k))
    for g in gens:
        if g.kind == "hotline":
            oc = {k: v for k, v in g.outcomes.items() if k != "connected"}
            if oc:
                lines.append("hotline callers saw: " + ", ".join(
                    "%s %d" % kv for kv in sorted(oc.items(), key=lambda kv: -kv[1])))
        # (sipp logs a receive timeout that has an ontimeout branch too:
        # only a generator with failed calls is worth reading)
        c, ok, bad = stat_counts(g.stat)
        if bad or c - ok - bad > 0:
            for k, n in sipp_error_kinds(g.paths["errors.log"]):
                lines.append("%s sipp: %5d  %s" % (g.kind, n, k))
    for p in soak.agent_procs + [soak.puas]:
        if stat_counts(p.stat)[2]:
            for k, n in sipp_error_kinds(os.path.join(soak.out, p.name + ".errors.log"), 4):
                lines.append("%s sipp: %5d  %s" % (p.name, n, k))
    st = final.get("_stderr") or []
    if st:
        kinds = {}
        for line in st:
            k = re.sub(r"^\S+Z\s+", "", line)
            k = re.sub(r"\[[^\]]*@[^\]]*\]\s*", "", k)
            k = re.sub(r"\d+", "N", k)[:150]
            kinds[k] = kinds.get(k, 0) + 1
        lines.append("laoyou stderr: %d lines; most frequent:" % len(st))
        for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:6]:
            lines.append("  %6d  %s" % (n, k))
    return lines


def soak_summary(soak, a, rows, gens, rate, cap_note, cmd, shutdown_rc):
    final = rows[-1]
    loadrows = [r for r in rows if r["phase"] in ("warmup", "load")]
    post = [r for r in loadrows if r["phase"] == "load"]
    fl = failures(final, gens, soak)
    nfail = total_failed(fl)
    hot, plain = soak.rates(rate)

    def at_warmup(key):
        return post[0].get(key) if post else None

    def at_end(key):
        return post[-1].get(key) if post else None

    rss_w, rss_e = at_warmup("rss_kib"), at_end("rss_kib")
    growth = None if not rss_w or rss_e is None else 100.0 * (rss_e - rss_w) / rss_w
    rss_max = max((r["rss_kib"] for r in post if r.get("rss_kib")), default=None)
    fd_w, fd_e = at_warmup("fds"), at_end("fds")
    nr_w, nr_e = at_warmup("fds_not_rtp"), at_end("fds_not_rtp")
    rtp_w, rtp_e = at_warmup("rtp_sockets"), at_end("rtp_sockets")
    fd_max = max((r["fds"] for r in post if r.get("fds") is not None), default=None)
    cpu = [r["ly_cpu_pct"] for r in loadrows if r.get("ly_cpu_pct") is not None]
    cpu_post = [r["ly_cpu_pct"] for r in post if r.get("ly_cpu_pct") is not None]
    other = [r["other_cpu_pct"] for r in loadrows if r.get("other_cpu_pct") is not None]
    la = [r["loadavg1"] for r in loadrows if r.get("loadavg1") is not None]
    calls_up = [r["active_calls"] for r in loadrows if r.get("active_calls") is not None]
    regs = [r["registrations"] for r in loadrows if r.get("registrations") is not None]

    ok_fail = nfail == 0
    ok_rss = growth is not None and growth < 5.0
    # fds other than the RTP pool must not grow (2 allowed for the sampler's
    # own HTTP connection and a TCP straggler); the pool keeps released
    # pairs bound for reuse, up to 4096, by design: shown, judged apart
    ok_fd = nr_w is not None and nr_e is not None and nr_e <= nr_w + 2
    ok_fd_total = fd_w is not None and fd_e is not None and fd_e <= fd_w
    verdict = lambda ok: "PASS" if ok else "FAIL"

    log("")
    log("### bench/soak results")
    log("")
    log("%g min at %.1f calls/s (%s): %.1f hotline calls/s (welcome prompt, menu key 0 by"
        " RFC 4733, \"transferring you\", queue `hotline` longest-idle, %d agents: ring %g s,"
        " talk %g-%g s, wrap-up %d s) + %.1f plain extension calls/s (digest auth, talk"
        " %g-%g s).  Warm-up: the first %d %% (%.0f s).  Samples every %g s: %s."
        % (a.soak_minutes, rate, cap_note, hot, soak.n_agents, a.ring, a.hold * 0.4,
           a.hold * 1.6, a.wrapup, plain, a.plain_hold * 0.5, a.plain_hold * 1.5,
           a.warmup_pct, a.soak_minutes * 60 * a.warmup_pct / 100.0, a.sample_secs,
           os.path.join(soak.out, "samples.csv")))
    log("")
    log("| measure | value | target | verdict |")
    log("|---|---|---|---|")
    log("| calls made | hotline %d (connected to an agent: %d), plain %d | | |"
        % (fl.get("hotline_created", 0), final.get("connected", 0), fl.get("plain_created", 0)))
    log("| failed calls, sipp | hotline callers %d (+%d unfinished), plain callers %d"
        " (+%d unfinished), agents' phones %d, plain callees %d | 0 | %s |"
        % (fl.get("hotline_failed", 0), fl.get("hotline_unfinished", 0),
           fl.get("plain_failed", 0), fl.get("plain_unfinished", 0), fl["agent_failed"],
           fl["plain_uas_failed"],
           verdict(fl.get("hotline_failed", 0) + fl.get("hotline_unfinished", 0) +
                   fl.get("plain_failed", 0) + fl.get("plain_unfinished", 0) +
                   fl["agent_failed"] + fl["plain_uas_failed"] == 0)))
    log("| failed calls, laoyou's records | %d failed with 5xx by the system; %d other"
        " system endings (RTP/ACK/callee timeouts); %d calls still up after the drain | 0 | %s |"
        % (fl["ly_failed_5xx"], fl["ly_sys_abnormal"], fl["still_up"],
           verdict(fl["ly_failed_5xx"] + fl["ly_sys_abnormal"] + fl["still_up"] == 0)))
    log("| RSS at warm-up end -> end | %s -> %s MiB (%s; max after warm-up %s MiB; trend %s"
        " KiB/min) | growth < 5 %% | %s |"
        % ("%.1f" % (rss_w / 1024.0) if rss_w else "-", "%.1f" % (rss_e / 1024.0)
           if rss_e else "-", "%+.2f %%" % growth if growth is not None else "-",
           "%.1f" % (rss_max / 1024.0) if rss_max else "-",
           "%+.0f" % slope_per_min(post, "rss_kib") if slope_per_min(post, "rss_kib")
           is not None else "-", verdict(ok_rss)))
    log("| fds at warm-up end -> end, other than RTP sockets | %s -> %s (trend %s/min)"
        " | no growth | %s |"
        % (nr_w, nr_e, "%+.2f" % slope_per_min(post, "fds_not_rtp")
           if slope_per_min(post, "fds_not_rtp") is not None else "-", verdict(ok_fd)))
    log("| fds at warm-up end -> end, all (RTP pool sockets) | %s (%s) -> %s (%s); max %s"
        " | (pool bounded: 4096 pairs) | %s |"
        % (fd_w, rtp_w, fd_e, rtp_e, fd_max,
           "no growth" if ok_fd_total else "grew %+d" % (fd_e - fd_w)
           if fd_e is not None and fd_w is not None else "-"))
    log("| laoyou CPU | avg %s %% of a core (after warm-up %s %%), max %s %% | | |"
        % ("%.1f" % (sum(cpu) / len(cpu)) if cpu else "-",
           "%.1f" % (sum(cpu_post) / len(cpu_post)) if cpu_post else "-",
           "%.0f" % max(cpu) if cpu else "-"))
    log("| calls up at once | avg %s, max %s | | |"
        % ("%.0f" % (sum(calls_up) / len(calls_up)) if calls_up else "-",
           max(calls_up) if calls_up else "-"))
    log("| registrations | min %s, max %s (of %d phones) | | |"
        % (min(regs) if regs else "-", max(regs) if regs else "-", soak.n_phones))
    log("| machine | load average (1 min) avg %s, max %s; other programs avg %s %% of a core"
        " (%d cores) | | |"
        % ("%.1f" % (sum(la) / len(la)) if la else "-", "%.1f" % max(la) if la else "-",
           "%.0f" % (sum(other) / len(other)) if other else "-", os.cpu_count() or 0))
    log("| laoyou exit on SIGTERM | %s | 0 | %s |" % (shutdown_rc, verdict(shutdown_rc == 0)))
    log("")
    # the RSS curve: is it levelling off?
    pts = [r for r in loadrows if r.get("rss_kib")]
    if len(pts) >= 10:
        step = len(pts) / 10.0
        log("RSS at each tenth of the run (MiB): %s."
            % ", ".join("%.0f s %.1f" % (pts[min(len(pts) - 1, int(round(step * (i + 1))) - 1)]
                                         ["t_s"], pts[min(len(pts) - 1, int(round(
                                             step * (i + 1))) - 1)]["rss_kib"] / 1024.0)
                        for i in range(10)))
    rr = soak.rereg_runs
    if rr:
        log("Registrations refreshed %d times (%s)." % (len(rr), ", ".join(
            "%d/%d" % x for x in rr)))
    if fd_e is not None and drain_row(rows):
        d = drain_row(rows)
        log("After the drain: %s calls up, %s RTP pairs in use, %s fds (%s RTP pool sockets,"
            " %s others), RSS %.1f MiB."
            % (d.get("active_calls"), d.get("rtp_pairs_in_use"), d.get("fds"),
               d.get("rtp_sockets"), d.get("fds_not_rtp"), (d.get("rss_kib") or 0) / 1024.0))
    lines = diagnose(final, gens, soak)
    if lines:
        log("")
        log("What went wrong, by kind:")
        for x in lines:
            log("  " + x)
    if other and sum(other) / len(other) >= 25:
        log("")
        log("WARNING: other programs used %.0f %% of a core on average, up to %.0f %% (the"
            " machine has %d): figures are skewed by them."
            % (sum(other) / len(other), max(other), os.cpu_count() or 0))
    log("")
    log("Targets: 0 failed calls %s, RSS growth < 5 %% %s, no fd growth %s."
        % (verdict(ok_fail), verdict(ok_rss), verdict(ok_fd)))
    log("Command: `%s`" % cmd)
    log("Logs: %s" % soak.out)
    return ok_fail and ok_rss and ok_fd


def drain_row(rows):
    return rows[-1] if rows and rows[-1]["phase"] == "end" else None


# --------------------------------------------------------------------- main

def agents_for(a, rate):
    """Agents enough that the queue is busy but does not overflow: the
    hotline's offered load (rate x handle time) over OCCUPANCY."""
    hot = rate * (1 - a.plain_share)
    handle = a.ring + a.hold + a.wrapup + 0.3     # + INVITE/INFO round trips
    return max(4, int(math.ceil(hot * handle / a.occupancy)))


def run_ramp(a, out, cmd):
    """Steps of the soak workload; the highest rate with 0 failed calls."""
    soak = Soak(a, out)
    top = max(a.ramp_rates)
    n_agents = a.agents or agents_for(a, top)
    log("== ramp: %s calls/s, %g s each; %d agents (sized for %g calls/s at occupancy %.2f)"
        % (" ".join("%g" % r for r in a.ramp_rates), a.step_secs, n_agents, top, a.occupancy))
    soak.setup(n_agents)
    results = []
    best = None
    csv_path = os.path.join(out, "ramp.csv")
    for rate in a.ramp_rates:
        if soak.elapsed() + a.step_secs + 90 > a.max_total_secs:
            log("  %g calls/s skipped: it would end after MAX_TOTAL_SECS=%d"
                % (rate, a.max_total_secs))
            break
        log("-- step %g calls/s" % rate)
        rows, gens = soak.run_phase(rate, a.step_secs, "ramp%g" % rate, csv_path)
        final = rows[-1]
        fl = failures(final, gens, soak)
        n = total_failed(fl)
        short = sum(fl.get(k + "_short", 0) for k in ("hotline", "plain"))
        cpu = [r["ly_cpu_pct"] for r in rows if r["phase"] in ("warmup", "load")
               and r.get("ly_cpu_pct") is not None]
        other = [r["other_cpu_pct"] for r in rows if r["phase"] in ("warmup", "load")
                 and r.get("other_cpu_pct") is not None]
        held = n == 0 and short == 0
        results.append((rate, n, fl, cpu, other, held, final))
        log("  step %g calls/s: %d failed (%s)%s; laoyou CPU avg %s %%; other %s %%  %s"
            % (rate, n, ", ".join("%s %d" % (k, v) for k, v in fl.items()
                                  if v and not k.endswith(("_created", "_ok"))) or "-",
               ", %d calls not created" % short if short else "",
               "%.0f" % (sum(cpu) / len(cpu)) if cpu else "-",
               "%.0f" % (sum(other) / len(other)) if other else "-",
               "held" if held else "NOT HELD"))
        if not held:
            for x in diagnose(final, gens, soak):
                log("    " + x)
            break
        best = rate
    log("")
    log("### bench/soak ramp")
    log("")
    log("| calls/s | failed | laoyou CPU avg | other programs avg | held |")
    log("|---|---|---|---|---|")
    for rate, n, fl, cpu, other, held, _ in results:
        log("| %g | %d | %s %% | %s %% | %s |"
            % (rate, n, "%.0f" % (sum(cpu) / len(cpu)) if cpu else "-",
               "%.0f" % (sum(other) / len(other)) if other else "-", "yes" if held else "no"))
    log("")
    if best is None:
        log("Capacity: none held (the first step, %g calls/s, failed)" % a.ramp_rates[0])
    else:
        top_note = " (the top step: the limit is higher)" if best == a.ramp_rates[-1] else ""
        log("Capacity (highest rate with 0 failed calls): **%g calls/s**%s; 70 %%: %.1f calls/s"
            % (best, top_note, 0.7 * best))
    log("Command: `%s`" % cmd)
    log("Logs: %s" % out)
    st = PROCS.stop(soak.ly, grace=15)
    if st not in (0, None):
        log("laoyou exited %s on SIGTERM (want 0)" % st)
    return best


def run_soak(a, out, rate, cap_note, cmd):
    soak = Soak(a, out)
    n_agents = a.agents or agents_for(a, rate)
    secs = a.soak_minutes * 60
    hot, plain = soak.rates(rate)
    log("== soak: %g min at %.1f calls/s (%s): hotline %.1f/s, plain %.1f/s; %d agents"
        " (occupancy about %.2f), %d extensions; samples every %g s"
        % (a.soak_minutes, rate, cap_note, hot, plain, n_agents,
           hot * (a.ring + a.hold + a.wrapup + 0.3) / n_agents, a.staff, a.sample_secs))
    soak.setup(n_agents)
    log("   laoyou pid %d; load average now %s" % (soak.ly.pid, " ".join(
        "%.2f" % x for x in loadavg() if x is not None)))
    rows, gens = soak.run_phase(rate, secs, "soak", os.path.join(out, "samples.csv"),
                                warmup_secs=secs * a.warmup_pct / 100.0)
    if soak.rereg is not None:
        PROCS.stop(soak.rereg)
    # a clean stop: SIGTERM, then laoyou ends its calls and commits
    st = PROCS.stop(soak.ly, grace=15)
    final = rows[-1]
    final["_db"] = soak.db_counts(*final["_marks"]) or final["_db"]
    return soak_summary(soak, a, rows, gens, rate, cap_note, cmd, st)


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", dest="soak_minutes", type=float,
                    default=float(env("SOAK_MINUTES", "30")),
                    help="minutes of calls (default 30)")
    ap.add_argument("--capacity", default=env("CAPACITY", ""),
                    help="calls/s this workload holds with 0 failures; 'ramp' measures it"
                         " first (default %g, measured with RAMP=1)" % DEFAULT_CAPACITY)
    ap.add_argument("--rate", type=float, default=float(env("RATE", "0")),
                    help="calls/s in all (default 70%% of the capacity)")
    ap.add_argument("--plain-share", type=float, default=float(env("PLAIN_SHARE", "0.3")),
                    help="share of the calls that are plain extension calls (default 0.3)")
    ap.add_argument("--agents", type=int, default=int(env("AGENTS", "0")),
                    help="agents (default: hotline rate x handle time / OCCUPANCY)")
    ap.add_argument("--occupancy", type=float, default=float(env("OCCUPANCY", "0.85")),
                    help="agents' target occupancy when sizing them (default 0.85)")
    ap.add_argument("--agent-procs", type=int, default=int(env("AGENT_PROCS", "2")),
                    help="sipp processes answering for the agents (default 2)")
    ap.add_argument("--hold", type=float, default=float(env("HOLD", "5")),
                    help="agents' mean talk time, s; uniform 0.4x..1.6x (default 5)")
    ap.add_argument("--ring", type=float, default=float(env("RING", "1")),
                    help="seconds a phone rings before it answers (default 1)")
    ap.add_argument("--wrapup", type=int, default=int(env("WRAPUP", "1")),
                    help="queue wrap-up, s (default 1)")
    ap.add_argument("--plain-hold", type=float, default=float(env("PLAIN_HOLD", "4")),
                    help="plain calls' mean talk time, s; uniform 0.5x..1.5x (default 4)")
    ap.add_argument("--patience", type=float, default=float(env("PATIENCE", "60")),
                    help="seconds a caller waits for an agent after its key (default 60)")
    ap.add_argument("--announce", type=int, default=int(env("ANNOUNCE", "15")),
                    help="place-in-line announcement period, s (default 15)")
    ap.add_argument("--staff", type=int, default=int(env("STAFF", "20")),
                    help="plain extensions (default 20)")
    ap.add_argument("--sample-secs", type=float, default=float(env("SAMPLE_SECS", "10")))
    ap.add_argument("--warmup-pct", type=float, default=float(env("WARMUP_PCT", "20")))
    ap.add_argument("--rereg-secs", type=float, default=float(env("REREG_SECS", "300")),
                    help="refresh every registration this often, s; 0: never (default 300)")
    ap.add_argument("--key-margin", type=float, default=float(env("KEY_MARGIN", "1.5")),
                    help="seconds after the welcome prompt's end the key is sent (default 1.5)")
    ap.add_argument("--ramp", action="store_true", default=env("RAMP", "") == "1",
                    help="measure the capacity (steps of RAMP_RATES) instead of soaking")
    ap.add_argument("--ramp-rates", default=env("RAMP_RATES", "20 40 60 80 100 140 180"))
    ap.add_argument("--step-secs", type=float, default=float(env("STEP_SECS", "40")))
    ap.add_argument("--max-total-secs", type=int, default=int(env("MAX_TOTAL_SECS", "0")),
                    help="ramp: no step starts that would end after this (default 900)")
    ap.add_argument("--log-level", default=env("LOG_LEVEL", "warn"))
    ap.add_argument("--rtp-ports", default=env("RTP_PORTS", "2000-19999"),
                    help="laoyou rtp_ports (default 2000-19999: below the ephemeral range"
                         " and the system tests' 20000-32000)")
    ap.add_argument("--laoyou", default=env("LAOYOU", os.path.join(REPO, "build", "laoyou")))
    ap.add_argument("--sipp", default=env("SIPP", shutil.which("sipp") or "sipp"))
    ap.add_argument("--out", default=env("OUT", ""),
                    help="log directory (default: a new /tmp/laoyou-soak.*)")
    a = ap.parse_args()
    a.ramp_rates = [float(x) for x in a.ramp_rates.replace(",", " ").split()]
    if not a.max_total_secs:
        a.max_total_secs = 900
    if a.soak_minutes <= 0 or a.sample_secs < 1 or not 0 <= a.plain_share <= 1 \
            or a.occupancy <= 0 or a.agent_procs < 1 or a.staff < 2:
        ap.error("bad knob values")
    if not os.path.exists(DTMF_PCAP):
        ap.error("%s missing (Debian sip-tester)" % DTMF_PCAP)
    out = a.out or tempfile.mkdtemp(prefix="laoyou-soak.")
    os.makedirs(out, exist_ok=True)

    def on_signal(signum, frame):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    cmd = " ".join(["%s=%s" % (k, json.dumps(env(k)) if " " in env(k) else env(k))
                    for k in KNOBS if env(k)] + [env("SOAK_CMD") or sys.argv[0]]
                   + sys.argv[1:])
    rc = 0
    try:
        if not os.access(a.laoyou, os.X_OK):
            raise Abort("no laoyou binary at %s" % a.laoyou)
        log("== bench/soak: laoyou %s; logs in %s; %d cores, load average %s"
            % (a.laoyou, out, os.cpu_count() or 0,
               " ".join("%.2f" % x for x in loadavg() if x is not None)))
        if a.ramp:
            best = run_ramp(a, out, cmd)
            rc = 0 if best else 1
        else:
            if a.rate > 0:
                rate, note = a.rate, "RATE"
            elif a.capacity == "ramp":
                ro = os.path.join(out, "ramp")
                os.makedirs(ro, exist_ok=True)
                best = run_ramp(a, ro, cmd)
                PROCS.stop_all()
                if not best:
                    raise Abort("the ramp found no rate with 0 failed calls")
                rate, note = 0.7 * best, "70 %% of %g calls/s measured by the ramp" % best
            else:
                cap = float(a.capacity) if a.capacity else DEFAULT_CAPACITY
                rate = 0.7 * cap
                note = "70 %% of %g calls/s%s" % (
                    cap, "" if a.capacity else ", the capacity RAMP=1 measured (README)")
            ok = run_soak(a, out, rate, note, cmd)
            rc = 0 if ok else 1
    except KeyboardInterrupt:
        log("bench/soak: interrupted; stopping what it started")
        rc = 130
    except Abort as e:
        log("bench/soak: ERROR: %s" % e)
        rc = 2
    finally:
        PROCS.stop_all()
    return rc


if __name__ == "__main__":
    sys.exit(main())
