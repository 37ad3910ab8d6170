#!/usr/bin/env python3
"""laoyou bench/cps: highest short-call rate held with < 0.1 % failed calls.

Three paths are measured in one run, each over the same rate steps:

  direct    sipp UAC -> sipp UAS                     (generator ceiling)
  kamailio  sipp UAC -> Kamailio (tm, rr) -> sipp UAS (minimal stateful proxy)
  laoyou    sipp UAC -> laoyou (B2BUA)   -> sipp UAS (UAS registered to laoyou)

A call is INVITE (PCMU offer), [100] [180] 200, ACK, BYE, 200: no media.
Each step runs rate x STEP_SECS calls (sipp -r RATE -m CALLS); a step holds
when failed (or unfinished) calls < 0.1 % of the calls asked for and the
achieved rate is at least MIN_ACHIEVED of the step's rate.  A step that
does not hold is tried once more (RETRY); if that fails too, stepping stops.

Everything runs on 127.0.0.1 with ports this script picks free.  Every
process started is in its own process group and is ended by that id on
exit, error, Ctrl-C or SIGTERM.  Stdlib only.  Started by bench/cps/run.
"""

import argparse
import csv
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from benchlib import Procs, Abort, free_port as _free, pid_ticks, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HZ = os.sysconf("SC_CLK_TCK")

DEFAULT_RATES = "200 400 800 1200 1600 2000 2500 3000 3500 4000 4500 5000"
UAS_USER, UAS_SECRET, UAS_EXT = "uas", "pw", "2000"
UAC_USER, UAC_SECRET, UAC_EXT = "cpsuac", "cpsuac-secret", "1999"


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- processes


PROCS = Procs()


def group_ticks(pgid):
    """utime+stime (clock ticks) of every live process in group pgid."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        # rest[0] is field 3 (state); pgrp is field 5, utime 14, stime 15
        if int(rest[2]) == pgid:
            total += int(rest[11]) + int(rest[12])
    return total


def machine_busy_ticks():
    """Busy (non-idle, non-iowait) clock ticks of all CPUs, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]
    return sum(v[:8]) - v[3] - v[4]


def udp_drops(ports):
    """{port: datagrams dropped so far} for the UDP sockets bound to
    127.0.0.1:port, from the per-socket 'drops' column of /proc/net/udp
    (a full receive buffer); a port without a socket is left out."""
    want = {"0100007F:%04X" % p: p for p in ports if p}
    got = {}
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                v = line.split()
                p = want.get(v[1].upper())
                if p is not None and len(v) >= 13:
                    got[p] = got.get(p, 0) + int(v[12])
    except (OSError, ValueError, StopIteration):
        pass
    return got


# -------------------------------------------------------------------- ports


def port_range():
    """Where to look for free ports: above the kernel's ephemeral range if
    there is room (nothing is handed those ports behind our back), else
    below it.  Other programs on the machine (media relays) often take
    blocks in the 10000-32767 region, so avoid it where possible."""
    lo, hi = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    if 65500 - (hi + 1) >= 2000:
        return hi + 1, 65500
    return 1024, lo - 1


def pick_ports(n, span=8):
    """n base ports, each with base..base+span-1 free (UDP and TCP)."""
    lo, hi = port_range()
    got = []
    taken = set()
    for _ in range(5000):
        if len(got) == n:
            return got
        b = random.randrange(lo + span, hi - span) & ~7
        block = range(b, b + span)
        if taken.intersection(block):
            continue
        if all(_free(p) for p in block):
            got.append(b)
            taken.update(block)
    raise Abort("could not find %d free port blocks on 127.0.0.1" % n)


def udp_bound(port):
    want = ":%04X" % port
    try:
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                if line.split()[1].upper().endswith(want):
                    return True
    except OSError:
        pass
    return False


