"""Calls through the B2BUA between real sipp UAs."""
import os
import time
from harness import (Laoyou, check, register, uas, uac, SIPP_DATA, free_port,
                     TestFailure)


def setup(extra=None):
    srv = Laoyou(extra)
    srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    srv.start()
    return srv


def callee(srv, mode="answer", hold_ms=1000, **kw):
    port = free_port()
    b = uas(srv.tmp, f"uas-{mode}", "bob", port, mode=mode, hold_ms=hold_ms, **kw)
    b.start(f"127.0.0.1:{srv.sip_port}")
    time.sleep(0.2)
    rc, _ = register(srv, srv.tmp, "bob", "bpw", port)
    check(rc == 0, "bob could not register")
    return b


def last_cdr(srv, n=1):
    srv.wait_for(lambda: len(srv.cdrs()) >= n, what="call record")
    return srv.cdrs()[-1]


def test_call_with_media_both_ways():
    srv = setup()
    b = callee(srv, "answer")
    a = uac(srv.tmp, "uac", "alice", "apw", "1002", hold_ms=3000,
            pcap=os.path.join(SIPP_DATA, "g711a.pcap"))
    rc = a.run(f"127.0.0.1:{srv.sip_port}")
    check(rc == 0, f"call failed: {a.errors()}\n{srv.tail()}")
    check(b.wait() == 0, "callee scenario failed: " + b.errors())
    r = last_cdr(srv)
    check(r["disposition"] == "answered", r)
    check(r["hangup_by"] == "caller", r)
    check(r["caller"] == "alice" and r["callee"] == "bob", r)
    check(r["codec"] == "PCMA", r)
    check(r["pkts_a2b"] > 50, f"caller→callee packets {r['pkts_a2b']}")
    check(r["pkts_b2a"] > 50, f"callee→caller packets (echo) {r['pkts_b2a']}")
    check(r["answer_ms"] >= r["ring_ms"] >= r["start_ms"] > 0, r)
    check(r["billable_s"] >= 2, r)
    check(srv.health()["rtp_ports_in_use"] == 0, "RTP ports leaked")


def run_call(srv, expect, callee_mode=None, dialled="1002", auth=True,
             callee_ok=True, **kw):
    b = callee(srv, callee_mode) if callee_mode else None
    a = uac(srv.tmp, f"uac-{expect}-{time.time():.3f}", "alice",
            "apw" if auth else None, dialled, expect=expect, auth=auth, **kw)
    rc = a.run(f"127.0.0.1:{srv.sip_port}")
    check(rc == 0, f"caller expected {expect}: {a.errors()}\n{srv.tail()}")
    if b:
        brc = b.wait()
        check((brc == 0) == callee_ok, f"callee rc {brc}: {b.errors()}")
    return a, b


def test_busy_is_relayed_and_recorded():
    srv = setup()
    run_call(srv, 486, "busy")
    r = last_cdr(srv)
    check(r["disposition"] == "busy" and r["cause"] == 486, r)
    check(r["billable_s"] == 0, r)


def test_decline_is_relayed_and_recorded():
    srv = setup()
    run_call(srv, 603, "decline")
    r = last_cdr(srv)
    check(r["disposition"] == "rejected" and r["cause"] == 603, r)


def test_no_answer_times_out_and_cancels_the_callee():
    srv = setup({"ring_timeout": "2"})
    run_call(srv, 480, "ring")
    r = last_cdr(srv)
    check(r["disposition"] == "no-answer" and r["cause"] == 480, r)
    check(r["hangup_by"] == "system", r)
    check(r["ring_ms"] > 0 and r["answer_ms"] == 0, r)


def test_caller_cancel_cancels_the_callee():
    srv = setup()
    run_call(srv, None, "ring", cancel_after_ms=800)
    r = last_cdr(srv)
    check(r["disposition"] == "cancelled" and r["cause"] == 487, r)
    check(r["hangup_by"] == "caller", r)


def test_unknown_extension_gets_404():
    srv = setup()
    run_call(srv, 404, dialled="7777")
    check(srv.cdrs() == [], "a refused call made a record")


def test_invite_without_credentials_gets_407():
    srv = setup()
    run_call(srv, 407, auth=False)


def test_unregistered_callee_gets_480():
    srv = setup()
    run_call(srv, 480)


