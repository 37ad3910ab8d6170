#!/usr/bin/env python3
"""RFC 4475 torture messages against laoyou, over UDP and over TCP.

    python3 tests/system/torture.py                      # build/laoyou
    LAOYOU=build-asan/laoyou python3 tests/system/torture.py

The messages name foreign hosts (192.0.2.x, example.com), so the script
re-runs itself in a network namespace of its own with only loopback
(`unshare --net` as root, `unshare -rn` otherwise): whatever laoyou does
with an address it read, no packet can leave the machine.  Without unshare
the run is reported as skipped and counted as failed.

Each message is sent byte-exact to a fresh laoyou, once as a UDP datagram
from the port its top Via names and once over a new TCP connection (with
`SIP/2.0/UDP` in its Vias changed to TCP), and the answer carrying the
message's Call-ID is compared with EXPECTED below.  A fresh server each
time, because many of the messages share a Via branch and sent-by: one
server would rightly take them for retransmissions of one transaction
(RFC 3261 section 17.2.3) and answer with the first one's response.

Then one server gets all of them back to back over both transports and
must still answer OPTIONS over UDP and TCP and connect a normal call.
Prints one row per message per transport, one per check after that, and
`N passed, N failed`; exits 1 on any failure.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data", "rfc4475")
NETNS_MARK = "LAOYOU_TORTURE_NETNS"

# message: (UDP, TCP) — a status code, "none" (no answer, the connection
# stays open) or "closed" (no answer, laoyou closed the TCP connection).
# Requests carry no credentials, so "processed normally" is laoyou's
# challenge: 407 for INVITE, 401 for REGISTER; OPTIONS is answered 200.
EXPECTED = {
    "badaspec.dat": ("200", "200"),      # LWS inside <>: processed liberally
    "badbranch.dat": ("200", "200"),
    "baddate.dat": ("407", "407"),       # processed, Date ignored
    # The archived copy has no blank line after its headers.  A datagram
    # ends there anyway, and its unquoted "Bell, Alexander" earns 400; on a
    # stream the header section has not ended, so laoyou waits for more.
    "baddn.dat": ("400", "none"),
    "badinv01.dat": ("400", "400"),
    "badvers.dat": ("505", "505"),
    "bcast.dat": ("none", "none"),       # a response
    "bext01.dat": ("420", "420"),
    "bigcode.dat": ("none", "none"),     # a response
    # Content-Length 9999: a datagram is short of it (400); a stream may
    # still bring the rest, so laoyou waits for it.
    "clerr.dat": ("400", "none"),
    "cparam01.dat": ("401", "401"),
    "cparam02.dat": ("401", "401"),
    "dblreq.dat": ("401", "401"),        # over TCP the INVITE after it is a
                                         # message of its own (answered 407)
    "esc01.dat": ("407", "407"),
    "esc02.dat": ("501", "501"),
    "escnull.dat": ("401", "401"),
    "escruri.dat": ("407", "407"),       # processed, the escaped header unused
    "insuf.dat": ("400", "400"),
    "intmeth.dat": ("501", "501"),
    # No Content-Length: fine in a datagram, but a stream cannot be framed
    # without it (RFC 3261 section 20.14), so libre closes the connection.
    "inv2543.dat": ("407", "closed"),
    "invut.dat": ("415", "415"),
    "longreq.dat": ("407", "407"),
    "ltgtruri.dat": ("400", "400"),
    "lwsdisp.dat": ("200", "200"),
    "lwsruri.dat": ("400", "400"),
    "lwsstart.dat": ("400", "400"),
    "mcl01.dat": ("400", "400"),
    "mismatch01.dat": ("400", "400"),
    "mismatch02.dat": ("400", "400"),
    "mpart01.dat": ("405", "405"),       # MESSAGE is not served here
    "multi01.dat": ("400", "400"),
    "ncl.dat": ("400", "400"),
    "noreason.dat": ("none", "none"),    # a response
    "novelsc.dat": ("416", "416"),
    "quotbal.dat": ("400", "400"),
    "regaut01.dat": ("401", "401"),
    "regbadct.dat": ("401", "401"),      # processed, parameters of the header
    "regescrt.dat": ("401", "401"),
    "scalar02.dat": ("400", "400"),
    "scalarlg.dat": ("none", "none"),    # a response
    "sdp01.dat": ("406", "406"),
    "semiuri.dat": ("200", "200"),
    "transports.dat": ("200", "200"),
    "trws.dat": ("400", "400"),
    "unkscm.dat": ("416", "416"),
    "unksm2.dat": ("401", "401"),
    "unreason.dat": ("none", "none"),    # a response
    "wsinv.dat": ("481", "481"),         # in-dialog INVITE, no such dialog
    "zeromf.dat": ("200", "200"),
}

QUIET_S = 0.5      # how long "no answer" is waited for


def skip(why):
    """Nothing was tested: say so, and count it as a failure."""
    print(f"SKIP torture: {why}")
    print("0 passed, 1 failed")
    sys.exit(1)


def enter_netns():
    """Re-run this script in its own network namespace; returns only there."""
    if os.environ.get(NETNS_MARK) == "1":
        return
    cmd = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "-rn"]
    try:
        probe = subprocess.run(cmd + ["true"], capture_output=True, text=True)
    except FileNotFoundError:
        skip("unshare(1) is not installed (Debian package util-linux)")
    if probe.returncode != 0:
        skip(f"cannot create a network namespace ({' '.join(cmd)}): "
             f"{probe.stderr.strip()}")
    env = dict(os.environ, **{NETNS_MARK: "1"})
    rc = subprocess.run(cmd + [sys.executable, os.path.abspath(__file__)]
                        + sys.argv[1:], env=env).returncode
    sys.exit(rc)


def loopback_only():
    """Bring lo up and make sure it is all there is."""
    try:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        skip(f"cannot bring up loopback in the namespace: {e}")
    names = [n for _, n in socket.if_nameindex()]
    if names != ["lo"]:
        skip(f"the namespace is not isolated: interfaces {names}")


enter_netns()
loopback_only()
sys.path.insert(0, HERE)
import harness  # noqa: E402  (after the namespace: its ports are ours)


# ------------------------------------------------------------ one message

HDR = rb"\r\n(?:%s)[ \t]*:[ \t]*([^\r\n]*(?:\r\n[ \t]+[^\r\n]*)*)"


def header(raw, names):
    m = re.search(HDR % names, raw.split(b"\r\n\r\n")[0] + b"\r\n", re.I)
    return m.group(1) if m else None


def call_id(raw):
    v = header(raw, rb"Call-ID|i")
    return v.strip() if v is not None else None


def via_port(raw):
    """The port the top Via names (5060 if none): responses go there."""
    v = header(raw, rb"Via|v")
    m = re.match(rb"\s*SIP\s*/\s*[\d.]+\s*/\s*\S+\s+(\[[^\]]*\]|[^\s:;,]+)\s*(?::\s*(\d+))?",
                 v or b"")
    return int(m.group(2)) if m and m.group(2) else 5060


def responses(buf, cid):
    """Status codes of the responses in buf that carry Call-ID cid."""
    out = []
    for part in re.split(rb"(?=SIP/2\.0 \d{3} )", buf):
        m = re.match(rb"SIP/2\.0 (\d{3}) ", part)
        if m and call_id(b"\r\n" + part.split(b"\r\n", 1)[-1]) == cid:
            out.append(m.group(1).decode())
    return out


def finished(codes, want):
    return want not in ("none", "closed") and any(c >= "200" for c in codes)


def over_udp(port, raw, want, quiet=QUIET_S):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", via_port(raw)))
    s.sendto(raw, ("127.0.0.1", port))
    codes, deadline = [], time.time() + (2 if want not in ("none",) else quiet)
    try:
        while not finished(codes, want) and time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                codes += responses(s.recv(65536), call_id(raw))
            except socket.timeout:
                break
    finally:
        s.close()
    return codes


def over_tcp(port, raw, want, quiet=QUIET_S):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    buf, closed = b"", False
    deadline = time.time() + (2 if want not in ("none", "closed") else quiet)
    try:
        s.sendall(raw)
        while not finished(responses(buf, call_id(raw)), want) and time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
    finally:
        s.close()
    codes = responses(buf, call_id(raw))
    return codes if codes else (["closed"] if closed else [])


def verdict(codes, want):
    """What came back, as one word, and whether it is what we want."""
    finals = sorted(set(c for c in codes if c == "closed" or c >= "200"))
    got = "/".join(finals) if finals else "none"
    return got, got == want


# ------------------------------------------------------------ the runs

def tcp_copy(raw):
    """Over TCP the Vias must say so; the rest stays byte-exact."""
    return raw.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")


def one_server(tmp, name):
    srv = harness.Laoyou(tmp=tmp)
    srv.log = os.path.join(tmp, name + ".log")
    return srv.start()


def verdicts(tmp, names):
    rows = []
    for name in names:
        raw = open(os.path.join(DATA, name), "rb").read()
        for tp, want in zip(("udp", "tcp"), EXPECTED[name]):
            srv = one_server(tmp, f"{name}-{tp}")
            try:
                codes = (over_udp if tp == "udp" else over_tcp)(
                    srv.sip_port, raw if tp == "udp" else tcp_copy(raw), want)
                got, ok = verdict(codes, want)
            except OSError as e:
                got, ok = f"error {e}", False
            alive = srv.proc.poll() is None
            problems = harness.finish_servers()
            if not alive or problems:
                got, ok = got + " (server: " + "; ".join(
                    problems or ["exited"])[:300] + ")", False
            rows.append((name, tp, want, got, ok))
            print_row(*rows[-1])
    return rows


OPTIONS = ("OPTIONS sip:user@127.0.0.1 SIP/2.0\r\n"
           "Via: SIP/2.0/{tp} 127.0.0.1:{port};branch=z9hG4bK-after-{tp};rport\r\n"
           "From: <sip:probe@127.0.0.1>;tag=after\r\nTo: <sip:user@127.0.0.1>\r\n"
           "Call-ID: after-{tp}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n")


def after_all(tmp, names):
    """One server takes every message on both transports, then must answer
    OPTIONS and connect a call as if nothing had happened."""
    rows = []
    os.makedirs(os.path.join(tmp, "after"))
    srv = harness.Laoyou(tmp=os.path.join(tmp, "after"))
    srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    srv.start()
    for name in names:
        raw = open(os.path.join(DATA, name), "rb").read()
        for tp in ("udp", "tcp"):
            try:
                if tp == "udp":
                    over_udp(srv.sip_port, raw, "none", quiet=0.05)
                else:
                    over_tcp(srv.sip_port, tcp_copy(raw), "none", quiet=0.05)
            except OSError:
                pass
    alive = srv.proc.poll() is None
    rows.append(("after all 98", "-", "up", "up" if alive else "exited", alive))
    print_row(*rows[-1])

    port = harness.free_port()
    for tp, send in (("udp", over_udp), ("tcp", over_tcp)):
        raw = OPTIONS.format(tp=tp.upper(), port=port).encode()
        try:
            got, ok = verdict(send(srv.sip_port, raw, "200"), "200")
        except OSError as e:
            got, ok = f"error {e}", False
        rows.append(("OPTIONS after", tp, "200", got, ok))
        print_row(*rows[-1])

    got, ok = "200", True
    try:
        callee = harness.uas(srv.tmp, "uas-after", "bob", harness.free_port(),
                             hold_ms=500)
        callee.start(f"127.0.0.1:{srv.sip_port}")
        time.sleep(0.2)
        rc, _ = harness.register(srv, srv.tmp, "bob", "bpw", callee.port)
        if rc != 0:
            raise harness.TestFailure("bob could not register")
        caller = harness.uac(srv.tmp, "uac-after", "alice", "apw", "1002",
                             hold_ms=1000)
        if caller.run(f"127.0.0.1:{srv.sip_port}") != 0:
            raise harness.TestFailure("call failed: " + caller.errors()[:300])
        if callee.wait() != 0:
            raise harness.TestFailure("callee failed: " + callee.errors()[:300])
    except (harness.TestFailure, OSError) as e:
        got, ok = str(e), False
    rows.append(("call after", "udp", "200", got, ok))
    print_row(*rows[-1])

    problems = harness.finish_servers()
    rows.append(("SIGTERM after", "-", "exit 0", "; ".join(problems)[:300] or "exit 0",
                 not problems))
    print_row(*rows[-1])
    return rows


def print_row(name, tp, want, got, ok):
    print(f"{name:16s} {tp:4s} {want:8s} {got:10s} {'ok' if ok else 'FAIL'}", flush=True)


def main():
    only = sys.argv[1:]
    if not os.path.exists(harness.LAOYOU):
        print(f"no laoyou binary at {harness.LAOYOU}")
        print("0 passed, 1 failed")
        return 1
    names = sorted(n for n in os.listdir(DATA) if n.endswith(".dat"))
    missing = sorted(set(EXPECTED) - set(names)) + sorted(set(names) - set(EXPECTED))
    if missing:
        print(f"messages and expectations differ: {missing}")
        print("0 passed, 1 failed")
        return 1
    if only:
        names = [n for n in names if any(o in n for o in only)]
    tmp = tempfile.mkdtemp(prefix="laoyou-torture-")
    print(f"{'message':16s} {'tp':4s} {'expected':8s} {'got':10s} ok")
    rows = []
    try:
        rows += verdicts(tmp, names)
        if not only:
            rows += after_all(tmp, names)
    finally:
        harness.finish_servers()
        harness.kill_all()
    failed = [r for r in rows if not r[4]]
    if failed:
        print("failed: " + ", ".join(f"{r[0]}/{r[1]}" for r in failed))
        print(f"server logs in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