def sip_options_ok(port):
    """True when something answers a SIP OPTIONS on 127.0.0.1:port/udp."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        lp = s.getsockname()[1]
        tag = "%08x" % random.getrandbits(32)
        msg = ("OPTIONS sip:ping@127.0.0.1:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
               "From: <sip:probe@127.0.0.1:%d>;tag=%s\r\n"
               "To: <sip:ping@127.0.0.1:%d>\r\n"
               "Call-ID: probe-%s@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
               "Max-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
               % (port, lp, tag, lp, tag, port, tag))
        s.settimeout(0.2)
        s.sendto(msg.encode(), ("127.0.0.1", port))
        data = s.recv(4096)
        return data.startswith(b"SIP/2.0 ")
    except OSError:
        return False
    finally:
        s.close()


def health_json(url):
    """laoyou's GET /health as a dict, or None."""
    try:
        with urllib.request.urlopen(url, timeout=0.5) as r:
            body = r.read(4096)
            if r.status != 200:
                return None
            d = json.loads(body.decode("utf-8", "replace"))
            return d if isinstance(d, dict) else None
    except Exception:
        return None


# --------------------------------------------------------------------- sipp

def parse_stat_csv(path, calls):
    """Summary of a sipp -trace_stat file (one row a second), or None.

    The achieved rate is the rate at which calls were created: calls over
    the time until the last one was created (interpolated between the
    one-second rows), so a slow tail (a retransmission) does not lower it.
    """
    try:
        with open(path, newline="", errors="replace") as f:
            rows = [r for r in csv.reader(f, delimiter=";") if r]
    except OSError:
        return None
    if len(rows) < 2:
        return None
    head = [h.strip() for h in rows[0]]
    recs = []
    for row in rows[1:]:
        recs.append({h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(head)})

    def num(d, key):
        try:
            return float(d.get(key, "") or 0)
        except ValueError:
            return 0.0

    def epoch(d, key):
        # "2024-01-01\t12:00:00.123456\t1704110400.123456"
        v = d.get(key, "").split("\t")[-1].strip()
        try:
            return float(v)
        except ValueError:
            return None

    def created(d):
        return num(d, "TotalCallCreated") or num(d, "OutgoingCall(C)")

    last = recs[-1]
    t0 = epoch(last, "StartTime")
    achieved = None
    if t0 is not None:
        prev_t, prev_c = t0, 0.0
        for d in recs:
            t, c = epoch(d, "CurrentTime"), created(d)
            if t is None:
                continue
            if c >= calls and c > prev_c:
                t_done = prev_t + (calls - prev_c) / (c - prev_c) * (t - prev_t)
                if t_done > t0:
                    achieved = calls / (t_done - t0)
                break
            prev_t, prev_c = t, c
        else:
            t1 = epoch(last, "CurrentTime")
            if t1 is not None and t1 > t0:
                achieved = created(last) / (t1 - t0)
    return {
        "created": int(created(last)),
        "ok": int(num(last, "SuccessfulCall(C)")),
        "failed": int(num(last, "FailedCall(C)")),
        "retrans": int(num(last, "Retransmissions(C)")),
        "timeouts": int(num(last, "FailedTimeoutOnRecv(C)")),
        "maxretrans": int(num(last, "FailedMaxUDPRetrans(C)")),
        "unexpected": int(num(last, "FailedUnexpectedMessage(C)")),
        "achieved": achieved or 0.0,
    }


def first_lines(path, n=6, width=220, match=None):
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip()
                if line and (not match or any(m in line for m in match)):
                    out.append(line[:width])
                if len(out) >= n:
                    break
    except OSError:
        pass
    return out


def sipp_base(sipp, scen, port, mport, cport):
    return [sipp, "-sf", os.path.join(HERE, scen), "-i", "127.0.0.1",
            "-p", str(port), "-mp", str(mport), "-cp", str(cport),
            "-nostdin", "-buff_size", "1048576"]


# -------------------------------------------------------------------- bench

