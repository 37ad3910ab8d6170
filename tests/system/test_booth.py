"""The booth fleet and the handsets' free calls, against real peers: the
screens' WebSocket heartbeats and offline detection, faults, charging
telemetry, the site file's booths, and free calls through a sipp trunk
(limit with a spoken warning, daily quotas, emergency numbers)."""
import json
import os
import time
from harness import (PROMPTS, Laoyou, TestFailure, check, free_port, register,
                     uas, uac, ivr_caller, Capture, wav_packets)
from test_api import Api, Who, WebSocket


class Fleet:
    """A laoyou with one booth (b1, handset account booth1), an admin
    token and the booth's screen token."""

    def __init__(self, conf=None, ports=4):
        self.srv = Laoyou(conf)
        self.srv.add_account("booth1", "b1pw", "2001", "booth", "--outbound")
        secret = self.srv.cli("token", "add", "ops", "--scopes",
                              "read,control,admin").stdout.strip()
        self.admin = Who("ops", token=secret)
        self.srv.start()
        self.api = Api(self.srv)
        self.put_booth("b1", "booth1", ports)
        r = self.call("POST", "/api/v1/booths/b1/token", who=self.admin, expect=201)
        self.token = r.json["token"]

    def call(self, method, path, body=None, who=None, booth=None, **kw):
        headers = kw.pop("headers", {})
        if booth is not None:
            headers["Authorization"] = f"Booth {booth}"
        return self.api.call(method, path, body, who=who, headers=headers,
                             validate=False, **kw)

    def put_booth(self, bid, account, ports=4):
        return self.call("PUT", f"/api/v1/booths/{bid}", {
            "name": "甜爱路 老友亭", "name_en": "Tian'ai Road booth",
            "address": "上海市虹口区甜爱路", "district": "虹口区",
            "lat": 31.2747, "lon": 121.4838, "account": account,
            "ports": ports}, who=self.admin, expect=200)

    def booth(self, bid="b1"):
        r = self.call("GET", f"/api/v1/booths/{bid}", who=self.admin, expect=200)
        return r.json["items"][0]

    def screen(self, token=None):
        ws = WebSocket(self.srv.http_port,
                       f"/api/v1/booth/ws?token={token or self.token}")
        hello = json.loads(ws.recv(5))
        check(hello["type"] == "hello" and hello["booth"]["id"] == "b1", hello)
        return ws

    def events(self):
        return WebSocket(self.srv.http_port, "/api/v1/events",
                         {"Authorization": f"Bearer {self.admin.token}"})


