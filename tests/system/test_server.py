"""The process: config errors, /health, signals, crash safety, the CLI."""
import json
import os
import signal
import subprocess
import time
from harness import (Laoyou, LAOYOU, check, register, uas, uac, free_port)


def test_config_errors_name_file_and_line():
    srv = Laoyou()
    with open(srv.conf, "a") as f:
        f.write("# comment\n\nrtp_ports = 9000-8000\n")
    line = len(open(srv.conf).read().splitlines())
    for cmd in ("check", "run"):
        r = subprocess.run([LAOYOU, cmd, "-c", srv.conf], capture_output=True,
                           text=True, timeout=10)
        check(r.returncode == 2, f"{cmd}: rc {r.returncode}")
        check(r.stderr.startswith(f"{srv.conf}:{line}: rtp_ports"), f"{cmd}: {r.stderr!r}")
    with open(srv.conf, "w") as f:
        f.write("sip_udp = 127.0.0.1:5060\nmax_calls = lots\n")
    r = subprocess.run([LAOYOU, "check", "-c", srv.conf], capture_output=True, text=True)
    check(r.returncode == 2 and f"{srv.conf}:2: max_calls" in r.stderr, r.stderr)
    with open(srv.conf, "w") as f:
        f.write("no equals sign here\n")
    r = subprocess.run([LAOYOU, "check", "-c", srv.conf], capture_output=True, text=True)
    check(r.returncode == 2 and f"{srv.conf}:1:" in r.stderr, r.stderr)


def test_health_and_json_errors():
    srv = Laoyou().start()
    h = srv.health()
    for k in ("uptime_s", "registrations", "active_calls", "status"):
        check(k in h, f"{k} missing from /health: {h}")
    code, body = srv.http("GET", "/nope")
    check(code == 404, code)
    j = json.loads(body)
    check(j["error"] == "not_found" and j["message"], j)
    code, body = srv.http("POST", "/health", b"{}")
    check(code == 405 and json.loads(body)["error"] == "method_not_allowed", body)


def call_setup(srv, hold_ms=20000):
    """Accounts alice and bob; bob registered by an answering sipp."""
    if not srv.cli("account", "list").stdout.count("alice"):
        srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    srv.start()
    port = free_port()
    b = uas(srv.tmp, "uas", "bob", port, mode="answer")
    b.start(f"127.0.0.1:{srv.sip_port}")
    time.sleep(0.2)
    check(register(srv, srv.tmp, "bob", "bpw", port)[0] == 0, "register")
    return b


def test_sigterm_ends_calls_and_exits_cleanly():
    srv = Laoyou()
    b = call_setup(srv)
    a = uac(srv.tmp, "uac", "alice", "apw", "1002", wait_bye=True)
    a.start(f"127.0.0.1:{srv.sip_port}")
    srv.wait_for(lambda: srv.health()["active_calls"] == 1 and
                 "answered" in srv.logtext(), what="call up")
    t0 = time.time()
    rc = srv.stop(signal.SIGTERM, timeout=5)
    check(rc == 0, f"exit code {rc}")
    check(time.time() - t0 < 5, "took too long to stop")
    check(a.wait(10) == 0, "caller got no BYE: " + a.errors())
    check(b.wait(10) == 0, "callee got no BYE: " + b.errors())
    r = srv.cdrs()
    check(len(r) == 1 and r[0]["reason"] == "Shutdown" and r[0]["hangup_by"] == "system", r)


def test_sighup_reloads_and_refuses_a_broken_config():
    srv = Laoyou().start()
    srv.settings["log_level"] = "warn"
    srv.write_conf(srv.settings)
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_for(lambda: "reloaded" in srv.logtext(), what="reload")
    with open(srv.conf, "a") as f:
        f.write("bogus = 1\n")
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_for(lambda: "reload refused" in srv.logtext(), what="refusal")
    check(srv.health()["status"] == "ok", "server down after a bad reload")


def test_kill9_during_a_burst_keeps_every_ended_call():
    srv = Laoyou({"max_calls_per_account": "1000", "log_level": "warn"})
    srv.add_account("alice", "apw", "1001")
    srv.add_account("bob", "bpw", "1002")
    srv.start()
    port = free_port()
    b = uas(srv.tmp, "uas-many", "bob", port, mode="answer", rtp_echo=False, calls=0)
    b.start(f"127.0.0.1:{srv.sip_port}")
    time.sleep(0.2)
    check(register(srv, srv.tmp, "bob", "bpw", port)[0] == 0, "register")
    a = uac(srv.tmp, "burst", "alice", "apw", "1002", hold_ms=200, calls=2000, rate=100)
    a.args += ["-fd", "1"]
    a.start(f"127.0.0.1:{srv.sip_port}")
    time.sleep(4)
    srv.kill9()
    a.proc.send_signal(signal.SIGINT)   # sipp writes its final statistics
    a.wait(20)
    b.kill()
    ok = integrity = None
    rows = srv.sql("PRAGMA integrity_check")
    integrity = rows[0][0]
    check(integrity == "ok", f"integrity_check: {integrity}")
    # sipp's statistics file: successful calls as counted by the caller.
    ok = successful_calls(a)
    n = len(srv.cdrs())
    check(ok > 50, f"too few calls completed to judge: {ok}")
    check(n >= ok, f"{ok} calls ended but only {n} records survived")
    srv.start()
    check(srv.health()["registrations"] == 1, "binding lost after kill -9")


def successful_calls(sipp):
    path = os.path.join(sipp.tmp, sipp.name + ".csv")
    with open(path) as f:
        lines = [l.rstrip("\n").split(";") for l in f if l.strip()]
    hdr, last = lines[0], lines[-1]
    return int(last[hdr.index("SuccessfulCall(C)")])


def test_account_and_cdr_cli():
    srv = Laoyou()
    srv.add_account("alice", "apw", "1001", "agent")
    srv.add_account("booth1", "bpw", "2001", "booth")
    r = srv.cli("account", "add", "alice", "--secret", "x", "--ext", "1009", check_rc=False)
    check(r.returncode == 1 and "taken" in r.stderr, r.stderr)
    r = srv.cli("account", "add", "carol", "--secret", "x", "--ext", "1010",
                "--kind", "spaceship", check_rc=False)
    check(r.returncode == 2, "bad kind accepted")
    out = srv.cli("account", "list").stdout
    check("alice" in out and "booth1" in out and "booth" in out, out)
    check("apw" not in open(srv.db, "rb").read().decode("latin1"), "secret stored in clear")
    srv.cli("account", "del", "booth1")
    check("booth1" not in srv.cli("account", "list").stdout, "not deleted")
    r = srv.cli("account", "del", "booth1", check_rc=False)
    check(r.returncode == 1, "deleting twice succeeded")
    # A call record shows in `laoyou cdr` and its CSV export.
    b = call_setup(srv, hold_ms=200)
    a = uac(srv.tmp, "uac", "alice", "apw", "1002", hold_ms=300)
    check(a.run(f"127.0.0.1:{srv.sip_port}") == 0, a.errors())
    b.wait()
    srv.wait_for(lambda: len(srv.cdrs()) == 1, what="record")
    out = srv.cli("cdr").stdout
    check("alice" in out and "answered" in out, out)
    csv = srv.cli("cdr", "--csv").stdout.splitlines()
    check(csv[0].startswith("id,callid,caller") and len(csv) == 2, csv)
    check('"alice"' in csv[1] and '"answered"' in csv[1], csv[1])
