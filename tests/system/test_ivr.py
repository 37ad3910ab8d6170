"""The hotline IVR: sipp callers with RFC 4733 DTMF captures walk the demo
site's flows; the test checks what the caller heard (talkspurts of RTP, in
the chosen language) and what the call record says."""
import os
import subprocess
import time
from harness import (PROMPTS, Laoyou, ROOT, check, register, uas, ivr_caller, Capture,
                     wav_packets, free_port, LAOYOU)

SITE = os.path.join(ROOT, "sites", "demo.json")


def server(extra=None, env=None, agents=("alice",)):
    srv = Laoyou(extra, env=env)
    srv.add_account("caller", "cpw", "8001")
    for user, ext in (("alice", "1001"), ("bob", "1002"), ("carol", "1003")):
        srv.add_account(user, user + "pw", ext)
    r = srv.cli("site", "import", SITE)
    check("imported" in r.stdout, r.stdout + r.stderr)
    srv.start()
    return srv


def agent(srv, user="alice", mode="bye", hold_ms=2000):
    port = free_port()
    a = uas(srv.tmp, "agent-" + user, user, port, mode=mode, hold_ms=hold_ms)
    a.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, user, user + "pw", port)[0] == 0, "agent registers")
    return a


def call(srv, name, dialled, steps, **kw):
    c = ivr_caller(srv.tmp, name, "caller", "cpw", dialled, steps, **kw)
    cap = Capture(srv.tmp, c.media_port)
    rc = c.run(f"127.0.0.1:{srv.sip_port}", timeout=90)
    cap.stop()
    check(rc == 0, f"caller scenario failed: {c.errors()}\n{srv.tail()}")
    srv.wait_for(lambda: srv.cdrs(), what="call record")
    return srv.cdrs()[-1], cap.spurts()


def packets(lang, *names):
    return sum(wav_packets(os.path.join(PROMPTS, lang, n + ".wav")) for n in names)


def login(srv, user):
    f = ivr_caller(srv.tmp, f"login-{user}", user, user + "pw", "*61", [("wait_bye",)])
    check(f.run(f"127.0.0.1:{srv.sip_port}") == 0, f"{user} logs in: {f.errors()}")


def test_expo_in_english_to_an_agent_then_survey():
    srv = server()
    a = agent(srv, "alice", mode="bye", hold_ms=2500)
    login(srv, "alice")
    rec, spurts = call(srv, "expo-en", "968888", [
        ("pause", 1000), ("key", "2"),          # barge into the welcome
        ("pause", 800), ("key", "2"),           # English, during the prompt
        ("pause", 600), ("key", "0"),           # agent, during the menu
        ("pause", 22000),                       # transfer prompt, agent, survey prompt
        ("key", "1"),                           # very satisfied
        ("wait_bye",),
    ])
    check(a.wait(30) == 0, "agent side: " + a.errors())
    check(rec["hotline"] == "968888", rec)
    check(rec["language"] == "en", rec)
    check(rec["path"] == "welcome>language>language:en>hours>hours:open>menu>menu:0>"
          "agent>agent:connected>survey>survey:1", rec["path"])
    check(rec["survey"] == 1, rec)
    check(rec["callee"] == "alice" and rec["disposition"] == "answered", rec)
    check(rec["hangup_by"] == "callee", rec)
    # What the caller heard, after the barged prompts: the English transfer
    # prompt in full, the agent's echo, the survey, the thanks.
    want_transfer = packets("en", "transfer")
    want_survey = packets("en", "survey")
    want_thanks = packets("en", "survey_thanks")
    check(want_transfer in spurts, f"English transfer prompt ({want_transfer} packets) "
          f"not heard whole: {spurts}")
    check(want_survey in spurts and want_thanks in spurts,
          f"survey {want_survey}/{want_thanks} not heard: {spurts}")
    check(packets("zh", "transfer") != want_transfer, "zh and en prompts too alike to tell")
    # The conversation was recorded, about as long as the agent talked.
    check(rec["recording"] and os.path.exists(rec["recording"]), rec)
    dur = float(subprocess.run(["sox", "--i", "-D", rec["recording"]],
                               capture_output=True, text=True).stdout)
    check(1.5 < dur < 4.5 and abs(dur * 1000 - rec["recording_ms"]) < 100,
          f"recording {dur}s / {rec['recording_ms']}ms")
    out = srv.cli("survey", "--hotline", "968888").stdout
    check("1 answers, 1 satisfied, satisfaction 100.00%" in out, out)


