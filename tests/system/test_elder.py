"""One-touch elder help (助老一键通) on real calls: an elder's home device
(a sipp caller registered as kind elder-device) or a booth's handset calls
12349; it goes first in line in the elder-care queue (sipp agents log in
with *61 and answer); if no agent answers in elder_answer seconds, the
family contacts are sent an SMS and rung in order through the trunk (a
sipp UAS playing the trunk), and the first to answer is bridged.  Every
step is in the call record's path and in the escalation log.  Also the
profiles' API (bad input gets 400 JSON) and the agent's screen pop."""
import http.client
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

from harness import (PROMPTS, Laoyou, Sipp, check, register, uas, ivr_caller, Capture,
                     wav_packets, free_port, sdp)

WANG = "elder-wang"
SON, DAUGHTER = "13900000001", "13900000002"
PROFILE = {"name": "王秀英", "address": "上海市虹口区甜爱路 12 号 3 室", "district": "虹口区",
           "conditions": "高血压，独居，左耳听力弱", "lang": "zh",
           "contacts": [{"name": "王小明", "relation": "儿子", "number": SON},
                        {"name": "王小红", "relation": "女儿", "number": DAUGHTER}]}


def site(queue=True, extra=None):
    s = {
        "hotlines": [{"number": "7000", "flow": "line", "language": "zh"}],
        "flows": {"line": {"start": "q", "nodes": {
            "q": {"type": "queue", "queue": "elder-care" if queue else "other",
                  "prompts": ["beep"], "fallback": "bye"},
            "bye": {"type": "hangup", "prompts": ["goodbye"]}}}},
        "queues": {("elder-care" if queue else "other"): {
            "strategy": "longest-idle", "ring_timeout": 8, "wrapup": 0, "announce": 0,
            "max_wait": 120}},
        "agents": {"alice": {"account": "alice",
                             "queues": ["elder-care" if queue else "other"],
                             "skills": {"lang:zh": 8}}},
    }
    s.update(extra or {})
    return s


def server(conf=None, site_json=None, trunk_port=None, tmp=None):
    conf = dict(conf or {})
    if trunk_port:
        conf["trunk"] = f"sip:127.0.0.1:{trunk_port}"
    srv = Laoyou(conf, tmp=tmp)
    srv.add_account("caller", "cpw", "8001")
    srv.add_account("alice", "alicepw", "1001")
    # The device rings the family's mobiles through the trunk: it needs
    # permission to reach outside numbers.
    srv.add_account(WANG, "wangpw", "3001", "elder-device", "--outbound")
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as f:
        json.dump(site_json or site(), f, ensure_ascii=False, indent=1)
    r = srv.cli("site", "import", path)
    check("imported" in r.stdout, r.stdout + r.stderr)
    srv.admin = srv.cli("token", "add", "adm", "--scopes", "admin").stdout.strip()
    srv.reader = srv.cli("token", "add", "rd", "--scopes", "read").stdout.strip()
    return srv.start()


def api(srv, method, path, body=None, token=None, cookie=None, csrf=None, ctype=None):
    """(status, parsed JSON or text) of one request."""
    h = {"Connection": "close"}
    if token:
        h["Authorization"] = "Bearer " + token
    if cookie:
        h["Cookie"] = "laoyou_session=" + cookie
        if csrf and method != "GET":
            h["X-CSRF-Token"] = csrf
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
        if isinstance(data, str):
            data = data.encode()
        h["Content-Type"] = ctype or "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
    finally:
        conn.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw.decode(errors="replace")


def put_profile(srv, account, profile, expect=(200, 201)):
    st, body = api(srv, "PUT", "/api/v1/elders/" + account, profile, token=srv.admin)
    check(st in (expect if isinstance(expect, tuple) else (expect,)),
          f"PUT profile {account}: {st} {body}")
    return body


def phone(srv, user, mode="bye", hold_ms=2000, calls=1, ring_ms=0):
    port = free_port()
    p = uas(srv.tmp, f"phone-{user}-{mode}", user, port, mode=mode, hold_ms=hold_ms,
            calls=calls, ring_ms=ring_ms)
    p.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, user, user + "pw", port)[0] == 0, f"{user} registers")
    return p


