"""守望相助 and the SMS outbox against real peers: a booth's screen raises
an alert, the district's volunteers get their SMS through Kannel (bearerbox,
smsbox, and fakesmsc playing the phones; tests/system/kannel.py) with the
delivery reports recorded; the first to accept owns it (two at once: one
wins, the other gets 409); the booth's screen and operations hear every
change on their WebSockets; an alert nobody takes escalates; an SMS gateway
that is down queues, retries and delivers everything once it is up, across
a laoyou restart; bad input gets 400 and stores nothing."""
import json
import os
import shutil
import struct
import subprocess
import threading
import time

from harness import ROOT, Laoyou, TestFailure, check, spawn
from kannel import Kannel
from test_api import Api, Who, WebSocket

DISTRICT = "虹口区"
VOLUNTEERS = [
    {"id": "wang", "name": "王阿姨", "phone": "13800001111", "district": DISTRICT},
    {"id": "li", "name": "李师傅", "phone": "+8613800002222", "district": DISTRICT},
    {"id": "hk-office", "name": "嘉兴路街道社区办", "phone": "02165550001",
     "district": DISTRICT, "kind": "office", "escalation": "13900000009"},
    {"id": "ops", "name": "12345 运营", "phone": "02112345000", "district": "*",
     "kind": "office"},
    {"id": "zhao", "name": "赵先生", "phone": "13800003333", "district": "黄浦区"},
]
ALERTED = {"13800001111", "+8613800002222", "02165550001"}
OUR_PATHS = ("/api/v1/sms", "/api/v1/watch", "/api/v1/volunteers", "/api/v1/booth/watch")


class Env:
    """laoyou with booth b1 in 虹口区 (b2 in a district nobody covers), an
    admin token, the screens' tokens and the volunteers; Kannel set up on
    its ports (started by the test)."""

    def __init__(self, conf=None, kannel=True, start_kannel=True):
        self.srv = Laoyou(conf)
        self.kannel = None
        settings = dict(self.srv.settings)
        if kannel:
            self.kannel = Kannel(self.srv.tmp)
            settings.update({"sms_url": self.kannel.sendsms_url,
                             "sms_from": "12345", "sms_retry": "1"})
        settings.update(conf or {})
        self.srv.write_conf(settings)
        if self.kannel and start_kannel:
            self.kannel.start()
        self.srv.add_account("booth1", "b1pw", "2001", "booth")
        self.srv.add_account("booth2", "b2pw", "2002", "booth")
        secret = self.srv.cli("token", "add", "ops", "--scopes",
                              "read,control,admin").stdout.strip()
        self.admin = Who("ops", token=secret)
        self.srv.start()
        self.api = Api(self.srv)
        self.screen_token = {}
        for bid, account, district in (("b1", "booth1", DISTRICT),
                                       ("b2", "booth2", "浦东新区")):
            self.call("PUT", f"/api/v1/booths/{bid}", {
                "name": "甜爱路老友亭", "name_en": "Tian'ai Road booth",
                "address": "甜爱路 1号", "district": district, "lat": 31.2747,
                "lon": 121.4838, "account": account, "ports": 2},
                who=self.admin, expect=200)
            r = self.call("POST", f"/api/v1/booths/{bid}/token", who=self.admin,
                          expect=201)
            self.screen_token[bid] = r.json["token"]
        self.vol = {}
        for v in VOLUNTEERS:
            r = self.call("POST", "/api/v1/volunteers", v, who=self.admin,
                          expect=201)
            j = r.json
            check(len(j["token"]) == 48 and j["link"] ==
                  f"http://127.0.0.1:{self.srv.http_port}/watch.html?v={j['token']}", j)
            self.vol[v["id"]] = j

    def call(self, method, path, body=None, who=None, booth=None, vol=None, **kw):
        headers = kw.pop("headers", {})
        if booth is not None:
            headers["Authorization"] = f"Booth {booth}"
        if vol is not None:
            headers["Authorization"] = f"Volunteer {self.vol[vol]['token']}"
        # This part's routes are checked against web/openapi.json once
        # they are in it.
        bare = path.partition("?")[0]
        ours = bare.startswith(OUR_PATHS) and \
            self.api.doc.operation(method, bare)[1] is not None
        return self.api.call(method, path, body, who=who, headers=headers,
                             validate=ours, **kw)

    def raise_alert(self, category="fall", note="", bid="b1", expect=201):
        body = {"category": category}
        if note:
            body["note"] = note
        return self.call("POST", "/api/v1/booth/watch", body,
                         booth=self.screen_token[bid], expect=expect).json

    def sms(self, ref=""):
        return self.call("GET", f"/api/v1/sms?ref={ref}", who=self.admin,
                         expect=200).json["items"]

    def wait_sms(self, ref, pred, timeout, what):
        deadline = time.time() + timeout
        items = []
        while time.time() < deadline:
            items = self.sms(ref)
            if pred(items):
                return items
            time.sleep(0.2)
        raise TestFailure(f"timed out waiting for {what}: {json.dumps(items, ensure_ascii=False)}"
                          f"\n{self.srv.tail()}")

    def screen(self, bid="b1"):
        ws = WebSocket(self.srv.http_port, f"/api/v1/booth/ws?token={self.screen_token[bid]}")
        hello = json.loads(ws.recv(5))
        check(hello["type"] == "hello" and hello["booth"]["id"] == bid, hello)
        return ws

    def events(self):
        return WebSocket(self.srv.http_port, "/api/v1/events",
                         {"Authorization": f"Bearer {self.admin.token}"})

    def stop(self):
        if self.kannel:
            self.kannel.stop()


