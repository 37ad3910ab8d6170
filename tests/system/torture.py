#!/usr/bin/env python3
"""Runs inside its own network namespace (unshare --net, loopback only):
starts laoyou, sends each RFC 4475 message over UDP and over TCP from the
port its Via names, and prints what came back as JSON lines.  The torture
messages name foreign hosts; here they lead nowhere."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

laoyou, data = sys.argv[1], sys.argv[2]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
tmp = tempfile.mkdtemp(prefix="laoyou-torture-")
conf = os.path.join(tmp, "laoyou.conf")
with open(conf, "w") as f:
    f.write(f"sip_udp = 127.0.0.1:15060\nsip_tcp = 127.0.0.1:15060\n"
            f"http = 127.0.0.1:18080\nrtp_ports = 30000-30999\n"
            f"db = {tmp}/laoyou.db\nlog_level = info\nprompts_dir = {tmp}\n")
subprocess.run([laoyou, "account", "add", "user", "--secret", "pw", "--ext", "user",
                "-c", conf], check=True)
log = open(os.path.join(tmp, "laoyou.log"), "w")
srv = subprocess.Popen([laoyou, "run", "-c", conf], stdout=log, stderr=log)
for _ in range(100):
    try:
        urllib.request.urlopen("http://127.0.0.1:18080/health", timeout=1)
        break
    except OSError:
        time.sleep(0.05)


def via_port(raw):
    m = re.search(rb"\r\n(?:Via|v)[ \t]*:[^\r\n]*?SIP/2\.0/UDP[ \t]+[^:;\s]+:(\d+)", raw, re.I)
    return int(m.group(1)) if m else 5060


def status_lines(data_bytes, callid):
    """Status lines of the responses to this message (by Call-ID), so a
    retransmitted answer to an earlier message is not counted."""
    out = []
    for resp in re.split(rb"(?=SIP/2\.0 \d{3})", data_bytes):
        m = re.match(rb"SIP/2\.0 \d{3}[^\r\n]*", resp)
        cid = re.search(rb"\r\n(?:Call-ID|i)[ \t]*:[ \t]*([^\r\n]+)", resp, re.I)
        if m and (not callid or (cid and cid.group(1).strip() == callid)):
            out.append(m.group(0).decode(errors="replace"))
    return out


def call_id(raw):
    m = re.search(rb"\r\n(?:Call-ID|i)[ \t]*:[ \t]*([^\r\n]+)", raw, re.I)
    return m.group(1).strip() if m else None


def over_udp(raw):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", via_port(raw)))
    s.settimeout(0.6)
    s.sendto(raw, ("127.0.0.1", 15060))
    got = []
    try:
        while True:
            got += status_lines(s.recv(65536), call_id(raw))
    except socket.timeout:
        pass
    s.close()
    return got


def over_tcp(raw):
    s = socket.create_connection(("127.0.0.1", 15060), timeout=2)
    s.settimeout(0.6)
    s.sendall(raw)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    s.close()
    return status_lines(buf, call_id(raw))


for name in sorted(os.listdir(data)):
    if not name.endswith(".dat"):
        continue
    raw = open(os.path.join(data, name), "rb").read()
    udp = over_udp(raw)
    try:
        # Over TCP the Via must say so; the rest stays byte-exact.
        tcp = over_tcp(raw.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP"))
    except OSError as e:
        tcp = [f"error {e}"]
    alive = srv.poll() is None
    print(json.dumps({"file": name, "udp": udp, "tcp": tcp, "alive": alive}), flush=True)
    if not alive:
        break

# After all of it, a normal request is still served.
opt = (b"OPTIONS sip:user@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKok\r\n"
       b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:user@127.0.0.1>\r\nCall-ID: after\r\n"
       b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
print(json.dumps({"file": "after", "udp": over_udp(opt), "tcp": [],
                  "alive": srv.poll() is None}), flush=True)
srv.terminate()
rc = srv.wait(10)
log.close()
print(json.dumps({"file": "exit", "rc": rc, "log": open(os.path.join(tmp, "laoyou.log")).read()[-4000:]}))