def feature(srv, user, code):
    f = ivr_caller(srv.tmp, f"fc-{user}-{code[1:]}-{time.time():.3f}", user, user + "pw",
                   code, [("wait_bye",)])
    check(f.run(f"127.0.0.1:{srv.sip_port}") == 0, f"{user} {code}: {f.errors()}")


def qlog(srv):
    return [r[0] + (":" + r[1] if r[1] else "")
            for r in srv.sql("SELECT event, agent FROM queue_log ORDER BY id")]


def elder_record(srv):
    recs = [r for r in srv.cdrs() if r["dialled"] == "12349"]
    check(len(recs) == 1, f"one help call in the records: {recs}")
    return recs[0]


def steps(srv, callid):
    return srv.sql("SELECT ts_ms, step, contact, name, number, detail FROM elder_log "
                   "WHERE callid=? ORDER BY id", callid)


# ------------------------------------------------------------------ the trunk

def trunk_scenario(answer, hold_ms=2500):
    """The carrier: a call to `answer` is answered (and hung up after
    hold_ms); any other number rings until it is cancelled."""
    def reply(code, reason, body=None, totag=True, cseq="[last_CSeq:]"):
        to = "[last_To:];tag=[pid]SIPpTag01[call_number]" if totag else "[last_To:]"
        tail = ("Content-Type: application/sdp\nContent-Length: [len]\n\n" + body) if body \
            else "Content-Length: 0\n\n"
        return f"""  <send>
    <![CDATA[
SIP/2.0 {code} {reason}
[last_Via:]
[last_From:]
{to}
[last_Call-ID:]
{cseq}
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
{tail}
    ]]>
  </send>"""
    x = ['<?xml version="1.0" encoding="UTF-8"?>', '<scenario name="trunk">',
         '  <recv request="INVITE" crlf="true" rrs="true">',
         '    <action>',
         f'      <ereg regexp="^INVITE sip:{answer}@" search_in="msg" check_it="false" '
         'assign_to="ans"/>',
         '      <ereg regexp=";tag=([^;>\\r\\n ]+)" search_in="hdr" header="From:" '
         'assign_to="ftag,fromtag"/>',
         '      <ereg regexp="([0-9]+)" search_in="hdr" header="CSeq:" '
         'assign_to="cs,invcseq"/>',
         '    </action>',
         '  </recv>',
         '  <Reference variables="ftag,cs"/>',
         reply(180, "Ringing"),
         '  <nop test="ans" next="answer"/>',
         '  <recv request="CANCEL"/>',
         reply(200, "OK", totag=False),
         reply(487, "Request Terminated", cseq="CSeq: [$invcseq] INVITE"),
         '  <recv request="ACK" next="done"/>',
         '  <label id="answer"/>',
         '  <pause milliseconds="300"/>',
         reply(200, "OK", sdp("8 0")).replace("<send>", '<send retrans="500">'),
         '  <recv request="ACK"/>',
         f'  <pause milliseconds="{hold_ms}"/>',
         """  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:family@[local_ip]>;tag=[pid]SIPpTag01[call_number]
To: <sip:caller@[remote_ip]>;tag=[$fromtag]
[last_Call-ID:]
[routes]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>""",
         '  <recv response="200"/>',
         '  <label id="done"/>',
         '</scenario>']
    return "\n".join(x)


def trunk(srv, port, answer, calls):
    t = Sipp(srv.tmp, f"trunk-{port}", trunk_scenario(answer),
             ["-m", str(calls), "-timeout", "60s", "-trace_msg", "-rtp_echo",
              "-mp", str(free_port(pair=True))], port=port)
    return t.start(f"127.0.0.1:{srv.sip_port}")