class Bench:
    def __init__(self, a, out):
        self.a = a
        self.out = out
        self.deadline = time.monotonic() + a.max_total_secs
        # blocks of 8 free ports: sipp uses base (SIP), base+1 (control
        # socket), base+2 and base+4 (media sockets it always opens)
        (self.uac_port, self.uas_port, self.kam_port, self.ly_sip,
         self.ly_http) = pick_ports(5)
        self.results = {}
        self.health_url = None      # polled during laoyou's steps
        self.sut_port = None        # the server's SIP port (UDP drops)

    # each path: start SUT (+UAS), returns (dest "ip:port", sut proc or None)
    def start_uas(self, tag):
        p = PROCS.start(
            "uas",
            sipp_base(self.a.sipp, "uas.xml", self.uas_port, self.uas_port + 2,
                      self.uas_port + 1)
            + ["-default_behaviors", "all,-abortunexp", "-trace_err", "-error_file", os.path.join(self.out, tag + ".uas.errors.log"),
               "-max_log_size", "20000000"],
            os.path.join(self.out, tag + ".uas.out"),
            os.path.join(self.out, tag + ".uas.stderr"))
        wait_until(lambda: udp_bound(self.uas_port), 10, p, "sipp UAS")
        return p

    def start_kamailio(self):
        kdir = os.path.join(self.out, "kamailio")
        os.makedirs(kdir, exist_ok=True)
        argv = [self.a.kamailio, "-f", os.path.join(HERE, "kamailio.cfg"),
                "-DD", "-E", "-m", str(self.a.kamailio_shm_mb), "-M", "16", "-Y", kdir, "-w", kdir,
                "-A", "LISTEN=udp:127.0.0.1:%d" % self.kam_port,
                "-A", 'UAS_HOSTPORT="127.0.0.1:%d"' % self.uas_port,
                "-A", "WORKERS=%d" % self.a.kamailio_workers]
        p = PROCS.start("kamailio", argv, None,
                        os.path.join(self.out, "kamailio.stderr"), cwd=kdir)
        wait_until(lambda: sip_options_ok(self.kam_port), 15, p, "kamailio")
        return p

    def laoyou_conf(self):
        d = os.path.join(self.out, "laoyou")
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "laoyou.conf")
        with open(conf, "w") as f:
            f.write("# written by bench/cps\n"
                    "sip_udp = 127.0.0.1:%d\n"
                    "sip_tcp = 127.0.0.1:%d\n"
                    "http = 127.0.0.1:%d\n"
                    "rtp_ip = 127.0.0.1\n"
                    "rtp_ports = %s\n"
                    "db = %s\n"
                    "log_level = %s\n"
                    "max_calls = 100000\n"
                    "flood_invite = 0\nflood_register = 0\nflood_options = 0\n"
                    % (self.ly_sip, self.ly_sip + 1, self.ly_http, self.a.rtp_ports,
                       os.path.join(d, "laoyou.db"), self.a.laoyou_log_level))
        return conf

    def laoyou_cli(self, args, conf):
        argv = [self.a.laoyou] + args + ["-c", conf]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise Abort("`%s` failed (%d): %s" % (" ".join(argv), r.returncode,
                                                  r.stdout.decode(errors="replace").strip()[:600]))

    def start_laoyou(self):
        conf = self.laoyou_conf()
        self.laoyou_cli(["account", "add", UAC_USER, "--secret", UAC_SECRET,
                         "--ext", UAC_EXT, "--kind", "trunk",
                         "--from-addr", "127.0.0.1:%d" % self.uac_port,
                         "--max-calls", "100000"], conf)
        self.laoyou_cli(["account", "add", UAS_USER, "--secret", UAS_SECRET,
                         "--ext", UAS_EXT, "--max-calls", "100000"], conf)
        p = PROCS.start("laoyou", [self.a.laoyou, "run", "-c", conf], None,
                        os.path.join(self.out, "laoyou.stderr"))
        url = "http://127.0.0.1:%d/health" % self.ly_http
        wait_until(lambda: health_json(url) is not None, 15, p, "laoyou (GET /health)")
        self.health_url = url
        return p

    def register_uas(self):
        """REGISTER the UAS port's contact with laoyou (digest), sipp -m 1."""
        err = os.path.join(self.out, "laoyou.register.errors.log")
        argv = sipp_base(self.a.sipp, "register.xml", self.uas_port,
                         self.uas_port + 2, self.uas_port + 1) + [
            "-s", UAS_USER, "-au", UAS_USER, "-ap", UAS_SECRET, "-m", "1",
            "-timeout", "10", "-timeout_error", "-recv_timeout", "5000",
            "-trace_err", "-error_file", err,
            "127.0.0.1:%d" % self.ly_sip]
        p = PROCS.start("register", argv, os.path.join(self.out, "laoyou.register.out"),
                        os.path.join(self.out, "laoyou.register.stderr"))
        try:
            rc = p.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        PROCS.stop(p)
        if rc != 0:
            detail = first_lines(err, 12) or first_lines(
                os.path.join(self.out, "laoyou.register.stderr"), 12)
            raise Abort("UAS REGISTER to laoyou failed (sipp exit %s):\n    %s"
                        % (rc, "\n    ".join(detail) or "(no sipp error log)"))
        # let the kernel release the port before the UAS binds it
        wait_until(lambda: not udp_bound(self.uas_port), 5, None, "register sipp port release")

    def run_step(self, tag, dest, rate, sut, uas, attempt):
        a = self.a
        calls = max(rate * a.step_secs, 100)
        name = "%s.r%d%s" % (tag, rate, ".retry" if attempt else "")
        stat = os.path.join(self.out, name + ".stat.csv")
        err = os.path.join(self.out, name + ".errors.log")
        for f in (stat, err):
            if os.path.exists(f):
                os.unlink(f)
        tmo = a.step_secs * 2 + 10
        argv = sipp_base(a.sipp, "uac.xml", self.uac_port, self.uac_port + 2,
                         self.uac_port + 1) + [
            "-s", UAS_EXT, "-r", str(rate), "-m", str(calls),
            "-l", str(max(rate * 3, 1000)),
            "-recv_timeout", "5000", "-timeout", str(tmo),
            "-trace_stat", "-stf", stat, "-fd", "1",
            "-trace_err", "-error_file", err, "-max_log_size", "20000000",
            dest]
        sut_t0 = group_ticks(sut.pid) if sut else None
        uas_t0 = pid_ticks(uas.pid)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0 = machine_busy_ticks()
        d0 = udp_drops([self.sut_port, self.uas_port])
        uac_drops = 0
        w0 = time.monotonic()
        p = PROCS.start("uac", argv, os.path.join(self.out, name + ".uac.out"),
                        os.path.join(self.out, name + ".uac.stderr"))
        peak = {}
        end = w0 + tmo + 10
        rc = None
        while True:
            # the UAC's socket goes with it: read its count while it lives
            uac_drops = max(uac_drops, udp_drops([self.uac_port]).get(self.uac_port, 0))
            if self.health_url:
                h = health_json(self.health_url)
                for k in ("active_calls", "rtp_ports_in_use"):
                    if h and isinstance(h.get(k), int):
                        peak[k] = max(peak.get(k, 0), h[k])
            try:
                rc = p.wait(0.5)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > end:
                    break
        PROCS.stop(p)
        wall = time.monotonic() - w0
        after = health_json(self.health_url) if self.health_url else None
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1 = machine_busy_ticks()
        d1 = udp_drops([self.sut_port, self.uas_port])
        sut_cpu = None
        if sut is not None and sut.poll() is None:
            sut_cpu = 100.0 * (group_ticks(sut.pid) - sut_t0) / HZ / wall
        uas_t1 = pid_ticks(uas.pid)
        uas_cpu = 100.0 * (uas_t1 - uas_t0) / HZ / wall if uas_t1 is not None else None
        uac_cpu = 100.0 * ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / wall

        # CPU the rest of the machine used meanwhile (other programs; also
        # this script's own /health polling): a busy neighbour skews steps
        other_cpu = None
        if busy0 is not None and busy1 is not None:
            other_cpu = max(0.0, 100.0 * (busy1 - busy0) / HZ / wall
                            - (sut_cpu or 0) - uac_cpu - (uas_cpu or 0))
        st = parse_stat_csv(stat, calls)
        r = {"rate": rate, "calls": calls, "rc": rc, "wall": wall, "sut_cpu": sut_cpu,
             "uac_cpu": uac_cpu, "uas_cpu": uas_cpu, "other_cpu": other_cpu,
             "drops": {"sut": (d1[self.sut_port] - d0.get(self.sut_port, 0))
                               if self.sut_port in d1 else None,
                       "uac": uac_drops,
                       "uas": (d1[self.uas_port] - d0.get(self.uas_port, 0))
                               if self.uas_port in d1 else None},
             "errors_log": err,
             "stat": stat, "attempt": attempt, "peak": peak, "after": after}
        if st is None:
            r.update(ok=0, failed=calls, bad=calls, achieved=0.0, retrans=0,
                     note="no sipp statistics (see %s)" % (name + ".uac.stderr"))
        else:
            bad = max(st["failed"], calls - st["ok"])
            achieved = st["achieved"]
            r.update(ok=st["ok"], failed=st["failed"], bad=bad, achieved=achieved,
                     retrans=st["retrans"], note="")
            parts = []
            for k in ("timeouts", "maxretrans", "unexpected"):
                if st[k]:
                    parts.append("%s=%d" % (k, st[k]))
            if calls - st["ok"] - st["failed"] > 0:
                parts.append("unfinished=%d" % (calls - st["ok"] - st["failed"]))
            r["note"] = " ".join(parts)
        r["fail_ratio"] = r["bad"] / calls
        r["held"] = (r["fail_ratio"] < a.max_fail and
                     r["achieved"] >= a.min_achieved * rate)
        if sut is not None and sut.poll() is not None:
            r["held"] = False
            r["note"] = (r["note"] + " SUT EXITED (status %s)" % sut.returncode).strip()
        return r

    def print_step(self, tag, r):
        def pct(v):
            return "%5.0f%%" % v if v is not None else "     -"
        log("  %-8s %5d cps %6d calls  ok %6d  bad %5d (%6.3f%%)  achieved %7.1f cps"
            "  retrans %5d  drops %s  cpu: sut %s uac %s uas %s other %s  %s%s"
            % (tag, r["rate"], r["calls"], r["ok"], r["bad"], 100 * r["fail_ratio"],
               r["achieved"], r["retrans"],
               "/".join("-" if r["drops"][k] is None else str(r["drops"][k])
                        for k in ("sut", "uac", "uas")),
               pct(r["sut_cpu"]), pct(r["uac_cpu"]),
               pct(r["uas_cpu"]), pct(r["other_cpu"]), "held" if r["held"] else "NOT HELD",
               ("  [" + r["note"] + "]") if r["note"] else ""))
        if r.get("peak"):
            pk, af = r["peak"], r.get("after") or {}
            log("  %-8s          laoyou /health: peak active_calls %s, rtp_ports_in_use %s;"
                " after the step %s, %s (of %s)"
                % ("", pk.get("active_calls", "?"), pk.get("rtp_ports_in_use", "?"),
                   af.get("active_calls", "?"), af.get("rtp_ports_in_use", "?"),
                   af.get("rtp_ports_total", "?")))

    def run_path(self, tag):
        a = self.a
        res = {"tag": tag, "steps": [], "best": None, "error": None, "capped": False,
               "first_fail": None}
        self.results[tag] = res
        sut = uas = None
        try:
            if tag == "direct":
                dest = "127.0.0.1:%d" % self.uas_port
            elif tag == "kamailio":
                sut = self.start_kamailio()
                dest = "127.0.0.1:%d" % self.kam_port
                self.sut_port = self.kam_port
            elif tag == "laoyou":
                if not a.laoyou or not os.access(a.laoyou, os.X_OK):
                    raise Abort("no laoyou binary at %s" % a.laoyou)
                sut = self.start_laoyou()
                self.register_uas()
                dest = "127.0.0.1:%d" % self.ly_sip
                self.sut_port = self.ly_sip
            else:
                raise Abort("unknown path %s" % tag)
            uas = self.start_uas(tag)
            rates = a.rates
            for i, rate in enumerate(rates):
                if time.monotonic() > self.deadline:
                    res["error"] = "time budget (%d s) used up before the %d cps step" % (
                        a.max_total_secs, rate)
                    log("  %s: %s" % (tag, res["error"]))
                    break
                r = self.run_step(tag, dest, rate, sut, uas, 0)
                self.print_step(tag, r)
                res["steps"].append(r)
                if not r["held"] and a.retry and (sut is None or sut.poll() is None):
                    time.sleep(a.gap)
                    r = self.run_step(tag, dest, rate, sut, uas, 1)
                    self.print_step(tag + "*", r)
                    res["steps"].append(r)
                if not r["held"]:
                    res["first_fail"] = r
                    break
                res["best"] = r
                if i == len(rates) - 1:
                    res["capped"] = True
                time.sleep(a.gap)
        except Abort as e:
            res["error"] = str(e)
            log("  %s: ERROR: %s" % (tag, e))
        finally:
            if uas is not None:
                PROCS.stop(uas)
            if sut is not None:
                st = PROCS.stop(sut)
                res["sut_exit"] = st
            self.health_url = None
            self.sut_port = None
        return res

    def diagnose(self, res):
        """Error-log lines of the first step that did not hold."""
        r = res.get("first_fail")
        lines = []
        if r is None:
            return lines
        # what the UAC got instead of what it expected, counted
        counts = {}
        try:
            with open(r["errors_log"], errors="replace") as f:
                text = f.read(50000000)
            for m in re.finditer(r"while expecting '([^']*)'[^']*?received '([^\r\n']*)", text):
                k = "expected %s, got %s" % (m.group(1), m.group(2).strip())
                counts[k] = counts.get(k, 0) + 1
            for m in re.finditer(r"(receive timeout on message [^ ]+ [^ ]+|"
                                 r"[Mm]ax (?:UDP )?retrans[^\r\n:]{0,60})", text):
                k = m.group(1).strip()
                counts[k] = counts.get(k, 0) + 1
        except OSError:
            pass
        if counts:
            lines.append("sipp UAC failures by kind:")
            for k, n in sorted(counts.items(), key=lambda kv: -kv[1])[:5]:
                lines.append("  %6d  %s" % (n, k[:160]))
        el = first_lines(r["errors_log"], 8)
        if el:
            lines.append("sipp UAC errors (%s):" % os.path.basename(r["errors_log"]))
            lines += ["  " + x for x in el]
        uasl = os.path.join(self.out, res["tag"] + ".uas.errors.log")
        el = first_lines(uasl, 6)
        if el:
            lines.append("sipp UAS errors (%s):" % os.path.basename(uasl))
            lines += ["  " + x for x in el]
        if res["tag"] in ("laoyou", "kamailio"):
            se = os.path.join(self.out, res["tag"] + ".stderr")
            el = first_lines(se, 8, match=("ERROR", "CRITICAL", "BUG")
                             if res["tag"] == "kamailio" else None)
            if el:
                n = 0
                try:
                    with open(se, errors="replace") as f:
                        n = sum(1 for _ in f)
                except OSError:
                    pass
                lines.append("%s stderr (%s, %d lines; first ones):"
                             % (res["tag"], os.path.basename(se), n))
                lines += ["  " + x for x in el]
        return lines


