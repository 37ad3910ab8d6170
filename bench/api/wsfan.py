#!/usr/bin/env python3
"""laoyou bench/api: CLIENTS WebSocket clients on /api/v1/events that note
when each agent.state event reaches them.  Started by apibench.py.

Plain sockets, no library: an RFC 6455 handshake per client (the token in
the query, as a browser does), then one epoll loop reads the frames of all
clients.  Every read asks the kernel for the time its data arrived
(SO_TIMESTAMPNS), so a delivery's time is when it reached the client's
socket, not when this Python loop came round to it; the loop's own time is
kept too.

Protocol with the driver: it prints "READY <n> <connect_s>" once every
client has its 101 (or "FAIL <why>" and exits 1), then reads until its
stdin closes or SIGTERM or --max-secs, and writes --out: one line per
agent.state delivery carrying a "bench-<seq>" reason,
"<client> <seq> <kernel_ns> <user_ns>", then a last line "# {json}" with
counts (frames by type, clients closed, this process's CPU).
Stdlib only.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)      # Linux
SCM_TIMESTAMPNS = getattr(socket, "SCM_TIMESTAMPNS", SO_TIMESTAMPNS)
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
AGENT_RE = re.compile(rb'"type":"agent\.state".*"reason":"bench-([0-9]+)"')
TYPE_RE = re.compile(rb'"type":"([^"]+)"')


class Client:
    __slots__ = ("i", "sock", "buf")

    def __init__(self, i, sock, buf):
        self.i = i
        self.sock = sock
        self.buf = buf


def handshake(i, host, port, path, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\n"
              b"Host: " + ("%s:%d" % (host, port)).encode() + b"\r\n"
              b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("client %d: connection closed in the handshake (%r)"
                          % (i, data[:200]))
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 101"):
        raise OSError("client %d: %s" % (i, lines[0].decode(errors="replace")))
    want = base64.b64encode(hashlib.sha1(key + GUID).digest())
    acc = [l.split(b":", 1)[1].strip() for l in lines[1:]
           if l.lower().startswith(b"sec-websocket-accept:")]
    if acc != [want]:
        raise OSError("client %d: bad Sec-WebSocket-Accept %r" % (i, acc))
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return Client(i, s, bytearray(rest))


def masked(opcode, payload):
    """A client frame (clients must mask)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
    n = len(payload)
    hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n) if n < 126 else \
        struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    return hdr + mask + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-secs", type=float, default=300)
    a = ap.parse_args()

    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    path = "/api/v1/events?token=" + a.token
    t0 = time.monotonic()
    clients = []
    try:
        for i in range(a.clients):
            clients.append(handshake(i, "127.0.0.1", a.port, path, 10))
    except OSError as e:
        print("FAIL after %d clients: %s" % (len(clients), e), flush=True)
        return 1
    connect_s = time.monotonic() - t0

    ep = select.epoll()
    by_fd = {}
    for c in clients:
        by_fd[c.sock.fileno()] = c
        ep.register(c.sock.fileno(), select.EPOLLIN)
    try:                    # a pipe from the driver; not when run by hand
        ep.register(sys.stdin.fileno(), select.EPOLLIN | select.EPOLLHUP)
    except OSError:
        pass
    print("READY %d %.3f" % (len(clients), connect_s), flush=True)
    t_ready = time.monotonic()

    out = open(a.out, "w")
    counts = {}
    closed = 0
    no_stamp = 0
    deliveries = 0
    reads = 0
    cmsg_size = socket.CMSG_SPACE(16)
    deadline = time.monotonic() + a.max_secs
    stdin_fd = sys.stdin.fileno()

    def frames(c, kts, uts):
        nonlocal closed, deliveries
        b = c.buf
        while len(b) >= 2:
            op = b[0] & 0x0F
            n = b[1] & 0x7F
            off = 2
            if n == 126:
                if len(b) < 4:
                    return
                n = struct.unpack_from("!H", b, 2)[0]
                off = 4
            elif n == 127:
                if len(b) < 10:
                    return
                n = struct.unpack_from("!Q", b, 2)[0]
                off = 10
            if b[1] & 0x80:               # a server never masks
                off += 4
            if len(b) < off + n:
                return
            payload = bytes(b[off:off + n])
            del b[:off + n]
            if op == 1:
                m = AGENT_RE.search(payload)
                if m:
                    out.write("%d %s %d %d\n" % (c.i, m.group(1).decode(), kts, uts))
                    deliveries += 1
                    counts["agent.state"] = counts.get("agent.state", 0) + 1
                else:
                    t = TYPE_RE.search(payload)
                    k = t.group(1).decode() if t else "?"
                    counts[k] = counts.get(k, 0) + 1
            elif op == 9:
                counts["ping"] = counts.get("ping", 0) + 1
                try:
                    c.sock.send(masked(10, payload))
                except OSError:
                    pass
            elif op == 8:
                counts["close"] = counts.get("close", 0) + 1
                return

    while not stop[0] and time.monotonic() < deadline:
        for fd, ev in ep.poll(0.5):
            if fd == stdin_fd:
                if not os.read(stdin_fd, 4096):
                    stop[0] = True
                continue
            c = by_fd.get(fd)
            if c is None:
                continue
            try:
                data, anc, _, _ = c.sock.recvmsg(262144, cmsg_size)
            except BlockingIOError:
                continue
            except OSError:
                data, anc = b"", []
            uts = time.time_ns()
            reads += 1
            if not data:
                closed += 1
                ep.unregister(fd)
                del by_fd[fd]
                c.sock.close()
                continue
            kts = 0
            for lvl, typ, val in anc:
                if lvl == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS and len(val) >= 16:
                    sec, nsec = struct.unpack_from("qq", val)
                    kts = sec * 1000000000 + nsec
            if not kts:
                no_stamp += 1
                kts = uts
            c.buf += data
            frames(c, kts, uts)

    ru = resource.getrusage(resource.RUSAGE_SELF)
    summary = {"clients": len(clients), "closed": closed, "frames": counts,
               "deliveries": deliveries, "reads_without_kernel_stamp": no_stamp, "reads": reads,
               "cpu_s": ru.ru_utime + ru.ru_stime, "connect_s": connect_s,
               "secs": time.monotonic() - t_ready,
               "open_at_end": len(by_fd)}
    out.write("# " + json.dumps(summary) + "\n")
    out.close()
    for c in by_fd.values():
        c.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