def trunk_invites(t):
    """The Request-URI users of the INVITEs the trunk received, in order."""
    try:
        with open(os.path.join(t.tmp, f"{t.name}_{t.proc.pid}_messages.log"),
                  errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    return re.findall(r"^INVITE sip:([^@]+)@", text, re.M)


# ------------------------------------------------------------------- SMS

def kannel_fixture():
    """tests/system/kannel.py, the SMS part's fixture (Kannel's bearerbox,
    smsbox and fake SMSC), if this tree has it yet."""
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.exists(os.path.join(here, "kannel.py")):
        return None
    if here not in sys.path:
        sys.path.insert(0, here)
    import kannel
    return kannel


def sms_received(k):
    """Texts fakesmsc received, by number; a long text comes in parts
    (a UDH with reference, count, part and UCS-2 data) joined here."""
    got, parts = {}, {}
    line_re = re.compile(r"Got message \d+: <(\S*) (\S+) (\S+) (.*)>$")
    try:
        with open(k.fake_out, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return got
    for line in lines:
        m = line_re.search(line)
        if not m:
            continue
        to, kind, rest = m.group(2), m.group(3), m.group(4)
        if kind == "udh":
            udh, _, data = rest.split(" ", 2)
            h = urllib.parse.unquote_to_bytes(udh)
            raw = urllib.parse.unquote_to_bytes(data.replace("+", "%20"))
            ref, total, no = h[3], h[4], h[5]
            parts.setdefault((to, ref, total), {})[no] = raw
        else:
            got.setdefault(to, []).append(kannel_fixture().decode(kind, rest))
    for (to, ref, total), ps in parts.items():
        if len(ps) == total:
            raw = b"".join(ps[i] for i in range(1, total + 1))
            got.setdefault(to, []).append(raw.decode("utf-16-be"))
    return got


# ------------------------------------------------------------------- tests

def test_elder_device_goes_first_and_reaches_an_agent():
    srv = server({"elder_answer": "20"})
    put_profile(srv, WANG, PROFILE)
    alice = phone(srv, "alice", mode="bye", hold_ms=1500, calls=2)
    # A citizen is already waiting in the same queue.
    citizen = ivr_caller(srv.tmp, "citizen", "caller", "cpw", "7000", [("wait_bye",)])
    citizen.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: qlog(srv).count("ENTER") == 1, what="citizen in line")
    time.sleep(1.5)
    elder = ivr_caller(srv.tmp, "elder", WANG, "wangpw", "12349", [("wait_bye",)])
    cap = Capture(srv.tmp, elder.media_port)
    elder.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: qlog(srv).count("ENTER") == 2, timeout=15, what="elder in line")
    feature(srv, "alice", "*61")
    check(elder.wait(40) == 0, "elder: " + elder.errors())
    check(citizen.wait(40) == 0, "citizen: " + citizen.errors())
    cap.stop()
    check(alice.wait(20) == 0, "alice: " + alice.errors())
    # The elder was answered first although the citizen had waited longer.
    rows = srv.sql("SELECT callid FROM queue_log WHERE event='CONNECT' ORDER BY id")
    callers = {r["callid"]: r["caller"] for r in srv.cdrs()}
    order = [callers.get(r[0]) for r in rows]
    check(order == [WANG, "caller"], f"answered in the order {order}")
    rec = elder_record(srv)
    check(rec["path"] == "elder>elder:queue>elder:agent" and rec["callee"] == "alice" and
          rec["hotline"] == "12349" and rec["disposition"] == "answered", rec)
    got = [(s[1], s[5]) for s in steps(srv, rec["callid"])]
    check(got == [("start", "elder"), ("queue", "elder-care"), ("agent", "alice")], got)
    row = srv.sql("SELECT kind, outcome, answered_by, end_ms > start_ms FROM elder_calls")
    check(row == [("elder", "agent", "alice", 1)], row)
    # The elder heard "connecting you to elder care" in full before the line.
    want = wav_packets(os.path.join(PROMPTS, "zh", "elder_connecting.wav"))
    spurts = cap.spurts()
    check(spurts and spurts[0] == want, f"first prompt {want} packets, heard {spurts}")
    # Nothing escalated: no SMS, no trunk, no call-back task.
    check(srv.sql("SELECT count(*) FROM callbacks") == [(0,)], "a call-back task was left")


