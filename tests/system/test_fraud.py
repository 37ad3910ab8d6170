"""Toll fraud and media from strangers (issue 6, items 4 and 5).

A sipp UAS stands in for the trunk (`trunk = sip:127.0.0.1:PORT`) and
dumpcap watches its port: in every refused case the trunk must never see an
INVITE, and in the control case (a caller with --outbound) it must.  The
requests an ordinary phone would not send (forged From, credentials of one
account for another, REFER, a digest for another Request-URI) come from a
small SIP client written here over a plain UDP socket."""
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import uuid

from harness import (Laoyou, check, register, uas, uac, ivr_caller, free_port, spawn,
                     dtmf_pcap, TestFailure)

OUTSIDE = "013800000000"        # a mobile number: the trunk's, never ours


# ---------------------------------------------------------------- the trunk

class Trunk:
    """A sipp UAS on the trunk's port that answers whatever comes, and a
    capture of every packet sent to that port (UDP or TCP)."""

    def __init__(self, tmp, port):
        self.port = port
        self.tmp = tmp
        self.pcap = os.path.join(tmp, f"trunk-{port}.pcap")
        self.cap = spawn(["dumpcap", "-q", "-i", "lo", "-f", f"dst port {port}",
                          "-w", self.pcap], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.pcap):
            time.sleep(0.05)
        time.sleep(0.3)
        self.sipp = uas(tmp, f"trunk-{port}", "trunk", port, mode="answer",
                        rtp_echo=False, calls=0)
        self.sipp.args[self.sipp.args.index("-timeout") + 1] = "120s"

    def start(self, srv):
        self.sipp.start(f"127.0.0.1:{srv.sip_port}")
        return self

    def stop(self):
        if self.cap.poll() is None:
            time.sleep(0.5)                 # anything in flight lands first
            self.cap.send_signal(signal.SIGINT)
            self.cap.wait(10)
        self.sipp.kill()

    def invites(self):
        """Request-URIs of the INVITEs the trunk received (stop() first)."""
        r = subprocess.run(["tshark", "-r", self.pcap, "-d", f"udp.port=={self.port},sip",
                            "-d", f"tcp.port=={self.port},sip", "-Y",
                            'sip.Method == "INVITE"', "-T", "fields", "-e", "sip.r-uri"],
                           capture_output=True, text=True)
        return [l.strip() for l in r.stdout.splitlines() if l.strip()]


def site(extra_accounts=(), site_json=None, conf=None):
    """laoyou with a trunk; boss may call out, alice and bob may not."""
    trunk_port = free_port()
    srv = Laoyou({"trunk": f"sip:127.0.0.1:{trunk_port}", **(conf or {})})
    srv.add_account("boss", "bosspw", "1009", "agent", "--outbound")
    srv.add_account("alice", "alicepw", "1001")
    srv.add_account("bob", "bobpw", "1002")
    for a in extra_accounts:
        srv.cli("account", "add", *a)
    if site_json:
        path = os.path.join(srv.tmp, "site.json")
        with open(path, "w") as f:
            json.dump(site_json, f)
        r = srv.cli("site", "import", path)
        check("imported" in r.stdout, r.stdout + r.stderr)
    trunk = Trunk(srv.tmp, trunk_port)
    srv.start()
    trunk.start(srv)
    return srv, trunk


def no_trunk_call(srv, trunk, what):
    trunk.stop()
    got = trunk.invites()
    check(got == [], f"{what}: the trunk received INVITE(s) {got}\n{srv.tail()}")


def no_outside_record(srv, what):
    """Nothing in the call records went out to the trunk."""
    for r in srv.cdrs():
        check(not (r["disposition"] == "answered" and r["dialled"].startswith("0138")),
              f"{what}: an outside call was connected: {r}")


# ---------------------------------------------------------------- a SIP client

