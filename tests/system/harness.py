"""System-test harness: starts laoyou and real peers (sipp, baresip) on
127.0.0.1 with ephemeral ports, and kills what it started, by PID."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAOYOU = os.environ.get("LAOYOU", os.path.join(ROOT, "build", "laoyou"))
SIPP_DATA = "/usr/share/sip-tester"
# The sanitizer build has no prompts of its own: use the normal build's.
PROMPTS = next(p for p in (os.path.join(os.path.dirname(LAOYOU), "prompts"),
                           os.path.join(ROOT, "build", "prompts"))
               if os.path.isdir(p) or p.endswith(os.path.join("build", "prompts")))

_started = []   # every child process, so a failed test still cleans up
_servers = []   # every laoyou of the current test


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


_handed_out = set()


def free_port(kind=socket.SOCK_DGRAM, pair=False):
    """A port free for UDP and TCP (and port+1..+3 too if pair: sipp's media
    uses four, UDP only — TCP's TIME-WAIT sockets do not matter there),
    never the same one twice in a run."""
    kinds = (socket.SOCK_DGRAM,) if pair else (socket.SOCK_DGRAM, socket.SOCK_STREAM)
    for _ in range(500):
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if pair and port % 2:
            continue
        ok = port not in _handed_out
        span = [port, port + 1, port + 2, port + 3] if pair else [port]
        for p in span if ok else []:
            for k in kinds:
                t = socket.socket(socket.AF_INET, k)
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                finally:
                    t.close()
        if ok and port < 60000:
            _handed_out.update(span)
            return port
    raise RuntimeError("no free port")


def free_range(n):
    """n consecutive free-looking ports for RTP (best effort, randomised)."""
    import random
    base = random.randrange(20000, 32000, 2)  # below the ephemeral range
    return base, base + n - 1


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    _started.append(p)
    return p


def finish_servers():
    """Stop the test's servers gracefully and return what went wrong:
    a sanitizer report, a crash, an unclean exit."""
    problems = []
    for srv in _servers:
        if srv.proc and srv.proc.poll() is None:
            try:
                rc = srv.stop(signal.SIGTERM, timeout=10)
            except TestFailure as e:
                problems.append(str(e))
                continue
            if rc != 0:
                problems.append(f"laoyou exited {rc} on SIGTERM")
        text = srv.logtext() if os.path.exists(srv.log) else ""
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:"):
            if mark in text:
                i = text.index(mark)
                problems.append("sanitizer: " + text[i:i + 1500])
    _servers.clear()
    return problems


def kill_all():
    for p in _started:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    _started.clear()


class Laoyou:
    """One laoyou server with its own temp dir, database and ports."""

    def __init__(self, extra=None, env=None, tmp=None, wrap=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="laoyou-test-")
        self.sip_port = free_port()
        self.http_port = free_port(socket.SOCK_STREAM)
        lo, hi = free_range(400)
        self.rtp = (lo, hi)
        self.db = os.path.join(self.tmp, "laoyou.db")
        self.conf = os.path.join(self.tmp, "laoyou.conf")
        self.log = os.path.join(self.tmp, "laoyou.log")
        self.env = env
        self.wrap = wrap or []
        self.proc = None
        _servers.append(self)
        settings = {
            "sip_udp": f"127.0.0.1:{self.sip_port}",
            "sip_tcp": f"127.0.0.1:{self.sip_port}",
            "http": f"127.0.0.1:{self.http_port}",
            "rtp_ip": "127.0.0.1",
            "rtp_ports": f"{lo}-{hi}",
            "db": self.db,
            "prompts_dir": PROMPTS,
            "log_level": "debug",
        }
        settings.update(extra or {})
        self.write_conf(settings)

    def write_conf(self, settings):
        self.settings = settings
        with open(self.conf, "w") as f:
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")

    def cli(self, *args, check_rc=True):
        r = subprocess.run([LAOYOU, *args, "-c", self.conf],
                           capture_output=True, text=True, timeout=30)
        if check_rc and r.returncode != 0:
            raise TestFailure(f"laoyou {' '.join(args)}: rc={r.returncode} {r.stderr}")
        return r

    def add_account(self, user, secret=None, ext=None, kind="agent", *more):
        args = ["account", "add", user, "--ext", ext or user, "--kind", kind]
        if secret:
            args += ["--secret", secret]
        args += list(more)
        return self.cli(*args)

    def start(self, wait=True, tries=3):
        """Start and wait for /health.  Another program may take a port
        between our check and the bind: then choose new ports and retry."""
        for attempt in range(tries):
            try:
                return self._start(wait)
            except TestFailure:
                if attempt == tries - 1 or "Address already in use" not in self.tail():
                    raise
                self.sip_port = free_port()
                self.http_port = free_port(socket.SOCK_STREAM)
                self.settings.update({"sip_udp": f"127.0.0.1:{self.sip_port}",
                                      "sip_tcp": f"127.0.0.1:{self.sip_port}",
                                      "http": f"127.0.0.1:{self.http_port}"})
                self.write_conf(self.settings)

    def _start(self, wait=True):
        logf = open(self.log, "a")
        self.proc = spawn(self.wrap + [LAOYOU, "run", "-c", self.conf],
                          stdout=logf, stderr=logf, env=self.env)
        if wait:
            deadline = time.time() + 15
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise TestFailure(f"laoyou exited rc={self.proc.returncode}:\n{self.tail()}")
                try:
                    self.health()
                    return self
                except OSError:
                    time.sleep(0.05)
            raise TestFailure("laoyou did not come up:\n" + self.tail())
        return self

    def health(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/health", timeout=2) as r:
            return json.loads(r.read())

    def http(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}",
                                     method=method, data=body)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("laoyou did not stop within %ss" % timeout)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def tail(self, n=40):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_for(self, pred, timeout=10, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if pred():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TestFailure(f"timed out waiting for {what}\n{self.tail()}")

    def cdrs(self):
        con = sqlite3.connect(self.db, timeout=5)
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM cdr ORDER BY id")]
        con.close()
        return rows

    def sql(self, q, *args):
        con = sqlite3.connect(self.db, timeout=5)
        rows = con.execute(q, args).fetchall()
        con.close()
        return rows


# ---------------------------------------------------------------- sipp

SDP = """v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP {codecs} 101
{rtpmaps}a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
{extra}"""

RTPMAP = {"0": "a=rtpmap:0 PCMU/8000\n", "8": "a=rtpmap:8 PCMA/8000\n",
          "18": "a=rtpmap:18 G729/8000\n"}


def sdp(codecs="8 0", extra=""):
    return SDP.format(codecs=codecs, extra=extra,
                      rtpmaps="".join(RTPMAP.get(c, "") for c in codecs.split()))


def _msg(body):
    return "  <send retrans=\"500\">\n    <![CDATA[\n" + body.strip("\n") + "\n\n    ]]>\n  </send>\n"


def _hdrs(method, cseq, auth=False, branch="[branch]", extra=""):
    lines = [
        f"{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=" + branch,
        "From: <sip:[$caller]@[local_ip]>;tag=[pid]SIPpTag00[call_number]",
        "To: <sip:[service]@[remote_ip]:[remote_port]>" + ("[peer_tag_param]" if method in ("BYE",) else ""),
        "Call-ID: [call_id]",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:[$caller]@[local_ip]:[local_port];transport=[transport]>",
        "Max-Forwards: 70",
    ]
    if auth:
        lines.append("[authentication]")
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def uac_scenario(expect=200, auth=True, hold_ms=1000, pcap=None, codecs="8 0",
                 cancel_after_ms=None, reinvite_hold=False, bye=True,
                 wait_bye=False, extra_hdr="", body=True):
    """A caller.  expect: the final response the test requires."""
    body_sdp = sdp(codecs) if body else ""
    ctype = "Content-Type: application/sdp\nContent-Length: [len]\n\n" + body_sdp if body \
        else "Content-Length: 0\n"
    x = ['<?xml version="1.0" encoding="UTF-8"?>', '<scenario name="uac">',
         '  <Global variables="caller"/>']
    cseq = 1
    if auth:
        x.append(_msg(_hdrs("INVITE", 1, extra=extra_hdr) + "\n" + ctype))
        x.append('  <recv response="100" optional="true"/>')
        x.append('  <recv response="407" auth="true"/>')
        x.append(_msg("""ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:[$caller]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
""").replace(' retrans="500"', ''))
        cseq = 2
    x.append(_msg(_hdrs("INVITE", cseq, auth=auth, extra=extra_hdr) + "\n" + ctype))
    x.append('  <recv response="100" optional="true"/>')
    if cancel_after_ms is not None:
        x.append('  <recv response="180"/>')
        x.append(f'  <pause milliseconds="{cancel_after_ms}"/>')
        x.append(_msg(f"""CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:[$caller]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: {cseq} CANCEL
Max-Forwards: 70
Content-Length: 0
"""))
        x.append('  <recv response="200"/>')
        x.append('  <recv response="487"/>')
        x.append(_ack_error(cseq))
        x.append('</scenario>')
        return "\n".join(x)
    if expect != 200:
        x.append('  <recv response="180" optional="true"/>')
        x.append('  <recv response="183" optional="true"/>')
        x.append(f'  <recv response="{expect}"/>')
        x.append(_ack_error(cseq))
        x.append('</scenario>')
        return "\n".join(x)
    x.append('  <recv response="180" optional="true"/>')
    x.append('  <recv response="183" optional="true"/>')
    x.append('  <recv response="200" rtd="true" rrs="true"/>')
    x.append(_in_dialog("ACK", cseq).replace(' retrans="500"', ''))
    if pcap:
        x.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
    if reinvite_hold:
        cseq += 1
        x.append(f'  <pause milliseconds="{hold_ms // 2}"/>')
        x.append(_in_dialog("INVITE", cseq, "application/sdp", sdp(codecs, "a=sendonly\n"),
                            contact=True))
        x.append('  <recv response="200">\n    <action><ereg regexp="a=recvonly" search_in="body" check_it="true" assign_to="held"/></action>\n  </recv>')
        x.append('  <Reference variables="held"/>')
        x.append(_in_dialog("ACK", cseq).replace(' retrans="500"', ''))
        x.append(f'  <pause milliseconds="{hold_ms // 2}"/>')
    elif not wait_bye:
        x.append(f'  <pause milliseconds="{hold_ms}"/>')
    if wait_bye:
        x.append('  <recv request="BYE"/>')
        x.append(_ok_to_last())
    elif bye:
        x.append(_in_dialog("BYE", cseq + 1))
        x.append('  <recv response="200"/>')
    x.append('  <timewait milliseconds="200"/>')
    x.append('</scenario>')
    return "\n".join(x)


def _ack_error(cseq):
    return _msg(f"""ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:[$caller]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0
""").replace(' retrans="500"', '')


def uas_scenario(mode="answer", hold_ms=1000, codecs="8 0", ring_ms=0):
    """A callee.  mode: answer | busy | decline | ring (never answers) |
    bye (answers, then hangs up itself after hold_ms) | hold (answers,
    then accepts a re-INVITE)."""
    x = ['<?xml version="1.0" encoding="UTF-8"?>', '<scenario name="uas">',
         '  <recv request="INVITE" crlf="true" rrs="true">',
         '    <action><ereg regexp=";tag=([^;>\\r\\n ]+)" search_in="hdr" header="From:" assign_to="ftag,fromtag"/>',
         '    <ereg regexp="([0-9]+)" search_in="hdr" header="CSeq:" assign_to="cs,invcseq"/></action>',
         '  </recv>',
         '  <Reference variables="ftag,fromtag,cs,invcseq"/>']
    reply = lambda code, reason, body=None, extra="": ("""  <send>
    <![CDATA[
SIP/2.0 %d %s
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
%s""" % (code, reason, extra)) + (
        "Content-Type: application/sdp\nContent-Length: [len]\n\n" + body if body
        else "Content-Length: 0\n\n") + "\n    ]]>\n  </send>\n"
    if mode in ("busy", "decline"):
        code, reason = (486, "Busy Here") if mode == "busy" else (603, "Decline")
        x.append(reply(code, reason))
        x.append('  <recv request="ACK"/>')
        x.append('</scenario>')
        return "\n".join(x)
    x.append(reply(180, "Ringing"))
    if mode == "ring":
        x.append('  <recv request="CANCEL"/>')
        x.append(reply(200, "OK").replace("[last_To:];tag=[pid]SIPpTag01[call_number]", "[last_To:]"))
        x.append(reply(487, "Request Terminated").replace("[last_CSeq:]", "CSeq: [$invcseq] INVITE"))
        x.append('  <recv request="ACK"/>')
        x.append('</scenario>')
        return "\n".join(x)
    if ring_ms:
        x.append(f'  <pause milliseconds="{ring_ms}"/>')
    x.append(reply(200, "OK", sdp(codecs)).replace("<send>", '<send retrans="500">'))
    x.append('  <recv request="ACK"/>')
    if mode == "hold":
        x.append('  <recv request="INVITE"/>')
        x.append(reply(200, "OK", sdp(codecs, "a=recvonly\n")))
        x.append('  <recv request="ACK"/>')
    if mode == "bye":
        x.append(f'  <pause milliseconds="{hold_ms}"/>')
        x.append("""  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[last_From:]
[last_To:]
[last_Call-ID:]
[routes]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>""".replace("[last_From:]", "From: <sip:callee@[local_ip]>;tag=[pid]SIPpTag01[call_number]").replace(
            "[last_To:]", "To: <sip:caller@[remote_ip]>;tag=[$fromtag]"))
        x.append('  <recv response="200"/>')
        x.append('</scenario>')
        return "\n".join(x)
    x.append('  <recv request="BYE"/>')
    x.append(reply(200, "OK").replace("[last_To:];tag=[pid]SIPpTag01[call_number]", "[last_To:]"))
    x.append('  <timewait milliseconds="500"/>')
    x.append('</scenario>')
    return "\n".join(x)


def _register_msg(cseq, auth):
    return _msg(f"""REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: {cseq} REGISTER
Contact: <sip:[service]@[$contact];transport=[transport]>
Expires: [$expires]
{"[authentication]" if auth else ""}
Max-Forwards: 70
Content-Length: 0
""".replace("\n\n", "\n"))


def register_scenario(final=200):
    """REGISTER, answer the 401 challenge, expect final."""
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>', '<scenario name="register">',
        '  <Global variables="expires,contact"/>',
        _register_msg(1, False), '  <recv response="401" auth="true"/>',
        _register_msg(2, True), f'  <recv response="{final}"/>', '</scenario>'])


class Sipp:
    """One sipp process: a scenario written into the test's temp dir."""

    def __init__(self, tmp, name, xml, args, port=None):
        self.port = port or free_port()
        self.path = os.path.join(tmp, name + ".xml")
        with open(self.path, "w") as f:
            f.write(xml)
        self.xml = xml
        self.tmp = tmp
        self.name = name
        self.args = args
        self.proc = None
        self.out = os.path.join(tmp, name + ".out")

    def cmd(self, target):
        # sipp binds media sockets even when it sends none; never let it
        # fall back to its fixed default ports, which others may hold.
        if "-mp" not in self.args:
            self.args = self.args + ["-mp", str(free_port(pair=True))]
        # sipp signs its digest for sip:HOST:PORT unless told otherwise;
        # laoyou (RFC 2617 §3.2.2.5) wants the Request-URI itself.
        if ("-au" in self.args and "-auth_uri" not in self.args and "-s" in self.args
                and "INVITE sip:[service]@[remote_ip]:[remote_port]" in self.xml):
            service = self.args[self.args.index("-s") + 1]
            self.args = self.args + ["-auth_uri", f"{service}@{target}"]
        return ["sipp", "-sf", self.path, "-i", "127.0.0.1", "-p", str(self.port),
                "-nostdin", "-trace_err", "-error_file", os.path.join(self.tmp, self.name + ".err"),
                "-trace_stat", "-stf", os.path.join(self.tmp, self.name + ".csv"),
                *self.args, target]

    def start(self, target):
        for attempt in range(3):
            self.proc = spawn(self.cmd(target), stdout=open(self.out, "w"),
                              stderr=subprocess.STDOUT, cwd=self.tmp)
            # A media port taken between our check and sipp's bind makes
            # sipp quit at once: try other media ports (same SIP port).
            time.sleep(0.15)
            if self.proc.poll() is None or "Unable to bind audio" not in self.errors():
                break
            self.args = [a for i, a in enumerate(self.args)
                         if a != "-mp" and (i == 0 or self.args[i - 1] != "-mp")]
        return self

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure(f"sipp {self.name} did not finish in {timeout}s:\n{self.errors()}")

    def run(self, target, timeout=30):
        for attempt in range(3):
            self.start(target)
            rc = self.wait(timeout)
            # Another program took a port between our check and sipp's
            # bind: nothing was sent, so choose new ports and go again.
            if rc == 0 or "Unable to bind" not in self.errors() or attempt == 2:
                return rc
            self.port = free_port()
            self.args = [a for i, a in enumerate(self.args)
                         if a != "-mp" and (i == 0 or self.args[i - 1] != "-mp")]
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def errors(self):
        try:
            with open(os.path.join(self.tmp, self.name + ".err"), errors="replace") as f:
                return f.read()[:1500]
        except OSError:
            return ""


def register(server, tmp, user, secret, contact_port, expires=300, final=200, transport="u1"):
    """Register user with a Contact at contact_port (from another port)."""
    s = Sipp(tmp, f"reg-{user}-{contact_port}-{final}-{time.time():.3f}", register_scenario(final),
             ["-s", user, "-au", user, "-ap", secret, "-set", "expires", str(expires),
              "-set", "contact", f"127.0.0.1:{contact_port}",
              "-m", "1", "-t", transport, "-timeout", "10s"])
    rc = s.run(f"127.0.0.1:{server.sip_port}")
    return rc, s


def uas(tmp, name, user, port, mode="answer", hold_ms=1000, codecs="8 0",
        rtp_echo=True, ring_ms=0, calls=1):
    """A callee sipp; calls=0 serves until killed."""
    args = (["-m", str(calls)] if calls else []) + ["-timeout", "30s"] + \
        (["-trace_msg"] if calls else [])
    if rtp_echo:
        args += ["-rtp_echo", "-mp", str(free_port(pair=True))]
    return Sipp(tmp, name, uas_scenario(mode, hold_ms, codecs, ring_ms), args, port=port)


def uac(tmp, name, caller, secret, dialled, **kw):
    args = ["-s", dialled, "-set", "caller", caller, "-m", str(kw.pop("calls", 1)),
            "-timeout", str(kw.pop("timeout", 30)) + "s", "-mp", str(free_port(pair=True))]
    if secret:
        args += ["-au", caller, "-ap", secret]
    rate = kw.pop("rate", None)
    if rate:
        args += ["-r", str(rate)]
    return Sipp(tmp, name, uac_scenario(**kw), args)


def tshark_count(pcap_file, port):
    """RTP packets to a UDP port in a capture."""
    r = subprocess.run(["tshark", "-r", pcap_file, "-Y", f"udp.dstport=={port}"],
                       capture_output=True, text=True)
    return len([l for l in r.stdout.splitlines() if l.strip()])


# ---------------------------------------------------------------- IVR callers

def ivr_scenario(steps, codecs="8 0", te=True, auth=True):
    """A caller that dials, then follows steps after the answer:
    ("pause", ms) | ("key", "2") RFC 4733 from sipp's captures |
    ("pcap", path) | ("info", "5") SIP INFO dtmf-relay |
    ("bye",) | ("wait_bye",)."""
    body = sdp(codecs) if te else sdp(codecs).replace(" 101\n", "\n").replace(
        "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n", "")
    ctype = "Content-Type: application/sdp\nContent-Length: [len]\n\n" + body
    x = ['<?xml version="1.0" encoding="UTF-8"?>', '<scenario name="ivr">',
         '  <Global variables="caller"/>']
    cseq = 1
    if auth:
        x.append(_msg(_hdrs("INVITE", 1) + "\n" + ctype))
        x.append('  <recv response="100" optional="true"/>')
        x.append('  <recv response="407" auth="true"/>')
        x.append(_ack_error(1))
        cseq = 2
    x.append(_msg(_hdrs("INVITE", cseq, auth=auth) + "\n" + ctype))
    x.append('  <recv response="100" optional="true"/>')
    x.append('  <recv response="180" optional="true"/>')
    x.append('  <recv response="200" rrs="true"/>')
    x.append(_in_dialog("ACK", cseq).replace(' retrans="500"', ''))
    for st in steps:
        kind = st[0]
        if kind == "pause":
            x.append(f'  <pause milliseconds="{st[1]}"/>')
        elif kind == "key":
            name = {"#": "pound", "*": "star"}.get(st[1], st[1])
            x.append(f'  <nop><action><exec play_pcap_audio="{SIPP_DATA}/dtmf_2833_{name}.pcap"/>'
                     '</action></nop>')
            x.append('  <pause milliseconds="400"/>')
        elif kind == "pcap":
            x.append(f'  <nop><action><exec play_pcap_audio="{st[1]}"/></action></nop>')
        elif kind == "info":
            cseq += 1
            x.append(_in_dialog("INFO", cseq, "application/dtmf-relay",
                                f"Signal={st[1]}\nDuration=160\n"))
            x.append('  <recv response="200"/>')
        elif kind == "bye":
            cseq += 1
            x.append(_in_dialog("BYE", cseq))
            x.append('  <recv response="200"/>')
        elif kind == "wait_bye":
            x.append('  <recv request="BYE" timeout="60000"/>')
            x.append(_ok_to_last())
    x.append('  <timewait milliseconds="200"/>')
    x.append('</scenario>')
    return "\n".join(x)


def _ok_to_last():
    """200 OK to the request just received."""
    return _msg("""SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
""").replace(' retrans="500"', '')


def _in_dialog(method, cseq, ctype=None, body="", contact=False):
    lines = [f"{method} [next_url] SIP/2.0",
             "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
             "From: <sip:[$caller]@[local_ip]>;tag=[pid]SIPpTag00[call_number]",
             "[last_To:]", "Call-ID: [call_id]", "[routes]",
             f"CSeq: {cseq} {method}", "Max-Forwards: 70"]
    if contact:
        lines.append("Contact: <sip:[$caller]@[local_ip]:[local_port];transport=[transport]>")
    if ctype:
        lines += [f"Content-Type: {ctype}", "Content-Length: [len]", "", body.rstrip("\n")]
    else:
        lines.append("Content-Length: 0")
    return _msg("\n".join(lines) + "\n")


def ivr_caller(tmp, name, caller, secret, dialled, steps, **kw):
    mp = free_port(pair=True)
    s = Sipp(tmp, name, ivr_scenario(steps, **kw),
             ["-s", dialled, "-set", "caller", caller, "-m", "1",
              "-timeout", "90s", "-mp", str(mp), "-trace_msg"] +
             (["-au", caller, "-ap", secret] if secret else []))
    s.media_port = mp
    return s


class Capture:
    """dumpcap on loopback for one UDP port: what a caller received."""

    def __init__(self, tmp, port):
        self.path = os.path.join(tmp, f"rtp-{port}.pcap")
        self.port = port
        self.proc = spawn(["dumpcap", "-q", "-i", "lo", "-f", f"udp dst port {port}",
                           "-w", self.path], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.path):
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self):
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)

    def ssrcs(self):
        """Packets received per RTP SSRC."""
        r = subprocess.run(["tshark", "-r", self.path, "-d", f"udp.port=={self.port},rtp",
                            "-T", "fields", "-e", "rtp.ssrc"], capture_output=True, text=True)
        out = {}
        for line in r.stdout.split():
            out[line] = out.get(line, 0) + 1
        return out

    def spurts(self):
        """Talkspurts (a marker bit starts each): packet counts in order."""
        r = subprocess.run(["tshark", "-r", self.path, "-d", f"udp.port=={self.port},rtp",
                            "-T", "fields", "-e", "rtp.marker", "-e", "rtp.p_type"],
                           capture_output=True, text=True)
        out = []
        for line in r.stdout.splitlines():
            f = line.split("\t")
            if len(f) < 2 or not f[1]:
                continue
            if f[0] in ("1", "True") or not out:
                out.append(0)
            out[-1] += 1
        return out


def wav_packets(path, samples=False):
    """20 ms packets a prompt takes: its samples / 160, rounded up (or the
    samples themselves)."""
    with open(path, "rb") as f:
        data = f.read()
    i = data.index(b"data") + 8
    n = (len(data) - i) // 2
    return n if samples else (n + 159) // 160


def dtmf_pcap(path, keys, tone_ms=120, gap_ms=400, pt=0):
    """An RTP capture of keys as in-band tones in PCMU (pt 0) or PCMA (8),
    for sipp's play_pcap_audio: 20 ms packets, with silence between keys."""
    import audioop
    import math
    import struct
    freqs = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209),
             "5": (770, 1336), "6": (770, 1477), "7": (852, 1209), "8": (852, 1336),
             "9": (852, 1477), "*": (941, 1209), "0": (941, 1336), "#": (941, 1477)}
    samples = []
    for k in keys:
        lo, hi = freqs[k]
        for i in range(8 * tone_ms):
            v = 0.3 * math.sin(2 * math.pi * lo * i / 8000) + \
                0.3 * math.sin(2 * math.pi * hi * i / 8000)
            samples.append(int(v * 32767))
        samples += [0] * (8 * gap_ms)
    pcm = struct.pack("<%dh" % len(samples), *samples)
    enc = audioop.lin2ulaw(pcm, 2) if pt == 0 else audioop.lin2alaw(pcm, 2)
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
    seq, ts = 1000, 5000
    for n, off in enumerate(range(0, len(enc) - 159, 160)):
        rtp = struct.pack("!BBHII", 0x80, pt, seq & 0xffff, ts, 0x1234) + enc[off:off + 160]
        udp = struct.pack("!HHHH", 10000, 10002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
        eth = b"\0" * 12 + b"\x08\x00" + ip
        t = n * 0.02
        out.append(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(eth), len(eth)) + eth)
        seq += 1
        ts += 160
    with open(path, "wb") as f:
        f.write(b"".join(out))
    return path