def screen_news(ws, pred, timeout, what):
    """The next {"type":"watch"} message on a booth's screen matching pred."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        m = ws.recv(deadline - time.time())
        if m is None:
            break
        msg = json.loads(m)
        seen.append(msg)
        if msg.get("type") == "watch" and pred(msg["data"]):
            return msg["data"]
    raise TestFailure(f"the screen got no {what} within {timeout}s; saw {seen}")


def ops_news(ws, pred, timeout, what):
    """The next watch news on the operations' events WebSocket."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        m = ws.recv(deadline - time.time())
        if m is None:
            break
        ev = json.loads(m)
        seen.append(ev.get("type"))
        if (ev.get("type") == "booth" and ev["data"].get("kind") == "watch"
                and pred(ev["data"]["detail"])):
            return ev["data"]["detail"]
    raise TestFailure(f"operations got no {what} within {timeout}s; saw {seen}")


def delivered(items, n):
    return (len(items) == n and all(m["state"] == "delivered" for m in items))


def test_alert_reaches_volunteers_by_sms_first_accept_owns_it():
    e = Env()
    try:
        scr = e.screen()
        ops = e.events()
        a = e.raise_alert("fall", "老人在路口摔倒，腿疼")
        check(a["state"] == "open" and a["booth"] == "b1" and a["district"] == DISTRICT
              and a["category"] == "fall" and a["notified"] == 3
              and a["duplicate"] is False, a)
        aid = a["id"]
        ref = f"watch:{aid}"
        link = f"http://127.0.0.1:{e.srv.http_port}/watch.html?v="

        # The SMS reaches the phones through Kannel, with the right text.
        for vid in ("wang", "li", "hk-office"):
            v = e.vol[vid]
            m = e.kannel.wait_message(lambda m, v=v: m["to"] == v["phone"],
                                      what=f"the SMS to {vid}")
            want = ("【守望相助】甜爱路老友亭（甜爱路 1号）有人跌倒，请求帮助。"
                    "留言：老人在路口摔倒，腿疼。能去请点开接单：" + link + v["token"])
            check(m["text"] == want and m["sender"] == "12345" and m["kind"] == "ucs-2",
                  f"SMS to {vid}: {m}")
        # Delivery reports: accepted by the SMSC (8), then delivered (1).
        items = e.wait_sms(ref, lambda it: delivered(it, 3), 15, "3 delivered")
        for m in items:
            # (smsbox may call back for both at once: in either order)
            check(m["to"] in ALERTED and m["sent_ms"] >= m["created_ms"] > 0
                  and m["accepted_ms"] >= m["created_ms"]
                  and m["delivered_ms"] >= m["created_ms"]
                  and sorted(r["status"] for r in m["reports"]) == [1, 8]
                  and m["attempts"] == 0 and m["last_code"] == 202
                  and m["gateway"].startswith("0: Accepted"), m)
            # The list masks the volunteers' links: they are credentials.
            check("watch.html?v=" + "*" * 48 in m["text"], m["text"])
        check(not [m for m in e.kannel.messages() if m["to"] in
                   ("13800003333", "02112345000", "13900000009")],
              "nobody outside the district, nor operations, was alerted")

        # The booth's screen and operations heard of the alert.
        n = screen_news(scr, lambda d: d["id"] == aid and d["state"] == "open", 5,
                        "open alert")
        check(n["notified"] == 3 and n["category"] == "fall", n)
        ops_news(ops, lambda d: d["id"] == aid and d["state"] == "open", 5, "open alert")

        # The volunteers' page lists it; another district's does not; a
        # wrong link is refused.
        page = e.call("GET", "/api/v1/watch/alerts", vol="wang", expect=200).json
        check(page["volunteer"]["name"] == "王阿姨" and
              [x["id"] for x in page["items"]] == [aid], page)
        check(e.call("GET", "/api/v1/watch/alerts", vol="zhao",
                     expect=200).json["items"] == [], "other district")
        check(e.call("GET", "/api/v1/watch/alerts?v=" + e.vol["li"]["token"],
                     expect=200).json["volunteer"]["id"] == "li", "token in the URL")
        e.call("GET", "/api/v1/watch/alerts", headers={"Authorization": "Volunteer " + "0" * 48},
               expect=401)
        e.call("POST", f"/api/v1/watch/alerts/{aid}/accept", vol="zhao", expect=404)

        # Two accept at once: exactly one wins.
        results = {}
        barrier = threading.Barrier(2)

        def accept(vid):
            barrier.wait()
            results[vid] = e.call("POST", f"/api/v1/watch/alerts/{aid}/accept", vol=vid)
        threads = [threading.Thread(target=accept, args=(v,)) for v in ("wang", "li")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        codes = sorted(r.status for r in results.values())
        check(codes == [200, 409], f"two accepts: {results}")
        winner = next(v for v, r in results.items() if r.status == 200)
        loser = next(v for v, r in results.items() if r.status == 409)
        check(results[winner].json["state"] == "accepted" and
              results[winner].json["accepted_by"] == winner, results[winner])
        check(results[loser].json["error"] == "taken" and
              set(results[loser].json) == {"error", "message"}, results[loser])
        # A third, later, is refused too; the winner again gets 409 as well.
        e.call("POST", f"/api/v1/watch/alerts/{aid}/accept", vol="hk-office", expect=409)

        # "A volunteer is coming" on the booth's screen, and for operations.
        name = e.vol[winner]["name"]
        n = screen_news(scr, lambda d: d["id"] == aid and d["state"] == "accepted", 5,
                        "accepted alert")
        check(n["volunteer"] == name and n["accepted_ms"] > 0, n)
        ops_news(ops, lambda d: d["id"] == aid and d["state"] == "accepted", 5,
                 "accepted alert")
        b = e.call("GET", f"/api/v1/booth/watch/{aid}", booth=e.screen_token["b1"],
                   expect=200).json
        check(b["state"] == "accepted" and b["volunteer"] == name, b)
        # Another booth does not see it.
        e.call("GET", f"/api/v1/booth/watch/{aid}", booth=e.screen_token["b2"], expect=404)

        # Only the one who took it closes it.
        e.call("POST", f"/api/v1/watch/alerts/{aid}/close", {"resolution": "x"},
               vol=loser, expect=403)
        c = e.call("POST", f"/api/v1/watch/alerts/{aid}/close",
                   {"resolution": "已扶起，家属接走"}, vol=winner, expect=200).json
        check(c["state"] == "closed" and c["closed_ms"] >= c["accepted_ms"], c)
        e.call("POST", f"/api/v1/watch/alerts/{aid}/close", vol=winner, expect=409)
        screen_news(scr, lambda d: d["id"] == aid and d["state"] == "closed", 5,
                    "closed alert")
        # The winner's page keeps showing what they took.
        page = e.call("GET", "/api/v1/watch/alerts", vol=winner, expect=200).json
        check([(x["id"], x["state"]) for x in page["items"]] == [(aid, "closed")], page)

        # Operations see the whole story.
        ops_list = e.call("GET", "/api/v1/watch", who=e.admin, expect=200).json["items"]
        check(len(ops_list) == 1, ops_list)
        log = [(x["what"], x["who"]) for x in ops_list[0]["log"]]
        check(log == [("raised", "b1"), ("alerted", "laoyou"), ("accepted", winner),
                      ("closed", winner)], log)
        check(ops_list[0]["resolution"] == "已扶起，家属接走", ops_list[0])
        usage = e.call("GET", "/api/v1/booths/b1", who=e.admin, expect=200).json
        check(usage["items"][0]["today"]["usage"].get("watch") == 1, usage)

        # The page itself is served.
        r = e.call("GET", "/watch.html", expect=200)
        check(r.headers["content-type"].startswith("text/html") and
              b"watch.js" in r.body, r)
        scr.close()
        ops.close()
    finally:
        e.stop()


def test_unaccepted_alert_escalates():
    e = Env({"watch_escalate": "5"})
    try:
        scr = e.screen()
        a = e.raise_alert("fire-smoke")
        aid = a["id"]
        # A second press of the same button is the same alert.
        again = e.raise_alert("fire-smoke", expect=200)
        check(again["id"] == aid and again["duplicate"] is True, again)
        t0 = time.time()
        n = screen_news(scr, lambda d: d["id"] == aid and d["state"] == "escalated",
                        12, "escalated alert")
        took = time.time() - t0
        check(4.0 <= took <= 8.0 and n["escalated_ms"] - n["created_ms"] >= 5000,
              f"escalated after {took:.1f}s: {n}")
        # The office's escalation contact and the 12345 operations get it.
        for to in ("13900000009", "02112345000"):
            m = e.kannel.wait_message(lambda m, to=to: m["to"] == to,
                                      what=f"the escalation SMS to {to}")
            check(m["text"].startswith("【守望相助】紧急：甜爱路老友亭（甜爱路 1号）"
                                       "烟雾或火情，5 秒内无人接单") and
                  m["text"].endswith(f"警单号{aid}"), m)
        e.wait_sms(f"watch:{aid}", lambda it: delivered(it, 5), 15,
                   "3 alerts and 2 escalations delivered")
        # Escalated is still open to volunteers: one takes it.
        r = e.call("POST", f"/api/v1/watch/alerts/{aid}/accept", vol="li", expect=200).json
        check(r["state"] == "accepted" and r["escalated_ms"] > 0, r)

        # A district nobody covers escalates at once, to operations.
        b = e.raise_alert("lost", "找不到家", bid="b2")
        check(b["state"] == "escalated" and b["notified"] == 0, b)
        m = e.kannel.wait_message(lambda m: m["to"] == "02112345000" and
                                  m["text"].endswith(f"警单号{b['id']}"),
                                  what="the escalation of b2's alert")
        check("本区没有登记的志愿者" in m["text"], m)
        scr.close()
    finally:
        e.stop()


def test_gateway_down_queues_then_delivers_across_restart():
    e = Env(start_kannel=False)
    try:
        a1 = e.raise_alert("suspicious", "有人撬车")
        ref1 = f"watch:{a1['id']}"
        check(a1["notified"] == 3, a1)
        # Queued and retried while nobody answers at the gateway.
        items = e.wait_sms(ref1, lambda it: len(it) == 3 and
                           any(m["attempts"] >= 1 for m in it), 10, "a failed try")
        check(all(m["state"] == "queued" for m in items), items)
        tried = [m for m in items if m["attempts"]]
        check(all(m["last_code"] == 0 and "unreachable" in m["last_error"]
                  and m["next_ms"] > 0 for m in tried), tried)

        # laoyou restarts with the messages still queued.
        e.srv.stop()
        e.srv.start()
        a2 = e.raise_alert("quarrel")
        ref2 = f"watch:{a2['id']}"
        check(len(e.sms(ref2)) == 3, "the second alert's messages are queued")
        check(all(m["state"] == "queued" for m in e.sms("watch:")), e.sms("watch:"))
        time.sleep(1.5)
        check(not e.kannel.messages(), "nothing can have been sent yet")

        # The gateway comes up: everything goes, each message once.
        e.kannel.start()
        e.wait_sms("watch:", lambda it: delivered(it, 6), 40, "all 6 delivered")
        deadline = time.time() + 5
        while time.time() < deadline and len(e.kannel.messages()) < 6:
            time.sleep(0.1)
        got = sorted((m["to"], m["text"][:12]) for m in e.kannel.messages())
        check(len(got) == 6 and sorted(m[0] for m in got) == sorted(list(ALERTED) * 2),
              f"fakesmsc got {got}")
        texts = [m["text"] for m in e.kannel.messages()]
        check(sum("可疑情况" in t for t in texts) == 3 and
              sum("争执纠纷" in t for t in texts) == 3, texts)
        check("sms: 3 message(s) in the outbox from before; sending" in e.srv.logtext(),
              "the restart announced its backlog")
    finally:
        e.stop()


def test_bad_input_is_refused_and_nothing_stored():
    # SMS off (no sms_url): alerts still work and their messages wait.
    e = Env(kannel=False)
    tok = e.screen_token["b1"]
    path = "/api/v1/booth/watch"

    def refused(body, status=400, error="bad_request", **kw):
        r = e.call("POST", path, body, expect=status, **kw)
        j = r.json
        check(isinstance(j, dict) and set(j) == {"error", "message"} and
              j["error"] == error, f"{body!r}: {r}")

    refused({"category": "alien"}, booth=tok)
    refused({}, booth=tok)
    refused({"category": 3}, booth=tok)
    refused({"category": "fall", "note": "x" * 501}, booth=tok)
    refused({"category": "fall", "note": 12}, booth=tok)
    refused({"category": "fall", "note": "bad\u0001"}, booth=tok)
    refused({"category": "fall", "colour": "red"}, booth=tok)
    refused("{not json", booth=tok, error="bad_json")
    refused("[1]", booth=tok)
    refused({"category": "fall"}, booth=tok, status=415, error="unsupported_media_type",
            ctype="text/plain")
    refused({"category": "fall"}, status=401, error="unauthorized")
    refused({"category": "fall"}, booth="f" * 48, status=401, error="unauthorized")
    check(e.srv.sql("SELECT count(*) FROM watch_alerts")[0][0] == 0, "no alert stored")
    check(e.srv.sql("SELECT count(*) FROM sms")[0][0] == 0, "no SMS queued")

    # Volunteers: bad ones are refused whole.
    vol = "/api/v1/volunteers"
    for bad in ({"id": "x1", "name": "n", "phone": "12", "district": "d"},
                {"id": "x1", "name": "n", "phone": "13800000000", "district": "d",
                 "kind": "boss"},
                {"id": "X 1", "name": "n", "phone": "13800000000", "district": "d"},
                {"id": "x1", "phone": "13800000000", "district": "d"},
                {"id": "x1", "name": "n", "phone": "13800000000", "district": "*"},
                {"id": "x1", "name": "n", "phone": "13800000000", "district": "d",
                 "escalation": "13900000000"},
                {"id": "x1", "name": "n", "phone": "13800000000", "district": "d",
                 "age": 70}):
        r = e.call("POST", vol, bad, who=e.admin, expect=400)
        check(set(r.json) == {"error", "message"} and
              r.json["message"].startswith("body:1: "), r)
    e.call("POST", vol, VOLUNTEERS[0], who=e.admin, expect=409)
    e.call("POST", vol, VOLUNTEERS[0], expect=401)
    e.call("DELETE", f"{vol}/nobody", who=e.admin, expect=404)
    check(e.srv.sql("SELECT count(*) FROM volunteers")[0][0] == len(VOLUNTEERS),
          "no volunteer added")
    # A new link retires the old one.
    old = e.vol["zhao"]["token"]
    new = e.call("POST", f"{vol}/zhao/token", who=e.admin, expect=201).json["token"]
    check(new != old, "a new token")
    e.call("GET", "/api/v1/watch/alerts", headers={"Authorization": f"Volunteer {old}"},
           expect=401)
    e.call("GET", "/api/v1/watch/alerts", headers={"Authorization": f"Volunteer {new}"},
           expect=200)
    e.call("DELETE", f"{vol}/zhao", who=e.admin, expect=200)
    e.call("GET", "/api/v1/watch/alerts", headers={"Authorization": f"Volunteer {new}"},
           expect=401)
    listed = e.call("GET", vol, who=e.admin, expect=200).json["items"]
    check(sorted(v["id"] for v in listed) == ["hk-office", "li", "ops", "wang"] and
          all("token" not in v for v in listed), listed)

    # With SMS off an alert is stored and its messages wait, said in the log.
    a = e.raise_alert("other", "需要帮助")
    items = e.sms(f"watch:{a['id']}")
    check(len(items) == 3 and all(m["state"] == "queued" and m["attempts"] == 0
                                  for m in items), items)
    check("SMS is off (no sms_url)" in e.srv.logtext(), "the log says SMS is off")

    # Reports need the message's key; ids and states are checked.
    mid = items[0]["id"]
    e.call("GET", f"/api/v1/sms/dlr?id={mid}&k={'0' * 32}&status=1", expect=403)
    e.call("GET", f"/api/v1/sms/dlr?id={mid}&status=1", expect=400)
    e.call("GET", f"/api/v1/sms/dlr?id=x&k=1&status=1", expect=400)
    e.call("GET", f"/api/v1/sms/dlr?id=999999&k={'0' * 32}&status=1", expect=403)
    check(e.srv.sql("SELECT count(*) FROM sms_reports")[0][0] == 0, "no report stored")
    key = e.srv.sql("SELECT dlr_key FROM sms WHERE id=?", mid)[0][0]
    r = e.call("GET", f"/api/v1/sms/dlr?id={mid}&k={key}&status=8&answer=ACK%2F",
               expect=200).json
    check(r == {"id": mid, "state": "accepted"}, r)
    e.call("GET", "/api/v1/sms?state=lost", who=e.admin, expect=400)
    e.call("GET", "/api/v1/sms", expect=401)
    e.call("GET", "/api/v1/watch?state=maybe", who=e.admin, expect=400)
    # Accepting what is not an alert.
    e.call("POST", "/api/v1/watch/alerts/abc/accept", vol="wang", expect=404)
    e.call("POST", "/api/v1/watch/alerts/99999/accept", vol="wang", expect=404)
    e.call("POST", f"/api/v1/watch/alerts/{a['id']}/close", vol="wang", expect=409)
    e.call("POST", f"/api/v1/watch/alerts/{a['id']}/accept", expect=401)
    check(e.srv.sql("SELECT state FROM watch_alerts")[0][0] == "open", "still open")


def wav(seconds=1.0, rate=8000):
    """A mono 16-bit PCM WAV file: a 440 Hz tone."""
    import math
    n = int(seconds * rate)
    pcm = struct.pack("<%dh" % n, *(int(8000 * math.sin(2 * math.pi * 440 * i / rate))
                                    for i in range(n)))
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) +
            b"data" + struct.pack("<I", len(pcm)) + pcm)


