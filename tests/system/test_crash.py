"""Crash safety (issue 6, item 6): kill -9 in the middle of load, restart on
the same database, and nothing that was acknowledged is lost.

test_server.test_kill9_during_a_burst_keeps_every_ended_call counts records
after a burst; this test puts the rest of a working day on the server when
it dies — callers waiting in a queue, a call-back request left in the IVR,
one asked for with * in line — and checks record by record (Call-ID) that
every call whose BYE was answered is in the cdr table, then that the
restarted server has its registrations, its open call-back tasks and all its
RTP ports, and takes calls to a phone that does not register again."""
import json
import os
import re
import signal
import time

from harness import Laoyou, check, register, uas, uac, ivr_caller, free_port

SITE = {
    "hotlines": [{"number": "7000", "flow": "line", "language": "zh"},
                 {"number": "7001", "flow": "vm", "language": "zh"}],
    "queues": {"support": {"strategy": "longest-idle", "ring_timeout": 3, "wrapup": 1,
                           "announce": 0, "max_wait": 300}},
    "agents": {"alice": {"account": "alice", "queues": ["support"]}},
    "flows": {
        "line": {"start": "q", "nodes": {
            "q": {"type": "queue", "queue": "support", "prompts": ["beep"],
                  "fallback": "bye"},
            "bye": {"type": "hangup", "prompts": ["beep"]}}},
        "vm": {"start": "num", "nodes": {
            "num": {"type": "voicemail", "mode": "number", "next": "bye"},
            "bye": {"type": "hangup", "prompts": ["beep"]}}}},
}


def qlog(srv):
    return [r[0] for r in srv.sql("SELECT event FROM queue_log ORDER BY id")]


def sipp_stat(sipp, column):
    with open(os.path.join(sipp.tmp, sipp.name + ".csv")) as f:
        lines = [l.rstrip("\n").split(";") for l in f if l.strip()]
    return int(lines[-1][lines[0].index(column)])


def answered_byes(sipp):
    """Call-IDs whose BYE got its 200 OK, from sipp's message trace."""
    done = set()
    for f in os.listdir(sipp.tmp):
        if not (f.startswith(sipp.name + "_") and f.endswith("_messages.log")):
            continue
        text = open(os.path.join(sipp.tmp, f), errors="replace").read()
        for block in re.split(r"\n-{20,}[^\n]*\n", text):
            if "message received" not in block.split("\n", 1)[0] + block[:120]:
                continue
            if not re.search(r"^SIP/2\.0 200 ", block, re.M):
                continue
            if not re.search(r"^CSeq:\s*\d+ BYE", block, re.M | re.I):
                continue
            m = re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I)
            if m:
                done.add(m.group(1))
    return done


