"""Sign-language video to 12345 (issue 7, item 5): booth video phones are
baresip with the fakevideo source and VP8; laoyou anchors the video RTP
like the audio, on a second pair of ports per side.

The evidence that video went through laoyou both ways comes from three
places that do not share code: laoyou's relay counters (its log line at the
call's end), the call record's codec, and each phone's own RTP receive
count (baresip's rtcpsummary lines, one per stream, audio then video)."""
import json
import os
import re
import socket
import subprocess
import time
from harness import Laoyou, check, free_port, spawn, ivr_caller, uas, register

MODULES = "/usr/lib/baresip/modules"

SITE = {
    "hotlines": [{"number": "12345", "flow": "sign", "language": "zh"}],
    "queues": {"citizen": {"strategy": "skills", "ring_timeout": 8, "wrapup": 0,
                           "announce": 0, "max_wait": 120}},
    "agents": {
        # alice speaks better Chinese and has waited longest, but cannot sign.
        "alice": {"account": "alice", "queues": ["citizen"], "skills": {"lang:zh": 9}},
        "signer": {"account": "signer", "queues": ["citizen"],
                   "skills": {"lang:zh": 5, "sign-language": 9}}},
    "flows": {"sign": {"start": "q", "nodes": {
        "q": {"type": "queue", "queue": "citizen", "skill": "sign-language",
              "prompts": ["beep"], "fallback": "bye"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]}}}},
}


class Phone:
    """A baresip phone with its own config folder, driven over ctrl_tcp.
    video=False makes an audio-only phone (no video modules)."""

    def __init__(self, srv, user, secret, video=True):
        self.user = user
        self.home = os.path.join(srv.tmp, "baresip-" + user)
        os.makedirs(self.home, exist_ok=True)
        lo = 34000 + 200 * (sum(map(ord, user)) % 40)
        self.rtp = (lo, lo + 199)
        self.logpath = os.path.join(srv.tmp, f"baresip-{user}.log")
        # Another program may take a port between our check and
        # baresip's bind (it binds SIP/TLS on sip_port + 1 as well):
        # then choose new ports and start again.
        for attempt in range(3):
            self._start(srv, secret, video)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.ctrl_port), 0.2).close()
                    return
                except OSError:
                    time.sleep(0.1)
            self.stop()
            if "Address already in use" not in self.log():
                break
        raise AssertionError(f"baresip {user} has no control port:\n{self.log()[-1500:]}")

    def _start(self, srv, secret, video):
        self.sip_port = free_port(pair=True)
        self.ctrl_port = free_port(socket.SOCK_STREAM)
        lo, hi = self.rtp
        vconf = ("video_source fakevideo,nil\nvideo_display fakevideo,nil\n"
                 "video_size 320x240\nvideo_bitrate 200000\nvideo_fps 15\n"
                 "module fakevideo.so\nmodule vp8.so\n") if video else ""
        with open(os.path.join(self.home, "config"), "w") as f:
            f.write(f"""poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
net_interface 127.0.0.1
audio_player aubridge,nil
audio_source ausine,440
audio_alert aubridge,nil
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 2
rtp_ports {lo}-{hi}
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
module_path {MODULES}
module g711.so
module aubridge.so
module ausine.so
module rtcpsummary.so
module ctrl_tcp.so
{vconf}module_app account.so
module_app menu.so
""")
        with open(os.path.join(self.home, "accounts"), "w") as f:
            f.write(f"<sip:{self.user}@127.0.0.1:{srv.sip_port};transport=udp>;"
                    f"auth_pass={secret};answermode=auto;regint=300;"
                    f"audio_codecs=PCMU" + (";video_codecs=VP8" if video else "") + "\n")
        self.proc = spawn(["baresip", "-f", self.home, "-s"],
                          stdout=open(self.logpath, "w"), stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)

    def cmd(self, command, params=""):
        """One ctrl_tcp command (a netstring of JSON); returns its response."""
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        with socket.create_connection(("127.0.0.1", self.ctrl_port), 5) as s:
            s.sendall(str(len(body)).encode() + b":" + body + b",")
            s.settimeout(5)
            buf = b""
            deadline = time.time() + 5
            while time.time() < deadline:
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    break
                if not chunk:
                    break
                buf += chunk
                # Events may come first; the response carries our token.
                for m in re.finditer(rb"\d+:(\{.*?\}),", buf):
                    try:
                        msg = json.loads(m.group(1))
                    except ValueError:
                        continue
                    if msg.get("response") and msg.get("token") == command:
                        check(msg.get("ok"), f"{self.user} {command}: {msg}")
                        return msg
        raise AssertionError(f"{self.user}: no response to {command}")

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def summaries(self):
        """rtcpsummary's lines of the last call: [audio, video] as dicts."""
        lines = re.findall(r"EX=BareSip;CS=[^\n]*", self.log())
        out = []
        for line in lines:
            d = dict(kv.split("=", 1) for kv in line.strip(";").split(";") if "=" in kv)
            out.append({"rx": int(d["PR"]), "tx": int(d["PS"]), "ip": d["IP"]})
        return out

    def sdp_of(self, first_line):
        """The SDP bodies of SIP messages this phone received whose first
        line starts with first_line (from baresip's -s trace)."""
        out = []
        for block in self.log().split("\x1b[36;1m#")[1:]:
            lines = block.strip().splitlines()
            if len(lines) > 2 and lines[0].startswith("UDP 127.0.0.1:") and \
                    lines[0].endswith(f"127.0.0.1:{self.sip_port}") and \
                    lines[1].startswith(first_line):
                out.append(block[block.find("v=0"):] if "v=0" in block else "")
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def video_counts(srv):
    """laoyou's relay counters from its end-of-call log lines:
    [(a2b, a2b_relayed, b2a, b2a_relayed), ...]."""
    return [tuple(int(x) for x in m) for m in re.findall(
        r"media: video A→B (\d+) pkts \((\d+) relayed, \d+ lost\), "
        r"B→A (\d+) pkts \((\d+) relayed", srv.logtext())]


