"""One-touch taxi end to end, against a taxi partner played by a local
Python HTTP server (ephemeral port, shut down at the end of each test):
the signed ride request (HMAC checked here, in Python), retries with
backoff after a 503, the partner's signed status callbacks reaching the
booth's screen WebSocket, every refusal of a bad callback, a partner that
answers garbage, refuses, never answers or never accepts (the ride fails
with the hotline offered), and a ride resumed after a restart."""
import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.error
import urllib.request

from harness import Laoyou, TestFailure, check, free_port
from test_api import Api, Who, WebSocket

SECRET = "whsec_test_7f3a9c"
HOTLINE = "96840"
BOOTH = {"name": "甜爱路 老友亭", "name_en": "Tian'ai Road booth",
         "address": "上海市虹口区甜爱路 1号", "district": "虹口区",
         "lat": 31.274712, "lon": 121.483801, "ports": 2}


def sign(body, t=None, secret=SECRET):
    """The X-Laoyou-Signature value for body (bytes), as a partner makes it."""
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def verify(header, body, secret=SECRET):
    """Check laoyou's signature on a request, as a partner must: the
    timestamp within 300 s, the HMAC over "<t>.<body>"."""
    parts = dict(p.strip().split("=", 1) for p in (header or "").split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        return False
    want = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                    hashlib.sha256).hexdigest()
    return (hmac.compare_digest(want, parts["v1"]) and
            abs(int(parts["t"]) - time.time()) <= 300)


