"""Floods: one address over its request rate gets 503 (or nothing), or over
its TCP connection cap gets its extra connections reset, while
calls from everybody else still connect."""
import os
import socket
import threading
import time
from harness import Laoyou, check, register, uas, uac, free_port


def options(port, i, src_port):
    return (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.2:{src_port};branch=z9hG4bK-flood-{i}\r\n"
            f"From: <sip:flood@127.0.0.2>;tag=f{i}\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: flood-{i}@127.0.0.2\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()


def flood(port, n, seconds):
    """n OPTIONS from 127.0.0.2 spread over seconds; returns the status
    codes of the replies (by code)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    s.settimeout(0.2)
    codes = {}
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                data = s.recv(65535)
            except OSError:
                continue
            code = data.split(b" ", 2)[1].decode()
            codes[code] = codes.get(code, 0) + 1

    t = threading.Thread(target=reader)
    t.start()
    t0 = time.time()
    for i in range(n):
        s.sendto(options(port, i, s.getsockname()[1]), ("127.0.0.1", port))
        time.sleep(seconds / n)
    codes["seconds"] = time.time() - t0
    time.sleep(0.5)
    stop.set()
    t.join()
    s.close()
    return codes


def server(extra):
    srv = Laoyou(extra={"flood_invite": 20, "flood_options": 20, "flood_register": 20, **extra})
    srv.add_account("alice", "alicepw", "1001")
    srv.add_account("bob", "bobpw", "1002")
    return srv.start()


def test_a_flooding_address_gets_503_and_calls_still_connect():
    srv = server({})
    port = free_port()
    bob = uas(srv.tmp, "bob", "bob", port, mode="answer", hold_ms=500, calls=5)
    bob.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "bob", "bobpw", port)[0] == 0, "bob registers")
    # alice calls bob five times while 127.0.0.2 floods at 400 requests/s.
    calls = uac(srv.tmp, "alice", "alice", "alicepw", "1002", calls=5, rate=2, hold_ms=500)
    calls.start(f"127.0.0.1:{srv.sip_port}")
    codes = flood(srv.sip_port, 1600, 4.0)
    check(calls.wait(30) == 0, "alice's calls during the flood: " + calls.errors())
    check(bob.wait(20) == 0, bob.errors())
    # 20/s with a burst of 40: the rest gets 503.
    ok, busy = codes.get("200", 0), codes.get("503", 0)
    check(ok <= 40 + 20 * (codes["seconds"] + 1) and ok + busy == 1600,
          f"flood answers: {codes}")
    rec = [r for r in srv.cdrs() if r["disposition"] == "answered"]
    check(len(rec) == 5, f"{len(rec)} of alice's 5 calls answered")
    check("over its request rate" in srv.logtext(), "the flood is not logged")
    check(srv.health()["status"] == "ok", "laoyou is not healthy after the flood")


def test_flood_action_drop_answers_nothing_over_the_rate():
    srv = server({"flood_action": "drop"})
    codes = flood(srv.sip_port, 300, 1.0)
    check(codes.get("503", 0) == 0 and
          30 <= codes.get("200", 0) <= 40 + 20 * (codes["seconds"] + 1),
          f"with flood_action = drop: {codes}")
    # Another address is not affected.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    s.sendto(options(srv.sip_port, 99999, s.getsockname()[1]).replace(b"127.0.0.2", b"127.0.0.1"),
             ("127.0.0.1", srv.sip_port))
    check(s.recv(65535).startswith(b"SIP/2.0 200"), "127.0.0.1 is refused too")
    s.close()


def connection_flood(port, n, seconds, held):
    """From 127.0.0.2: open n TCP connections to port over seconds, keeping
    the first `held` open (silent) and closing the rest at once.  Returns
    (connections laoyou reset or closed at once, connections attempted)."""
    kept, cut = [], 0
    t0 = time.time()
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.2", 0))
        try:
            s.connect(("127.0.0.1", port))
            s.settimeout(0.05 if len(kept) >= held else 0)
            data = s.recv(1)
            if data == b"":
                cut += 1
        except (socket.timeout, BlockingIOError):
            pass
        except ConnectionResetError:
            cut += 1
        except OSError:
            pass
        if len(kept) < held:
            kept.append(s)
        else:
            s.close()
        delay = t0 + seconds * (i + 1) / n - time.time()
        if delay > 0:
            time.sleep(delay)
    return kept, cut


def fds(srv):
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


def test_a_tcp_connection_flood_is_capped_and_calls_still_connect():
    cap = 16
    srv = server({"tcp_max_per_address": cap})
    port = free_port()
    bob = uas(srv.tmp, "bob", "bob", port, mode="answer", hold_ms=500, calls=5)
    bob.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "bob", "bobpw", port)[0] == 0, "bob registers")
    before = fds(srv)
    # alice calls over TCP from 127.0.0.1 while 127.0.0.2 holds its cap
    # and opens 1,500 more connections in 3 s.
    calls = uac(srv.tmp, "alice-tcp", "alice", "alicepw", "1002", calls=5, rate=2, hold_ms=500)
    calls.args += ["-t", "t1"]
    calls.start(f"127.0.0.1:{srv.sip_port}")
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], fds(srv))
            except OSError:
                pass
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    kept, cut = connection_flood(srv.sip_port, 1500, 3.0, cap)
    stop.set()
    t.join()
    check(calls.wait(30) == 0, "alice's calls during the connection flood: " + calls.errors())
    check(bob.wait(20) == 0, bob.errors())
    rec = [r for r in srv.cdrs() if r["disposition"] == "answered"]
    check(len(rec) == 5, f"{len(rec)} of alice's 5 calls answered")
    # Only the cap's worth was ever held for 127.0.0.2 (plus alice's one
    # connection and the calls' media).
    check(cut >= 1500 - cap - 50, f"only {cut} of {1500 - cap} extra connections were cut")
    check(peak[0] <= before + cap + 40, f"descriptors grew from {before} to {peak[0]}")
    check(all(s.fileno() >= 0 for s in kept), "held sockets")
    check("127.0.0.2 holds 16 TCP connections, its cap" in srv.logtext(),
          "the refusals are not logged")
    check(srv.health()["status"] == "ok", "laoyou is not healthy after the flood")
    for s in kept:
        s.close()