def test_no_agent_in_time_escalates_to_the_family():
    trunk_port = free_port()
    kannel = kannel_fixture()
    tmp = tempfile.mkdtemp(prefix="laoyou-test-")
    conf = {"elder_answer": "2", "ring_timeout": "3"}
    k = None
    if kannel:
        k = kannel.Kannel(tmp).start()
        conf["sms_url"] = k.sendsms_url
    srv = server(conf, trunk_port=trunk_port, tmp=tmp)
    put_profile(srv, WANG, PROFILE)
    # alice is logged in but her phone only rings.
    alice = phone(srv, "alice", mode="ring")
    feature(srv, "alice", "*61")
    t = trunk(srv, trunk_port, DAUGHTER, calls=2)
    elder = ivr_caller(srv.tmp, "elder", WANG, "wangpw", "12349", [("wait_bye",)])
    t0 = time.time()
    check(elder.run(f"127.0.0.1:{srv.sip_port}", timeout=60) == 0, "elder: " + elder.errors())
    took = time.time() - t0
    check(alice.wait(20) == 0, "alice's ringing phone was not cancelled: " + alice.errors())
    check(t.wait(20) == 0, "trunk: " + t.errors())
    check(trunk_invites(t) == [SON, DAUGHTER], f"the trunk was asked for {trunk_invites(t)}")
    rec = elder_record(srv)
    sms_step = "elder:sms" if kannel else rec["path"].split(">")[3]
    check(rec["path"] == "elder>elder:queue>elder:timeout>" + sms_step +
          ">elder:family1:no-answer>elder:family2:answered", rec["path"])
    check(rec["disposition"] == "answered", rec)
    # The prompt (~5 s), 2 s for the agents, 3 s of ringing the son, the
    # daughter's 2.5 s: well under a minute.
    check(8 < took < 30, f"the call took {took:.1f} s")
    log = steps(srv, rec["callid"])
    names = [s[1] for s in log]
    check(names[:4] == ["start", "queue", "timeout", "escalate"] and
          names[4:6] in (["sms", "sms"], ["sms-failed", "sms-failed"]) and
          names[6:] == [names[6], "ring", "no-answer", "ring", "answered"], names)
    check([s[0] for s in log] == sorted(s[0] for s in log), "steps out of time order")
    check(log[7][2:5] == (1, "王小明", SON) and log[9][2:5] == (2, "王小红", DAUGHTER), log)
    gap = log[2][0] - log[1][0]
    check(1800 <= gap <= 4000, f"escalated {gap} ms after joining the queue (2 s)")
    row = srv.sql("SELECT outcome, answered_by, number FROM elder_calls")
    check(row == [("family", "王小红", DAUGHTER)], row)
    check(qlog(srv) == ["ENTER", "EXITFLOW"], qlog(srv))
    # The supervisors' view of the same call.
    st, body = api(srv, "GET", "/api/v1/elder-calls?call=" + urllib.parse.quote(rec["callid"]),
                   token=srv.reader)
    check(st == 200 and body["count"] == 1 and body["items"][0]["outcome"] == "family" and
          [s["step"] for s in body["items"][0]["steps"]] == names, body)
    # Both contacts were told by SMS at the start of the escalation.
    ref = "elder:" + rec["callid"]
    if kannel:
        # Through Kannel to its fake SMSC: one message to each contact.
        srv.wait_for(lambda: sorted(sms_received(k)) == sorted([SON, DAUGHTER]),
                     timeout=30, what=f"an SMS to each contact: {sms_received(k)}")
        for number, texts in sms_received(k).items():
            check(len(texts) == 1 and "王秀英" in texts[0] and PROFILE["address"] in texts[0],
                  f"to {number}: {texts}")
        k.stop()
    else:
        st, body = api(srv, "GET", "/api/v1/sms?ref=" + urllib.parse.quote(ref), token=srv.reader)
        if st == 200:
            items = body.get("items", [])
            check(sorted(m.get("to") for m in items) == sorted([SON, DAUGHTER]), body)
            check(all("王秀英" in m.get("text", "") for m in items), body)
        else:
            # No outbox yet (src/sms is a placeholder): each attempt is in
            # the escalation log all the same.
            sms = [(s[2], s[4]) for s in log if s[1].startswith("sms") and s[2]]
            check(sms == [(1, SON), (2, DAUGHTER)], sms)


