"""The ACD on real calls: agents log in with feature codes from sipp
phones, callers wait in line with music and position announcements, agents
are rung, answer, wrap up; the queue log and the KPIs follow."""
import json
import os
import signal
import time
from harness import (PROMPTS, Laoyou, check, register, uas, ivr_caller, Capture, wav_packets,
                     free_port, LAOYOU)


SITE = {
    "hotlines": [{"number": "7000", "flow": "line", "language": "zh"}],
    "queues": {"support": {"strategy": "longest-idle", "ring_timeout": 3, "wrapup": 1,
                           "announce": 4, "max_wait": 60}},
    "agents": {"alice": {"account": "alice", "queues": ["support"],
                         "skills": {"lang:zh": 8}},
               "bob": {"account": "bob", "queues": ["support"],
                       "skills": {"lang:zh": 5, "lang:en": 7}}},
    "flows": {"line": {"start": "q", "nodes": {
        "q": {"type": "queue", "queue": "support", "prompts": ["agents_busy"],
              "fallback": "bye"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]}}}},
}


def server(site=SITE):
    srv = Laoyou()
    srv.add_account("caller", "cpw", "8001")
    srv.add_account("alice", "alicepw", "1001")
    srv.add_account("bob", "bobpw", "1002")
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as f:
        json.dump(site, f, ensure_ascii=False, indent=1)
    r = srv.cli("site", "import", path)
    check("imported" in r.stdout, r.stderr)
    return srv.start()


def phone(srv, user, mode="bye", hold_ms=2000, ring_ms=0, secret=None, calls=1):
    """An agent's phone: registers, and answers (or not) when rung."""
    port = free_port()
    p = uas(srv.tmp, f"phone-{user}-{mode}", user, port, mode=mode, hold_ms=hold_ms,
            ring_ms=ring_ms, calls=calls)
    if not calls:                      # serves until killed: outlive the test
        p.args[p.args.index("-timeout") + 1] = "300s"
    p.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, user, secret or user + "pw", port)[0] == 0,
          f"{user} registers")
    return p


def feature(srv, user, code, secret=None):
    f = ivr_caller(srv.tmp, f"fc-{user}-{code[1:]}-{time.time():.3f}", user,
                   secret or user + "pw", code, [("wait_bye",)])
    check(f.run(f"127.0.0.1:{srv.sip_port}") == 0, f"{user} {code}: {f.errors()}")


def qlog(srv):
    return [r[0] + (":" + r[1] if r[1] else "")
            for r in srv.sql("SELECT event, agent FROM queue_log ORDER BY id")]


def test_caller_waits_with_announcements_then_an_agent_answers():
    srv = server()
    alice = phone(srv, "alice", mode="bye", hold_ms=2000)
    # Nobody is logged in yet: the caller waits, hearing music and its
    # place in line.
    c = ivr_caller(srv.tmp, "caller", "caller", "cpw", "7000", [("wait_bye",)])
    cap = Capture(srv.tmp, c.media_port)
    c.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: "ENTER" in qlog(srv), what="caller in line")
    time.sleep(6)                                 # one announcement at least
    feature(srv, "alice", "*61")                  # alice logs in: rung at once
    check(c.wait(60) == 0, "caller: " + c.errors())
    cap.stop()
    check(alice.wait(30) == 0, "alice: " + alice.errors())
    log = qlog(srv)
    check(log == ["ENTER", "CONNECT:alice", "COMPLETEAGENT:alice"], log)
    rec = [r for r in srv.cdrs() if r["hotline"] == "7000"][-1]
    check(rec["callee"] == "alice" and rec["path"] == "q>q:connected", rec)
    # The position announcement: "您前面还有 零 位" (nobody ahead).
    spurts = cap.spurts()
    samples = sum(wav_packets(os.path.join(PROMPTS, "zh", n + ".wav"), samples=True)
                  for n in ("pos_before", "digit_0", "pos_after"))
    want = (samples + 159) // 160
    check(want in spurts, f"no position announcement ({want} packets) in {spurts}")
    out = srv.cli("kpi", "--queue", "support").stdout
    check("offered            1" in out and "answered           1" in out and
          "connect rate       100.00%" in out, out)


