#!/usr/bin/env python3
"""laoyou bench/api: a reference for the WebSocket fan-out — the least a
server can do, on this machine, to get an event to every client.

One thread, one epoll loop, plain sockets (no TCP_NODELAY, like laoyou's).
It accepts WebSocket handshakes on any path (the token is ignored), and
answers `PUT /api/v1/agents/{id}/state` with a JSON body by writing
{"type":"agent.state","data":{"agent":…,"state":…,"reason":…}} as one text
frame to every client in connection order, then replying 200 — the same
order of work as laoyou's handler, without its database.  The driver runs
wsfan.py and the same PUTs against it, so the two fan-outs are measured
alike.  Prints "LISTENING <port>" when ready; runs until SIGTERM.  Stdlib
only.
"""

import argparse
import base64
import hashlib
import json
import re
import select
import signal
import socket
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload):
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x81, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))

    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(1024)
    ls.setblocking(False)
    ep = select.epoll()
    ep.register(ls.fileno(), select.EPOLLIN)
    conns = {}          # fd -> [sock, inbuf, is_ws]
    clients = []        # WebSocket clients, in connection order
    dropped = 0
    print("LISTENING %d" % ls.getsockname()[1], flush=True)

    def close(fd):
        c = conns.pop(fd, None)
        if c:
            try:
                ep.unregister(fd)
            except OSError:
                pass
            if c[2] and c[0] in clients:
                clients.remove(c[0])
            c[0].close()

    while not stop[0]:
        try:
            events = ep.poll(0.5)
        except InterruptedError:
            continue
        for fd, _ in events:
            if fd == ls.fileno():
                while True:
                    try:
                        s, _ = ls.accept()
                    except BlockingIOError:
                        break
                    s.setblocking(False)
                    conns[s.fileno()] = [s, b"", False]
                    ep.register(s.fileno(), select.EPOLLIN)
                continue
            c = conns.get(fd)
            if not c:
                continue
            try:
                data = c[0].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                close(fd)
                continue
            if c[2]:
                continue                      # what clients send is ignored
            c[1] += data
            while b"\r\n\r\n" in c[1]:
                head, rest = c[1].split(b"\r\n\r\n", 1)
                m = re.search(rb"(?im)^content-length:\s*([0-9]+)", head)
                n = int(m.group(1)) if m else 0
                if len(rest) < n:
                    break
                body, c[1] = rest[:n], rest[n:]
                key = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", head)
                if key:
                    acc = base64.b64encode(hashlib.sha1(key.group(1) + GUID).digest())
                    c[0].sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc +
                                 b"\r\n\r\n")
                    c[2] = True
                    clients.append(c[0])
                    break
                m = re.match(rb"PUT /api/v1/agents/([^/ ]+)/state ", head)
                if not m:
                    c[0].sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                try:
                    j = json.loads(body)
                except ValueError:
                    j = {}
                msg = frame(json.dumps(
                    {"type": "agent.state",
                     "data": {"agent": m.group(1).decode(), "state": j.get("state", ""),
                              "reason": j.get("reason", "")}},
                    separators=(",", ":")).encode())
                for s in clients:
                    try:
                        if s.send(msg) != len(msg):
                            dropped += 1
                    except OSError:
                        dropped += 1
                out = b'{"ok":true}\n'
                c[0].sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(out) + out)
    print("DROPPED %d" % dropped, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