class Partner:
    """The taxi partner: records every request; script(rec) answers
    (code, text) or "hang" (never answers)."""

    def __init__(self, script, port=0):
        self.script = script
        self.got = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        partner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                rec = {"path": self.path, "headers": dict(self.headers),
                       "body": body, "at": time.time(),
                       "signed": verify(self.headers.get("X-Laoyou-Signature"), body)}
                try:
                    rec["json"] = json.loads(body)
                except ValueError:
                    rec["json"] = None
                with partner.lock:
                    partner.got.append(rec)
                    action = partner.script(rec)
                if action == "hang":
                    partner.release.wait(30)
                    self.close_connection = True
                    return
                code, text = action
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1/rides"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def requests(self, path=None):
        with self.lock:
            return [r for r in self.got if path is None or r["path"] == path]

    def wait(self, pred, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if pred(self.got):
                    return
            time.sleep(0.05)
        raise TestFailure(f"partner: no {what} within {timeout}s; got "
                          f"{[(r['path'], r['body'][:80]) for r in self.got]}")

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class Site:
    """A laoyou with booths (SIP accounts of kind booth, screen tokens)
    and an operations token."""

    def __init__(self, partner_url, conf=None, booths=("b1",)):
        settings = {"taxi_url": partner_url, "taxi_secret": SECRET,
                    "taxi_hotline": HOTLINE}
        settings.update(conf or {})
        self.srv = Laoyou(settings)
        for i, b in enumerate(booths):
            self.srv.add_account(f"booth{b}", "bpw12345", f"20{i + 10}", "booth")
        self.ops = Who("ops", token=self.srv.cli("token", "add", "ops", "--scopes",
                                                 "read,control,admin").stdout.strip())
        self.srv.start()
        self.api = Api(self.srv)
        self.tokens = {}
        for b in booths:
            self.call("PUT", f"/api/v1/booths/{b}", dict(BOOTH, id=b, account=f"booth{b}"),
                      who=self.ops, expect=200)
            r = self.call("POST", f"/api/v1/booths/{b}/token", who=self.ops, expect=201)
            self.tokens[b] = r.json["token"]

    def call(self, method, path, body=None, who=None, booth=None, **kw):
        headers = kw.pop("headers", {})
        if booth is not None:
            headers["Authorization"] = f"Booth {booth}"
        return self.api.call(method, path, body, who=who, headers=headers,
                             validate=False, **kw)

    def request(self, b="b1", body=None, expect=201):
        return self.call("POST", "/api/v1/booth/taxi", body, booth=self.tokens[b],
                         expect=expect).json

    def screen(self, b="b1"):
        ws = WebSocket(self.srv.http_port, f"/api/v1/booth/ws?token={self.tokens[b]}")
        hello = json.loads(ws.recv(5))
        check(hello["type"] == "hello" and hello["booth"]["id"] == b, hello)
        return ws

    def status(self, ride, body, sig=None, ctype="application/json", raw=None):
        """A partner's status callback, signed unless sig says otherwise."""
        data = raw if raw is not None else json.dumps(body).encode()
        h = {"Content-Type": ctype}
        if sig is not False:
            h["X-Laoyou-Signature"] = sig or sign(data)
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.srv.http_port}/api/v1/partner/taxi/{ride}/status",
            data=data, method="POST", headers=h)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def taxi_news(ws, state, timeout):
    """The next taxi news on a booth screen that is in state; fails on
    taxi news of any other state in between unless it is an earlier one
    of the same ride."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        m = ws.recv(deadline - time.time())
        if m is None:
            break
        ev = json.loads(m)
        if ev["type"] != "taxi":
            continue
        seen.append(ev["data"]["state"])
        if ev["data"]["state"] == state:
            return ev["data"]
    raise TestFailure(f"no taxi news {state!r} within {timeout}s; saw {seen}")


def no_taxi_news(ws, secs):
    end = time.time() + secs
    while time.time() < end:
        m = ws.recv(end - time.time())
        if m is None:
            return
        ev = json.loads(m)
        check(ev["type"] != "taxi", f"unexpected taxi news {ev}")


def test_taxi_request_retried_accepted_and_shown_on_screen():
    def script(rec):
        rides = [r for r in partner.got if r["path"] == "/v1/rides"]
        if rec["path"] != "/v1/rides":
            return 200, "{}"
        return (503, '{"error":"busy"}') if len(rides) == 1 else \
            (202, '{"ref":"P-100","status":"received"}')

    partner = Partner(script)
    try:
        s = Site(partner.url)
        scr = s.screen()
        ride = s.request(body={"note": "轮椅 wheelchair", "passengers": 2})
        rid = ride["id"]
        check(ride["state"] == "requested" and ride["booth"] == "b1" and
              ride["fallback"] is None and ride["passengers"] == 2 and
              ride["prompts"] == ["taxi_requested"], ride)
        check(taxi_news(scr, "requested", 5)["id"] == rid, "requested news")

        # First try 503, the second (after ~1 s of backoff) is taken.
        sent = taxi_news(scr, "sent", 10)
        check(sent["id"] == rid and sent["partner_ref"] == "P-100" and
              sent["attempts"] == 2 and sent["prompts"] == ["taxi_waiting"], sent)
        tries = partner.requests("/v1/rides")
        check(len(tries) == 2, f"{len(tries)} tries")
        gap = tries[1]["at"] - tries[0]["at"]
        check(0.9 <= gap <= 3.0, f"backoff {gap:.2f}s, expected ~1 s")
        for t in tries:
            check(t["signed"], f"bad signature on {t['headers']}")
            check(t["headers"].get("Content-Type") == "application/json", t["headers"])
            check(t["headers"].get("Idempotency-Key") == rid, t["headers"])
        check(tries[0]["body"] == tries[1]["body"], "a retry sends the same body")
        body = tries[0]["json"]
        check(body == {
            "ride_id": rid, "created_ms": body["created_ms"], "accept_within_s": 120,
            "booth": {"id": "b1", "name": BOOTH["name"], "name_en": BOOTH["name_en"],
                      "address": BOOTH["address"], "district": BOOTH["district"],
                      "lat": BOOTH["lat"], "lon": BOOTH["lon"]},
            "passengers": 2, "note": "轮椅 wheelchair", "lang": "zh",
            "callback_url": f"http://127.0.0.1:{s.srv.http_port}/api/v1/partner/taxi/"
                            f"{rid}/status"}, body)
        check(abs(body["created_ms"] / 1000 - time.time()) < 30, body)

        # A second touch while it waits is the same ride.
        again = s.request(expect=200)
        check(again["id"] == rid and again["state"] == "sent", again)
        check(len(partner.requests("/v1/rides")) == 2, "no new request to the partner")

        # The partner's callbacks, to the URL it was given.
        url_ride = body["callback_url"].split("/")[-2]
        acc = {"ride_id": rid, "status": "accepted", "plate": "沪A·D12345",
               "eta_s": 300, "driver": "王师傅"}
        code, r = s.status(url_ride, acc)
        check(code == 200 and r["state"] == "accepted", (code, r))
        news = taxi_news(scr, "accepted", 5)
        check(news["plate"] == "沪A·D12345" and news["eta_s"] == 300 and
              news["eta_min"] == 5 and news["driver"] == "王师傅" and
              news["prompts"] == ["taxi_accepted", "taxi_eta_5"] and
              news["fallback"] is None, news)

        # Refused callbacks change nothing and reach no screen.
        arrived = json.dumps({"ride_id": rid, "status": "arrived"}).encode()
        code, r = s.status(rid, None, raw=arrived, sig=sign(arrived, secret="wrong"))
        check(code == 401 and r["error"] == "bad_signature", (code, r))
        code, r = s.status(rid, None, raw=arrived, sig=False)
        check(code == 401 and r["error"] == "bad_signature", (code, r))
        code, r = s.status(rid, None, raw=arrived, sig=sign(arrived + b" "))
        check(code == 401 and r["error"] == "bad_signature", (code, r))
        code, r = s.status(rid, None, raw=arrived,
                           sig=sign(arrived, t=int(time.time()) - 3600))
        check(code == 401 and r["error"] == "stale_signature", (code, r))
        code, r = s.status("f" * 32, {"ride_id": "f" * 32, "status": "arrived"})
        check(code == 404 and r["error"] == "not_found", (code, r))
        code, r = s.status(rid, None, raw=b"{not json")
        check(code == 400 and r["error"] == "bad_request", (code, r))
        for bad in ({"ride_id": rid, "status": "teleported"},
                    {"ride_id": "e" * 32, "status": "arrived"},
                    {"ride_id": rid, "status": "arriving", "eta_s": -5},
                    {"ride_id": rid, "status": "arriving", "plate": 7}):
            code, r = s.status(rid, bad)
            check(code == 400 and r["error"] == "bad_request", (bad, code, r))
        code, r = s.status(rid, None, raw=arrived, ctype="text/plain")
        check(code == 415, (code, r))
        no_taxi_news(scr, 0.5)

        code, r = s.status(rid, None, raw=arrived)
        check(code == 200 and r["state"] == "arrived", (code, r))
        news = taxi_news(scr, "arrived", 5)
        check(news["plate"] == "沪A·D12345" and news["prompts"] == ["taxi_arrived"], news)
        code, r = s.status(rid, acc)
        check(code == 409 and r["error"] == "illegal_transition", (code, r))

        # The booth reads its ride; a wrong token or another booth's does not.
        r = s.call("GET", f"/api/v1/booth/taxi/{rid}", booth=s.tokens["b1"], expect=200).json
        check(r["state"] == "arrived" and r["id"] == rid, r)
        s.call("GET", f"/api/v1/booth/taxi/{rid}", booth="0" * 48, expect=401)
        s.call("GET", f"/api/v1/booth/taxi/{rid}", expect=401)
        s.call("GET", f"/api/v1/booth/taxi/{'0' * 32}", booth=s.tokens["b1"], expect=404)

        # Operations see the ride and every step of it.
        items = s.call("GET", "/api/v1/rides?booth=b1", who=s.ops, expect=200).json["items"]
        check([i["id"] for i in items] == [rid] and items[0]["state"] == "arrived", items)
        steps = s.call("GET", f"/api/v1/rides/{rid}", who=s.ops, expect=200).json["steps"]
        check([x["state"] for x in steps] == ["requested", "sent", "accepted", "arrived"],
              steps)
        s.call("GET", "/api/v1/rides", expect=401)
        s.call("GET", "/api/v1/rides?state=flying", who=s.ops, expect=400)

        code, r = s.status(rid, {"ride_id": rid, "status": "completed"})
        check(code == 200 and r["state"] == "completed", (code, r))
        check(taxi_news(scr, "completed", 5)["prompts"] == ["taxi_completed"], "completed")
        # A repeated final status is taken again (its answer may have
        # been lost); the booth cannot cancel a finished ride.
        code, r = s.status(rid, {"ride_id": rid, "status": "completed"})
        check(code == 200 and r["state"] == "completed", (code, r))
        s.call("POST", f"/api/v1/booth/taxi/{rid}/cancel", {}, booth=s.tokens["b1"],
               expect=409)
        row = s.srv.sql("SELECT state, attempts, partner_ref, plate FROM rides WHERE id=?", rid)
        check(row == [("completed", 2, "P-100", "沪A·D12345")], row)
        check(s.srv.sql("SELECT n FROM booth_usage WHERE booth='b1' AND service='taxi'")
              == [(1,)], "one taxi use counted")
        scr.close()
    finally:
        partner.close()


def test_taxi_partner_failures_offer_the_hotline():
    """Garbage, no ref, a 4xx, silence, no acceptance: each leaves the
    ride failed with its reason, and the screen is offered the hotline."""
    plan = {}

    def script(rec):
        if rec["path"] != "/v1/rides":
            return 200, "{}"
        return plan[rec["json"]["booth"]["id"]]

    partner = Partner(script)
    try:
        s = Site(partner.url, {"taxi_accept": "5"}, booths=("b1", "b2"))
        scr = s.screen("b1")
        scr2 = s.screen("b2")

        # A booth with a wrong token is refused (and logged).
        s.call("POST", "/api/v1/booth/taxi", {}, booth="0" * 48, expect=401)
        s.call("POST", "/api/v1/booth/taxi", {}, expect=401)
        check("booth request from" in s.srv.logtext(), "the refusal is logged")
        # Bad options change nothing.
        for bad in ({"passengers": 0}, {"passengers": 2.5}, {"note": 5},
                    {"colour": "red"}):
            s.call("POST", "/api/v1/booth/taxi", bad, booth=s.tokens["b1"], expect=400)
        check(partner.requests() == [], "nothing reached the partner")

        for answer, reason in (((200, "<html>oops</html>"), "bad_answer"),
                               ((201, '{"status":"ok"}'), "bad_answer"),
                               ((201, '{"ref":"has space"}'), "bad_answer"),
                               ((400, '{"error":"no cars in this area"}'), "rejected")):
            plan["b1"] = answer
            rid = s.request()["id"]
            f = taxi_news(scr, "failed", 5)
            check(f["id"] == rid and f["reason"] == reason and f["fallback"] == HOTLINE and
                  f["prompts"] == ["taxi_failed", "taxi_fallback"], (answer, f))
            r = s.call("GET", f"/api/v1/booth/taxi/{rid}", booth=s.tokens["b1"],
                       expect=200).json
            check(r["state"] == "failed" and r["reason"] == reason, r)
        # A garbage answer may hide a ride the partner made: it hears the
        # ride is off (at our ride id: it gave no ref); a refusal does not.
        partner.wait(lambda got: len([g for g in got if g["path"].endswith("/cancel")]) >= 3,
                     5, "three cancels")
        time.sleep(0.5)
        cancels = partner.requests()
        cancels = [c for c in cancels if c["path"].endswith("/cancel")]
        check(len(cancels) == 3, [c["path"] for c in cancels])
        for c in cancels:
            check(c["signed"] and c["json"]["reason"] == "bad_answer" and
                  c["path"] == f"/v1/rides/{c['json']['ride_id']}/cancel", c)

        # Silence at b1, no driver at b2: both fail after taxi_accept.
        plan["b1"] = "hang"
        plan["b2"] = (202, '{"ref":"P-777"}')
        t0 = time.time()
        silent = s.request("b1")["id"]
        lonely = s.request("b2")["id"]
        check(taxi_news(scr2, "sent", 5)["partner_ref"] == "P-777", "b2 sent")
        f = taxi_news(scr, "failed", 10)
        took = time.time() - t0
        check(f["id"] == silent and f["reason"] == "no_answer" and
              f["fallback"] == HOTLINE and 4.5 <= took <= 8, (took, f))
        f = taxi_news(scr2, "failed", 5)
        check(f["id"] == lonely and f["reason"] == "not_accepted" and
              f["fallback"] == HOTLINE, f)
        partner.wait(lambda got: any(g["path"] == "/v1/rides/P-777/cancel" for g in got),
                     5, "the cancel of P-777")
        c = partner.requests("/v1/rides/P-777/cancel")[0]
        check(c["signed"] and c["json"] == {"ride_id": lonely, "ref": "P-777",
                                            "reason": "not_accepted",
                                            "ts_ms": c["json"]["ts_ms"]}, c)
        # Too late: the ride is over for us.
        code, r = s.status(lonely, {"ride_id": lonely, "status": "accepted", "plate": "沪B1"})
        check(code == 409 and r["error"] == "illegal_transition", (code, r))

        # The booth cancels a ride on its way; the partner hears of it.
        plan["b2"] = (202, '{"ref":"P-778"}')
        rid = s.request("b2")["id"]
        taxi_news(scr2, "sent", 5)
        code, r = s.status(rid, {"ride_id": rid, "status": "accepted", "plate": "沪C1",
                                 "eta_s": 45})
        check(code == 200 and r["prompts"] == ["taxi_accepted", "taxi_eta_1"], r)
        r = s.call("POST", f"/api/v1/booth/taxi/{rid}/cancel", {}, booth=s.tokens["b2"],
                   expect=200).json
        check(r["state"] == "cancelled" and r["reason"] == "booth" and
              r["fallback"] is None and r["prompts"] == ["taxi_cancelled"], r)
        check(taxi_news(scr2, "cancelled", 5)["id"] == rid, "cancelled news")
        partner.wait(lambda got: any(g["path"] == "/v1/rides/P-778/cancel" for g in got),
                     5, "the booth's cancel")
        check(partner.requests("/v1/rides/P-778/cancel")[0]["json"]["reason"] == "booth",
              "reason booth")
        # Another booth cannot cancel b1's ride.
        s.call("POST", f"/api/v1/booth/taxi/{silent}/cancel", {}, booth=s.tokens["b2"],
               expect=404)
        # A partner's cancel offers the hotline.
        plan["b1"] = (202, '{"ref":"P-779"}')
        rid = s.request("b1")["id"]
        taxi_news(scr, "sent", 5)
        code, r = s.status(rid, {"ride_id": rid, "status": "cancelled",
                                 "reason": "driver broke down"})
        check(code == 200, (code, r))
        f = taxi_news(scr, "cancelled", 5)
        check(f["reason"] == "partner" and f["detail"] == "driver broke down" and
              f["fallback"] == HOTLINE and
              f["prompts"] == ["taxi_cancelled_partner", "taxi_fallback"], f)

        failed = s.call("GET", "/api/v1/rides?state=failed&limit=50", who=s.ops,
                        expect=200).json["items"]
        check(sorted(i["reason"] for i in failed) ==
              ["bad_answer"] * 3 + ["no_answer", "not_accepted", "rejected"], failed)
        scr.close()
        scr2.close()
    finally:
        partner.close()


def test_taxi_ride_resumed_after_restart():
    """The partner is down; laoyou stops with the ride undelivered; after
    the restart the same ride (same id, same body) is delivered."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/rides"
    s = Site(url, {"taxi_accept": "60"})
    rid = s.request()["id"]
    time.sleep(0.3)
    row = s.srv.sql("SELECT state, attempts FROM rides WHERE id=?", rid)
    check(row and row[0][0] == "requested" and row[0][1] >= 1, row)
    check(s.srv.stop() == 0, "laoyou stops cleanly with a ride in flight")

    partner = Partner(lambda rec: (201, '{"ref":"P-R1"}'), port=port)
    try:
        s.srv.start()
        partner.wait(lambda got: len(got) >= 1, 10, "the resumed request")
        got = partner.requests("/v1/rides")[0]
        check(got["signed"] and got["json"]["ride_id"] == rid, got)
        s.srv.wait_for(lambda: s.srv.sql("SELECT state, partner_ref FROM rides WHERE id=?",
                                          rid) == [("sent", "P-R1")], 5, "sent")
        scr = s.screen()
        code, r = s.status(rid, {"ride_id": rid, "status": "arriving", "plate": "沪D9",
                                 "eta_s": 1900})
        check(code == 200 and r["prompts"] == ["taxi_arriving", "taxi_eta_long"], (code, r))
        check(taxi_news(scr, "arriving", 5)["eta_min"] == 32, "arriving news")
        scr.close()
    finally:
        partner.close()