def test_chinese_menu_invalid_key_and_timeouts_fall_back():
    srv = server()
    rec, spurts = call(srv, "expo-zh", "968888", [
        ("pause", 600), ("key", "1"),           # skip welcome
        ("pause", 600), ("key", "1"),           # 中文
        ("pause", 600), ("key", "9"),           # not an option
        ("wait_bye",),                          # then stay silent twice
    ])
    check(rec["language"] == "zh", rec)
    check(rec["path"] == "welcome>language>language:zh>hours>hours:open>menu>invalid>"
          "timeout>timeout>goodbye", rec["path"])
    # After the invalid key: the invalid prompt, the whole menu, the timeout
    # prompt, the menu again, then goodbye — all in Chinese.
    menu = packets("zh", "menu_expo")
    tail = [packets("zh", n) for n in ("invalid", "menu_expo", "timeout", "menu_expo",
                                       "timeout", "goodbye")]
    check(spurts[-6:] == tail, f"want {tail}, heard {spurts[-6:]}")
    check(menu != packets("en", "menu_expo"), "languages indistinct")


def test_info_and_repeated_keys():
    srv = server()
    rec, _ = call(srv, "info", "968888", [
        ("pause", 500), ("info", "1"),          # skip welcome (SIP INFO)
        ("pause", 500), ("info", "2"),          # English
        ("pause", 500), ("key", "1"),           # exhibition info
        ("pause", 1500), ("key", "1"),          # barge: back to the menu
        ("pause", 1500), ("key", "2"),          # transport
        ("pause", 1000), ("bye",),
    ])
    check(rec["path"].startswith("welcome>language>language:en>hours>hours:open>menu>"
                                 "menu:1>exhibition>menu>menu:2>transport"), rec["path"])
    check(rec["hangup_by"] == "caller", rec)


def fake(ts):
    return {"LAOYOU_FAKE_TIME": str(ts), **os.environ}


def test_hours_holidays_and_makeup_workday():
    # 12345 runs office hours in Asia/Shanghai (UTC+8).
    cases = [
        (1790301600, "open"),     # 2026-09-25 Fri 10:00: a weekday
        (1790474400, "open"),     # 2026-09-27 Sun 10:00: a make-up workday
        (1790820000, "closed"),   # 2026-10-01 Thu 10:00: National Day
        (1791079200, "closed"),   # 2026-10-04 Sun 10:00: a plain Sunday
        (1790330400, "closed"),   # 2026-09-25 Fri 18:00: after hours
    ]
    for ts, want in cases:
        srv = server(env=fake(ts))
        rec, _ = call(srv, f"hours-{ts}", "12345", [("pause", 500), ("key", "1"),
                                                     ("pause", 800), ("bye",)])
        check(f"hours:{want}" in rec["path"], f"{ts}: {rec['path']}")
        srv.stop()


def test_after_hours_message_becomes_a_callback():
    srv = server(env=fake(1790820000))
    rec, _ = call(srv, "message", "12345", [
        ("pause", 500), ("key", "1"),           # skip the welcome
        ("pause", 800), ("key", "1"),           # barge through closed+voicemail prompts
        ("pcap", "/usr/share/sip-tester/g711a.pcap"),
        ("pause", 3000), ("key", "#"),
        ("wait_bye",),
    ])
    check("after_hours>message>goodbye" in rec["path"], rec["path"])
    rows = srv.sql("SELECT number, recording FROM callbacks")
    check(len(rows) == 1 and rows[0][0] == "caller" and rows[0][1], rows)
    dur = float(subprocess.run(["sox", "--i", "-D", rows[0][1]], capture_output=True,
                               text=True).stdout)
    check(dur > 1.0, f"message of {dur}s")
    out = srv.cli("callbacks").stdout
    check("12345" in out and rows[0][1] in out, out)