def test_no_common_codec_gets_488():
    srv = setup()
    run_call(srv, 488, codecs="18")


def test_callee_hangs_up():
    srv = setup()
    run_call(srv, 200, "bye", hold_ms=5000, wait_bye=True,
             pcap=os.path.join(SIPP_DATA, "g711a.pcap"))
    r = last_cdr(srv)
    check(r["disposition"] == "answered" and r["hangup_by"] == "callee", r)


def test_reinvite_hold_reaches_the_callee():
    srv = setup()
    run_call(srv, 200, "hold", hold_ms=2000, reinvite_hold=True)
    r = last_cdr(srv)
    check(r["disposition"] == "answered", r)
    check("caller re-INVITE (sendonly)" in srv.logtext(), "re-INVITE not seen")


def test_rtp_timeout_hangs_up_both_legs():
    srv = setup({"rtp_timeout": "2"})
    t0 = time.time()
    run_call(srv, 200, "answer", hold_ms=100, wait_bye=True)
    r = last_cdr(srv)
    check(r["reason"] == "RTP Timeout" and r["hangup_by"] == "system", r)
    check(time.time() - t0 < 10, "RTP timeout took too long")


def test_outside_number_needs_permission():
    srv = setup({"trunk": "sip:127.0.0.1:9"})
    run_call(srv, 403, dialled="013800138000")


def test_outside_number_goes_to_the_trunk_with_permission():
    trunk_port = free_port()
    srv = Laoyou({"trunk": f"sip:127.0.0.1:{trunk_port}"})
    srv.add_account("alice", "apw", "1001", "agent", "--outbound")
    srv.start()
    t = uas(srv.tmp, "trunk", "trunk", trunk_port, mode="answer")
    t.start(f"127.0.0.1:{srv.sip_port}")
    a = uac(srv.tmp, "uac-out", "alice", "apw", "013800138000", hold_ms=500)
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, a.errors() + srv.tail())
    check(t.wait() == 0, t.errors())
    r = last_cdr(srv)
    check(r["dialled"] == "013800138000" and r["disposition"] == "answered", r)


def test_account_call_limit_gets_486():
    srv = Laoyou({"max_calls_per_account": "1"})
    srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    srv.start()
    b = callee(srv, "answer")
    first = uac(srv.tmp, "uac-first", "alice", "apw", "1002", hold_ms=3000)
    first.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: srv.health()["active_calls"] == 1, what="first call")
    time.sleep(0.5)
    second = uac(srv.tmp, "uac-second", "alice", "apw", "1002", expect=486)
    check(second.run(f"127.0.0.1:{srv.sip_port}") == 0, second.errors())
    check(first.wait() == 0, first.errors())
    b.wait()


def test_tcp_caller():
    srv = setup()
    b = callee(srv, "answer")
    a = uac(srv.tmp, "uac-tcp", "alice", "apw", "1002", hold_ms=500)
    a.args += ["-t", "t1"]
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, a.errors() + srv.tail())
    check(b.wait() == 0, b.errors())
    check(last_cdr(srv)["disposition"] == "answered", "tcp call")


def test_parallel_fork_first_answer_wins_others_cancelled():
    srv = setup()
    p_ring, p_answer = free_port(), free_port()
    ringer = uas(srv.tmp, "uas-ringer", "bob", p_ring, mode="ring")
    answerer = uas(srv.tmp, "uas-answerer", "bob", p_answer, mode="answer", ring_ms=500)
    ringer.start(f"127.0.0.1:{srv.sip_port}")
    answerer.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "bob", "bpw", p_ring)[0] == 0, "first contact")
    check(register(srv, srv.tmp, "bob", "bpw", p_answer)[0] == 0, "second contact")
    check(srv.health()["registrations"] == 2, "two contacts")
    a = uac(srv.tmp, "uac-fork", "alice", "apw", "1002", hold_ms=500)
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, a.errors() + srv.tail())
    check(answerer.wait() == 0, "answering phone: " + answerer.errors())
    check(ringer.wait() == 0, "the other phone was not cancelled: " + ringer.errors())
    r = last_cdr(srv)
    check(r["disposition"] == "answered" and r["callee"] == "bob", r)
    check("(2 fork(s))" in srv.logtext(), "not forked to both contacts")
