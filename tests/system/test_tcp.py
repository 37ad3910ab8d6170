"""SIP over TCP: a cap on the connections one address may hold
(tcp_max_per_address) and an idle timeout (tcp_idle_timeout) that spares
a phone registered over its connection."""
import os
import socket
import subprocess
import time
from harness import (Laoyou, Sipp, check, free_port, register, register_scenario,
                     spawn, uac, uas)

MODULES = "/usr/lib/baresip/modules"


class Sipp2(Sipp):
    """A sipp peer on 127.0.0.2 (the harness puts them on 127.0.0.1)."""

    def cmd(self, target):
        c = super().cmd(target)
        c[c.index("-i") + 1] = "127.0.0.2"
        return c


def on_127_0_0_2(s):
    s.__class__ = Sipp2
    return s


def server(extra):
    srv = Laoyou(extra=extra)
    srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    return srv.start()


def connect(srv, src="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(("127.0.0.1", srv.sip_port))
    return s


def state(s, wait):
    """'open' if nothing arrives within wait seconds, else 'closed' (end of
    stream or reset).  Raises if SIP data arrives unasked."""
    s.settimeout(wait)
    try:
        data = s.recv(4096)
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "closed"
    check(data == b"", f"unexpected data {data!r}")
    return "closed"


def options(srv, s, tag):
    """An OPTIONS over connection s; the status line of the answer."""
    port = s.getsockname()[1]
    ip = s.getsockname()[0]
    s.sendall((f"OPTIONS sip:laoyou@127.0.0.1:{srv.sip_port} SIP/2.0\r\n"
               f"Via: SIP/2.0/TCP {ip}:{port};branch=z9hG4bK-tcp-{tag}-{time.time_ns()}\r\n"
               f"From: <sip:probe@{ip}>;tag={tag}\r\nTo: <sip:laoyou@127.0.0.1>\r\n"
               f"Call-ID: tcp-{tag}-{time.time_ns()}@{ip}\r\nCSeq: 1 OPTIONS\r\n"
               "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode())
    s.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def register_from_2(srv, user, secret):
    """A REGISTER over TCP from 127.0.0.2, answering the challenge."""
    port = free_port()
    s = on_127_0_0_2(Sipp(srv.tmp, f"reg2-{user}-{time.time():.3f}", register_scenario(200),
                          ["-s", user, "-au", user, "-ap", secret, "-set", "expires", "300",
                           "-set", "contact", f"127.0.0.2:{port}",
                           "-m", "1", "-t", "t1", "-timeout", "10s"], port=port))
    return s.run(f"127.0.0.1:{srv.sip_port}"), s


def bob_answers(srv, calls=1):
    port = free_port()
    b = uas(srv.tmp, f"uas-bob-{time.time():.3f}", "bob", port, mode="answer", hold_ms=500,
            calls=calls)
    b.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "bob", "bpw", port)[0] == 0, "bob registers")
    return b


def answered(srv):
    return [r for r in srv.cdrs() if r["disposition"] == "answered"]


def test_cap_resets_the_extra_connections_of_one_address():
    cap, extra = 4, 3
    srv = server({"tcp_max_per_address": cap, "tcp_idle_timeout": 0})
    held = [connect(srv) for _ in range(cap + extra)]
    states = [state(s, 0.5) for s in held]
    # libre accepts in the order the kernel completed them: the first cap.
    check(states == ["open"] * cap + ["closed"] * extra, f"connections: {states}")
    for i, s in enumerate(held[:cap]):
        check(options(srv, s, f"held{i}").startswith("SIP/2.0 200"), f"held {i} serves SIP")
    check(f"127.0.0.1 holds {cap} TCP connections, its cap" in srv.logtext(),
          "the refusal is not logged")

    # Another address registers and calls over TCP meanwhile.
    rc, reg = register_from_2(srv, "alice", "apw")
    check(rc == 0, "alice registers from 127.0.0.2: " + reg.errors())
    check(srv.sql("SELECT src, transport FROM bindings WHERE user='alice'")[0][1] == "TCP",
          "alice's binding is not over TCP")
    check(srv.sql("SELECT src FROM bindings WHERE user='alice'")[0][0].startswith("127.0.0.2:"),
          "alice did not register from 127.0.0.2")
    b = bob_answers(srv)
    a = on_127_0_0_2(uac(srv.tmp, "uac-alice-2", "alice", "apw", "1002", hold_ms=500))
    a.args += ["-t", "t1"]
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, "alice's TCP call from 127.0.0.2: " + a.errors())
    check(b.wait(20) == 0, b.errors())
    check(len(answered(srv)) == 1, "the call from 127.0.0.2 was not answered")

    # Held connections still count; closing two frees two places, no more.
    for s in held[cap:]:
        s.close()
    held[0].close()
    held[1].close()
    time.sleep(0.3)
    again = [connect(srv) for _ in range(3)]
    states = [state(s, 0.5) for s in again]
    check(states == ["open", "open", "closed"], f"after two closed: {states}")
    for s in held[2:cap] + again:
        s.close()