def server(site=SITE):
    srv = Laoyou()
    srv.add_account("booth1", "b1pw", "8101", "booth")   # a booth's handset
    srv.add_account("alice", "alicepw", "1001")
    srv.add_account("signer", "signerpw", "1002")
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as f:
        json.dump(site, f, ensure_ascii=False, indent=1)
    r = srv.cli("site", "import", path)
    check("imported" in r.stdout, r.stderr)
    return srv.start()


def login(srv, user, secret):
    """An agent logs in with *61 (a short call from another sipp port)."""
    f = ivr_caller(srv.tmp, f"fc-{user}-{time.time():.3f}", user, secret, "*61",
                   [("wait_bye",)])
    check(f.run(f"127.0.0.1:{srv.sip_port}") == 0, f"{user} *61: {f.errors()}")


def registered(srv, n):
    srv.wait_for(lambda: srv.health()["registrations"] >= n, timeout=15,
                 what=f"{n} registrations")


def qlog(srv):
    return [r[0] + (":" + r[1] if r[1] else "")
            for r in srv.sql("SELECT event, agent FROM queue_log ORDER BY id")]


def wait_summaries(phone, n=2, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = phone.summaries()
        if len(s) >= n:
            return s
        time.sleep(0.1)
    raise AssertionError(f"{phone.user}: no RTCP summary of its call:\n{phone.log()[-2000:]}")


def test_booth_video_reaches_the_signing_agent_both_ways():
    srv = server()
    # alice (a sipp phone without video) is logged in first and idle longest.
    alice_port = free_port()
    alice = uas(srv.tmp, "alice", "alice", alice_port, mode="answer", calls=0)
    alice.args[alice.args.index("-timeout") + 1] = "300s"
    alice.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "alice", "alicepw", alice_port)[0] == 0, "alice registers")
    booth = Phone(srv, "booth1", "b1pw")
    signer = Phone(srv, "signer", "signerpw")
    registered(srv, 3)
    login(srv, "alice", "alicepw")

    # The booth calls while no signer is logged in: it waits in line
    # (alice, free, cannot take it), its video answered and held back.
    booth.cmd("dial", "12345")
    srv.wait_for(lambda: "ENTER" in qlog(srv), what="the booth in line")
    time.sleep(3)
    login(srv, "signer", "signerpw")
    srv.wait_for(lambda: "CONNECT:signer" in qlog(srv), timeout=20, what="the signer answers")
    check("CONNECT:alice" not in qlog(srv), f"a non-signer was given the call: {qlog(srv)}")
    time.sleep(5)                               # 15 frames/s each way
    booth.cmd("hangup")
    srv.wait_for(lambda: any(r["hotline"] == "12345" and r["end_ms"]
                             for r in srv.cdrs()), what="the call's record")
    b_sum = wait_summaries(booth)
    s_sum = wait_summaries(signer)

    rec = [r for r in srv.cdrs() if r["hotline"] == "12345"][-1]
    check(rec["caller"] == "booth1" and rec["callee"] == "signer", rec)
    check(rec["codec"] == "PCMU+VP8", f"codec {rec['codec']}")
    check(rec["pkts_a2b"] > 150 and rec["pkts_b2a"] > 150,
          f"audio {rec['pkts_a2b']}/{rec['pkts_b2a']}")

    # laoyou relayed video both ways (the booth's started before the
    # agent answered: those first frames were received, not relayed).
    counts = video_counts(srv)
    check(len(counts) == 1, f"video counters: {counts}")
    a2b, a2b_fwd, b2a, b2a_fwd = counts[0]
    check(a2b_fwd >= 40 and b2a_fwd >= 40 and b2a_fwd == b2a and a2b >= a2b_fwd + 20,
          f"video relayed A→B {a2b_fwd} of {a2b}, B→A {b2a_fwd} of {b2a}")

    # Each phone received the other's video and audio (its own count).
    check(len(b_sum) == 2 and len(s_sum) == 2, (b_sum, s_sum))
    check(b_sum[0]["rx"] > 150 and s_sum[0]["rx"] > 150, f"audio rx {b_sum} {s_sum}")
    check(b_sum[1]["rx"] >= 40 and s_sum[1]["rx"] >= 40, f"video rx {b_sum} {s_sum}")
    # ... and decoded it: the VP8 frames came through whole.
    check("video: receiving with resolution 320 x 240" in signer.log(),
          "the agent decoded no video")
    check("video: receiving with resolution 320 x 240" in booth.log(),
          "the booth decoded no video")
    # The booth was answered by laoyou with video (its port, not 0) and the
    # agent was offered the booth's VP8 with its parameters and feedback.
    answer = [s for s in booth.sdp_of("SIP/2.0 200") if "m=video" in s]
    check(answer and re.search(r"m=video [1-9]\d* RTP/AVP 96", answer[0]) and
          "a=rtpmap:96 VP8/90000" in answer[0], f"answer to the booth: {answer}")
    offer = [s for s in signer.sdp_of("INVITE") if "m=video" in s]
    check(offer and "a=rtpmap:96 VP8/90000" in offer[0] and
          "a=fmtp:96 max-fs=3600" in offer[0] and "a=rtcp-fb:* nack pli" in offer[0],
          f"offer to the agent: {offer}")
    booth.stop()
    signer.stop()
    alice.kill()