def test_spoken_note():
    e = Env(kannel=False)
    tok = e.screen_token["b1"]
    a = e.raise_alert("lost")
    aid = a["id"]
    check(a["audio"] is False and a["audio_ms"] == 0, a)
    path = f"/api/v1/booth/watch/{aid}/audio"
    body = wav(2.0)
    # Not a WAV, not ours, or the wrong type: refused, nothing kept.
    for data, ctype, status, err in ((b"RIFF....WAVEjunk" * 4, "audio/wav", 400, "bad_wav"),
                                     (wav(2.0, 4000), "audio/wav", 400, "bad_wav"),
                                     (body, "application/octet-stream", 415,
                                      "unsupported_media_type")):
        r = e.call("POST", path, data, booth=tok, ctype=ctype, expect=status)
        check(r.json["error"] == err, r)
    e.call("POST", path, body, booth=e.screen_token["b2"], ctype="audio/wav", expect=404)
    e.call("POST", path, body, ctype="audio/wav", expect=401)
    check(e.srv.sql("SELECT audio FROM watch_alerts")[0][0] == "", "nothing kept")
    e.call("GET", f"/api/v1/watch/alerts/{aid}/audio", vol="wang", expect=404)

    r = e.call("POST", path, body, booth=tok, ctype="audio/wav", expect=201).json
    check(r == {"id": aid, "audio_ms": 2000}, r)
    # The district's volunteers hear it (the page's <audio> sends ?v=);
    # another district's do not; operations do.
    got = e.call("GET", f"/api/v1/watch/alerts/{aid}/audio?v={e.vol['li']['token']}",
                 expect=200)
    check(got.body == body and got.headers["content-type"] == "audio/wav", got)
    e.call("GET", f"/api/v1/watch/alerts/{aid}/audio", vol="zhao", expect=404)
    check(e.call("GET", f"/api/v1/watch/{aid}/audio", who=e.admin,
                 expect=200).body == body, "operations hear it")
    page = e.call("GET", "/api/v1/watch/alerts", vol="wang", expect=200).json
    check(page["items"][0]["audio"] is True and page["items"][0]["audio_ms"] == 2000,
          page)
    ops = e.call("GET", "/api/v1/watch", who=e.admin, expect=200).json["items"][0]
    check([x["what"] for x in ops["log"]][-1] == "audio", ops)
    # Once closed, no more notes.
    e.call("POST", f"/api/v1/watch/alerts/{aid}/accept", vol="wang", expect=200)
    e.call("POST", f"/api/v1/watch/alerts/{aid}/close", vol="wang", expect=200)
    e.call("POST", path, body, booth=tok, ctype="audio/wav", expect=409)