def test_unreachable_agent_leaves_a_number():
    srv = server()       # nobody registered as 1001
    rec, _ = call(srv, "number", "968888", [
        ("pause", 500), ("key", "1"), ("pause", 500), ("key", "1"),
        ("pause", 500), ("key", "0"),           # agent → unreachable → leave a number
        ("pause", 4000), ("key", "1"), ("pause", 300), ("key", "3"),
        ("pause", 300), ("key", "8"), ("pause", 300), ("key", "#"),
        ("wait_bye",),
    ])
    check("agent>agent:empty>leave_number>number>goodbye" in rec["path"], rec["path"])
    rows = srv.sql("SELECT number FROM callbacks")
    check(rows == [("138",)], rows)


def test_site_errors_name_the_line_and_change_nothing():
    srv = Laoyou()
    check("imported" in srv.cli("site", "import", SITE).stdout, "demo site")
    before = srv.cli("site", "export").stdout
    bad = os.path.join(srv.tmp, "bad.json")
    cases = [
        ('{"hotlines": [],\n "flows": {"f": {"start": "a", "nodes": {\n'
         '  "a": {"type": "dance", "next": "a"}}}}}', ":3: unknown node type"),
        ('{"hotlines": [{"number": "1", "flow": "f"}],\n "flows": {"f": {"start": "a",'
         ' "nodes": {\n  "a": {"type": "play", "prompts": ["goodbye"], "next": "zz"}}}}}',
         ":3: \"next\" names node \"zz\""),
        ('{"hotlines": [],\n "flows": {"f": {"start": "a", "nodes": {\n'
         '  "a": {"type": "play", "prompts": ["no_such_prompt"], "next": "a"}}}}}',
         ":3: prompt \"no_such_prompt\" has no zh"),
        ('{"hotlines": [],\n "flows": {"f": {"start": "a", "nodes": {\n'
         '  "a": {"type": "play", "prompts": ["goodbye"], "next": "b"},\n'
         '  "b": {"type": "play", "prompts": ["goodbye"], "next": "a"}}}}}',
         "loop without ever waiting for a key"),
        ('{"hotlines": [],\n "flows": {"f": {"start": "a", "nodes": {\n'
         '  "a": {"type": "menu", "prompt": "goodbye", "options": {"1": "a"},\n'
         '        "timeout": "soon"}}}}}', ":4: \"timeout\" must be a whole number"),
        ('{"hotlines": [],\n "flows": {}\n, }', ":3: "),
        ('{"hotlines": [{"number": "12a", "flow": "f"}],\n "flows": {"f": {"start": "a",'
         ' "nodes": {"a": {"type": "hangup"}}}}}', ":1: a hotline number is digits only"),
    ]
    for text, want in cases:
        with open(bad, "w") as f:
            f.write(text)
        r = srv.cli("site", "import", bad, check_rc=False)
        check(r.returncode == 2, f"rc {r.returncode} for {want}")
        check(r.stderr.startswith(bad + ":") and want in r.stderr, f"want {want!r}: {r.stderr!r}")
        r = srv.cli("site", "check", bad, check_rc=False)
        check(r.returncode == 2 and want in r.stderr, r.stderr)
    check(srv.cli("site", "export").stdout == before, "a failed import changed the site")


def test_inband_dtmf_for_callers_without_telephone_event():
    srv = server()
    from harness import dtmf_pcap
    keys = dtmf_pcap(os.path.join(srv.tmp, "keys-1-2.pcap"), "12")
    rec, _ = call(srv, "inband", "968888", [
        ("pause", 500), ("pcap", keys),         # "1" skips the welcome, "2" = English
        ("pause", 2500), ("bye",),
    ], codecs="0", te=False)
    check(rec["path"].startswith("welcome>language>language:en>hours>hours:open>menu"),
          rec["path"])
    check(rec["codec"] == "PCMU", rec)