def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class Msg:
    def __init__(self, data):
        text = data.decode("utf-8", "replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.start = lines[0]
        self.headers = []
        for l in lines[1:]:
            if l[:1] in (" ", "\t") and self.headers:
                k, v = self.headers[-1]
                self.headers[-1] = (k, v + " " + l.strip())
            elif ":" in l:
                k, v = l.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))
        self.is_response = self.start.startswith("SIP/2.0 ")
        self.code = int(self.start.split()[1]) if self.is_response else 0
        self.method = None if self.is_response else self.start.split()[0]

    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "c": "content-type"}

    def all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if self.COMPACT.get(k, k) == name]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else None

    def cseq(self):
        n, m = self.get("cseq").split()
        return int(n), m


def tag_of(hdr):
    m = re.search(r";\s*tag=([^;>\s]+)", hdr or "")
    return m.group(1) if m else None


def uri_of(hdr):
    m = re.search(r"<([^>]+)>", hdr)
    return m.group(1) if m else hdr.split(";")[0]


class UA:
    """Just enough of a SIP user agent over UDP for hand-made requests."""

    def __init__(self, srv, ip="127.0.0.1", port=0):
        self.srv = srv
        self.dst = ("127.0.0.1", srv.sip_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.ip, self.port = self.sock.getsockname()
        self.queue = []             # requests that came while we waited
        self.rtp_port = free_port(pair=True)

    def close(self):
        self.sock.close()

    def sdp(self):
        return ("v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
                "m=audio {p} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
                "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                "a=fmtp:101 0-15\r\n").format(ip=self.ip, p=self.rtp_port)

    def send(self, text, dst=None):
        self.sock.sendto(text.encode(), dst or self.dst)

    def recv(self, timeout):
        self.sock.settimeout(max(timeout, 0.01))
        try:
            data, src = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        return Msg(data)

    def request(self, method, ruri, frm, to, callid, cseq, extra="", body="",
                ctype="application/sdp", branch=None):
        branch = branch or "z9hG4bK" + uuid.uuid4().hex[:16]
        lines = [f"{method} {ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch={branch};rport",
                 "Max-Forwards: 70", f"From: {frm}", f"To: {to}", f"Call-ID: {callid}",
                 f"CSeq: {cseq} {method}",
                 f"Contact: <sip:{uri_of(frm).split(':')[1].split('@')[0]}@{self.ip}:{self.port}>"]
        if extra:
            lines += [l for l in extra.split("\r\n") if l]
        if body:
            lines.append(f"Content-Type: {ctype}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body, branch

    def transact(self, text, callid, cseq, method, timeout=8.0):
        """Send a request (again every 0.5 s until answered); return the
        final response, and the provisional ones on the way."""
        self.send(text)
        deadline = time.time() + timeout
        last_send = time.time()
        got_any = False
        while time.time() < deadline:
            m = self.recv(0.1)
            if m is None:
                if not got_any and time.time() - last_send > 0.5:
                    self.send(text)
                    last_send = time.time()
                continue
            if not m.is_response:
                self.queue.append(m)
                continue
            if m.get("call-id") != callid or m.cseq() != (cseq, method):
                continue
            got_any = True
            if m.code >= 200:
                return m
        raise TestFailure(f"no final answer to {method} {callid}\n{self.srv.tail()}")

    def digest(self, chal, method, uri, user, secret, nc=1):
        f = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
        cnonce = uuid.uuid4().hex[:12]
        ha1 = md5(f"{user}:{f['realm']}:{secret}")
        ha2 = md5(f"{method}:{uri}")
        ncs = "%08x" % nc
        resp = md5(f"{ha1}:{f['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
        return (f'Digest username="{user}", realm="{f["realm"]}", nonce="{f["nonce"]}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5, cnonce="{cnonce}", '
                f'qop=auth, nc={ncs}')

    def ack_error(self, inv_text, branch, final):
        """ACK a non-2xx final answer (same branch, the answer's To)."""
        first = inv_text.split("\r\n")[0]
        ruri = first.split()[1]
        inv = Msg(inv_text.encode())
        n, _ = inv.cseq()
        self.send("\r\n".join([
            f"ACK {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch={branch};rport",
            "Max-Forwards: 70", f"From: {inv.get('from')}", f"To: {final.get('to')}",
            f"Call-ID: {inv.get('call-id')}", f"CSeq: {n} ACK", "Content-Length: 0"])
            + "\r\n\r\n")

    def invite(self, dialled, from_user, auth_user=None, secret=None,
               digest_uri=None, digest_method="INVITE", ruri=None):
        """An INVITE from From: from_user to dialled; answer a 407 with the
        credentials of auth_user (digest computed for digest_uri, by default
        the Request-URI).  Returns (final response, dialog or None)."""
        # laoyou's nonces are per millisecond (see
        # test_each_challenge_has_a_nonce_of_its_own): let the clock move so
        # this call's challenge is not one a previous call already used.
        time.sleep(0.003)
        ruri = ruri or f"sip:{dialled}@127.0.0.1:{self.srv.sip_port}"
        callid = uuid.uuid4().hex + "@fraud"
        frm = f"<sip:{from_user}@127.0.0.1>;tag={uuid.uuid4().hex[:8]}"
        to = f"<sip:{dialled}@127.0.0.1>"
        cseq = 1
        text, br = self.request("INVITE", ruri, frm, to, callid, cseq, body=self.sdp())
        final = self.transact(text, callid, cseq, "INVITE")
        if final.code == 407 and auth_user:
            self.ack_error(text, br, final)
            cseq += 1
            cred = self.digest(final.get("proxy-authenticate"), digest_method,
                               digest_uri or ruri, auth_user, secret)
            text, br = self.request("INVITE", ruri, frm, to, callid, cseq,
                                    extra=f"Proxy-Authorization: {cred}", body=self.sdp())
            final = self.transact(text, callid, cseq, "INVITE")
            if final.code == 407 and "stale=true" in (final.get("proxy-authenticate") or ""):
                # As a phone would: the same credentials on the new nonce.
                self.ack_error(text, br, final)
                time.sleep(0.003)
                cseq += 1
                cred = self.digest(final.get("proxy-authenticate"), digest_method,
                                   digest_uri or ruri, auth_user, secret)
                text, br = self.request("INVITE", ruri, frm, to, callid, cseq,
                                        extra=f"Proxy-Authorization: {cred}",
                                        body=self.sdp())
                final = self.transact(text, callid, cseq, "INVITE")
        if final.code >= 300:
            self.ack_error(text, br, final)
            return final, None
        dlg = {"callid": callid, "from": frm, "to": final.get("to"),
               "target": uri_of(final.get("contact")), "cseq": cseq}
        self.indialog(dlg, "ACK", cseq=cseq)
        return final, dlg

    def indialog(self, dlg, method, cseq=None, extra="", wait=False):
        if cseq is None:
            dlg["cseq"] += 1
            cseq = dlg["cseq"]
        text, _ = self.request(method, dlg["target"], dlg["from"], dlg["to"],
                               dlg["callid"], cseq, extra=extra)
        if method == "ACK":
            self.send(text)
            return None
        return self.transact(text, dlg["callid"], cseq, method)

    def register(self, user, secret, contact, expires=300):
        callid = uuid.uuid4().hex + "@reg"
        frm = f"<sip:{user}@127.0.0.1>;tag={uuid.uuid4().hex[:8]}"
        to = f"<sip:{user}@127.0.0.1>"
        ruri = f"sip:127.0.0.1:{self.srv.sip_port}"
        extra = f"Expires: {expires}\r\n"
        text, _ = self.request("REGISTER", ruri, frm, to, callid, 1, extra=extra)
        text = re.sub(r"Contact: [^\r]*", f"Contact: <{contact}>", text)
        final = self.transact(text, callid, 1, "REGISTER")
        if final.code == 401:
            cred = self.digest(final.get("www-authenticate"), "REGISTER", ruri, user, secret)
            text, _ = self.request("REGISTER", ruri, frm, to, callid, 2,
                                   extra=extra + f"Authorization: {cred}\r\n")
            text = re.sub(r"Contact: [^\r]*", f"Contact: <{contact}>", text)
            final = self.transact(text, callid, 2, "REGISTER")
        return final.code

    def answer_next_invite(self, timeout=10):
        """Answer the next INVITE 200 with SDP, take its ACK; return the
        dialog as seen from this side (we are the callee)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.queue.pop(0) if self.queue else self.recv(0.2)
            if m is None or m.is_response or m.method != "INVITE":
                continue
            mytag = uuid.uuid4().hex[:8]
            body = self.sdp()
            resp = "\r\n".join(
                ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in m.all("via")] +
                [f"From: {m.get('from')}", f"To: {m.get('to')};tag={mytag}",
                 f"Call-ID: {m.get('call-id')}", f"CSeq: {m.get('cseq')}",
                 f"Contact: <sip:bob@{self.ip}:{self.port}>",
                 "Content-Type: application/sdp",
                 f"Content-Length: {len(body)}"]) + "\r\n\r\n" + body
            self.send(resp)
            # the ACK (resend the 200 until it comes)
            t_ack = time.time() + 5
            while time.time() < t_ack:
                a = self.recv(0.5)
                if a is not None and not a.is_response and a.method == "ACK":
                    break
                if a is not None and not a.is_response:
                    self.queue.append(a)
                self.send(resp)
            return {"callid": m.get("call-id"),
                    "from": f"{uri_of(m.get('to')).join('<>')};tag={mytag}",
                    "to": m.get("from"), "target": uri_of(m.get("contact")),
                    "cseq": 100}
        raise TestFailure("no INVITE came\n" + self.srv.tail())

    def answer_requests(self, secs):
        """Answer 200 to whatever requests come (BYE, NOTIFY) for secs."""
        deadline = time.time() + secs
        while time.time() < deadline:
            m = self.queue.pop(0) if self.queue else self.recv(0.1)
            if m is None or m.is_response or m.method == "ACK":
                continue
            self.send("\r\n".join(
                ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in m.all("via")] +
                [f"From: {m.get('from')}", f"To: {m.get('to')}",
                 f"Call-ID: {m.get('call-id')}", f"CSeq: {m.get('cseq')}",
                 "Content-Length: 0"]) + "\r\n\r\n")


# ---------------------------------------------------------------- (a) no credentials

def test_unauthenticated_invites_to_outside_numbers_get_407_and_never_reach_the_trunk():
    srv, trunk = site()
    ua = UA(srv)
    for dialled, frm in ((OUTSIDE, "anonymous"), (OUTSIDE, "boss"), ("+8613800000001", "boss"),
                         ("00861380000002", "boss"), ("110", "boss")):
        final, _ = ua.invite(dialled, frm)
        check(final.code == 407, f"unauthenticated INVITE to {dialled} from {frm}: "
              f"{final.start}")
    # Over TCP as well, from a sipp caller with no credentials at all.
    a = uac(srv.tmp, "uac-tcp-noauth", "boss", None, OUTSIDE, expect=407, auth=False)
    a.args += ["-t", "t1"]
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, "TCP without credentials: " + a.errors())
    no_trunk_call(srv, trunk, "unauthenticated INVITEs")
    check(srv.cdrs() == [], f"records for unauthenticated calls: {srv.cdrs()}")


# ---------------------------------------------------------------- (b) forged identity

def test_forged_from_or_wrong_credentials_are_refused_and_never_reach_the_trunk():
    srv, trunk = site()
    ua = UA(srv)
    # From says boss (who may call out); the credentials are alice's.
    final, _ = ua.invite(OUTSIDE, "boss", "alice", "alicepw")
    check(final.code == 403, f"From boss, credentials alice: {final.start}")
    # The same to the international prefix and an emergency number.
    for dialled in ("+8613800000001", "110"):
        final, _ = ua.invite(dialled, "boss", "alice", "alicepw")
        check(final.code == 403, f"From boss, credentials alice, to {dialled}: {final.start}")
    # boss's name with a wrong password; then a user that does not exist.
    final, _ = ua.invite(OUTSIDE, "boss", "boss", "guessed")
    check(final.code in (403, 407), f"boss with a wrong password: {final.start}")
    final, _ = ua.invite(OUTSIDE, "boss", "nobody", "x")
    check(final.code in (403, 407), f"an unknown user: {final.start}")
    no_trunk_call(srv, trunk, "forged identities")
    no_outside_record(srv, "forged identities")


def test_each_challenge_has_a_nonce_of_its_own():
    """Two phones challenged at the same moment must get nonces of their own:
    nonce-counts are kept per nonce, so a shared nonce makes the second
    phone's correct nc=1 answer look like a replay (407 stale=true)."""
    srv, trunk = site()
    phones = [UA(srv), UA(srv)]
    shared, refused = 0, []
    for round_ in range(5):
        time.sleep(0.003)
        pending = []
        for ua in phones:                   # both INVITEs back to back
            callid = uuid.uuid4().hex + "@nonce"
            frm = f"<sip:alice@127.0.0.1>;tag={uuid.uuid4().hex[:8]}"
            ruri = f"sip:1002@127.0.0.1:{srv.sip_port}"
            text, br = ua.request("INVITE", ruri, frm, "<sip:1002@127.0.0.1>", callid, 1,
                                  body=ua.sdp())
            ua.send(text)
            pending.append((ua, callid, frm, ruri, text, br))
        nonces = []
        for ua, callid, frm, ruri, text, br in pending:
            final = ua.transact(text, callid, 1, "INVITE")
            check(final.code == 407, final.start)
            ua.ack_error(text, br, final)
            chal = final.get("proxy-authenticate")
            nonces.append(re.search(r'nonce="([^"]+)"', chal).group(1))
            cred = ua.digest(chal, "INVITE", ruri, "alice", "alicepw")
            text2, br2 = ua.request("INVITE", ruri, frm, "<sip:1002@127.0.0.1>", callid, 2,
                                    extra=f"Proxy-Authorization: {cred}", body=ua.sdp())
            final = ua.transact(text2, callid, 2, "INVITE")
            ua.ack_error(text2, br2, final)
            if final.code == 407:
                refused.append(final.get("proxy-authenticate"))
        shared += nonces[0] == nonces[1]
    check(not shared and not refused,
          f"{shared} of 5 pairs of simultaneous challenges shared a nonce; "
          f"{len(refused)} correct answers were refused as replays: {refused[:1]}")
    no_trunk_call(srv, trunk, "challenges")


def test_digest_made_for_another_request_uri_does_not_reach_the_trunk():
    """boss's phone signs a call to extension 1002; an attacker on the path
    sends that Authorization with an INVITE to an outside number before the
    phone's own request arrives.  The digest's uri must match the
    Request-URI (RFC 3261 §22.4, RFC 2617 §3.2.2.5: 400 otherwise)."""
    srv, trunk = site()
    ua = UA(srv)
    final, dlg = ua.invite(OUTSIDE, "boss", "boss", "bosspw",
                           digest_uri=f"sip:1002@127.0.0.1:{srv.sip_port}")
    if dlg:
        ua.indialog(dlg, "BYE")
    trunk.stop()
    got = trunk.invites()
    check(400 <= final.code < 500 and not got,
          f"a digest signed for sip:1002 on an INVITE to {OUTSIDE}: {final.start}; "
          f"the trunk received {got}")


def test_trunk_accounts_and_hairpins_need_permission():
    """Calls to a (registered) trunk account's extension, and calls that
    come in from an IP-authenticated trunk and would go back out."""
    inbound_port = free_port()
    srv, trunk = site(extra_accounts=[
        ("carrier", "--secret", "carrierpw", "--ext", "9000", "--kind", "trunk"),
        ("gateway", "--secret", "gwpw", "--ext", "9001", "--kind", "trunk",
         "--from-addr", f"127.0.0.1:{inbound_port}")])
    # The carrier registers its own port (the trunk's) as a contact.
    rc, _ = register(srv, srv.tmp, "carrier", "carrierpw", trunk.port)
    check(rc == 0, "carrier registers")
    ua = UA(srv)
    final, _ = ua.invite("9000", "alice", "alice", "alicepw")
    check(final.code == 403, f"alice to the trunk account's extension: {final.start}")
    ua.close()
    # From the IP-authenticated gateway (no --outbound) back out: a hairpin.
    gw = UA(srv, port=inbound_port)
    final, _ = gw.invite(OUTSIDE, "gateway")
    check(final.code == 403, f"gateway (IP trunk, no --outbound) to {OUTSIDE}: {final.start}")
    final, _ = gw.invite("9000", "gateway")
    check(final.code == 403, f"gateway to the carrier's extension: {final.start}")
    gw.close()
    no_trunk_call(srv, trunk, "trunk accounts without permission")


def test_a_contact_pointing_at_the_trunk_does_not_reach_it():
    """alice registers, from another address (127.0.0.2), a Contact that
    names the trunk and an outside number; bob then calls alice.  laoyou must
    not become alice's free way out: the INVITE goes where her REGISTER came
    from (as for any phone behind NAT), never to the trunk."""
    import threading
    srv, trunk = site()
    alice = UA(srv, ip="127.0.0.2")
    code = alice.register("alice", "alicepw", f"sip:{OUTSIDE}@127.0.0.1:{trunk.port}")
    check(code == 200, f"alice's REGISTER: {code}")
    bob = UA(srv)
    res = {}
    t = threading.Thread(target=lambda: res.update(
        zip(("final", "dlg"), bob.invite("1001", "bob", "bob", "bobpw"))))
    t.start()
    try:
        alice.answer_next_invite(timeout=4)
        reached = True
    except TestFailure:
        reached = False
    t.join(15)
    if res.get("dlg"):
        bob.indialog(res["dlg"], "BYE")
        alice.answer_requests(0.5)
    no_trunk_call(srv, trunk, "a contact naming the trunk")
    forks = [l for l in srv.logtext().splitlines() if "fork to" in l]
    check(reached and res["final"].code == 200,
          "alice's phone at 127.0.0.2 (Contact host differs from the REGISTER's source, "
          f"as behind NAT) was never reached: bob got {res['final'].start}; {forks}")


# ---------------------------------------------------------------- (c) REFER

def test_refer_to_an_outside_number_is_refused_on_either_leg():
    srv, trunk = site()
    bob = UA(srv)
    check(bob.register("bob", "bobpw", f"sip:bob@127.0.0.1:{bob.port}") == 200,
          "bob registers")
    alice = UA(srv)
    res = {}
    import threading
    t = threading.Thread(target=lambda: res.update(
        zip(("final", "dlg"), alice.invite("1002", "alice", "alice", "alicepw"))))
    t.start()
    bdlg = bob.answer_next_invite()
    t.join(10)
    check(res.get("final") is not None and res["final"].code == 200,
          f"alice → bob: {res.get('final') and res['final'].start}\n{srv.tail()}")
    adlg = res["dlg"]
    refer_to = f"Refer-To: <sip:{OUTSIDE}@127.0.0.1>\r\nReferred-By: <sip:alice@127.0.0.1>"
    # The caller's leg asks laoyou to transfer it outside.
    r = alice.indialog(adlg, "REFER", extra=refer_to)
    check(400 <= r.code < 700, f"REFER from the caller's leg: {r.start}")
    codes = {"caller leg": r.code}
    # The callee's leg asks the same.
    r = bob.indialog(bdlg, "REFER", extra=refer_to.replace("alice", "bob"))
    check(400 <= r.code < 700, f"REFER from the callee's leg: {r.start}")
    codes["callee leg"] = r.code
    # A REFER outside any dialog.
    text, _ = alice.request("REFER", f"sip:1002@127.0.0.1:{srv.sip_port}",
                            f"<sip:alice@127.0.0.1>;tag={uuid.uuid4().hex[:8]}",
                            "<sip:1002@127.0.0.1>", "out-of-dialog-refer", 1, extra=refer_to)
    r = alice.transact(text, "out-of-dialog-refer", 1, "REFER")
    check(400 <= r.code < 700, f"REFER outside a dialog: {r.start}")
    codes["no dialog"] = r.code
    # Whatever laoyou answered, the call goes on and nothing went out.
    time.sleep(1.5)
    check(srv.health()["active_calls"] == 1, "the call did not survive the REFERs")
    r = alice.indialog(adlg, "BYE")
    check(r.code == 200, f"BYE: {r.start}")
    bob.answer_requests(1)
    no_trunk_call(srv, trunk, f"REFER (answers {codes})")


# ---------------------------------------------------------------- (d) IVR transfer

XFER_SITE = {
    "hotlines": [{"number": "5100", "flow": "xfer", "language": "zh"}],
    "flows": {"xfer": {"start": "out", "nodes": {
        "out": {"type": "transfer", "target": OUTSIDE, "prompts": ["beep"],
                "fallback": "bye"},
        "bye": {"type": "hangup", "prompts": ["beep"]}}}},
}


def test_ivr_transfer_to_an_outside_number_needs_the_callers_permission():
    srv, trunk = site(site_json=XFER_SITE)
    c = ivr_caller(srv.tmp, "ivr-alice", "alice", "alicepw", "5100", [("wait_bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=30) == 0,
          f"alice on 5100: {c.errors()}\n{srv.tail()}")
    srv.wait_for(lambda: srv.cdrs(), what="record")
    rec = srv.cdrs()[-1]
    check(rec["caller"] == "alice" and "out>forbidden>bye" in rec["path"], rec)
    # Control: the same node for boss, who may call out, reaches the trunk.
    c = ivr_caller(srv.tmp, "ivr-boss", "boss", "bosspw", "5100", [("pause", 2500), ("bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=30) == 0,
          f"boss on 5100: {c.errors()}\n{srv.tail()}")
    srv.wait_for(lambda: len(srv.cdrs()) == 2, what="second record")
    rec = srv.cdrs()[-1]
    check("out:connected" in rec["path"], f"boss's transfer: {rec}")
    trunk.stop()
    got = trunk.invites()
    check(len(got) == 1 and OUTSIDE in got[0],
          f"only boss's transfer may reach the trunk: {got}")


# ---------------------------------------------------------------- (e) control

def test_privileged_caller_reaches_the_trunk():
    srv, trunk = site()
    ua = UA(srv)
    final, dlg = ua.invite(OUTSIDE, "boss", "boss", "bosspw")
    check(final.code == 200, f"boss to {OUTSIDE}: {final.start}\n{srv.tail()}")
    time.sleep(0.3)
    check(ua.indialog(dlg, "BYE").code == 200, "BYE")
    trunk.stop()
    got = trunk.invites()
    check(len(got) == 1 and got[0].startswith(f"sip:{OUTSIDE}@127.0.0.1:{trunk.port}"),
          f"the trunk's INVITEs: {got}")
    srv.wait_for(lambda: srv.cdrs(), what="record")
    r = srv.cdrs()[-1]
    check(r["caller"] == "boss" and r["dialled"] == OUTSIDE and
          r["disposition"] == "answered", r)


# ---------------------------------------------------------------- media from strangers

EXPO = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "sites", "demo.json")


def ivr_server():
    srv = Laoyou()
    srv.add_account("caller", "cpw", "8001")
    r = srv.cli("site", "import", EXPO)
    check("imported" in r.stdout, r.stdout + r.stderr)
    return srv.start()


def answer_port(srv, sipp, timeout=10):
    """laoyou's RTP port for the caller: the m= line of its 200 OK, from the
    caller's message trace."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for f in os.listdir(srv.tmp):
            if f.startswith(sipp.name + "_") and f.endswith("_messages.log"):
                text = open(os.path.join(srv.tmp, f), errors="replace").read()
                for block in text.split("SIP/2.0 200 OK")[1:]:
                    m = re.search(r"^m=audio (\d+) RTP/AVP", block, re.M)
                    if m:
                        return int(m.group(1))
        time.sleep(0.05)
    raise TestFailure("no 200 OK with SDP in the caller's trace")


def rfc4733(sock, port, key, ts, seq):
    """One RFC 4733 event: 3 updates and 3 end packets."""
    ev = "0123456789*#".index(key)
    for i in range(6):
        dur = 160 * (i + 1)
        pkt = struct.pack("!BBHII", 0x80 | 0, 101 | (0x80 if i == 0 else 0), seq + i, ts,
                          0x5151) + bytes([ev, (0x80 if i >= 3 else 0) | 10, dur >> 8,
                                           dur & 0xff])
        sock.sendto(pkt, ("127.0.0.1", port))
        time.sleep(0.02)
    return seq + 6


def inband(sock, port, keys, pt=0):
    """Keys as G.711 tones, paced at 20 ms, from the stranger's socket."""
    path = dtmf_pcap(os.path.join("/tmp", f"stranger-{os.getpid()}.pcap"), keys, pt=pt)
    data = open(path, "rb").read()
    os.unlink(path)
    off = 24
    while off + 16 <= len(data):
        n = struct.unpack("<IIII", data[off:off + 16])[2]
        frame = data[off + 16:off + 16 + n]
        off += 16 + n
        sock.sendto(frame[14 + 20 + 8:], ("127.0.0.1", port))
        time.sleep(0.02)


def test_stranger_keys_before_the_caller_sends_any_media_are_ignored():
    """A stranger on another address sprays RFC 4733 '2' at the caller's RTP
    port before the caller has sent a packet (nothing is latched yet).  The
    IVR must not take the key, and the caller's own keys must still work."""
    srv = ivr_server()
    c = ivr_caller(srv.tmp, "victim", "caller", "cpw", "968888",
                   [("pause", 2500), ("key", "1"), ("pause", 600), ("key", "1"),
                    ("pause", 1500), ("bye",)])
    c.start(f"127.0.0.1:{srv.sip_port}")
    port = answer_port(srv, c)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))                # another host
    seq, ts = 100, 1000
    t_end = time.time() + 1.5
    while time.time() < t_end:
        seq = rfc4733(s, port, "2", ts, seq)
        ts += 8000
        time.sleep(0.3)
    s.close()
    check(c.wait(40) == 0, c.errors())
    srv.wait_for(lambda: srv.cdrs(), what="record")
    rec = srv.cdrs()[-1]
    stranger = "ivr: key 2" in srv.logtext()
    check(not stranger and "language:en" not in rec["path"],
          f"a stranger's key reached the IVR before the caller spoke: path {rec['path']}")
    check("language:zh" in rec["path"],
          f"the caller's own keys did not work after the stranger: {rec['path']}")


def test_stranger_inband_tones_are_ignored_and_the_callers_work():
    """The caller (no telephone-event: keys are tones) has sent media; a
    stranger sends the tones of '2' to the same port; then the caller presses
    '1'.  The language chosen is the caller's."""
    srv = ivr_server()
    one = dtmf_pcap(os.path.join(srv.tmp, "one.pcap"), "1")
    c = ivr_caller(srv.tmp, "victim-inband", "caller", "cpw", "968888",
                   [("pause", 500), ("pcap", one), ("pause", 3500), ("pcap", one),
                    ("pause", 2000), ("bye",)], codecs="0", te=False)
    c.start(f"127.0.0.1:{srv.sip_port}")
    port = answer_port(srv, c)
    srv.wait_for(lambda: "ivr: key 1" in srv.logtext(), what="the caller's first key")
    for ip in ("127.0.0.1", "127.0.0.2"):   # same host other port, other host
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, 0))
        inband(s, port, "2", pt=0)
        s.close()
    check(c.wait(40) == 0, c.errors())
    srv.wait_for(lambda: srv.cdrs(), what="record")
    rec = srv.cdrs()[-1]
    check("ivr: key 2" not in srv.logtext() and "language:en" not in rec["path"],
          f"a stranger's tones were taken: {rec['path']}")
    check(rec["path"].startswith("welcome>language>language:zh"),
          f"the caller's own key did not work: {rec['path']}")
