"""The web pages in a real browser (Debian's Chromium driven by
playwright-core from tests/browser/): an agent's screen pop and wrap-up on
a real hotline call, a wallboard that follows calls live, the admin's
site import with an error, and axe-core on every page.

Each test starts laoyou with a small site, web users made with the CLI,
sipp phones and callers as test_acd.py does, and one node script from
tests/browser/.  The script prints "@@ STEP {json}" lines; the test waits
for them to act at the right moment (start a caller, log an agent in).
Without Chromium, node or tests/browser/node_modules the tests FAIL."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

from harness import (ROOT, Laoyou, TestFailure, check, free_port, ivr_caller, register,
                     spawn, uas)

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

SITE = {
    "hotlines": [{"number": "7000", "name": "测试热线 test line", "flow": "line",
                  "language": "zh"}],
    "queues": {"support": {"strategy": "longest-idle", "ring_timeout": 10, "wrapup": 60,
                           "announce": 0, "max_wait": 120}},
    "agents": {"alice": {"account": "alice", "queues": ["support"],
                         "skills": {"lang:zh": 8, "lang:en": 8}},
               "carol": {"account": "carol", "queues": [], "supervisor": True}},
    "flows": {"line": {"start": "lang", "nodes": {
        "lang": {"type": "language", "next": "q"},
        "q": {"type": "queue", "queue": "support", "prompts": ["beep"], "fallback": "bye"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]}}}},
}

# Web users (the CLI makes them): name → (role, agent, password).
USERS = {"alice": ("agent", "alice", "alice-web-pw"),
         "sup": ("supervisor", "carol", "sup-web-pw1"),
         "admin": ("admin", "", "admin-web-pw")}


def preflight():
    """The browser tests need node, Chromium and the npm packages: say
    exactly what is missing, and fail."""
    missing = []
    if not shutil.which("node"):
        missing.append("node (apt-get install nodejs npm)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    for pkg in ("playwright-core", "axe-core"):
        if not os.path.exists(os.path.join(BROWSER_DIR, "node_modules", pkg, "package.json")):
            missing.append(f"tests/browser/node_modules/{pkg} (cd tests/browser && npm ci)")
    if missing:
        raise TestFailure("browser tests cannot run; missing: " + "; ".join(missing))


def server(site=SITE):
    preflight()
    srv = Laoyou()
    srv.add_account("caller", "cpw", "8001")
    srv.add_account("alice", "alicepw", "1001")
    srv.add_account("carol", "carolpw", "1003")
    path = os.path.join(srv.tmp, "site.json")
    with open(path, "w") as f:
        json.dump(site, f, ensure_ascii=False, indent=1)
    r = srv.cli("site", "import", path)
    check("imported" in r.stdout, r.stderr)
    for name, (role, agent, pw) in USERS.items():
        args = ["user", "add", name, "--role", role, "--password", pw]
        if agent:
            args += ["--agent", agent]
        srv.cli(*args)
    return srv.start()


def phone(srv, user, mode="bye", hold_ms=2000, secret=None, calls=1):
    """An agent's sipp phone: registers, and answers (or not) when rung."""
    port = free_port()
    p = uas(srv.tmp, f"phone-{user}-{mode}", user, port, mode=mode, hold_ms=hold_ms,
            calls=calls)
    p.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, user, secret or user + "pw", port)[0] == 0,
          f"{user} registers")
    return p


def feature(srv, user, code, secret=None):
    f = ivr_caller(srv.tmp, f"fc-{user}-{code[1:]}-{time.time():.3f}", user,
                   secret or user + "pw", code, [("wait_bye",)])
    check(f.run(f"127.0.0.1:{srv.sip_port}") == 0, f"{user} {code}: {f.errors()}")


def agent_states(srv, agent):
    return srv.sql("SELECT state, reason, ts_ms FROM agent_log WHERE agent=? ORDER BY id",
                   agent)


class Api:
    """The HTTP API as a signed-in user (cookie and CSRF token)."""

    def __init__(self, srv, user):
        self.base = f"http://127.0.0.1:{srv.http_port}"
        status, body, hdrs = self.call("POST", "/api/v1/login",
                                       {"user": user, "password": USERS[user][2]})
        check(status == 200, f"{user} signs in to the API: {status} {body}")
        self.cookie = hdrs["Set-Cookie"].split(";")[0]
        self.csrf = json.loads(body)["csrf"]

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if getattr(self, "cookie", None):
            req.add_header("Cookie", self.cookie)
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers

    def get(self, path):
        status, body, _ = self.call("GET", path)
        check(status == 200, f"GET {path}: {status} {body}")
        return json.loads(body)