def summary(b, a):
    R = b.results

    def rate_of(tag):
        res = R.get(tag)
        if not res or not res["best"]:
            return None
        return res["best"]["rate"]

    log("")
    log("== bench/cps summary: short calls (INVITE/200/ACK/BYE, no media), UDP on 127.0.0.1,"
        " %d s per step; held = failed < %.1f%% and achieved >= %d%% of the step rate"
        % (a.step_secs, 100 * a.max_fail, round(100 * a.min_achieved)))
    for tag in a.paths:
        res = R.get(tag)
        if res is None:
            continue
        best = res["best"]
        if best:
            more = "+" if res["capped"] else ""
            cpu = ""
            if best["sut_cpu"] is not None:
                cpu = "  %s CPU %.0f%%" % (tag, best["sut_cpu"])
            log("  %-9s %5d%s cps  (achieved %.1f cps, %d/%d ok)%s%s"
                % (tag, best["rate"], more, best["achieved"], best["ok"], best["calls"], cpu,
                   "  [reached the top step]" if res["capped"] else ""))
        else:
            log("  %-9s   n/a   (%s)" % (tag, res["error"] or "no step held"))
        if res["error"] and best:
            log("            note: %s" % res["error"])
        ff = res.get("first_fail")
        if ff is not None:
            log("            first step not held: %d cps: %d of %d bad (%.3f%%), achieved %.1f cps%s"
                % (ff["rate"], ff["bad"], ff["calls"], 100 * ff["fail_ratio"], ff["achieved"],
                   (" [" + ff["note"] + "]") if ff["note"] else ""))
            for line in b.diagnose(res):
                log("              " + line)
    ly, km, di = rate_of("laoyou"), rate_of("kamailio"), rate_of("direct")

    def ratio(x, y):
        return "%.2f" % (x / y) if x and y else "n/a"

    log("  ratios    laoyou/kamailio = %s   laoyou/direct = %s   kamailio/direct = %s"
        % (ratio(ly, km), ratio(ly, di), ratio(km, di)))
    lres = R.get("laoyou")
    if lres and lres["best"] and lres["best"]["sut_cpu"] is not None:
        log("  laoyou CPU at %d cps: %.0f%% of one core (utime+stime over the step)"
            % (lres["best"]["rate"], lres["best"]["sut_cpu"]))
    others = [st["other_cpu"] for res in R.values() for st in res["steps"]
              if st.get("other_cpu") is not None]
    if others and max(others) >= 15:
        log("  WARNING   other programs used up to %.0f%% of a core during the steps"
            " (column 'other'; the machine has %d cores): figures are skewed by them"
            % (max(others), os.cpu_count() or 0))
    capped = [t for t in ("kamailio", "direct") if R.get(t) and R[t]["capped"]]
    if capped:
        log("  note      %s held the top step (%d cps): the true ceiling is higher, so a ratio"
            " against it is an upper bound; add steps (RATES=...) to find it"
            % (" and ".join(capped), a.rates[-1]))
    ok1 = ly is not None and ly >= a.target_cps
    ok2 = ly is not None and km is not None and ly >= a.target_ratio * km
    def verdict(ok, known):
        return "PASS" if ok else ("FAIL" if known else "n/a (not measured)")
    log("  targets   laoyou >= %d cps: %s   laoyou >= %.1fx kamailio: %s"
        % (a.target_cps, verdict(ok1, ly is not None or "laoyou" in R),
           a.target_ratio, verdict(ok2, (ly is not None or "laoyou" in R)
                                   and (km is not None or "kamailio" in R))))
    log("  logs      %s" % b.out)
    return ok1 and ok2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ.get
    ap.add_argument("--paths", default=env("PATHS", "direct kamailio laoyou"),
                    help="which paths, in order (default: direct kamailio laoyou)")
    ap.add_argument("--rates", default=env("RATES", DEFAULT_RATES),
                    help="rate steps in calls/s (default: %s)" % DEFAULT_RATES)
    ap.add_argument("--step-secs", type=int, default=int(env("STEP_SECS", "5")),
                    help="seconds of calls per step: sipp -m = rate x this (default 5)")
    ap.add_argument("--max-fail", type=float, default=float(env("MAX_FAIL", "0.001")),
                    help="failed/total must be below this (default 0.001)")
    ap.add_argument("--min-achieved", type=float, default=float(env("MIN_ACHIEVED", "0.95")),
                    help="achieved rate must be at least this share of the step (default 0.95)")
    ap.add_argument("--retry", type=int, default=int(env("RETRY", "1")),
                    help="retry the first step that does not hold once (1) or not (0)")
    ap.add_argument("--gap", type=float, default=float(env("GAP", "1")),
                    help="seconds of rest between steps (default 1)")
    ap.add_argument("--max-total-secs", type=int, default=int(env("MAX_TOTAL_SECS", "330")),
                    help="no new step starts after this many seconds (default 330)")
    ap.add_argument("--laoyou", default=env("LAOYOU", os.path.join(REPO, "build", "laoyou")))
    ap.add_argument("--laoyou-log-level", default=env("LAOYOU_LOG_LEVEL", "warn"))
    ap.add_argument("--rtp-ports", default=env("RTP_PORTS", "40000-49999"),
                    help="laoyou rtp_ports (default 40000-49999)")
    ap.add_argument("--kamailio", default=env("KAMAILIO", shutil.which("kamailio")
                                              or "/usr/sbin/kamailio"))
    ap.add_argument("--kamailio-workers", type=int, default=int(env("KAMAILIO_WORKERS", "2")),
                    help="Kamailio UDP worker processes (default 2, one per core)")
    ap.add_argument("--kamailio-shm-mb", type=int, default=int(env("KAMAILIO_SHM_MB", "1024")),
                    help="Kamailio shared memory, MB (default 1024: tm keeps ended"
                         " transactions ~5 s, which at 2000+ cps outgrows 256 MB)")
    ap.add_argument("--sipp", default=env("SIPP", shutil.which("sipp") or "/usr/bin/sipp"))
    ap.add_argument("--target-cps", type=int, default=1800)
    ap.add_argument("--target-ratio", type=float, default=0.9)
    ap.add_argument("--check", action="store_true", default=env("CHECK", "") == "1",
                    help="exit 1 when a target is missed")
    ap.add_argument("--out", default=env("OUT", ""),
                    help="log directory (default: a new /tmp/laoyou-cps.* directory)")
    a = ap.parse_args()
    a.paths = a.paths.replace(",", " ").split()
    a.rates = sorted({int(x) for x in a.rates.replace(",", " ").split()})
    if a.step_secs < 1 or not a.rates:
        ap.error("need --step-secs >= 1 and at least one rate")

    out = a.out or tempfile.mkdtemp(prefix="laoyou-cps.")
    os.makedirs(out, exist_ok=True)

    def on_signal(signum, frame):
        # once: let the cleanup run to its end on a second Ctrl-C
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt()
    # also SIGINT: a shell may have started us with it ignored
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    for tool in (a.sipp,) + ((a.kamailio,) if "kamailio" in a.paths else ()):
        if not tool or not os.access(tool, os.X_OK):
            log("bench/cps: missing tool %s" % tool)
            return 2

    b = None
    try:
        b = Bench(a, out)
        log("== bench/cps: paths %s; steps %s cps; %d s per step; ports uac %d uas %d"
            " kamailio %d laoyou sip %d http %d; logs in %s"
            % (" ".join(a.paths), " ".join(map(str, a.rates)), a.step_secs, b.uac_port,
               b.uas_port, b.kam_port, b.ly_sip, b.ly_http, out))
        for tag in a.paths:
            log("-- %s" % tag)
            b.run_path(tag)
        passed = summary(b, a)
    except KeyboardInterrupt:
        log("bench/cps: interrupted; stopping everything it started")
        return 130
    except Abort as e:
        log("bench/cps: ERROR: %s" % e)
        return 2
    finally:
        PROCS.stop_all()
    if a.check and not passed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
