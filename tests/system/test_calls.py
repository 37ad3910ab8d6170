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
