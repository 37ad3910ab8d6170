"""The registrar: digest auth, bans, expiry, restart, OPTIONS."""
import socket
import time
from harness import Laoyou, check, register, free_port, Sipp


def server(extra=None):
    srv = Laoyou(extra)
    srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    return srv.start()


def bindings(srv, user):
    return srv.sql("SELECT contact, expires_at FROM bindings WHERE user=?", user)


def test_register_with_digest_auth():
    srv = server()
    port = free_port()
    rc, s = register(srv, srv.tmp, "alice", "apw", port)
    check(rc == 0, s.errors())
    check(srv.health()["registrations"] == 1, srv.health())
    b = bindings(srv, "alice")
    check(len(b) == 1 and b[0][0].startswith(f"sip:alice@127.0.0.1:{port}"), b)
    check(b[0][1] > time.time() + 250, "expiry not stored")


def test_two_contacts_and_unregister():
    srv = server()
    p1, p2 = free_port(), free_port()
    check(register(srv, srv.tmp, "alice", "apw", p1)[0] == 0, "first contact")
    check(register(srv, srv.tmp, "alice", "apw", p2)[0] == 0, "second contact")
    check(srv.health()["registrations"] == 2, srv.health())
    check(register(srv, srv.tmp, "alice", "apw", p1, expires=0)[0] == 0, "unregister")
    check(srv.health()["registrations"] == 1, srv.health())
    check(len(bindings(srv, "alice")) == 1, "store not updated")


def test_wrong_password_and_wrong_user_get_the_same_403():
    srv = server()
    rc, s = register(srv, srv.tmp, "alice", "nope", free_port(), final=403)
    check(rc == 0, "wrong password: " + s.errors())
    rc, s = register(srv, srv.tmp, "mallory", "x", free_port(), final=403)
    check(rc == 0, "wrong user: " + s.errors())
    check(srv.health()["registrations"] == 0, "registered anyway")


def test_repeated_failures_ban_the_address():
    srv = server({"auth_fail_limit": "3", "auth_ban_time": "60"})
    for _ in range(3):
        check(register(srv, srv.tmp, "alice", "bad", free_port(), final=403)[0] == 0,
              "failure not refused")
    # Now the address gets no challenge at all, only 403.
    r = sip_exchange(srv, request("REGISTER").replace(b"sip:probe@", b"sip:alice@"))
    check(r.startswith("SIP/2.0 403"), "banned address was challenged: " + r[:60])
    check("banned for 60 s" in srv.logtext(), "ban not logged")


def test_short_expiry_gets_423():
    srv = server({"min_expires": "120"})
    rc, s = register(srv, srv.tmp, "alice", "apw", free_port(), expires=30, final=423)
    check(rc == 0, s.errors())


def test_registration_expires():
    srv = server({"min_expires": "1"})
    check(register(srv, srv.tmp, "alice", "apw", free_port(), expires=1)[0] == 0, "register")
    srv.wait_for(lambda: srv.health()["registrations"] == 0, timeout=5, what="expiry")
    check(bindings(srv, "alice") == [], "expired binding kept in the store")


def test_restart_keeps_registrations():
    srv = server()
    port = free_port()
    check(register(srv, srv.tmp, "alice", "apw", port)[0] == 0, "register")
    check(srv.stop() == 0, "clean stop")
    srv.start()
    check(srv.health()["registrations"] == 1, "binding lost on restart")


def sip_exchange(srv, data, proto=socket.SOCK_DGRAM, timeout=2.0):
    s = socket.socket(socket.AF_INET, proto)
    s.settimeout(timeout)
    try:
        if proto == socket.SOCK_STREAM:
            s.connect(("127.0.0.1", srv.sip_port))
            s.sendall(data)
        else:
            s.bind(("127.0.0.1", 0))
            s.sendto(data, ("127.0.0.1", srv.sip_port))
        return s.recv(65536).decode(errors="replace")
    except socket.timeout:
        return ""
    finally:
        s.close()


def request(method, extra="", body="", clen=None, port=5999):
    if clen is None:
        clen = len(body.encode())
    return (f"{method} sip:laoyou@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bK{time.time_ns()}\r\n"
            "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:laoyou@127.0.0.1>\r\n"
            f"Call-ID: {time.time_ns()}@probe\r\nCSeq: 1 {method}\r\n"
            f"Max-Forwards: 70\r\n{extra}Content-Length: {clen}\r\n\r\n{body}").encode()


def test_options_keepalive_gets_200():
    srv = server()
    r = sip_exchange(srv, request("OPTIONS"))
    check(r.startswith("SIP/2.0 200"), r)
    check("Allow: INVITE" in r, r)
    r = sip_exchange(srv, request("OPTIONS"), socket.SOCK_STREAM)
    check(r.startswith("SIP/2.0 200"), "over TCP: " + r)


def test_bad_requests_get_the_right_status():
    srv = server({"max_message_size": "4096"})
    cases = [
        (request("OPTIONS", body="abc", clen=10), "400"),
        (request("SUBSCRIBE"), "405"),
        (request("FOOBAR"), "501"),
        (request("OPTIONS", extra="Require: foo\r\n"), "420"),
        (request("OPTIONS").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), "400"),
        (request("OPTIONS").replace(b"sip:laoyou@", b"http:laoyou@", 1), "416"),
        (request("OPTIONS", extra="X-Pad: " + "a" * 6000 + "\r\n"), "513"),
    ]
    for msg, want in cases:
        r = sip_exchange(srv, msg)
        check(r.startswith("SIP/2.0 " + want), f"want {want} for {msg[:40]!r}…, got {r[:60]!r}")
    # Junk gets no answer and does no harm.
    check(sip_exchange(srv, b"\x00\xff garbage\r\n\r\n", timeout=0.5) == "", "junk answered")
    # Larger than a receive buffer: cut short, never parsed, never answered.
    check(sip_exchange(srv, request("OPTIONS", extra="X-Pad: " + "a" * 20000 + "\r\n"),
                       timeout=0.5) == "", "oversized datagram answered")
    check(srv.health()["status"] == "ok", "server unhealthy after bad input")