def test_direct_video_call_survives_hold_and_resume():
    srv = Laoyou()
    srv.add_account("booth1", "b1pw", "8101")
    srv.add_account("signer", "signerpw", "1002")
    srv.start()
    booth = Phone(srv, "booth1", "b1pw")
    signer = Phone(srv, "signer", "signerpw")
    registered(srv, 2)

    booth.cmd("dial", "1002")
    srv.wait_for(lambda: "answered (PCMU+VP8)" in srv.logtext(), what="a video call")
    time.sleep(2)
    booth.cmd("hold")
    srv.wait_for(lambda: "caller re-INVITE (sendonly)" in srv.logtext(), what="hold")
    time.sleep(1)
    booth.cmd("resume")
    srv.wait_for(lambda: "caller re-INVITE (sendrecv)" in srv.logtext(), what="resume")
    # The agent's side holds and resumes too (laoyou answers it, then
    # re-INVITEs the booth with the change).
    time.sleep(1)
    signer.cmd("hold")
    srv.wait_for(lambda: "callee re-INVITE (sendonly)" in srv.logtext(), what="agent's hold")
    time.sleep(1)
    signer.cmd("resume")
    srv.wait_for(lambda: "callee re-INVITE (sendrecv)" in srv.logtext(), what="agent's resume")
    time.sleep(0.5)
    # After the resume, video reaches both phones through laoyou (a
    # capture: baresip's RTCP summary needs a longer call after a
    # re-INVITE than this).
    cap = os.path.join(srv.tmp, "after-resume.pcap")
    phones = f"udp dst portrange {signer.rtp[0]}-{signer.rtp[1]} or " \
        f"udp dst portrange {booth.rtp[0]}-{booth.rtp[1]}"
    dump = spawn(["dumpcap", "-q", "-i", "lo", "-f",
                  f"udp src portrange {srv.rtp[0]}-{srv.rtp[1]} and ({phones})", "-w", cap],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline and not os.path.exists(cap):
        time.sleep(0.05)
    time.sleep(3)
    dump.send_signal(2)
    dump.wait(10)
    r = subprocess.run(["tshark", "-r", cap, "-o", "rtp.heuristic_rtp:TRUE", "-T", "fields",
                        "-e", "udp.dstport", "-e", "rtp.p_type"], capture_output=True, text=True)
    got = {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) == 2 and f[1]:
            who = "signer" if signer.rtp[0] <= int(f[0]) <= signer.rtp[1] else "booth"
            got[(who, f[1])] = got.get((who, f[1]), 0) + 1
    for who in ("signer", "booth"):
        check(got.get((who, "96"), 0) >= 20 and got.get((who, "0"), 0) >= 50,
              f"after resume, to the {who}: {got}")
    booth.cmd("hangup")
    srv.wait_for(lambda: srv.cdrs() and srv.cdrs()[-1]["end_ms"], what="the record")
    rec = srv.cdrs()[-1]
    check(rec["callee"] == "signer" and rec["codec"] == "PCMU+VP8", rec)
    a2b, a2b_fwd, b2a, b2a_fwd = video_counts(srv)[0]
    check(a2b_fwd >= 40 and b2a_fwd >= 40, f"video relayed {a2b_fwd}/{b2a_fwd}")
    booth.stop()
    signer.stop()


def test_video_to_an_audio_only_phone_is_refused_in_place():
    srv = Laoyou()
    srv.add_account("booth1", "b1pw", "8101")
    srv.add_account("bob", "bobpw", "1003")
    srv.start()
    booth = Phone(srv, "booth1", "b1pw")
    bob = Phone(srv, "bob", "bobpw", video=False)
    registered(srv, 2)
    booth.cmd("dial", "1003")
    srv.wait_for(lambda: " answered (PCMU)" in srv.logtext(), what="an audio call")
    time.sleep(2)
    booth.cmd("hangup")
    srv.wait_for(lambda: srv.cdrs() and srv.cdrs()[-1]["end_ms"], what="the record")
    answer = [s for s in booth.sdp_of("SIP/2.0 200") if "v=0" in s]
    check(answer and "m=video 0 RTP/AVP 96" in answer[0] and
          re.search(r"m=audio [1-9]\d* RTP/AVP 0", answer[0]), f"answer: {answer}")
    rec = srv.cdrs()[-1]
    check(rec["codec"] == "PCMU" and rec["pkts_a2b"] > 50 and rec["pkts_b2a"] > 50, rec)
    # No video went anywhere: none was relayed, whatever the booth sent.
    for a2b, a2b_fwd, b2a, b2a_fwd in video_counts(srv):
        check(a2b_fwd == 0 and b2a_fwd == 0, video_counts(srv))
    booth.stop()
    bob.stop()