def test_booth_without_queue_goes_to_its_district_office_then_a_call_back():
    trunk_port = free_port()
    booth = {"id": "tianai-01", "name": "甜爱路电话亭", "name_en": "Tian'ai Road booth",
             "address": "上海市虹口区甜爱路 88 号", "district": "虹口区",
             "lat": 31.2687, "lon": 121.4846, "account": "booth-tianai", "ports": 2}
    office, duty, own = "13900000008", "13900000009", "13900000007"
    volunteers = [
        {"id": "hongkou-office", "name": "虹口区社区办", "phone": office, "district": "虹口区",
         "kind": "office", "escalation": duty},
        {"id": "wang-ayi", "name": "王阿姨", "phone": "13800001111", "district": "虹口区"},
        {"id": "huangpu-office", "name": "黄浦区社区办", "phone": "13900000010",
         "district": "黄浦区", "kind": "office"}]
    srv = Laoyou({"trunk": f"sip:127.0.0.1:{trunk_port}", "elder_answer": "2",
                  "ring_timeout": "2"})
    srv.add_account("booth-tianai", "boothpw", "5001", "booth", "--outbound")
    srv.add_account("alice", "alicepw", "1001")
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as f:
        json.dump(site(queue=False, extra={"booths": [booth], "volunteers": volunteers}), f,
                  ensure_ascii=False)
    r = srv.cli("site", "import", path)
    check("imported" in r.stdout, r.stdout + r.stderr)
    srv.admin = srv.cli("token", "add", "adm", "--scopes", "admin").stdout.strip()
    srv.start()
    t = trunk(srv, trunk_port, "nobody-answers", calls=3)

    def help_call(name):
        c = ivr_caller(srv.tmp, name, "booth-tianai", "boothpw", "12349", [("wait_bye",)])
        c.args += ["-cid_str", name + "-%u-%p@%s"]
        cap = Capture(srv.tmp, c.media_port)
        check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=60) == 0, f"{name}: {c.errors()}")
        cap.stop()
        rec = [x for x in srv.cdrs() if x["callid"].startswith(name)]
        check(len(rec) == 1, rec)
        return rec[0], cap

    # No contacts of its own: the district's community office, its number
    # and then its duty number (a volunteer is no office; another
    # district's office is not this booth's).
    rec, cap = help_call("first")
    parts = rec["path"].split(">")
    check(parts[:2] == ["elder", "elder:no-queue"] and parts[2] in ("elder:sms",
                                                                     "elder:sms-failed") and
          parts[3:] == ["elder:family1:no-answer", "elder:family2:no-answer", "elder:nobody"],
          rec["path"])
    check("the site has no queue \"elder-care\"" in srv.logtext(), "missing queue not logged")
    # The caller was told nobody could be reached, then hung up.
    want = wav_packets(os.path.join(PROMPTS, "zh", "elder_no_answer.wav"))
    check(want in cap.spurts(), f"no 'we could not reach' prompt ({want}) in {cap.spurts()}")
    check(rec["reason"] == "Elder Help Ended", rec)
    log = steps(srv, rec["callid"])
    rung = [(s[3], s[4]) for s in log if s[1] == "ring"]
    check(rung == [("虹口区社区办", office), ("虹口区社区办", duty)], rung)
    names = [s[1] for s in log]
    check(names[-2:] == ["nobody", "callback"] and "no-queue" in names, names)
    # The booth's own contacts, once it has some, come instead.
    put_profile(srv, "booth-tianai", {"kind": "booth", "contacts": [
        {"name": "甜爱路居委会", "relation": "居委会", "number": own}]})
    rec2, _ = help_call("second")
    check(rec2["path"].split(">")[3:] == ["elder:family1:no-answer", "elder:nobody"],
          rec2["path"])
    check(t.wait(20) == 0, "trunk: " + t.errors())
    check(trunk_invites(t) == [office, duty, own], f"the trunk was asked for {trunk_invites(t)}")
    # An agent is to call the booth back, each time.
    cbs = srv.sql("SELECT caller, hotline, number, recording, status FROM callbacks")
    check(cbs == [("booth-tianai", "12349", "5001", "elder", "open")] * 2, cbs)
    row = srv.sql("SELECT kind, booth, outcome FROM elder_calls")
    check(row == [("booth", "tianai-01", "nobody")] * 2, row)
    usage = srv.sql("SELECT n FROM booth_usage WHERE booth='tianai-01' AND service='elder'")
    check(usage == [(2,)], usage)