class Browser:
    """One node script from tests/browser/ driving Chromium, in its own
    process group (Chromium's processes with it), its output kept."""

    def __init__(self, srv, script, *args, timeout=120):
        self.srv = srv
        self.script = script
        self.timeout = timeout
        cmd = [shutil.which("node") or "node", os.path.join(BROWSER_DIR, script),
               "--url", f"http://127.0.0.1:{srv.http_port}", "--timeout", str(timeout),
               "--artifacts", os.path.join(srv.tmp, "screenshots"), *args]
        env = dict(os.environ, CHROMIUM=CHROMIUM)
        self.proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=BROWSER_DIR, env=env, start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        self.seen = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def output(self):
        with self.cond:
            return "\n".join(self.lines)

    def _fail(self, what):
        self.kill()
        raise TestFailure(f"{self.script}: {what}\n--- browser test output ---\n{self.output()}"
                          f"\n--- laoyou log (tail) ---\n{self.srv.tail(25)}")

    def expect(self, step, timeout=60):
        """Wait for the line "@@ step {json}" (after the ones already
        consumed) and return its data."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for i in range(self.seen, len(self.lines)):
                    if self.lines[i].startswith(f"@@ {step} ") or self.lines[i] == f"@@ {step}":
                        self.seen = i + 1
                        rest = self.lines[i][len(f"@@ {step}"):].strip()
                        return json.loads(rest) if rest else {}
                if self.proc.poll() is not None and not self.reader.is_alive():
                    break
                left = deadline - time.time()
                if left <= 0:
                    break
                self.cond.wait(min(left, 0.5))
        if self.proc.poll() is not None:
            self._fail(f"exited rc={self.proc.returncode} before step '{step}'")
        self._fail(f"no step '{step}' within {timeout}s")

    def finish(self, timeout=60):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._fail(f"did not finish within {timeout}s")
        self.reader.join(5)
        if rc != 0:
            self._fail(f"failed (exit code {rc})")
        return self.output()

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait(10)


def run_browser(srv, script, *args, timeout=120):
    b = Browser(srv, script, *args, timeout=timeout)
    try:
        return b.finish(timeout + 15)
    finally:
        b.kill()


# ---------------------------------------------------------------- (a)

NOTES = "市民反映路灯不亮 — street light out at No. 8"


def test_agent_screen_pop_and_wrapup():
    """An agent signs in and goes ready; a caller dials the hotline and
    chooses English; the screen pop shows the caller, hotline, language
    and IVR path; the agent's phone hangs up; the wrap-up is saved and the
    agent is ready at once."""
    srv = server()
    alice = phone(srv, "alice", mode="bye", hold_ms=3000)
    b = Browser(srv, "agent.mjs", "--user", "alice", "--password", USERS["alice"][2],
                "--category", "complaint", "--notes", NOTES)
    caller = None
    try:
        b.expect("ready", 60)
        check(agent_states(srv, "alice")[-1][0] == "ready", "the page says ready, the server not")
        caller = ivr_caller(srv.tmp, "citizen", "caller", "cpw", "7000",
                            [("pause", 500), ("key", "2"), ("wait_bye",)])
        caller.start(f"127.0.0.1:{srv.sip_port}")
        pop = b.expect("pop", 60)
        b.expect("wrapup", 60)
        b.expect("states", 30)
        b.finish(30)
    finally:
        b.kill()
    check(caller.wait(30) == 0, "caller: " + caller.errors())
    check(alice.wait(30) == 0, "alice's phone: " + alice.errors())

    rec = [r for r in srv.cdrs() if r["hotline"] == "7000"][-1]
    check(pop["call"] == rec["callid"], f"pop for call {pop['call']}, the call was {rec['callid']}")
    check(pop["caller"] == rec["caller"], f"pop caller {pop['caller']!r}, record {rec['caller']!r}")
    check(pop["hotline"] == "7000", pop)
    check(pop["language"] in ("英语", "English") and rec["language"] == "en", (pop, rec["language"]))
    # The pop shows the path up to the queue; the record goes on from there.
    check(pop["path"] and rec["path"].startswith(pop["path"].split(">q:")[0]) and
          "lang:en" in pop["path"], f"pop path {pop['path']!r}, record {rec['path']!r}")

    # The wrap-up, as a supervisor reads it.
    items = [w for w in Api(srv, "sup").get("/api/v1/wrapups")["items"]
             if w["callid"] == rec["callid"]]
    check(len(items) == 1, f"wrap-ups of the call: {items}")
    w = items[0]
    check(w["agent"] == "alice" and w["category"] == "complaint" and w["notes"] == NOTES, w)

    # ready: true made alice ready on saving, well before the 60 s wrap-up.
    states = agent_states(srv, "alice")
    names = [s[0] for s in states]
    i = names.index("wrap-up")
    check(names[i + 1] == "ready" and states[i + 1][2] - states[i][2] < 50000,
          f"not ready at once after the wrap-up: {states}")
    check(names[-2:] == ["not-ready", "logged-out"] and states[-2][1] == "lunch",
          f"not ready (lunch), then logged out: {states}")


# ---------------------------------------------------------------- (b)

def test_wallboard_follows_calls_live():
    """The wallboard, never reloaded: a caller waits with no agent ready
    (waiting 0→1, offered +1); alice logs in from her phone and takes the
    call (waiting 1→0, answered +1, alice on a call, the call listed); the
    supervisor listens in from the page; the call ends and leaves the
    list."""
    srv = server()
    alice = phone(srv, "alice", mode="bye", hold_ms=9000)
    carol = phone(srv, "carol", mode="answer", secret="carolpw")  # the supervisor's phone
    b = Browser(srv, "wallboard.mjs", "--user", "sup", "--password", USERS["sup"][2],
                "--queue", "support", "--agent", "alice")
    caller = None
    try:
        base = b.expect("baseline", 60)
        caller = ivr_caller(srv.tmp, "citizen", "caller", "cpw", "7000",
                            [("pause", 500), ("key", "1"), ("wait_bye",)])
        caller.start(f"127.0.0.1:{srv.sip_port}")
        b.expect("waiting", 40)
        feature(srv, "alice", "*61")             # alice logs in: rung at once
        b.expect("oncall", 40)
        b.expect("listen", 20)
        b.expect("done", 60)
        b.finish(30)
    finally:
        b.kill()
    check(caller.wait(30) == 0, "caller: " + caller.errors())
    check(alice.wait(30) == 0, "alice's phone: " + alice.errors())
    # The supervisor's phone answered and listened.  (Its call is not ended
    # with the supervised one when it was placed by POST /api/v1/supervise,
    # unlike *65: so it is not waited for here.)
    check("carol listens" in srv.logtext(), "the supervision did not start")
    carol.kill()
    check(base["offered"] == 0 and base["waiting"] == 0, base)


# ---------------------------------------------------------------- (c)

def test_admin_import_error_users_and_audit():
    """The admin imports a site file with an error and sees the server's
    file:line message in an alert (nothing changes); a good file is
    imported; a user is added and deleted; the audit log shows it all."""
    srv = server()
    bad = json.loads(json.dumps(SITE))
    bad["flows"]["line"]["nodes"]["q"]["queue"] = "nosuch"
    bad_path = os.path.join(srv.tmp, "bad-site.json")
    with open(bad_path, "w") as f:
        json.dump(bad, f, ensure_ascii=False, indent=1)
    # What the CLI says of it: "PATH:LINE: what is wrong".
    r = srv.cli("site", "check", bad_path, check_rc=False)
    check(r.returncode != 0 and r.stderr.startswith(bad_path + ":"), r.stderr)
    where = r.stderr.strip()[len(bad_path):]            # ":LINE: what is wrong"
    line = int(where.split(":")[1])
    with open(bad_path) as f:
        check('"nosuch"' in f.read().splitlines()[line - 1], f"line {line} is not the error")
    good_path = os.path.join(srv.tmp, "good-site.json")
    good = json.loads(json.dumps(SITE))
    good["hotlines"][0]["name"] = "改名的热线 renamed"
    with open(good_path, "w") as f:
        json.dump(good, f, ensure_ascii=False, indent=1)
    before = srv.cli("site", "export").stdout

    out = run_browser(srv, "admin.mjs", "--user", "admin", "--password", USERS["admin"][2],
                      "--bad", bad_path, "--expect", "site.json" + where, "--line", str(line),
                      "--good", good_path)
    check("@@ error" in out and "@@ imported" in out and "@@ users" in out, out)
    after = srv.cli("site", "export").stdout
    check(before != after and "改名的热线" in after and "nosuch" not in after,
          "the good site was not imported (or the bad one was)")
    audit = srv.sql("SELECT who, action, detail FROM audit ORDER BY id")
    acts = [(w, a) for w, a, _ in audit]
    check(("admin", "site.import") in acts, audit)
    check(acts.count(("admin", "site.import")) == 1, "the bad site was imported")
    check(("admin", "user.add") in acts and ("admin", "user.del") in acts, audit)
    check(not srv.sql("SELECT name FROM users WHERE name='dora'"), "dora was not deleted")


# ---------------------------------------------------------------- (d)

def test_every_page_passes_axe():
    """axe-core finds no serious or critical violation on the sign-in,
    agent, wallboard and admin pages, in Chinese and in English; the
    pages keep to the CSP, fit 1280×800 and work from the keyboard."""
    srv = server()
    run_browser(srv, "axe.mjs",
                "--agent", f"alice:{USERS['alice'][2]}",
                "--supervisor", f"sup:{USERS['sup'][2]}",
                "--admin", f"admin:{USERS['admin'][2]}", timeout=150)