def test_stranger_cannot_press_keys():
    """RTP from anyone but the latched caller is dropped: DTMF injected by a
    third party into the call's media port has no effect."""
    import socket
    import struct
    srv = server()
    c = ivr_caller(srv.tmp, "victim", "caller", "cpw", "968888",
                   [("pause", 300), ("key", "1"), ("pause", 4000), ("bye",)])
    c.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: "ivr: key 1" in srv.logtext(), what="caller's own key")
    port = int([l for l in open(os.path.join(srv.tmp, [f for f in os.listdir(srv.tmp)
                if f.startswith("victim_") and f.endswith("_messages.log")][0]))
                if l.startswith("m=audio") and "RTP/AVP" in l][-1].split()[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(6):   # RFC 4733 "2" (English), then its end packets
        dur = 160 * (i + 1)
        pkt = struct.pack("!BBHII", 0x80, 101, 500 + i, 77777, 0x5151) + \
            bytes([2, 0x80 if i >= 3 else 0x0a, dur >> 8, dur & 0xff])
        s.sendto(pkt, ("127.0.0.1", port))
        time.sleep(0.02)
    check(c.wait(30) == 0, c.errors())
    srv.wait_for(lambda: srv.cdrs(), what="record")
    rec = srv.cdrs()[-1]
    check("language:en" not in rec["path"], f"a stranger's key was taken: {rec['path']}")
    check("ivr: key 2" not in srv.logtext(), "stranger's key reached the IVR")


def test_old_recordings_are_deleted():
    srv = Laoyou({"recording_retention_days": "30"})
    rec_dir = os.path.join(srv.tmp, "recordings")
    os.makedirs(rec_dir, exist_ok=True)
    old, new = os.path.join(rec_dir, "old.wav"), os.path.join(rec_dir, "new.wav")
    for p in (old, new):
        open(p, "wb").write(b"RIFF")
    os.utime(old, (time.time() - 31 * 86400,) * 2)
    os.utime(new, (time.time() - 29 * 86400,) * 2)
    srv.start()
    check(not os.path.exists(old), "a 31-day-old recording was kept")
    check(os.path.exists(new), "a 29-day-old recording was deleted")


def test_site_prompt_recording_replaces_the_builtin():
    srv = Laoyou()
    srv.add_account("caller", "cpw", "8001")
    rec_dir = os.path.join(srv.tmp, "site")
    os.makedirs(rec_dir)
    # A 16 kHz stereo recording, 1.5 s: converted to 8 kHz mono on import.
    for lang, secs in (("zh", "1.5"), ("en", "2.5")):
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "2",
                        os.path.join(rec_dir, f"hello-{lang}.wav"), "synth", secs,
                        "sine", "440"], check=True)
    site = os.path.join(rec_dir, "site.json")
    with open(site, "w") as f:
        f.write('{"hotlines": [{"number": "5000", "flow": "f", "language": "en"}],\n'
                ' "flows": {"f": {"start": "hi", "nodes": {\n'
                '   "hi": {"type": "play", "prompts": ["welcome_expo"], "next": "bye"},\n'
                '   "bye": {"type": "hangup"}}}},\n'
                ' "prompts": {"welcome_expo": {"zh": "hello-zh.wav", "en": "hello-en.wav"}}}\n')
    r = srv.cli("site", "import", site)
    check("imported" in r.stdout, r.stderr)
    conv = os.path.join(srv.tmp, "prompts", "en", "welcome_expo.wav")
    info = subprocess.run(["sox", "--i", conv], capture_output=True, text=True).stdout
    check("8000" in info and "Channels       : 1" in info, info)
    srv.start()
    rec, spurts = call(srv, "override", "5000", [("wait_bye",)])
    check(spurts and spurts[0] == wav_packets(conv) == 125,
          f"heard {spurts}, want the 2.5 s recording (125 packets)")