# The volunteers' page in Chromium: lib.mjs of tests/browser drives it.
PAGE_SCRIPT = r"""
import {run, newPage, checkClean, checkAxe, check, until, log}
	from '__LIB__';
const [wang, li, note] = [process.env.W_WANG, process.env.W_LI, process.env.W_NOTE];

run('watch-page', {}, async (browser, opts) => {
	const base = opts.url;
	const a = await newPage(browser, {name: 'wang'});
	const b = await newPage(browser, {name: 'li'});
	await a.goto(`${base}/watch.html?v=${wang}`);
	await b.goto(`${base}/watch.html?v=${li}`);
	for (const p of [a, b])
		await p.getByText(note).waitFor();
	check(await a.locator('#w-who').textContent() === '王阿姨（虹口区）', 'who');
	check(await a.getByRole('heading', {name: /有人跌倒/}).count() === 1, 'category');
	await checkAxe(a, 'watch.html (open alert)');
	// wang takes it; li, on a page not yet refreshed, is told it is taken.
	await a.getByRole('button', {name: '我去帮忙'}).click();
	await a.getByText('您已接单').waitFor();
	await b.getByRole('button', {name: '我去帮忙'}).click();
	await b.getByText('这条求助已经有人接了。').waitFor();
	await until('li no longer sees it open', async () =>
		(await b.getByRole('button', {name: '我去帮忙'}).count()) === 0);
	// wang closes it with what happened.
	await a.getByLabel('处理情况（可不填）').fill('已送回家');
	await a.getByRole('button', {name: '已处理，结单'}).click();
	await a.getByText('已结单，谢谢您！').waitFor();
	await a.locator('.w-state.closed').waitFor();
	await a.getByRole('button', {name: 'English'}).click();
	await a.getByRole('heading', {name: 'Requests for help'}).waitFor();
	await checkAxe(a, 'watch.html (English, closed)');
	checkClean(a);
	// A wrong link, and no link at all.
	const c = await newPage(browser, {name: 'bad'});
	await c.goto(`${base}/watch.html?v=${'0'.repeat(48)}`);
	await c.getByText(/链接无效|not valid/).waitFor();
	await c.goto(`${base}/watch.html`);
	await c.getByText(/请从短信里的链接打开本页|Open this page from the link/).waitFor();
	log('the volunteers page works');
});
"""