def test_an_elder_who_hangs_up_during_escalation_is_called_back():
    trunk_port = free_port()
    srv = server({"elder_answer": "2", "ring_timeout": "20"}, trunk_port=trunk_port)
    put_profile(srv, WANG, PROFILE)
    t = trunk(srv, trunk_port, "nobody-answers", calls=1)
    elder = ivr_caller(srv.tmp, "elder", WANG, "wangpw", "12349",
                       [("pause", 11000), ("bye",)])
    check(elder.run(f"127.0.0.1:{srv.sip_port}", timeout=40) == 0, elder.errors())
    check(t.wait(20) == 0, "the son's ringing was not cancelled: " + t.errors())
    rec = elder_record(srv)
    check(rec["path"].startswith("elder>elder:queue>elder:timeout>"), rec["path"])
    names = [s[1] for s in steps(srv, rec["callid"])]
    check(names[-3:] == ["ring", "hangup", "callback"], names)
    check(srv.sql("SELECT outcome FROM elder_calls") == [("hung-up",)], "outcome")
    cbs = srv.sql("SELECT number, recording FROM callbacks")
    check(cbs == [("3001", "elder")], cbs)


def test_profiles_api_and_the_screen_pop():
    srv = server()
    srv.add_account("booth-tianai", "boothpw", "5001", "booth")
    srv.cli("user", "add", "agnes", "--role", "agent", "--password", "agentpass1",
            "--agent", "alice")
    # Bad input: 400 with a JSON {"error", "message"} naming what is wrong.
    bad = [
        ({**PROFILE, "name": ""}, "name"),
        ({k: v for k, v in PROFILE.items() if k != "address"}, "address"),
        ({**PROFILE, "contacts": [{"name": "x", "number": "12a45"}]}, "number"),
        ({**PROFILE, "contacts": [{"name": "x", "number": "123456"}] * 6}, "contacts"),
        ({**PROFILE, "contacts": [{"name": "x", "number": "123456", "email": "a"}]},
         "email"),
        ({**PROFILE, "contacts": [{"name": "a", "number": SON}, {"name": "b", "number": SON}]},
         "contact 2"),
        ({**PROFILE, "lang": "fr"}, "lang"),
        ({**PROFILE, "age": 81}, "age"),
        ({**PROFILE, "kind": "robot"}, "kind"),
        ({**PROFILE, "account": "somebody-else"}, "account"),
        ({**PROFILE, "conditions": 5}, "conditions"),
        ({**PROFILE, "kind": "booth"}, "kind booth"),      # the account is a device
        ([1, 2], "object"),
    ]
    for body, what in bad:
        st, j = api(srv, "PUT", f"/api/v1/elders/{WANG}", body, token=srv.admin)
        check(st == 400 and isinstance(j, dict) and set(j) == {"error", "message"},
              f"{what}: {st} {j}")
        word = what.split()[0]
        check(word in j["message"] or word == "object", f"{what}: {j['message']}")
    st, j = api(srv, "PUT", f"/api/v1/elders/{WANG}", "{\"name\": ", token=srv.admin)
    check(st == 400 and j["error"] == "bad_json", j)
    st, j = api(srv, "PUT", f"/api/v1/elders/{WANG}", "name=x", token=srv.admin,
                ctype="text/plain")
    check(st == 415 and set(j) == {"error", "message"}, j)
    st, j = api(srv, "PUT", "/api/v1/elders/nobody", PROFILE, token=srv.admin)
    check(st == 400 and "account" in j["message"], j)
    st, j = api(srv, "PUT", "/api/v1/elders/alice", PROFILE, token=srv.admin)
    check(st == 400 and "elder-device" in j["message"], j)
    check(srv.sql("SELECT count(*) FROM elder_profiles") == [(0,)], "bad input was stored")
    # Create, read, change, list.
    body = put_profile(srv, WANG, PROFILE, expect=201)
    check(body["name"] == "王秀英" and [c["number"] for c in body["contacts"]] == [SON, DAUGHTER],
          body)
    changed = {**PROFILE, "contacts": list(reversed(PROFILE["contacts"]))}
    body = put_profile(srv, WANG, changed, expect=200)
    st, j = api(srv, "GET", f"/api/v1/elders/{WANG}", token=srv.reader)
    check(st == 200 and [c["number"] for c in j["contacts"]] == [DAUGHTER, SON] and
          j["conditions"] == PROFILE["conditions"], j)
    put_profile(srv, "booth-tianai", {"kind": "booth", "contacts": [
        {"name": "居委会", "relation": "社区", "number": "13900000009"}]}, expect=201)
    st, j = api(srv, "GET", "/api/v1/elders", token=srv.reader)
    check(st == 200 and [p["account"] for p in j["items"]] == ["booth-tianai", WANG], j)
    # Roles: an agent may not change or list profiles.
    conn = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=5)
    conn.request("POST", "/api/v1/login", json.dumps({"user": "agnes",
                                                      "password": "agentpass1"}),
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    cookie = re.match(r"laoyou_session=([0-9a-f]+);", resp.getheader("set-cookie")).group(1)
    csrf = json.loads(resp.read())["csrf"]
    conn.close()
    st, j = api(srv, "PUT", f"/api/v1/elders/{WANG}", PROFILE, cookie=cookie, csrf=csrf)
    check(st == 403 and j["error"] == "forbidden", j)
    st, j = api(srv, "GET", "/api/v1/elders", cookie=cookie)
    check(st == 403, j)
    # An agent sees the card of its own caller only (a profile holds an
    # elder's health); operations see any.
    st, j = api(srv, "GET", f"/api/v1/callers/{WANG}", cookie=cookie)
    check(st == 403 and "not on a call of yours" in j["message"], j)
    st, j = api(srv, "GET", f"/api/v1/callers/{WANG}", token=srv.reader)
    check(st == 200 and j["kind"] == "elder" and j["profile"]["name"] == "王秀英" and
          j["profile"]["address"] == PROFILE["address"] and
          j["profile"]["conditions"] == PROFILE["conditions"] and
          j["profile"]["contacts"][0] == {"name": "王小红", "relation": "女儿",
                                          "number": DAUGHTER}, j)
    st, j = api(srv, "GET", "/api/v1/callers/alice", token=srv.reader)
    check(st == 404 and set(j) == {"error", "message"}, j)
    st, j = api(srv, "GET", "/api/v1/callers/nobody", cookie=cookie)
    check(st == 404, j)
    st, j = api(srv, "GET", f"/api/v1/callers/{WANG}")
    check(st == 401, j)
    # Every look at a profile is audited.
    check(srv.sql("SELECT count(*) FROM audit WHERE action='caller.view'") == [(1,)],
          srv.sql("SELECT * FROM audit"))
    # A booth's pop: the booth and where it stands.
    st, j = api(srv, "PUT", "/api/v1/booths/tianai-01",
                {"name": "甜爱路电话亭", "address": "上海市虹口区甜爱路 88 号",
                 "district": "虹口区", "lat": 31.2687, "lon": 121.4846,
                 "account": "booth-tianai", "ports": 2}, token=srv.admin)
    check(st in (200, 201), j)
    st, j = api(srv, "GET", "/api/v1/callers/booth-tianai", token=srv.reader)
    check(st == 200 and j["kind"] == "booth" and j["booth"]["id"] == "tianai-01" and
          j["booth"]["address"] == "上海市虹口区甜爱路 88 号" and
          abs(j["booth"]["lat"] - 31.2687) < 1e-6 and abs(j["booth"]["lon"] - 121.4846) < 1e-6 and
          j["booth"]["district"] == "虹口区" and j["contacts"][0]["number"] == "13900000009", j)
    # Delete.
    st, j = api(srv, "DELETE", f"/api/v1/elders/{WANG}", token=srv.admin)
    check(st == 200 and j == {"deleted": WANG}, j)
    st, j = api(srv, "DELETE", f"/api/v1/elders/{WANG}", token=srv.admin)
    check(st == 404 and set(j) == {"error", "message"}, j)
    st, j = api(srv, "GET", f"/api/v1/callers/{WANG}", token=srv.reader)
    check(st == 200 and j["kind"] == "elder" and j["profile"] is None, j)


def test_booth_screen_button_reaches_an_agent_and_the_screen_follows():
    import test_api
    booth = {"id": "tianai-01", "name": "甜爱路电话亭", "address": "上海市虹口区甜爱路 88 号",
             "district": "虹口区", "lat": 31.2687, "lon": 121.4846, "account": "booth-tianai",
             "ports": 2, "token": "tok-tianai-screen"}
    srv = Laoyou({"elder_answer": "20"})
    srv.add_account("booth-tianai", "boothpw", "5001", "booth", "--outbound")
    srv.add_account("alice", "alicepw", "1001")
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as f:
        json.dump(site(extra={"booths": [booth]}), f, ensure_ascii=False)
    r = srv.cli("site", "import", path)
    check("imported" in r.stdout, r.stdout + r.stderr)
    srv.start()
    alice = phone(srv, "alice", mode="bye", hold_ms=1500)
    feature(srv, "alice", "*61")
    # The handset (its speaker phone) picks up when laoyou rings it.
    port = free_port()
    handset = uas(srv.tmp, "handset", "booth-tianai", port, mode="answer")
    handset.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "booth-tianai", "boothpw", port)[0] == 0, "handset registers")
    screen = test_api.WebSocket(srv.http_port, "/api/v1/booth/ws?token=" + booth["token"])
    check(screen.status == 101, f"screen WebSocket: {screen.status}")
    st, j = api(srv, "POST", "/api/v1/booth/call", {"service": "elder"}, ctype="application/json")
    check(st == 401, f"no token: {st} {j}")
    conn = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    conn.request("POST", "/api/v1/booth/call", json.dumps({"service": "elder"}),
                  {"Content-Type": "application/json",
                   "Authorization": "Booth " + booth["token"]})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    check(resp.status == 201, f"the screen's help button: {resp.status} {body}")
    check(handset.wait(40) == 0, "handset: " + handset.errors())
    check(alice.wait(20) == 0, "alice: " + alice.errors())
    # The screen heard each step of its help call.
    states = []
    deadline = time.time() + 10
    while "ended" not in states and time.time() < deadline:
        m = screen.recv(deadline - time.time())
        if m is None:
            break
        ev = json.loads(m)
        if ev.get("type") == "elder":
            states.append(ev["data"]["state"])
    screen.close()
    check(states == ["calling", "queue", "agent", "ended"], f"the screen saw {states}")
    rec = elder_record(srv)
    check(rec["caller"] == "booth-tianai" and rec["callee"] == "alice" and
          rec["path"] == "elder>elder:queue>elder:agent", rec)
    row = srv.sql("SELECT kind, booth, outcome, answered_by FROM elder_calls")
    check(row == [("booth", "tianai-01", "agent", "alice")], row)