def test_ring_timeout_moves_on_and_misses_count():
    srv = server()
    slow = phone(srv, "bob", mode="ring")           # bob's phone never answers
    alice = phone(srv, "alice", mode="bye", hold_ms=1000)
    feature(srv, "bob", "*61")
    time.sleep(0.3)
    feature(srv, "alice", "*61")                    # bob has been idle longer
    c = ivr_caller(srv.tmp, "caller", "caller", "cpw", "7000", [("wait_bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=60) == 0, c.errors())
    check(slow.wait(20) == 0, "bob's phone was not cancelled: " + slow.errors())
    check(alice.wait(20) == 0, alice.errors())
    log = qlog(srv)
    check(log == ["ENTER", "RINGNOANSWER:bob", "CONNECT:alice", "COMPLETEAGENT:alice"], log)
    # Per agent: bob was offered one call and answered none.
    out = srv.cli("kpi", "--agent", "bob").stdout
    check("offered            1" in out and "answered           0" in out, out)
    out = srv.cli("kpi", "--hotline", "7000").stdout
    check("offered            1" in out and "answered           1" in out, out)


def test_caller_hangs_up_in_line_is_an_abandon():
    srv = server()
    c = ivr_caller(srv.tmp, "quitter", "caller", "cpw", "7000", [("pause", 14000), ("bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}") == 0, c.errors())
    srv.wait_for(lambda: "ABANDON" in qlog(srv), what="abandon logged")
    out = srv.cli("kpi", "--queue", "support").stdout
    check("abandoned          1" in out and "connect rate       0.00%" in out, out)
    out = srv.cli("kpi", "--queue", "support", "--short", "10").stdout
    check("offered            0" in out and "short, not counted: 1" in out, out)
    # The abandoned caller is a missed-call task to call back.
    rows = srv.sql("SELECT number, hotline, recording FROM callbacks")
    check(rows == [("8001", "7000", "missed")], rows)


def test_agent_states_by_feature_code():
    srv = server()
    alice = phone(srv, "alice", mode="answer")
    feature(srv, "alice", "*61")
    feature(srv, "alice", "*64")                    # not ready
    c = ivr_caller(srv.tmp, "caller", "caller", "cpw", "7000", [("pause", 10000), ("bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}") == 0, c.errors())
    srv.wait_for(lambda: "ABANDON" in qlog(srv), what="abandon")
    check("CONNECT:alice" not in qlog(srv), "a not-ready agent was given a call")
    alice.kill()
    check("agent alice not-ready by *64" in srv.logtext(), "state change not logged")
    feature(srv, "caller", "*61", secret="cpw")     # not an agent's phone
    rec = srv.cdrs()[-1]
    check(rec["caller"] == "caller" and rec["path"] == "*61", rec)
    check("agent caller" not in srv.logtext(), "a non-agent changed state")


def test_english_caller_reaches_the_english_speaking_agent():
    site = json.loads(json.dumps(SITE))
    site["queues"]["support"]["strategy"] = "skills"
    site["flows"]["line"] = {"start": "lang", "nodes": {
        "lang": {"type": "language", "next": "q"},
        "q": {"type": "queue", "queue": "support", "prompts": ["transfer"],
              "fallback": "bye"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]}}}
    srv = server(site)
    alice = phone(srv, "alice", mode="answer")      # Chinese only
    bob = phone(srv, "bob", mode="bye", hold_ms=1000)
    feature(srv, "alice", "*61")                    # idle longest ...
    time.sleep(0.3)
    feature(srv, "bob", "*61")
    c = ivr_caller(srv.tmp, "english", "caller", "cpw", "7000",
                   [("pause", 500), ("key", "2"), ("wait_bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=60) == 0, c.errors())
    check(bob.wait(20) == 0, bob.errors())
    check(qlog(srv) == ["ENTER", "CONNECT:bob", "COMPLETEAGENT:bob"], qlog(srv))
    rec = [r for r in srv.cdrs() if r["hotline"] == "7000"][-1]
    check(rec["language"] == "en" and rec["callee"] == "bob", rec)
    alice.kill()


def test_callback_keeps_the_place_and_calls_the_caller_back():
    srv = server()
    # The caller's own phone, registered as 8001, answers the call back.
    home = phone(srv, "caller", mode="answer", ring_ms=300, secret="cpw")
    alice = phone(srv, "alice", mode="bye", hold_ms=1500)
    c = ivr_caller(srv.tmp, "asks-callback", "caller", "cpw", "7000",
                   [("pause", 7500), ("key", "*"), ("wait_bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=60) == 0, c.errors())
    check("CALLBACKREQUEST" in qlog(srv), qlog(srv))
    feature(srv, "alice", "*61")        # alice's turn: the caller is called back
    check(home.wait(30) == 0, "the call back: " + home.errors())
    check(alice.wait(30) == 0, "alice: " + alice.errors())
    log = qlog(srv)
    check(log == ["ENTER", "CALLBACKREQUEST", "CALLBACKDIAL:alice", "CALLBACKANSWERED:alice",
                  "CONNECT:alice", "COMPLETEAGENT:alice"], log)
    first = [r for r in srv.cdrs() if r["hotline"] == "7000"][0]
    check(first["path"] == "q>q:callback", first)
    back = [r for r in srv.cdrs() if r["dialled"] == "8001"][-1]
    check(back["disposition"] == "answered" and back["callee"] == "alice", back)


def supervised_site():
    site = json.loads(json.dumps(SITE))
    site["agents"]["carol"] = {"account": "carol", "queues": [], "supervisor": True}
    site["queues"]["support"]["announce"] = 0
    site["flows"]["line"]["nodes"]["q"]["prompts"] = ["beep"]
    return site


def test_supervisor_listens_then_barges():
    from harness import SIPP_DATA
    srv = server(supervised_site())
    srv.add_account("carol", "carolpw", "1003")
    alice = phone(srv, "alice", mode="answer")      # echoes what it hears
    feature(srv, "alice", "*61")
    c = ivr_caller(srv.tmp, "caller", "caller", "cpw", "7000",
                   [("pause", 1500), ("pcap", os.path.join(SIPP_DATA, "g711a.pcap")),
                    ("pause", 9000), ("bye",)])
    cap_caller = Capture(srv.tmp, c.media_port)
    c.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: "CONNECT:alice" in qlog(srv), what="alice connected")
    # carol listens for 3 s: she hears the call, the parties hear nothing new.
    lis = ivr_caller(srv.tmp, "listen", "carol", "carolpw", "*651001",
                     [("pause", 3000), ("bye",)])
    cap_lis = Capture(srv.tmp, lis.media_port)
    check(lis.run(f"127.0.0.1:{srv.sip_port}") == 0, lis.errors())
    cap_lis.stop()
    heard = sum(cap_lis.ssrcs().values())
    check(heard > 100, f"the supervisor heard {heard} packets in 3 s")
    # carol barges in: the caller now hears a mix (a new RTP stream).
    barge = ivr_caller(srv.tmp, "barge", "carol", "carolpw", "*671001",
                       [("pause", 2000), ("bye",)])
    check(barge.run(f"127.0.0.1:{srv.sip_port}") == 0, barge.errors())
    check(c.wait(30) == 0, c.errors())
    cap_caller.stop()
    streams = cap_caller.ssrcs()
    check(len([n for n in streams.values() if n > 50]) >= 2,
          f"the caller heard no mixed stream during the barge: {streams}")
    check("carol listens" in srv.logtext() and "carol barges in" in srv.logtext(),
          "supervision not logged")
    alice.kill()


def test_only_supervisors_may_listen():
    srv = server(supervised_site())
    alice = phone(srv, "alice", mode="answer")
    feature(srv, "alice", "*61")
    c = ivr_caller(srv.tmp, "caller", "caller", "cpw", "7000", [("pause", 8000), ("bye",)])
    c.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: "CONNECT:alice" in qlog(srv), what="connected")
    spy = ivr_caller(srv.tmp, "spy", "bob", "bobpw", "*651001", [("wait_bye",)])
    check(spy.run(f"127.0.0.1:{srv.sip_port}") == 0, spy.errors())
    check("listens" not in srv.logtext(), "an agent who is no supervisor listened")
    check(c.wait(30) == 0, c.errors())


def test_wrapup_holds_the_next_call_and_figures_survive_a_restart():
    site = json.loads(json.dumps(SITE))
    site["queues"]["support"].update({"wrapup": 3, "announce": 0})
    site["flows"]["line"]["nodes"]["q"]["prompts"] = ["beep"]
    srv = server(site)
    alice = phone(srv, "alice", mode="bye", hold_ms=1000, calls=2)
    feature(srv, "alice", "*61")
    c1 = ivr_caller(srv.tmp, "first", "caller", "cpw", "7000", [("wait_bye",)])
    c2 = ivr_caller(srv.tmp, "second", "caller", "cpw", "7000", [("wait_bye",)])
    c1.start(f"127.0.0.1:{srv.sip_port}")
    time.sleep(0.3)
    c2.start(f"127.0.0.1:{srv.sip_port}")
    check(c1.wait(30) == 0 and c2.wait(40) == 0, c1.errors() + c2.errors())
    check(alice.wait(20) == 0, alice.errors())
    rows = srv.sql("SELECT event, ts_ms FROM queue_log WHERE event IN "
                   "('CONNECT','COMPLETEAGENT') ORDER BY id")
    events = [r[0] for r in rows]
    check(events == ["CONNECT", "COMPLETEAGENT", "CONNECT", "COMPLETEAGENT"], events)
    gap = rows[2][1] - rows[1][1]
    check(2800 <= gap <= 6000, f"next call {gap} ms after the first ended (wrap-up 3 s)")
    before = srv.cli("kpi", "--queue", "support").stdout
    check("offered            2" in before and "answered           2" in before, before)
    check(srv.stop() == 0, "clean stop")
    srv.start()
    # Occupancy moves with the clock (alice stays ready); the rest is fixed.
    fixed = lambda out: [l for l in out.splitlines() if not l.startswith("occupancy")]
    after = srv.cli("kpi", "--queue", "support").stdout
    check(fixed(after) == fixed(before), f"figures changed on restart:\n{before}\n{after}")
    check("desk: 1 queue(s), 2 agent(s)" in srv.tail(200), "queues not restored")


def test_estimated_wait_is_announced():
    site = json.loads(json.dumps(SITE))
    site["queues"]["support"].update({"wrapup": 1, "announce": 10})
    site["flows"]["line"]["nodes"]["q"]["prompts"] = ["beep"]
    srv = server(site)
    alice = phone(srv, "alice", mode="bye", hold_ms=8000, calls=3)
    feature(srv, "alice", "*61")
    # A first call teaches the queue its handle time: ~8 s talk + 1 s wrap-up.
    first = ivr_caller(srv.tmp, "first", "caller", "cpw", "7000", [("wait_bye",)])
    check(first.run(f"127.0.0.1:{srv.sip_port}", timeout=30) == 0, first.errors())
    time.sleep(1.5)                                  # alice wraps up
    busy = ivr_caller(srv.tmp, "busy", "caller", "cpw", "7000", [("wait_bye",)])
    busy.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: qlog(srv).count("CONNECT:alice") == 2, what="alice busy")
    c = ivr_caller(srv.tmp, "waits", "caller", "cpw", "7000", [("wait_bye",)])
    cap = Capture(srv.tmp, c.media_port)
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=40) == 0, c.errors())
    cap.stop()
    check(busy.wait(20) == 0, busy.errors())
    # The handle time was a little over 9 s: the estimate says 9 or 10 s.
    wants = []
    for secs in ("digit_9", "num_10"):
        names = ("pos_before", "digit_0", "pos_after", "wait_before", secs, "seconds")
        samples = sum(wav_packets(os.path.join(PROMPTS, "zh", n + ".wav"), samples=True)
                      for n in names)
        wants.append((samples + 159) // 160)
    spurts = cap.spurts()
    check(any(w in spurts for w in wants),
          f"no '前面还有零位，预计等待九/十秒' ({wants} packets) in {spurts}")


def strategies_site():
    """One queue per strategy, each behind its own hotline; the same three
    agents in every queue; no wrap-up so calls follow one another."""
    site = {"hotlines": [], "flows": {}, "queues": {}, "agents": {}}
    for i, strat in enumerate(("least-talk-time", "fewest-calls", "round-robin",
                               "longest-idle", "random", "skills", "ringall")):
        number, q = str(7101 + i), "q-" + strat
        site["hotlines"].append({"number": number, "flow": q,
                                 "language": "en" if strat == "skills" else "zh"})
        site["queues"][q] = {"strategy": strat, "ring_timeout": 5, "wrapup": 0,
                             "announce": 0}
        site["flows"][q] = {"start": "q", "nodes": {
            "q": {"type": "queue", "queue": q, "prompts": ["beep"], "fallback": "bye"},
            "bye": {"type": "hangup", "prompts": ["goodbye"]}}}
    skills = {"alice": {"lang:zh": 8}, "bob": {"lang:zh": 5, "lang:en": 7},
              "carol": {"lang:zh": 6}}
    for a in ("alice", "bob", "carol"):
        site["agents"][a] = {"account": a, "queues": list(site["queues"]),
                             "skills": skills[a]}
    return site


def calls_through(srv, number, n):
    """n callers one after another; each waits for its agent to hang up.
    Returns the agents that took them, in order."""
    c = ivr_caller(srv.tmp, f"callers-{number}", "caller", "cpw", number, [("wait_bye",)])
    c.args[c.args.index("-m") + 1] = str(n)
    c.args += ["-l", "1"]
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=120) == 0, f"{number}: {c.errors()}")
    rows = srv.sql("SELECT agent FROM queue_log WHERE event='CONNECT' AND queue=? "
                   "ORDER BY id", "q-" + {7101: "least-talk-time", 7102: "fewest-calls",
                                          7103: "round-robin", 7104: "longest-idle",
                                          7105: "random", 7106: "skills",
                                          7107: "ringall"}[int(number)])
    got = [r[0] for r in rows]
    check(len(got) == n, f"{number}: {n} calls, {len(got)} connected: {got}")
    return got


def test_each_strategy_distributes_calls_as_it_promises():
    srv = server(strategies_site())
    srv.add_account("carol", "carolpw", "1003")
    # alice talks five times longer than bob and carol.
    phones = [phone(srv, "alice", mode="bye", hold_ms=1500, calls=0),
              phone(srv, "bob", mode="bye", hold_ms=300, calls=0),
              phone(srv, "carol", mode="bye", hold_ms=300, calls=0)]
    for a in ("alice", "bob", "carol"):           # alice idle longest
        feature(srv, a, "*61")
        time.sleep(0.3)
    # least-talk-time: alice's first long call keeps her out after it.
    got = calls_through(srv, "7101", 6)
    check(got[0] == "alice" and got.count("alice") == 1, f"least-talk-time: {got}")
    counts = {a: got.count(a) for a in ("alice", "bob", "carol")}
    # fewest-calls: the agents with fewer calls so far are chosen until
    # all have taken the same number.
    got = calls_through(srv, "7102", 6)
    for a in got:
        counts[a] += 1
    check(len(set(counts.values())) == 1, f"fewest-calls: {got}, totals {counts}")
    # round-robin and longest-idle: a fair turn, never twice in a row.
    for number, name in (("7103", "round-robin"), ("7104", "longest-idle")):
        got = calls_through(srv, number, 6)
        check(all(got.count(a) == 2 for a in ("alice", "bob", "carol")) and
              all(got[i] != got[i + 1] for i in range(5)), f"{name}: {got}")
    # random: spread over more than one agent (all nine to one agent has a
    # chance of 3 in 3^9).
    got = calls_through(srv, "7105", 9)
    check(len(set(got)) >= 2, f"random: {got}")
    # skills: English callers reach the one English-speaking agent.
    got = calls_through(srv, "7106", 3)
    check(got == ["bob"] * 3, f"skills: {got}")
    for p in phones:
        p.kill()
    # Every agent is ready again; the state log says so too.
    states = srv.sql("SELECT agent, state FROM agent_log WHERE id IN "
                     "(SELECT max(id) FROM agent_log GROUP BY agent) ORDER BY agent")
    check(states == [("alice", "ready"), ("bob", "ready"), ("carol", "ready")], states)
    out = srv.cli("kpi", "--agent", "alice").stdout
    check("occupancy" in out and "occupancy          0.00%" not in out, out)


def test_ringall_rings_every_agent_and_the_first_answer_wins():
    srv = server(strategies_site())
    srv.add_account("carol", "carolpw", "1003")
    n = 3
    alice = phone(srv, "alice", mode="bye", hold_ms=300, ring_ms=400, calls=n)
    # bob and carol ring and never answer: each call is cancelled on them.
    bob = phone(srv, "bob", mode="ring", calls=n)
    carol = phone(srv, "carol", mode="ring", calls=n)
    for a in ("bob", "carol", "alice"):           # alice idle the shortest
        feature(srv, a, "*61")
        time.sleep(0.3)
    got = calls_through(srv, "7107", n)
    check(got == ["alice"] * n, f"ringall: {got}")
    for p, who in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        check(p.wait(20) == 0, f"{who}'s phone was not rung {n} times: {p.errors()}")
    waits = [r[0] for r in srv.sql("SELECT wait_ms FROM queue_log WHERE event='CONNECT'")]
    check(all(w < 4000 for w in waits), f"answered after another agent's ring timeout: {waits}")
    check("RINGNOANSWER" not in [e.split(":")[0] for e in qlog(srv)], qlog(srv))


def test_restart_with_callers_in_line_keeps_setup_and_figures():
    srv = server()
    c = ivr_caller(srv.tmp, "waiting", "caller", "cpw", "7000", [("wait_bye",)])
    c.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: "ENTER" in qlog(srv), what="caller in line")
    check(srv.stop() == 0, "clean stop with a caller in line")
    c.wait(20)
    # The caller's wait ended with the stop and is in the log; nothing is
    # left half-written.
    log = qlog(srv)
    check(log[0] == "ENTER" and len(log) == 2 and log[1] in ("ABANDON", "EXITFLOW"), log)
    before = srv.cli("kpi", "--queue", "support").stdout
    srv.start()
    check("desk: 1 queue(s), 2 agent(s)" in srv.tail(200), "queues not restored")
    fixed = lambda out: [l for l in out.splitlines() if not l.startswith("occupancy")]
    check(fixed(srv.cli("kpi", "--queue", "support").stdout) == fixed(before),
          "figures changed on restart")
    check(srv.sql("PRAGMA integrity_check") == [("ok",)], "database damaged")
    # The restarted server takes calls into the same queue.
    alice = phone(srv, "alice", mode="bye", hold_ms=500)
    feature(srv, "alice", "*61")
    c2 = ivr_caller(srv.tmp, "after", "caller", "cpw", "7000", [("wait_bye",)])
    check(c2.run(f"127.0.0.1:{srv.sip_port}", timeout=40) == 0, c2.errors())
    check(alice.wait(20) == 0, alice.errors())
    check(qlog(srv)[-2:] == ["CONNECT:alice", "COMPLETEAGENT:alice"], qlog(srv))


def test_reload_keeps_agents_logged_in():
    srv = server()
    alice = phone(srv, "alice", mode="bye", hold_ms=500)
    feature(srv, "alice", "*61")
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_for(lambda: srv.logtext().count("desk: 1 queue(s)") == 2, what="reload")
    c = ivr_caller(srv.tmp, "after-hup", "caller", "cpw", "7000", [("wait_bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=40) == 0, c.errors())
    check(alice.wait(20) == 0, alice.errors())
    check(qlog(srv) == ["ENTER", "CONNECT:alice", "COMPLETEAGENT:alice"], qlog(srv))
    states = [r[0] for r in srv.sql("SELECT state FROM agent_log WHERE agent='alice' ORDER BY id")]
    check(states[:2] == ["logged-out", "ready"] and "logged-out" not in states[2:], states)


def elder_site(aging):
    site = json.loads(json.dumps(SITE))
    site["queues"]["support"].update({"aging": aging, "announce": 0, "wrapup": 0})
    site["flows"]["line"]["nodes"]["q"]["prompts"] = ["beep"]
    return site


def first_connected_of(aging, first_wait_s):
    """A citizen waits first_wait_s alone, then an elder's one-touch
    device calls; then alice logs in.  Who is answered first?"""
    srv = server(elder_site(aging))
    srv.add_account("elder", "epw", "3001", "elder-device")
    alice = phone(srv, "alice", mode="bye", hold_ms=300, calls=2)
    citizen = ivr_caller(srv.tmp, "citizen", "caller", "cpw", "7000", [("wait_bye",)])
    elder = ivr_caller(srv.tmp, "elder", "elder", "epw", "7000", [("wait_bye",)])
    citizen.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: qlog(srv).count("ENTER") == 1, what="citizen in line")
    time.sleep(first_wait_s)
    elder.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: qlog(srv).count("ENTER") == 2, what="elder in line")
    feature(srv, "alice", "*61")
    check(citizen.wait(60) == 0 and elder.wait(60) == 0, citizen.errors() + elder.errors())
    check(alice.wait(20) == 0, alice.errors())
    rows = srv.sql("SELECT callid FROM queue_log WHERE event='CONNECT' ORDER BY id")
    callers = {r[0]: r[1] for r in srv.sql("SELECT callid, caller FROM cdr")}
    return [callers.get(r[0]) for r in rows]


def test_an_elder_device_goes_first():
    order = first_connected_of(aging=60, first_wait_s=2)
    check(order == ["elder", "caller"], f"answered in the order {order}")


def test_aging_lets_a_long_wait_overtake_priority():
    # Priority grows by one per aging_s of waiting: after 12 s at 1 s a
    # step, the citizen (0 + 12) is ahead of the elder (10 + ~1).
    order = first_connected_of(aging=1, first_wait_s=12)
    check(order == ["caller", "elder"], f"answered in the order {order}")


def test_a_sign_language_call_reaches_the_signing_agent():
    site = json.loads(json.dumps(SITE))
    site["queues"]["support"].update({"strategy": "skills", "announce": 0, "wrapup": 0})
    site["agents"]["bob"]["skills"]["sign"] = 9
    site["flows"]["line"]["nodes"]["q"].update({"skill": "sign", "prompts": ["beep"]})
    srv = server(site)
    alice = phone(srv, "alice", mode="answer", calls=0)   # cannot sign
    bob = phone(srv, "bob", mode="bye", hold_ms=500)
    feature(srv, "alice", "*61")                          # idle longest, best Chinese
    time.sleep(0.3)
    feature(srv, "bob", "*61")
    c = ivr_caller(srv.tmp, "deaf", "caller", "cpw", "7000", [("wait_bye",)])
    check(c.run(f"127.0.0.1:{srv.sip_port}", timeout=40) == 0, c.errors())
    check(bob.wait(20) == 0, bob.errors())
    check(qlog(srv) == ["ENTER", "CONNECT:bob", "COMPLETEAGENT:bob"], qlog(srv))
    alice.kill()
    # A flow naming a skill no agent has is still valid; the skill must be
    # a string.
    site["flows"]["line"]["nodes"]["q"]["skill"] = 5
    path = os.path.join(srv.tmp, "bad.json")
    with open(path, "w") as f:
        json.dump(site, f, indent=1)
    r = srv.cli("site", "check", path, check_rc=False)
    check(r.returncode == 2 and "skill" in r.stderr, r.stderr)


def test_full_empty_and_timeout_send_callers_to_the_fallback():
    site = json.loads(json.dumps(SITE))
    site["queues"]["support"].update({"max_length": 1, "join_empty": False,
                                      "leave_empty": True, "max_wait": 4, "announce": 0})
    site["flows"]["line"]["nodes"]["q"]["prompts"] = ["beep"]
    srv = server(site)
    path_of = lambda name: [r["path"] for r in srv.cdrs() if r["callid"].startswith(name)]
    target = f"127.0.0.1:{srv.sip_port}"

    def caller(name, steps=(("wait_bye",),)):
        c = ivr_caller(srv.tmp, name, "caller", "cpw", "7000", list(steps))
        c.args += ["-cid_str", name + "-%u-%p@%s"]
        return c

    # Nobody logged in and join_empty is off: straight to the fallback.
    c = caller("empty")
    check(c.run(target, timeout=30) == 0, c.errors())
    check(path_of("empty") == ["q>q:empty>bye"], path_of("empty"))
    # alice logged in but paused: one caller waits, the next finds it full;
    # the one waiting leaves after max_wait.
    alice = phone(srv, "alice", mode="answer", calls=0)
    feature(srv, "alice", "*61")
    feature(srv, "alice", "*64")
    waiting = caller("waits").start(target)
    srv.wait_for(lambda: qlog(srv).count("ENTER") == 1, what="first caller in line")
    full = caller("full")
    check(full.run(target, timeout=30) == 0, full.errors())
    check(waiting.wait(30) == 0, waiting.errors())
    check(path_of("full") == ["q>q:full>bye"] and path_of("waits") == ["q>q:timeout>bye"],
          (path_of("full"), path_of("waits")))
    # leave_empty: the last agent logs out and the caller in line leaves.
    leaves = caller("leaves").start(target)
    srv.wait_for(lambda: qlog(srv).count("ENTER") == 2, what="caller in line")
    feature(srv, "alice", "*62")
    check(leaves.wait(30) == 0, leaves.errors())
    check(path_of("leaves") == ["q>q:empty>bye"], path_of("leaves"))
    log = qlog(srv)
    for event in ("EXITEMPTY", "EXITFULL", "EXITWITHTIMEOUT"):
        check(event in log, f"{event} not in the queue log: {log}")
    check(log.count("EXITEMPTY") == 2, log)
    alice.kill()
