"""A real SIP phone: baresip registers through digest auth and calls a
sipp UA through laoyou, then takes a call from one."""
import os
import subprocess
import time
from harness import Laoyou, check, register, uas, uac, free_port, spawn

MODULES = "/usr/lib/baresip/modules"


def baresip(tmp, srv, user, secret, extra_cmds=()):
    """Start baresip with its own config folder; audio is a sine source and
    a null player, so no sound card is needed."""
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
rtp_ports 33000-33999
module_path {MODULES}
module g711.so
module aubridge.so
module ausine.so
module_app account.so
module_app menu.so
""")
    with open(os.path.join(home, "accounts"), "w") as f:
        f.write(f"<sip:{user}@127.0.0.1:{srv.sip_port};transport=udp>;"
                f"auth_pass={secret};answermode=auto;regint=300;audio_codecs=PCMU\n")
    args = ["baresip", "-f", home]
    for c in extra_cmds:
        args += ["-e", c]
    log = open(os.path.join(tmp, f"baresip-{user}.log"), "w")
    return spawn(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), home


def test_baresip_calls_and_is_called():
    srv = Laoyou()
    srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    srv.start()

    # bob is a sipp phone that answers, echoes RTP and hangs up after 3 s.
    port = free_port()
    b = uas(srv.tmp, "uas-bob", "bob", port, mode="bye", hold_ms=3000)
    b.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "bob", "bpw", port)[0] == 0, "bob registers")

    # alice is baresip: it registers and dials 1002 from its command line.
    phone, _ = baresip(srv.tmp, srv, "alice", "apw", ["/dial 1002"])
    srv.wait_for(lambda: srv.health()["registrations"] == 2, what="baresip registration")
    check(b.wait(30) == 0, "bob's side of the call failed: " + b.errors())
    srv.wait_for(lambda: len(srv.cdrs()) == 1, what="record of baresip's call")
    r = srv.cdrs()[0]
    check(r["caller"] == "alice" and r["callee"] == "bob", r)
    check(r["disposition"] == "answered" and r["hangup_by"] == "callee", r)
    check(r["pkts_a2b"] > 50 and r["pkts_b2a"] > 50, f"media {r['pkts_a2b']}/{r['pkts_b2a']}")

    # Now a sipp caller reaches baresip, which answers by itself.
    a = uac(srv.tmp, "uac-to-baresip", "bob", "bpw", "1001", hold_ms=2000)
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, "call to baresip: " + a.errors())
    srv.wait_for(lambda: len(srv.cdrs()) == 2, what="record of the call to baresip")
    r = srv.cdrs()[1]
    check(r["callee"] == "alice" and r["disposition"] == "answered", r)
    check(r["pkts_b2a"] > 50, f"baresip sent {r['pkts_b2a']} packets")
    phone.terminate()
    phone.wait(5)