def test_kill9_under_load_with_queue_and_callbacks_then_restart():
    srv = Laoyou({"max_calls_per_account": "1000", "log_level": "info"})
    srv.add_account("alice", "alicepw", "1001")
    srv.add_account("bob", "bobpw", "1002")
    srv.add_account("caller", "cpw", "8001")
    srv.add_account("load", "loadpw", "1005")
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as f:
        json.dump(SITE, f)
    check("imported" in srv.cli("site", "import", path).stdout, "site import")
    srv.start()
    target = f"127.0.0.1:{srv.sip_port}"

    # Two phones: bob answers the load, alice is an agent who is not logged
    # in (so callers wait in line).
    phones = {}
    for user in ("bob", "alice"):
        port = free_port()
        p = uas(srv.tmp, f"phone-{user}", user, port, mode="answer", rtp_echo=False, calls=0)
        p.args[p.args.index("-timeout") + 1] = "120s"
        p.start(target)
        check(register(srv, srv.tmp, user, user + "pw", port)[0] == 0, f"{user} registers")
        phones[user] = (p, port)
    check(srv.health()["registrations"] == 2, srv.health())

    # A call-back request left in the IVR: the number 138.
    vm = ivr_caller(srv.tmp, "leaves-number", "caller", "cpw", "7001",
                    [("pause", 300), ("info", "1"), ("info", "3"), ("info", "8"),
                     ("info", "#"), ("wait_bye",)])
    vm.start(target)
    srv.wait_for(lambda: srv.sql("SELECT count(*) FROM callbacks")[0][0] == 1,
                 what="the IVR's call-back request")
    # A caller in line asks to be called back (*) and hangs up.
    star = ivr_caller(srv.tmp, "asks-callback", "caller", "cpw", "7000",
                      [("pause", 1500), ("key", "*"), ("wait_bye",)])
    star.start(target)
    srv.wait_for(lambda: "CALLBACKREQUEST" in qlog(srv), timeout=15,
                 what="the queued call-back request")
    # Two callers waiting in line.
    for i in range(2):
        ivr_caller(srv.tmp, f"waiting-{i}", "caller", "cpw", "7000",
                   [("wait_bye",)]).start(target)
    srv.wait_for(lambda: qlog(srv).count("ENTER") == 3, what="three callers entered the queue")

    # Load: 20 calls/s of 300 ms each to bob, then kill -9 mid-stream.
    load = uac(srv.tmp, "load", "load", "loadpw", "1002", hold_ms=300, calls=100000,
               rate=20, timeout=60)
    load.args += ["-fd", "1", "-trace_msg"]
    load.start(target)
    time.sleep(4.5)
    in_flight = srv.health()["active_calls"]
    srv.kill9()
    load.proc.send_signal(signal.SIGINT)     # sipp writes its final statistics
    load.wait(20)
    for p, _ in phones.values():
        p.kill()
    for s in (vm, star):
        s.kill()

    problems = []

    def soft(cond, msg):
        if not cond:
            problems.append(msg)

    # The database as the dead process left it.
    integrity = srv.sql("PRAGMA integrity_check")
    check(integrity == [("ok",)], f"integrity_check: {integrity}")
    ok = sipp_stat(load, "SuccessfulCall(C)")
    done = answered_byes(load)
    check(ok >= 40, f"too few calls completed to judge: {ok}")
    check(len(done) >= ok, f"trace has {len(done)} answered BYEs, sipp counted {ok}")
    ids = {r["callid"] for r in srv.cdrs()}
    lost = sorted(done - ids)
    soft(not lost, f"{len(lost)} of {len(done)} calls whose BYE was answered have no "
         f"record: {lost[:5]}")
    soft(in_flight > 0, "no call was in progress at the kill: the load was not mid-stream")
    opened = srv.sql("SELECT number, hotline, recording FROM callbacks WHERE status='open'")

    # Restart on the same database.
    srv.start()
    h = srv.health()
    soft(h["registrations"] == 2, f"registrations after restart: {h}")
    soft(h["active_calls"] == 0 and h["rtp_ports_in_use"] == 0,
         f"calls or RTP ports still held after restart: {h}")
    out = srv.cli("callbacks").stdout
    soft("138" in out and "7001" in out,
         f"the IVR's call-back request (138) is not open after restart:\n{out}")
    soft(any(r[0] == "8001" and r[1] == "7000" for r in opened) and "8001" in out,
         "the call-back asked for with * in line (8001, hotline 7000; the caller was "
         f"told 'we will call you back') is lost after kill -9: callbacks table "
         f"{opened}, `laoyou callbacks`:\n{out}")

    # bob's phone comes back on its old port without registering again:
    # the restored binding routes a new call to it.
    bob_port = phones["bob"][1]
    bob = uas(srv.tmp, "bob-again", "bob", bob_port, mode="answer")
    bob.start(target)
    a = uac(srv.tmp, "after", "load", "loadpw", "1002", hold_ms=500)
    rc = a.run(target)
    soft(rc == 0, f"a call after the restart failed: {a.errors()}\n{srv.tail()}")
    if rc == 0:
        soft(bob.wait(10) == 0, "bob's phone: " + bob.errors())
    try:
        srv.wait_for(lambda: srv.health()["active_calls"] == 0 and
                     srv.health()["rtp_ports_in_use"] == 0, timeout=10,
                     what="calls and RTP ports released")
    except Exception:
        problems.append(f"RTP ports still in use after the last call: {srv.health()}")
    rec = srv.cdrs()[-1]
    soft(rec["dialled"] == "1002" and rec["disposition"] == "answered" and
         rec["callid"] not in ids, f"the new call's record: {rec}")
    soft("CALLBACKREQUEST" in qlog(srv), "the queue log lost the call-back request")
    check(not problems, f"({ok} calls completed before the kill, {in_flight} in progress "
          "at it) " + "; ".join(problems))