def test_idle_connection_is_closed_and_a_talking_one_is_not():
    srv = server({"tcp_idle_timeout": 2})
    silent = connect(srv)
    spoke = connect(srv)
    check(options(srv, spoke, "spoke").startswith("SIP/2.0 200"), "OPTIONS over TCP")
    pinger = connect(srv)
    t0 = time.time()
    check(state(silent, 1.0) == "open", "closed before its idle time")
    # pinger sends a CRLF keep-alive (RFC 5626 §4.4.1) every half second
    # for five seconds: data, so not idle.
    pongs = b""
    pinger.settimeout(0.5)
    while time.time() - t0 < 5:
        pinger.sendall(b"\r\n\r\n")
        try:
            pongs += pinger.recv(64)
        except socket.timeout:
            pass
        time.sleep(0.4)
    check(pongs.startswith(b"\r\n"), f"no keep-alive answer: {pongs!r}")
    check(state(silent, 0.1) == "closed", "a silent connection outlived tcp_idle_timeout")
    check(state(spoke, 0.1) == "closed", "a connection silent after one request outlived it")
    check(state(pinger, 0.1) == "open", "a connection sending keep-alives was closed")
    # Now pinger falls silent too.
    check(state(pinger, 4.0) == "closed", "pinger was not closed after it fell silent")
    check(srv.logtext().count("silent for") == 3, "closures not logged:\n" + srv.tail())
    for s in (silent, spoke, pinger):
        s.close()


def baresip_tcp(tmp, srv, user, secret):
    """baresip registered over TCP; it answers calls by itself."""
    home = os.path.join(tmp, "baresip-" + user)
    os.makedirs(home, exist_ok=True)
    port = free_port()
    with open(os.path.join(home, "config"), "w") as f:
        f.write(f"""poll_method epoll
sip_listen 127.0.0.1:{port}
audio_player aubridge,nil
audio_source ausine,440
audio_alert aubridge,nil
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 2
rtp_ports 34000-34999
module_path {MODULES}
module g711.so
module aubridge.so
module ausine.so
module_app account.so
module_app menu.so
""")
    with open(os.path.join(home, "accounts"), "w") as f:
        f.write(f"<sip:{user}@127.0.0.1:{srv.sip_port};transport=tcp>;"
                f"auth_pass={secret};answermode=auto;regint=600;audio_codecs=PCMU\n")
    log = open(os.path.join(tmp, f"baresip-{user}.log"), "w")
    return spawn(["baresip", "-f", home], stdout=log, stderr=subprocess.STDOUT,
                 stdin=subprocess.DEVNULL)


def test_registered_tcp_phone_outlives_the_idle_timeout():
    srv = server({"tcp_idle_timeout": 2})
    phone = baresip_tcp(srv.tmp, srv, "alice", "apw")
    srv.wait_for(lambda: srv.health()["registrations"] == 1, what="baresip's registration")
    src, tp = srv.sql("SELECT src, transport FROM bindings WHERE user='alice'")[0]
    check(tp == "TCP", f"baresip registered over {tp}")
    # A stranger's connection opened now goes after 2 s; the phone's stays.
    stranger = connect(srv)
    check(state(stranger, 6.0) == "closed", "the idle stranger was not closed")
    log = srv.logtext()
    check(f"from {src} silent" not in log, "the registered phone's connection was closed")
    check("silent for" in log, "no idle closure logged")
    # The phone is still reached over the connection it registered on
    # (its Contact is that connection's own port: no other way in).
    a = uac(srv.tmp, "uac-to-phone", "bob", "bpw", "1001", hold_ms=1500)
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, "call to the TCP phone: " + a.errors())
    srv.wait_for(lambda: len(srv.cdrs()) == 1, what="the call's record")
    r = srv.cdrs()[0]
    check(r["callee"] == "alice" and r["disposition"] == "answered", r)
    check(r["pkts_b2a"] > 30, f"the phone sent {r['pkts_b2a']} packets")
    check(f"from {src} silent" not in srv.logtext(), "the phone's connection was closed")
    stranger.close()
    phone.terminate()
    phone.wait(5)


def test_tcp_registration_is_refreshed_before_libre_drops_the_connection():
    """libre ends a connection silent for 900 s; a TCP binding is given at
    most 840 s so the phone refreshes over it in time."""
    srv = server({})
    rc, reg = register(srv, srv.tmp, "alice", "apw", free_port(), expires=3600, transport="t1")
    check(rc == 0, reg.errors())
    (exp,) = srv.sql("SELECT expires_at FROM bindings WHERE user='alice'")[0]
    left = exp - time.time()
    check(800 < left <= 841, f"TCP binding for {left:.0f} s, not at most 840")
    rc, reg = register(srv, srv.tmp, "bob", "bpw", free_port(), expires=3600)
    check(rc == 0, reg.errors())
    (exp,) = srv.sql("SELECT expires_at FROM bindings WHERE user='bob'")[0]
    check(exp - time.time() > 3500, "a UDP binding was shortened")


def test_calls_connect_while_one_address_holds_its_cap():
    cap = 4
    srv = server({"tcp_max_per_address": cap})
    held = [connect(srv) for _ in range(cap)]
    refused = [connect(srv) for _ in range(10)]
    check([state(s, 0.3) for s in refused] == ["closed"] * 10, "over the cap not closed")
    b = bob_answers(srv, calls=2)
    # From the address at its TCP cap, over UDP: the cap is TCP's only.
    a = uac(srv.tmp, "uac-udp", "alice", "apw", "1002", hold_ms=500)
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, "UDP call: " + a.errors())
    # From another address, over TCP.
    a2 = on_127_0_0_2(uac(srv.tmp, "uac-tcp-2", "alice", "apw", "1002", hold_ms=500))
    a2.args += ["-t", "t1"]
    check(a2.run(f"127.0.0.1:{srv.sip_port}") == 0, "TCP call from 127.0.0.2: " + a2.errors())
    check(b.wait(20) == 0, b.errors())
    check(len(answered(srv)) == 2, f"{len(answered(srv))} of 2 calls answered")
    check([state(s, 0.1) for s in held] == ["open"] * cap, "the held connections were cut")
    for s in held + refused:
        s.close()