def booth_event(ws, kind, timeout):
    """The next booth news of kind on an events WebSocket."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        m = ws.recv(deadline - time.time())
        if m is None:
            break
        ev = json.loads(m)
        seen.append(ev.get("type"))
        if ev["type"] == "booth" and ev["data"]["kind"] == kind:
            return ev["data"]
    raise TestFailure(f"no booth {kind} event within {timeout}s; saw {seen}")


def send(ws, obj):
    ws._send(0x1, json.dumps(obj).encode())


def test_screen_heartbeats_faults_and_offline_detection():
    f = Fleet({"booth_offline": "5"})
    check(f.booth()["online"] is False, "a booth never heard from is offline")
    ev = f.events()
    scr = f.screen()
    online = booth_event(ev, "online", 5)
    check(online["detail"]["booth"] == "b1", online)
    send(scr, {"type": "heartbeat", "lang": "en"})
    ack = json.loads(scr.recv(5))
    check(ack["type"] == "ack" and ack["ts_ms"] > 0, ack)
    b = f.booth()
    check(b["online"] is True and b["lang"] == "en" and b["last_seen_ms"] > 0, b)

    # A fault over the WebSocket reaches operations and the fleet list;
    # clearing it over HTTP closes it.
    send(scr, {"type": "fault", "kind": "handset-off-hook", "detail": "5 min"})
    fault = booth_event(ev, "fault", 5)
    check(fault["detail"] == {"kind": "handset-off-hook", "detail": "5 min"}, fault)
    check([x["kind"] for x in f.booth()["faults"]] == ["handset-off-hook"], f.booth())
    f.call("POST", "/api/v1/booth/faults", {"kind": "handset-off-hook",
                                            "cleared": True}, booth=f.token,
           expect=201)
    check(f.booth()["faults"] == [], f.booth())
    # Bad messages get an error and change nothing.
    send(scr, {"type": "fault", "kind": "meteor"})
    err = json.loads(scr.recv(5))
    check(err["type"] == "error" and err["error"] == "bad_request", err)
    scr._send(0x1, b"{not json")
    check(json.loads(scr.recv(5))["error"] == "bad_json", "bad JSON refused")
    check(f.srv.sql("SELECT count(*) FROM booth_faults")[0][0] == 1, "one fault row")

    # Silence: the booth goes offline within booth_offline plus the
    # sweep's period, and operations hear of it.
    scr.close()
    t0 = time.time()
    off = booth_event(ev, "offline", 15)
    took = time.time() - t0
    check(off["detail"]["online"] is False and 4.0 <= took <= 11.5,
          f"offline after {took:.1f}s: {off}")
    check(f.booth()["online"] is False, f.booth())
    ev.close()


def test_wrong_token_refused_and_logged():
    f = Fleet()
    r = f.call("GET", "/api/v1/booth/me", booth="not-a-token", expect=401)
    check(r.json["error"] == "unauthorized", r)
    f.call("GET", "/api/v1/booth/me", expect=401)
    check("booth request from 127.0.0.1" in f.srv.logtext() and
          "a wrong token" in f.srv.logtext(), "the refusal is logged")
    ws = WebSocket(f.srv.http_port, "/api/v1/booth/ws?token=nope")
    check(ws.recv(2) is None, "no WebSocket with a wrong token")
    me = f.call("GET", "/api/v1/booth/me", booth=f.token, expect=200).json
    check(me["id"] == "b1" and me["ports"] == 4 and me["free_call_s"] == 180, me)
    # A new token replaces the old one.
    old = f.token
    f.token = f.call("POST", "/api/v1/booths/b1/token", who=f.admin,
                     expect=201).json["token"]
    f.call("GET", "/api/v1/booth/me", booth=old, expect=401)
    f.call("GET", "/api/v1/booth/me", booth=f.token, expect=200)


def test_charging_totals_flags_and_bad_telemetry():
    f = Fleet(ports=2)
    ev = f.events()
    good = [({"port": 1, "event": "start"}, "start"),
            ({"port": 1, "event": "stop", "wh": 12.5}, "stop"),
            ({"port": 2, "event": "start"}, "start"),
            ({"port": 2, "event": "stop", "wh": 7.25}, "stop"),
            ({"port": 1, "event": "start"}, "start")]
    for body, _ in good:
        f.call("POST", "/api/v1/booth/charging", body, booth=f.token, expect=201)
    rows = f.srv.sql("SELECT count(*) FROM charge_sessions")[0][0]
    bad = [{"port": 0, "event": "start"}, {"port": 3, "event": "start"},
           {"port": 1.5, "event": "start"}, {"port": "1", "event": "start"},
           {"port": 1, "event": "explode"}, {"port": 1, "event": "stop"},
           {"port": 1, "event": "stop", "wh": -1},
           {"port": 1, "event": "start", "wh": 3}, {"event": "start"}]
    for body in bad:
        r = f.call("POST", "/api/v1/booth/charging", body, booth=f.token, expect=400)
        check(set(r.json) == {"error", "message"}, r)
    f.call("POST", "/api/v1/booth/charging", "{oops", booth=f.token, expect=400)
    f.call("POST", "/api/v1/booth/charging", "x", booth=f.token,
           ctype="text/plain", expect=415)
    check(f.srv.sql("SELECT count(*) FROM charge_sessions")[0][0] == rows,
          "bad telemetry stored nothing")

    ports = f.call("GET", "/api/v1/booth/charging", booth=f.token, expect=200).json
    check([p["state"] for p in ports["ports"]] == ["charging", "idle"], ports)
    tot = f.call("GET", "/api/v1/booths/b1/charging", who=f.admin, expect=200).json
    check(abs(tot["wh"] - 19.75) < 1e-6 and abs(tot["kwh"] - 0.01975) < 1e-6 and
          tot["sessions"] == 3, tot)
    # 500 Wh is no phone: the session is flagged and operations told.
    f.call("POST", "/api/v1/booth/charging", {"port": 1, "event": "stop", "wh": 500},
           booth=f.token, expect=201)
    flag = booth_event(ev, "charging", 5)
    check(flag["detail"]["flag"] == "abnormal" and flag["detail"]["port"] == 1, flag)
    f.call("POST", "/api/v1/booth/charging", {"port": 2, "event": "fault"},
           booth=f.token, expect=201)
    ports = f.call("GET", "/api/v1/booth/charging", booth=f.token, expect=200).json
    check([p["state"] for p in ports["ports"]] == ["idle", "fault"], ports)
    today = f.booth()["today"]
    check(abs(today["charging_wh"] - 519.75) < 1e-6 and today["charging_sessions"] == 3
          and today["usage"]["charging"] == 3, today)
    ev.close()


def test_site_file_booths():
    srv = Laoyou()
    srv.add_account("booth1", "b1pw", "2001", "booth")
    booth = {"id": "tianai-road", "name": "甜爱路 老友亭", "address": "甜爱路",
             "district": "虹口区", "lat": 31.2747, "lon": 121.4838,
             "account": "booth1", "ports": 4, "token": "site-token-1"}
    bad = dict(booth, lat=131.2)
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as fh:
        fh.write('{"hotlines": [], "flows": {},\n "booths": [\n' + json.dumps(bad) +
                 "\n ]\n}\n")
    r = srv.cli("site", "import", path, check_rc=False)
    check(r.returncode == 2 and f"{path}:3: \"lat\" must be a number of degrees "
          "from -90 to 90" in r.stderr, r.stderr)
    with open(path, "w") as fh:
        json.dump({"hotlines": [], "flows": {}, "booths": [booth]}, fh)
    srv.cli("site", "import", path)
    srv.start()
    api = Api(srv)
    me = api.call("GET", "/api/v1/booth/me", headers={
        "Authorization": "Booth site-token-1"}, validate=False, expect=200).json
    check(me["id"] == "tianai-road" and me["district"] == "虹口区", me)


SAY = "freecall_warning"


def free_call_server():
    trunk_port = free_port()
    f = Fleet({"trunk": f"sip:127.0.0.1:{trunk_port}", "freecall_limit": "6",
               "freecall_warn": "3", "freecall_number_daily": "1",
               "freecall_booth_daily": "3"})
    return f, trunk_port


def test_free_call_limit_with_warning_then_quotas():
    f, trunk_port = free_call_server()
    srv = f.srv
    target = f"127.0.0.1:{srv.sip_port}"
    t = uas(srv.tmp, "trunk", "trunk", trunk_port, mode="answer", rtp_echo=False)
    t.start(target)
    c = ivr_caller(srv.tmp, "booth-call", "booth1", "b1pw", "62345678", [("wait_bye",)])
    cap = Capture(srv.tmp, c.media_port)
    t0 = time.time()
    check(c.run(target, timeout=40) == 0, c.errors() + srv.tail())
    took = time.time() - t0
    cap.stop()
    check(t.wait() == 0, t.errors())
    rec = srv.cdrs()[-1]
    talk = (rec["end_ms"] - rec["answer_ms"]) / 1000
    check(rec["dialled"] == "62345678" and rec["disposition"] == "answered" and
          5.5 <= talk <= 7.5, f"talked {talk:.1f}s (limit 6): {rec}")
    check(rec["path"].split(">")[-2:] == ["limit-warning", "limit"], rec["path"])
    # The booth heard the warning (laoyou's only audio towards it here)
    # from 3 s before the end until the end, or the whole prompt if it is
    # shorter.
    want = min(wav_packets(os.path.join(PROMPTS, "zh", SAY + ".wav")), 3 * 50)
    got = sum(cap.spurts())
    check(0.85 * want <= got <= want + 10, f"warning: {got} packets, expected {want}")
    check(took < 15, f"the call lasted {took:.1f}s")
    rows = srv.sql("SELECT number, secs, emergency FROM freecalls")
    check(len(rows) == 1 and rows[0][0] == "62345678" and 6 <= rows[0][1] <= 8 and
          rows[0][2] == 0, rows)

    # That number's daily quota (1) is used: refused before any trunk call.
    again = uac(srv.tmp, "again", "booth1", "b1pw", "62345678", expect=403)
    check(again.run(target) == 0, again.errors())
    # Not a local number.
    far = uac(srv.tmp, "far", "booth1", "b1pw", "01012345678", expect=403)
    check(far.run(target) == 0, far.errors())
    check("local numbers only" in srv.logtext(), "the reason is logged")


def test_emergency_numbers_never_limited_nor_counted():
    f, trunk_port = free_call_server()
    srv = f.srv
    target = f"127.0.0.1:{srv.sip_port}"
    t = uas(srv.tmp, "trunk", "trunk", trunk_port, mode="answer", rtp_echo=False,
            calls=0)
    t.start(target)
    # 110 for 8.5 s (the limit is 6): the caller hangs up, not laoyou.
    c = uac(srv.tmp, "sos", "booth1", "b1pw", "110", hold_ms=8500, timeout=40)
    check(c.run(target, timeout=40) == 0, c.errors() + srv.tail())
    rec = srv.cdrs()[-1]
    talk = (rec["end_ms"] - rec["answer_ms"]) / 1000
    check(rec["dialled"] == "110" and talk >= 8.0 and "limit" not in rec["path"],
          f"110 talked {talk:.1f}s: {rec}")
    # Emergency calls use no quota: three more to 110 and the booth's
    # quota of 3 still allows three free calls.
    for i in range(2):
        c = uac(srv.tmp, f"sos{i}", "booth1", "b1pw", "119", hold_ms=300)
        check(c.run(target) == 0, c.errors())
    for i, n in enumerate(("62345671", "62345672", "62345673")):
        c = uac(srv.tmp, f"fc{i}", "booth1", "b1pw", n, hold_ms=300)
        check(c.run(target) == 0, c.errors() + srv.tail())
    c = uac(srv.tmp, "fc-over", "booth1", "b1pw", "62345674", expect=403)
    check(c.run(target) == 0, c.errors())
    check("daily free calls used" in srv.logtext(), "quota refusal logged")
    rows = srv.sql("SELECT emergency, count(*) FROM freecalls GROUP BY emergency")
    check(rows == [(0, 3), (1, 3)], rows)
    t.kill()


def test_screen_dial_pad_rings_the_handset_then_connects():
    f, trunk_port = free_call_server()
    srv = f.srv
    target = f"127.0.0.1:{srv.sip_port}"
    handset_port = free_port()
    rc, _ = register(srv, srv.tmp, "booth1", "b1pw", handset_port)
    check(rc == 0, "the handset registers")
    h = uas(srv.tmp, "handset", "booth1", handset_port, mode="answer", rtp_echo=False)
    h.start(target)
    t = uas(srv.tmp, "trunk", "trunk", trunk_port, mode="answer", rtp_echo=False)
    t.start(target)
    r = f.call("POST", "/api/v1/booth/call", {"number": "62345679"}, booth=f.token,
               expect=201)
    check(r.json["state"] == "ringing-handset" and r.json["call"], r)
    # Both ends are hung up by laoyou at the limit.
    check(h.wait(timeout=30) == 0, h.errors() + srv.tail())
    check(t.wait(timeout=30) == 0, t.errors())
    rec = srv.cdrs()[-1]
    talk = (rec["end_ms"] - rec["answer_ms"]) / 1000
    check("limit" in rec["path"] and talk >= 5.5, f"{talk:.1f}s {rec}")
    # The dial pad keeps the same rules.
    r = f.call("POST", "/api/v1/booth/call", {"number": "62345679"}, booth=f.token,
               expect=403)
    check("daily free calls" in r.json["message"], r)
    for body in ({"number": "12a"}, {}, {"number": "1", "service": "elder"},
                 {"service": "pizza"}):
        f.call("POST", "/api/v1/booth/call", body, booth=f.token, expect=400)