def test_volunteer_page_in_a_browser():
    browser_dir = os.path.join(ROOT, "tests", "browser")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    missing = [w for w, ok in (
        ("node", shutil.which("node")), (chromium, os.access(chromium, os.X_OK)),
        ("tests/browser/node_modules (npm ci)",
         os.path.exists(os.path.join(browser_dir, "node_modules", "playwright-core"))))
        if not ok]
    if missing:
        raise TestFailure("the browser test cannot run; missing: " + ", ".join(missing))
    e = Env(kannel=False)
    note = "老人在菜场门口摔倒"
    a = e.raise_alert("fall", note)
    script = os.path.join(e.srv.tmp, "watch-page.mjs")
    with open(script, "w") as f:
        f.write(PAGE_SCRIPT.replace("__LIB__", "file://" + os.path.join(browser_dir, "lib.mjs")))
    env = dict(os.environ, W_WANG=e.vol["wang"]["token"], W_LI=e.vol["li"]["token"],
               W_NOTE=note)
    out = os.path.join(e.srv.tmp, "watch-page.out")
    with open(out, "w") as f:
        p = spawn(["node", script, "--url", f"http://127.0.0.1:{e.srv.http_port}",
                   "--timeout", "90", "--artifacts", os.path.join(e.srv.tmp, "shots")],
                  stdout=f, stderr=subprocess.STDOUT, cwd=browser_dir, env=env)
        try:
            rc = p.wait(120)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = -1
    with open(out, errors="replace") as f:
        text = f.read()
    check(rc == 0, f"the volunteers' page in Chromium failed (rc={rc}):\n{text[-3000:]}")
    row = e.srv.sql("SELECT state, accepted_by, resolution FROM watch_alerts WHERE id=?",
                    a["id"])[0]
    check(row == ("closed", "wang", "已送回家"), row)
