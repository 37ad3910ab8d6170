"""The HTTP API over real HTTP against a running laoyou: authentication
(sessions, CSRF, tokens, the sign-in rate limit), the role/scope matrix of
every route, each resource's success and error paths, the audit log, site
import, call records from real sipp calls, KPIs, Prometheus metrics, the
WebSocket events, click-to-call's toll-fraud rule — and web/openapi.json,
which every response here is checked against (status declared for the
path and method, JSON body matching the declared schema).

Checks of behaviour believed to be a server bug are made with
server_bug(): they do not stop the test, but the test fails at its end
with "SERVER BUG" and the list, until the server is fixed."""
import base64
import functools
import hashlib
import http.client
import json
import os
import re
import socket
import sqlite3
import struct
import time
import urllib.parse

from harness import (Laoyou, check, TestFailure, ROOT, register, uas, uac, free_port,
                     ivr_caller)

DOC_FILE = os.path.join(ROOT, "web", "openapi.json")
API_DIR = os.path.join(ROOT, "src", "api")

# ------------------------------------------------------------ server bugs

_bugs = []


def server_bug(cond, what):
    """A check that fails because of a (reported) server bug: recorded,
    and the test fails at its end; the rest of the test still runs."""
    if not cond:
        _bugs.append(what)


def api_test(fn):
    @functools.wraps(fn)
    def run():
        _bugs.clear()
        fn()
        if _bugs:
            found = list(_bugs)
            _bugs.clear()
            raise TestFailure("SERVER BUG: " + " | ".join(found))
    return run


# ------------------------------------------------- the OpenAPI document

class Doc:
    """web/openapi.json, and a validator for the subset of JSON Schema it
    uses: $ref, type, properties, required, additionalProperties: false,
    items, enum, nullable, minimum/maximum, minLength/maxLength, pattern."""

    def __init__(self, d):
        self.d = d
        self.templates = []
        for p in d["paths"]:
            rx = "^" + re.sub(r"\\\{[^/}]+\\\}", "[^/]+", re.escape(p)) + "$"
            self.templates.append((re.compile(rx), p))

    def resolve(self, x):
        seen = 0
        while isinstance(x, dict) and "$ref" in x:
            ref = x["$ref"]
            check(ref.startswith("#/"), f"only local $refs: {ref}")
            node = self.d
            for part in ref[2:].split("/"):
                check(isinstance(node, dict) and part in node, f"dangling $ref {ref}")
                node = node[part]
            x = node
            seen += 1
            check(seen < 20, f"$ref loop at {ref}")
        return x

    def template(self, path):
        for rx, p in self.templates:
            if rx.match(path):
                return p
        return None

    def operation(self, method, path):
        tpl = self.template(path)
        if tpl is None:
            return None, None
        m = "get" if method.lower() == "head" else method.lower()
        return tpl, self.d["paths"][tpl].get(m)

    def errors(self, v, s, at="body"):
        s = self.resolve(s)
        if v is None:
            return [] if s.get("nullable") else [f"{at}: null is not allowed"]
        t = s.get("type")
        ok = {"object": isinstance(v, dict), "array": isinstance(v, list),
              "string": isinstance(v, str),
              "integer": isinstance(v, int) and not isinstance(v, bool),
              "number": isinstance(v, (int, float)) and not isinstance(v, bool),
              "boolean": isinstance(v, bool), None: True}
        if not ok[t]:
            return [f"{at}: {v!r} is not of type {t}"]
        out = []
        if "enum" in s and v not in s["enum"]:
            out.append(f"{at}: {v!r} is not one of {s['enum']}")
        if t == "object":
            props = s.get("properties", {})
            for r in s.get("required", []):
                if r not in v:
                    out.append(f"{at}: required {r!r} is missing")
            for k, val in v.items():
                if k in props:
                    out += self.errors(val, props[k], f"{at}.{k}")
                elif s.get("additionalProperties") is False:
                    out.append(f"{at}: {k!r} is not declared")
        elif t == "array" and "items" in s:
            for i, item in enumerate(v):
                out += self.errors(item, s["items"], f"{at}[{i}]")
        elif t in ("integer", "number"):
            if "minimum" in s and v < s["minimum"]:
                out.append(f"{at}: {v} < minimum {s['minimum']}")
            if "maximum" in s and v > s["maximum"]:
                out.append(f"{at}: {v} > maximum {s['maximum']}")
        elif t == "string":
            if "minLength" in s and len(v) < s["minLength"]:
                out.append(f"{at}: shorter than {s['minLength']}")
            if "maxLength" in s and len(v) > s["maxLength"]:
                out.append(f"{at}: longer than {s['maxLength']}")
            if "pattern" in s and not re.search(s["pattern"], v):
                out.append(f"{at}: {v!r} does not match {s['pattern']}")
        return out

    def validate(self, value, schema, what):
        errs = self.errors(value, schema)
        check(not errs, f"{what}: does not match the OpenAPI schema: {errs[:5]}")

    def check_response(self, method, url, resp):
        """The status is declared for the path and method, and the body
        matches the declared content."""
        path, _, query = url.partition("?")
        if not (path.startswith("/api/") or path in ("/health", "/metrics")):
            return
        what = f"{method} {url} -> {resp.status}"
        tpl, op = self.operation(method, path)
        if tpl is None:
            check(resp.status == 404, f"{what}: not in the document, so 404 expected")
            self.validate(resp.json, {"$ref": "#/components/schemas/Error"}, what)
            return
        if op is None:
            check(resp.status == 405, f"{what}: method not in the document for {tpl}, "
                  "so 405 expected")
            self.validate(resp.json, {"$ref": "#/components/schemas/Error"}, what)
            return
        # Every query parameter sent is declared (or is the query token).
        names = {self.resolve(p)["name"] for p in op.get("parameters", [])
                 if self.resolve(p)["in"] == "query"} | {"token"}
        for k, _ in urllib.parse.parse_qsl(query, keep_blank_values=True):
            check(k in names, f"{what}: query parameter {k!r} not declared for {tpl}")
        code = str(resp.status)
        check(code in op["responses"], f"{what}: status {code} not declared for "
              f"{method.upper()} {tpl} (declared: {sorted(op['responses'])}); body "
              f"{resp.body[:200]!r}")
        r = self.resolve(op["responses"][code])
        for h, spec in r.get("headers", {}).items():
            if "only" not in spec.get("description", ""):
                check(h.lower() in resp.headers, f"{what}: declared header {h} missing")
        if method.upper() == "HEAD":
            return
        content = r.get("content")
        if not content:
            check(resp.body == b"", f"{what}: no content declared, got {resp.body[:100]!r}")
            return
        norm = lambda ct: re.sub(r"\s+", "", ct or "").lower()
        declared = {norm(k): v for k, v in content.items()}
        ct = norm(resp.headers.get("content-type"))
        check(ct in declared, f"{what}: content type {ct!r} not declared "
              f"({sorted(declared)})")
        if ct == "application/json":
            try:
                body = json.loads(resp.body)
            except ValueError:
                raise TestFailure(f"{what}: not JSON: {resp.body[:200]!r}")
            self.validate(body, declared[ct]["schema"], what)

    def check_status(self, method, path, status):
        tpl, op = self.operation(method, path)
        check(op is not None and str(status) in op["responses"],
              f"{method} {path} -> {status}: not declared")


_doc = None


def doc():
    global _doc
    if _doc is None:
        with open(DOC_FILE) as f:
            _doc = Doc(json.load(f))
    return _doc


def api_routes():
    """Every route table in src/api/*.c (api_routes in rest.c, and one per
    booth-era part): (method, pattern, role, scope)."""
    rows = []
    for name in sorted(os.listdir(API_DIR)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(API_DIR, name)) as f:
            src = f.read()
        for m in re.finditer(r"const struct api_route \w+_routes\[\] = \{", src):
            table = src[m.end():src.index("\n};", m.end())]
            rows += re.findall(r'\{"([A-Z]+)",\s*"([^"]+)",\s*ROLE_(\w+),\s*(?:NULL|"(\w+)")',
                               table)
    check(len(rows) >= 20, f"route tables not parsed: {rows}")
    return [(m, p, role.lower(), scope or None) for m, p, role, scope in rows]


# ------------------------------------------------------------ HTTP client

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.raw_headers = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def __repr__(self):
        return f"{self.status} {self.body[:300]!r}"


class Who:
    """Credentials: a session (cookie and CSRF token) or a bearer token."""

    def __init__(self, name, cookie=None, csrf=None, token=None):
        self.name, self.cookie, self.csrf, self.token = name, cookie, csrf, token

    def apply(self, h, method, csrf):
        if self.cookie:
            h["Cookie"] = "laoyou_session=" + self.cookie
            if method not in ("GET", "HEAD") and csrf:
                h["X-CSRF-Token"] = self.csrf if csrf is True else csrf
        if self.token:
            h["Authorization"] = "Bearer " + self.token

    def __repr__(self):
        return self.name


class Api:
    def __init__(self, srv):
        self.srv = srv
        self.port = srv.http_port
        self.doc = doc()

    def call(self, method, path, body=None, who=None, ctype="application/json", csrf=True,
             headers=None, source=None, expect=None, validate=True):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        h = {"Connection": "close"}
        if body is not None and ctype:
            h["Content-Type"] = ctype
        if who:
            who.apply(h, method, csrf)
        h.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                          source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            resp = Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        if validate:
            self.doc.check_response(method, path, resp)
        if expect is not None:
            want = expect if isinstance(expect, tuple) else (expect,)
            check(resp.status in want, f"{method} {path} as {who}: expected {expect}, "
                  f"got {resp}")
        return resp

    def get(self, path, who=None, **kw):
        return self.call("GET", path, who=who, **kw)

    def error(self, method, path, status, error=None, **kw):
        """A request that must fail with status and the JSON error."""
        r = self.call(method, path, expect=status, **kw)
        j = r.json
        check(isinstance(j, dict) and set(j) == {"error", "message"},
              f"{method} {path}: not an error body: {r}")
        if error:
            check(j["error"] == error, f"{method} {path}: error {j['error']!r}, "
                  f"expected {error!r}: {r}")
        return j

    def login(self, user, password, source=None, expect=200):
        r = self.call("POST", "/api/v1/login", {"user": user, "password": password},
                      source=source, expect=expect)
        if expect != 200:
            return r
        m = re.match(r"laoyou_session=([0-9a-f]+);", r.headers.get("set-cookie", ""))
        check(m, f"no session cookie: {r.raw_headers}")
        cookie = r.headers["set-cookie"]
        check("HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie)
        return Who(user, cookie=m.group(1), csrf=r.json["csrf"])


# ------------------------------------------------------------- WebSocket

class WebSocket:
    """A minimal RFC 6455 client: the handshake, then text frames in."""
    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port, path, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.closed = False
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            check(chunk, f"WebSocket {path}: closed during the handshake")
            buf += chunk
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        hl = head.decode("latin-1").split("\r\n")
        self.status = int(hl[0].split()[1])
        self.headers = {}
        for line in hl[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
            check(self.headers.get("sec-websocket-accept") == want,
                  f"bad Sec-WebSocket-Accept: {self.headers}")
            check(self.headers.get("upgrade", "").lower() == "websocket", self.headers)
            doc().check_status("GET", path.partition("?")[0], 101)
        else:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                self.buf += chunk
            self.resp = Resp(self.status, list(self.headers.items()), self.buf[:n])
            doc().check_response("GET", path, self.resp)
            self.close()

    def _frame(self):
        b = self.buf
        if len(b) < 2:
            return None
        fin, op = b[0] & 0x80, b[0] & 0x0F
        masked, n, i = b[1] & 0x80, b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, i = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, i = struct.unpack("!Q", b[2:10])[0], 10
        mask = b""
        if masked:
            if len(b) < i + 4:
                return None
            mask, i = b[i:i + 4], i + 4
        if len(b) < i + n:
            return None
        payload = b[i:i + n]
        if masked:
            payload = bytes(c ^ mask[j % 4] for j, c in enumerate(payload))
        self.buf = b[i + n:]
        return fin, op, payload, masked

    def _send(self, op, payload=b""):
        mask = os.urandom(4)
        data = bytes(c ^ mask[j % 4] for j, c in enumerate(payload))
        hdr = bytes([0x80 | op])
        n = len(payload)
        hdr += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n)
        self.sock.sendall(hdr + mask + data)

    def recv(self, timeout):
        """The next text message (a str), or None on timeout or close."""
        deadline = time.time() + timeout
        parts = []
        while not self.closed:
            f = self._frame()
            if f is None:
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    return None
                if not chunk:
                    self.closed = True
                    return None
                self.buf += chunk
                continue
            fin, op, payload, masked = f
            check(not masked, "a server's WebSocket frames must not be masked")
            if op == 0x9:
                self._send(0xA, payload)
            elif op == 0x8:
                self.closed = True
            elif op in (0x0, 0x1):
                parts.append(payload)
                if fin:
                    return b"".join(parts).decode()
        return None

    def events(self, timeout):
        """Every message until timeout, parsed and checked against the
        document's x-events schemas."""
        out = []
        deadline = time.time() + timeout
        while True:
            m = self.recv(max(0.0, deadline - time.time()))
            if m is None:
                return out
            out.append(check_event(m))

    def wait_event(self, pred, timeout, what):
        seen = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.recv(deadline - time.time())
            if m is None:
                break
            ev = check_event(m)
            seen.append(ev)
            if pred(ev):
                return ev, seen
        raise TestFailure(f"no {what} event within {timeout}s; seen {seen}")

    def close(self):
        try:
            if not self.closed:
                self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.closed = True
        self.sock.close()


def check_event(text):
    ev = json.loads(text)
    check(isinstance(ev, dict) and "type" in ev, f"event without a type: {text}")
    x = doc().d["paths"]["/api/v1/events"]["get"]["x-events"]
    if ev["type"] == "queue" and "caller" not in ev.get("data", {}):
        schema = x["queue (trimmed)"]
    else:
        check(ev["type"] in x, f"event type {ev['type']} not in x-events")
        schema = x[ev["type"]]
    doc().validate(ev, schema, f"event {ev['type']}")
    return ev


# --------------------------------------------------------------- fixture

SITE = {
    "hotlines": [{"number": "7000", "flow": "line", "language": "zh"}],
    "queues": {"support": {"strategy": "longest-idle", "ring_timeout": 5, "wrapup": 1}},
    "agents": {"alice": {"account": "alice", "queues": ["support"], "skills": {"lang:zh": 5}},
               "bob": {"account": "bob", "queues": ["support"], "skills": {"lang:zh": 5}},
               "carol": {"account": "carol", "queues": [], "supervisor": True}},
    "flows": {"line": {"start": "q", "nodes": {
        "q": {"type": "queue", "queue": "support", "prompts": ["beep"],
              "fallback": "bye"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]}}}},
}

# name: (role, agent, password)
USERS = {"root": ("admin", None, "rootpass1"), "sup": ("supervisor", "carol", "suppass12"),
         "alice": ("agent", "alice", "alicepass"), "bob": ("agent", "bob", "bobpass12")}
TOKENS = {"tread": "read", "tcontrol": "control", "tadmin": "admin", "trc": "read,control"}


class Env:
    pass


def setup(users=True, site=True, tokens=True):
    """A laoyou with SIP accounts, the site, web users and API tokens;
    users are signed in through the API."""
    srv = Laoyou()
    for user, ext in (("alice", "1001"), ("bob", "1002"), ("carol", "1003"),
                      ("caller", "8001")):
        srv.add_account(user, user + "pw", ext)
    if site:
        # Where an operator may well keep it: next to the database.
        path = os.path.join(srv.tmp, "site.json")
        with open(path, "w") as f:
            json.dump(SITE, f, indent=1)
        srv.cli("site", "import", path)
    for name, (role, agent, pw) in (USERS.items() if users else ()):
        srv.cli("user", "add", name, "--role", role, "--password", pw,
                *(["--agent", agent] if agent else []))
    e = Env()
    e.srv = srv
    e.tok = {}
    for name, scopes in (TOKENS.items() if tokens else ()):
        secret = srv.cli("token", "add", name, "--scopes", scopes).stdout.strip()
        check(re.fullmatch(r"[0-9a-f]{64}", secret), f"token secret {secret!r}")
        e.tok[name] = Who(name, token=secret)
    srv.start()
    e.api = Api(srv)
    e.who = {name: e.api.login(name, USERS[name][2]) for name in (USERS if users else ())}
    return e


# ---------------------------------------------------------------- tests

@api_test
def test_openapi_document_matches_route_table():
    """Every route of api_routes is in web/openapi.json with its role and
    scope, and the document has nothing else (but /health, /metrics); the
    server serves the document itself."""
    d = doc().d
    check(d.get("openapi") == "3.0.3", "OpenAPI 3.0.3")
    routes = api_routes()
    norm = lambda p: re.sub(r"\{[^}]*\}", "{}", p)
    documented = {}
    for p, ops in d["paths"].items():
        for m, o in ops.items():
            if m in ("get", "put", "post", "delete", "patch", "head", "options"):
                documented[(m.upper(), norm(p))] = o
    table = {(m, p): (role, scope) for m, p, role, scope in routes}
    for (m, p), (role, scope) in table.items():
        check((m, p) in documented, f"route {m} {p} is not in openapi.json")
        o = documented[(m, p)]
        check(o.get("x-role") == role, f"{m} {p}: x-role {o.get('x-role')} != {role}")
        check(o.get("x-scope") == scope, f"{m} {p}: x-scope {o.get('x-scope')} != {scope}")
        if role == "none":
            check(o.get("security") == [], f"{m} {p}: public, security must be []")
        else:
            check(o.get("security"), f"{m} {p}: needs security")
            check("401" in o["responses"] and "403" in o["responses"],
                  f"{m} {p}: 401 and 403 must be declared")
            if m != "GET":
                check(any("csrfHeader" in s for s in o["security"]),
                      f"{m} {p}: the cookie needs the CSRF header")
    extra = set(documented) - set(table)
    check(extra == {("GET", "/health"), ("GET", "/metrics")},
          f"documented but not routes: {sorted(extra)}")
    # Each path parameter is declared, and each $ref resolves.
    for p, ops in d["paths"].items():
        for m, o in ops.items():
            declared = {doc().resolve(x)["name"] for x in o.get("parameters", [])
                        if doc().resolve(x)["in"] == "path"}
            check(declared == set(re.findall(r"\{([^}]+)\}", p)),
                  f"{m} {p}: path parameters {declared}")
            for code, r in o["responses"].items():
                r = doc().resolve(r)
                check(r.get("description") is not None, f"{m} {p} {code}: description")
                for c in r.get("content", {}).values():
                    doc().resolve(c["schema"])
    refs = re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(d))
    for ref in refs:
        doc().resolve({"$ref": ref})
    schemes = d["components"]["securitySchemes"]
    check(schemes["sessionCookie"] == {**schemes["sessionCookie"], "type": "apiKey",
                                        "in": "cookie", "name": "laoyou_session"}, schemes)
    check(schemes["csrfHeader"]["name"] == "X-CSRF-Token", schemes)
    check(schemes["bearerToken"]["scheme"] == "bearer", schemes)

    # The server serves it from its web directory (by default the
    # repository's web/), byte for byte, to anybody.
    srv = Laoyou().start()
    api = Api(srv)
    r = api.get("/api/v1/openapi.json", expect=200)
    with open(DOC_FILE, "rb") as f:
        check(r.body == f.read(), "served openapi.json differs from web/openapi.json")
    check(r.headers["content-type"] == "application/json", r.headers)
    api.error("POST", "/api/v1/openapi.json", 405, "method_not_allowed", body={})
    h = api.get("/health", expect=200).json
    check(h["status"] == "ok" and h["active_calls"] == 0, h)
    api.call("HEAD", "/health", expect=200)
    # A server with an empty web directory and no site yet.
    empty = os.path.join(srv.tmp, "empty-web")
    os.mkdir(empty)
    bare = Laoyou(extra={"web_dir": empty})
    tok = Who("t", token=bare.cli("token", "add", "t", "--scopes", "admin").stdout.strip())
    bare.start()
    api = Api(bare)
    api.error("GET", "/api/v1/openapi.json", 404, "not_found")
    api.error("GET", "/api/v1/site", 404, "not_found", who=tok)
    check(api.get("/api/v1/queues", who=tok, expect=200).json == {"items": []}, "no queues")
    check(api.get("/api/v1/agents", who=tok, expect=200).json == {"items": []}, "no agents")


@api_test
def test_rbac_matrix_every_route():
    """For every route of the table: anonymous 401, bad credentials 401,
    too small a role 403, a token without the scope 403, a revoked token
    401; and the roles and scopes that may, pass the gate."""
    e = setup()
    api, srv = e.api, e.srv
    sample = {"/api/v1/agents/{}/state": "/api/v1/agents/bob/state",
              "/api/v1/queues/{}": "/api/v1/queues/support",
              "/api/v1/calls/{}/wrapup": "/api/v1/calls/nocall/wrapup",
              "/api/v1/recordings/{}": "/api/v1/recordings/999",
              "/api/v1/callbacks/{}/done": "/api/v1/callbacks/999/done",
              "/api/v1/accounts/{}": "/api/v1/accounts/nobody",
              "/api/v1/users/{}": "/api/v1/users/nobody"}
    rank = {"none": 0, "agent": 1, "supervisor": 2, "admin": 3}
    users = {"alice": "agent", "sup": "supervisor", "root": "admin"}

    # A token that works, then is revoked while the server runs.
    secret = srv.cli("token", "add", "gone", "--scopes", "admin").stdout.strip()
    gone = Who("revoked", token=secret)
    api.get("/api/v1/me", who=gone, expect=200)
    srv.cli("token", "revoke", "gone")
    bogus_tok = Who("bogus-token", token="0" * 64)
    bogus_cookie = Who("bogus-cookie", cookie="f" * 64, csrf="x")

    def gate_passed(r):
        if r.status == 401:
            return False
        if r.status == 403:
            msg = (r.json or {}).get("message", "")
            return not (msg.startswith("this needs the") or msg.startswith("the token lacks")
                        or (r.json or {}).get("error") == "csrf")
        return True

    routes = api_routes()
    for m, pat, role, scope in routes:
        path = sample.get(pat, pat.replace("{}", "x"))
        body = None if (m == "DELETE" or pat in ("/api/v1/site", "/api/v1/logout",
                                                 "/api/v1/callbacks/{}/done")) else {}
        if m == "GET":
            body = None
        if role == "none":
            continue
        for who in (None, gone, bogus_tok, bogus_cookie):
            api.error(m, path, 401, "unauthorized", body=body, who=who)
        for name, urole in users.items():
            who = e.who[name]
            if pat == "/api/v1/logout":      # a session of its own to end
                who = api.login(name, USERS[name][2])
            r = api.call(m, path, body=body, who=who)
            if rank[urole] >= rank[role]:
                check(gate_passed(r), f"{m} {path} as {urole}: refused {r}")
            else:
                check(r.status == 403 and r.json["error"] == "forbidden" and
                      r.json["message"] == f"this needs the {role} role",
                      f"{m} {path} as {urole}: expected 403, got {r}")
        for name, scopes in TOKENS.items():
            r = api.call(m, path, body=body, who=e.tok[name])
            sc = scopes.split(",")
            # admin implies every scope, control implies read.
            if "admin" in sc or scope in sc or (scope == "read" and "control" in sc):
                check(gate_passed(r), f"{m} {path} with token {scopes}: refused {r}")
            else:
                check(r.status == 403 and r.json["error"] == "forbidden" and
                      r.json["message"] == f"the token lacks the {scope} scope",
                      f"{m} {path} with token {scopes}: expected 403, got {r}")
    # The query token is for browsers' WebSockets only: elsewhere it would
    # end up in access logs, and is not accepted.
    api.error("GET", "/api/v1/me?token=" + e.tok["tread"].token, 401, "unauthorized")
    me = api.get("/api/v1/me", who=e.tok["trc"], expect=200).json
    check(me == {"user": "trc", "role": "none", "agent": "", "token": True,
                 "scopes": "read,control", "csrf": ""}, me)
    me = api.get("/api/v1/me", who=e.who["alice"], expect=200).json
    check(me["user"] == "alice" and me["role"] == "agent" and me["agent"] == "alice" and
          me["token"] is False and me["csrf"] == e.who["alice"].csrf, me)
    # An agent sets its own state only.
    api.error("PUT", "/api/v1/agents/bob/state", 403, "forbidden",
              body={"state": "not-ready"}, who=e.who["alice"])
    r = api.call("PUT", "/api/v1/agents/alice/state", {"state": "not-ready", "reason": "tea"},
                 who=e.who["alice"], expect=200)
    check(r.json["id"] == "alice" and r.json["state"] == "not-ready" and
          r.json["reason"] == "tea", r)


@api_test
def test_csrf_sessions_logout_password_change():
    e = setup()
    api, srv = e.api, e.srv
    root = e.who["root"]
    new = {"name": "csrf1", "password": "csrfpass1", "role": "agent"}
    # A cookie request that changes state needs the session's CSRF token.
    api.error("POST", "/api/v1/users", 403, "csrf", body=new, who=root, csrf=False)
    api.error("POST", "/api/v1/users", 403, "csrf", body=new, who=root, csrf="0" * 64)
    api.error("POST", "/api/v1/users", 403, "csrf", body=new, who=root,
              csrf=e.who["sup"].csrf)          # another session's token
    check(api.get("/api/v1/users?caller=x", who=root, expect=200).json["total"] == 4,
          "refused requests added nobody")
    api.call("POST", "/api/v1/users", new, who=root, expect=201)
    # Reads need none; bearer requests need none.
    api.get("/api/v1/users", who=root, expect=200)
    api.call("POST", "/api/v1/users", {"name": "csrf2", "password": "csrfpass2",
                                       "role": "agent"}, who=e.tok["tadmin"], expect=201)
    api.call("PUT", "/api/v1/agents/bob/state", {"state": "not-ready"}, who=e.tok["tcontrol"],
             expect=200)
    # GET /me gives the page its CSRF token back.
    check(api.get("/api/v1/me", who=root, expect=200).json["csrf"] == root.csrf, "me csrf")

    # Logout without CSRF is refused and the session lives on; with it,
    # the session ends and the cookie is cleared.
    alice = e.who["alice"]
    api.error("POST", "/api/v1/logout", 403, "csrf", who=alice, csrf=False)
    api.get("/api/v1/me", who=alice, expect=200)
    r = api.call("POST", "/api/v1/logout", who=alice, expect=204)
    check("Max-Age=0" in r.headers.get("set-cookie", ""), r.raw_headers)
    api.error("GET", "/api/v1/me", 401, "unauthorized", who=alice)
    check(api.get("/api/v1/me", who=e.who["bob"], expect=200).json["user"] == "bob",
          "another session is untouched")
    # A new password ends every session of the user (two here).
    bob2 = api.login("bob", "bobpass12")
    srv.cli("user", "passwd", "bob", "--password", "bobnewpass")
    api.error("GET", "/api/v1/me", 401, "unauthorized", who=e.who["bob"])
    api.error("GET", "/api/v1/me", 401, "unauthorized", who=bob2)
    api.login("bob", "bobpass12", expect=401)
    bob3 = api.login("bob", "bobnewpass")
    api.get("/api/v1/me", who=bob3, expect=200)
    # Deleting a user ends its sessions.
    c1 = api.login("csrf1", "csrfpass1")
    api.call("DELETE", "/api/v1/users/csrf1", who=root, expect=204)
    api.error("GET", "/api/v1/me", 401, "unauthorized", who=c1)
    # An expired session is refused.
    con = sqlite3.connect(srv.db, timeout=5)
    con.execute("UPDATE sessions SET expires_ms=1 WHERE user='sup'")
    con.commit()
    con.close()
    api.error("GET", "/api/v1/me", 401, "unauthorized", who=e.who["sup"])
    # A bad sign-in body.
    api.error("POST", "/api/v1/login", 400, "bad_request", body={"user": "root"})
    api.error("POST", "/api/v1/login", 400, "bad_request",
              body={"user": "root", "password": 12345678})
    api.error("POST", "/api/v1/login", 415, "unsupported_media_type",
              body="user=root&password=rootpass1", ctype="application/x-www-form-urlencoded")
    api.error("POST", "/api/v1/login", 400, "bad_json", body="{\"user\": ")


@api_test
def test_login_rate_limit_per_address():
    e = setup(tokens=False)
    api, srv = e.api, e.srv
    other = "127.0.0.2"                        # an address of its own
    for i in range(5):
        api.error("POST", "/api/v1/login", 401, "unauthorized",
                  body={"user": "root", "password": f"wrong{i}xx"}, source=other)
    r = api.call("POST", "/api/v1/login", {"user": "root", "password": "wrong5xx"},
                 source=other, expect=429)
    check(r.json["error"] == "rate_limited", r)
    ra = r.headers.get("retry-after", "")
    check(ra.isdigit() and 0 < int(ra) <= 60, f"Retry-After {ra!r}")
    # Even the right password is refused from there for now …
    api.call("POST", "/api/v1/login", {"user": "root", "password": "rootpass1"},
             source=other, expect=429)
    # … but not from another address.
    api.login("root", "rootpass1")
    # The failures are in the audit log.
    rows = srv.sql("SELECT who, action, detail FROM audit WHERE action='login.failed'")
    check(len(rows) == 5 and all(r[0] == "-" and "root" in r[2] and other in r[2]
                                 for r in rows), rows)


@api_test
def test_secrets_are_stored_hashed():
    e = setup()
    api, srv = e.api, e.srv
    for name, h in srv.sql("SELECT name, hash FROM users"):
        check(h.startswith("$argon2id$"), f"user {name}: hash {h[:20]}")
    api.call("POST", "/api/v1/users", {"name": "hashme", "password": "Plain-Text-99",
                                       "role": "supervisor"}, who=e.tok["tadmin"], expect=201)
    api.call("POST", "/api/v1/accounts", {"user": "dora", "secret": "Dora-Secret-7",
                                          "ext": "1009"}, who=e.tok["tadmin"], expect=201)
    (h,), = srv.sql("SELECT hash FROM users WHERE name='hashme'")
    check(h.startswith("$argon2id$"), h)
    # Neither a password, an account secret, a token's secret nor a
    # session's cookie is anywhere in the database.
    secrets = ["Plain-Text-99", "Dora-Secret-7", "rootpass1", "alicepass"]
    secrets += [t.token for t in e.tok.values()] + [w.cookie for w in e.who.values()]
    cells = []
    for (table,) in srv.sql("SELECT name FROM sqlite_master WHERE type='table'"):
        for row in srv.sql(f"SELECT * FROM \"{table}\""):
            cells += [str(c) for c in row]
    blob = "\n".join(cells)
    for s in secrets:
        check(s not in blob, f"a secret is stored in the clear: {s[:6]}…")
    # Tokens and sessions are kept as BLAKE2b-256 hashes.
    for name, t in e.tok.items():
        want = hashlib.blake2b(t.token.encode(), digest_size=32).hexdigest()
        check(srv.sql("SELECT hash FROM tokens WHERE name=?", name) == [(want,)], name)
    want = hashlib.blake2b(e.who["root"].cookie.encode(), digest_size=32).hexdigest()
    check(srv.sql("SELECT user FROM sessions WHERE hash=?", want) == [("root",)], "session")
    ha1 = hashlib.md5(b"dora:laoyou:Dora-Secret-7").hexdigest()
    check(srv.sql("SELECT ha1 FROM accounts WHERE user='dora'") == [(ha1,)], "HA1")
    # Lists never show hashes.
    for item in api.get("/api/v1/users", who=e.who["root"], expect=200).json["items"]:
        check(set(item) == {"name", "role", "agent", "created_ms"}, item)


@api_test
def test_users_and_accounts():
    e = setup()
    api = e.api
    root = e.who["root"]
    r = api.get("/api/v1/users", who=root, expect=200).json
    check([u["name"] for u in r["items"]] == ["alice", "bob", "root", "sup"] and
          r["total"] == 4 and r["limit"] == 100 and r["offset"] == 0, r)
    check(next(u for u in r["items"] if u["name"] == "sup")["agent"] == "carol", r)
    good = {"name": "dave", "password": "davepass1", "role": "agent", "agent": "alice"}
    r = api.call("POST", "/api/v1/users", good, who=root, expect=201).json
    check(r == {"name": "dave", "role": "agent", "agent": "alice"}, r)
    api.login("dave", "davepass1")
    api.error("POST", "/api/v1/users", 409, "conflict", body=good, who=root)
    for bad in ({"name": "Dave Two", "password": "davepass1", "role": "agent"},
                {"name": "dave2", "password": "short", "role": "agent"},
                {"name": "dave2", "password": "x" * 257, "role": "agent"},
                {"name": "dave2", "password": "davepass1", "role": "boss"},
                {"name": "dave2", "password": "davepass1"},
                {"password": "davepass1", "role": "agent"},
                {"name": "dave2", "password": "davepass1", "role": "agent", "agent": "a" * 48}):
        api.error("POST", "/api/v1/users", 400, "bad_request", body=bad, who=root)
    api.error("POST", "/api/v1/users", 400, "bad_request", body=[good], who=root)
    api.error("POST", "/api/v1/users", 400, "bad_request", body="", who=root)
    api.error("POST", "/api/v1/users", 400, "bad_json", body="{\"name\": \"x\",,}", who=root)
    api.error("POST", "/api/v1/users", 415, "unsupported_media_type", body=json.dumps(good),
              ctype="text/plain", who=root)
    api.error("POST", "/api/v1/users", 415, "unsupported_media_type", body=json.dumps(good),
              ctype=None, who=root)
    big = json.dumps({**good, "name": "big", "notes": "x" * 65536})
    api.error("POST", "/api/v1/users", 413, "too_large", body=big, who=root)
    # Exactly 64 KiB is still read.
    edge = '{"name":"edge","password":"edgepass1","role":"agent","pad":"'
    edge += "x" * (65536 - len(edge) - 2) + '"}'
    check(len(edge) == 65536, len(edge))
    api.call("POST", "/api/v1/users", edge, who=root, expect=201)
    # Delete: yourself no, unknown 404, twice 404.
    api.error("DELETE", "/api/v1/users/root", 409, "conflict", who=root)
    api.call("DELETE", "/api/v1/users/dave", who=root, expect=204)
    api.error("DELETE", "/api/v1/users/dave", 404, "not_found", who=root)
    api.login("dave", "davepass1", expect=401)
    # Pagination and CSV on the users list.
    r = api.get("/api/v1/users?limit=2&offset=1", who=root, expect=200).json
    check([u["name"] for u in r["items"]] == ["bob", "edge"] and r["total"] == 5 and
          r["limit"] == 2 and r["offset"] == 1, r)
    r = api.get("/api/v1/users?format=csv", who=root, expect=200)
    check(r.body.decode().split("\r\n")[0] == "name,role,agent,created_ms", r)

    # SIP accounts.
    r = api.get("/api/v1/accounts", who=root, expect=200).json
    check([a["user"] for a in r["items"]] == ["alice", "bob", "caller", "carol"], r)
    check(r["items"][0] == {"user": "alice", "display": "", "ext": "1001", "kind": "agent",
                            "outbound": 0, "max_calls": 0}, r["items"][0])
    acc = {"user": "trunk1", "secret": "trunkpass", "ext": "5000", "kind": "trunk",
           "display": "The trunk", "outbound": True}
    r = api.call("POST", "/api/v1/accounts", acc, who=e.tok["tadmin"], expect=201).json
    check(r == {"user": "trunk1", "ext": "5000", "kind": "trunk", "outbound": True}, r)
    r = api.get("/api/v1/accounts?caller=trunk1", who=root, expect=200).json
    check(r["total"] == 1 and r["items"][0]["outbound"] == 1 and
          r["items"][0]["display"] == "The trunk", r)
    api.error("POST", "/api/v1/accounts", 409, "conflict", body=acc, who=root)
    api.error("POST", "/api/v1/accounts", 409, "conflict",
              body={"user": "other", "secret": "otherpass", "ext": "1001"}, who=root)
    for bad in ({"user": "Bad", "secret": "goodpass1"}, {"user": "ok", "secret": "short"},
                {"user": "ok", "secret": "goodpass1", "ext": "12a"},
                {"user": "ok", "secret": "goodpass1", "kind": "robot"},
                {"user": "ok", "secret": "goodpass1", "outbound": "yes"},
                {"secret": "goodpass1"}):
        api.error("POST", "/api/v1/accounts", 400, "bad_request", body=bad, who=root)
    api.error("POST", "/api/v1/accounts", 415, "unsupported_media_type", body=json.dumps(acc),
              ctype="text/json", who=root)
    api.call("DELETE", "/api/v1/accounts/trunk1", who=root, expect=204)
    api.error("DELETE", "/api/v1/accounts/trunk1", 404, "not_found", who=root)
    check(e.srv.sql("SELECT count(*) FROM accounts WHERE user='trunk1'") == [(0,)], "deleted")


@api_test
def test_audit_log_and_site_import():
    e = setup()
    api, srv = e.api, e.srv
    root, adm = e.who["root"], e.tok["tadmin"]
    operator_file = os.path.join(srv.tmp, "site.json")
    with open(operator_file) as f:
        operator_text = f.read()
    # The site in force.
    check(api.get("/api/v1/site", who=root, expect=200).json == SITE, "GET site")
    # A good site: in force at once (a new queue and agent).
    site2 = json.loads(json.dumps(SITE))
    site2["queues"]["sales"] = {"strategy": "ringall"}
    site2["agents"]["bob"]["queues"] = ["support", "sales"]
    r = api.call("PUT", "/api/v1/site", json.dumps(site2, indent=1), who=root, expect=200)
    check(r.json == {"status": "imported"}, r)
    check(api.get("/api/v1/site", who=root, expect=200).json == site2, "the new site stored")
    names = [q["name"] for q in api.get("/api/v1/queues", who=root, expect=200).json["items"]]
    check(sorted(names) == ["sales", "support"], names)
    q = api.get("/api/v1/queues/sales", who=e.who["alice"], expect=200).json
    check(q["name"] == "sales" and q["agents"]["logged_out"] == 1, q)
    api.error("GET", "/api/v1/queues/nope", 404, "not_found", who=e.who["alice"])
    # A bad site: 422 with file:line, and the site in force untouched.
    bad = '{\n "hotlines": [\n  {"number": "7001", "flow": "line"}\n ],\n "flows": {\n  "line"' \
          ': {"start": "x", "nodes": {\n   "x": {"type": "hangup",}\n  }}\n }\n}\n'
    j = api.error("PUT", "/api/v1/site", 422, "invalid_site", body=bad, who=adm)
    check(re.search(r"site\.json:7: ", j["message"]), j)
    bad2 = json.loads(json.dumps(site2))
    bad2["flows"]["line"]["nodes"]["q"]["fallback"] = "nowhere"
    j = api.error("PUT", "/api/v1/site", 422, "invalid_site", body=json.dumps(bad2, indent=1),
                  who=adm)
    check(re.search(r"site\.json:\d+: ", j["message"]) and "nowhere" in j["message"], j)
    check(api.get("/api/v1/site", who=root, expect=200).json == site2, "old site untouched")
    names = [q["name"] for q in api.get("/api/v1/queues", who=root, expect=200).json["items"]]
    check(sorted(names) == ["sales", "support"], names)
    api.error("PUT", "/api/v1/site", 400, "bad_request", who=adm)
    api.error("PUT", "/api/v1/site", 403, "forbidden", body=json.dumps(SITE), who=e.who["sup"])
    api.error("PUT", "/api/v1/site", 403, "forbidden", body=json.dumps(SITE),
              who=e.tok["trc"])
    api.error("PUT", "/api/v1/site", 403, "csrf", body=json.dumps(SITE), who=root, csrf=False)
    # A site of more than 64 KiB (but below the 448 KiB site limit) is read
    # (here: spaces inside the JSON), and a token may import one.
    padded = "{" + " " * 100000 + json.dumps(site2)[1:]
    api.call("PUT", "/api/v1/site", padded, who=adm, expect=200)
    # Beyond the 448 KiB site limit: 413.  libre's HTTP server closes the
    # connection without a reply beyond its own 512 KiB buffer; laoyou
    # stays up either way.
    r = api.call("PUT", "/api/v1/site", b"{" + b" " * (480 * 1024) + b"}", who=adm)
    check(r.status == 413 and r.json["error"] == "too_large", f"480 KiB site: {r}")
    try:
        api.call("PUT", "/api/v1/site", b"{" + b" " * (1100 * 1024) + b"}", who=adm)
    except OSError:
        pass
    check(api.get("/health", expect=200).json["status"] == "ok", "up after 1.1 MiB")
    check(api.get("/api/v1/site", who=root, expect=200).json == site2, "site kept")
    # The operator's own site.json next to the database is not the API's.
    server_bug(os.path.exists(operator_file) and open(operator_file).read() == operator_text,
               "PUT /api/v1/site overwrote and deleted <data_dir>/site.json (the staging "
               "file has a fixed name in data_dir)")

    # The audit log: sign-ins, user adds (API and CLI), site imports.
    srv.cli("user", "add", "viacli", "--role", "agent", "--password", "viaclipass")
    api.call("POST", "/api/v1/users", {"name": "viaapi", "password": "viaapipass",
                                       "role": "agent"}, who=root, expect=201)
    api.login("viaapi", "viaapipass")
    api.login("viaapi", "wrongpass", expect=401)
    r = api.get("/api/v1/audit", who=root, expect=200).json
    items = r["items"]
    check(r["total"] == len(items) and items == sorted(items, key=lambda x: -x["id"]), r)
    have = [(x["who"], x["action"], x["detail"]) for x in items]

    def has(who, action, detail=""):
        check(any(w == who and a == action and detail in d for w, a, d in have),
              f"audit has no {who} {action} {detail!r}: {have}")

    for name in USERS:
        has(name, "login", "127.0.0.1")
    has("viaapi", "login")
    has("-", "login.failed", "viaapi")
    has("cli", "user.add", "viacli")
    has("root", "user.add", "viaapi role agent")
    has("root", "site.import")
    has("tadmin", "site.import", "100")
    check(sum(1 for w, a, _ in have if a == "site.import") == 2, have)
    # Filters and pages of the log.
    now = int(time.time() * 1000)
    r = api.get(f"/api/v1/audit?from={now + 60000}", who=root, expect=200).json
    check(r["total"] == 0 and r["items"] == [], r)
    r = api.get("/api/v1/audit?limit=3&offset=2", who=root, expect=200).json
    check([x["id"] for x in r["items"]] == [x["id"] for x in items[2:5]], r)
    r = api.get("/api/v1/audit?format=csv&limit=5", who=root, expect=200)
    lines = r.body.decode().split("\r\n")
    check(lines[0] == "id,ts_ms,who,action,detail" and len(lines) == 7 and lines[-1] == "", r)
    check(r.headers["content-type"] == "text/csv; charset=utf-8" and
          r.headers.get("content-disposition") == "attachment", r.raw_headers)


@api_test
def test_errors_methods_and_limits():
    e = setup(users=False)
    api, tok = e.api, e.tok["tadmin"]
    api.error("GET", "/api/v1/nothing", 404, "not_found")
    api.error("GET", "/api/v2/me", 404, "not_found")
    api.error("GET", "/api/v1/queues/", 404, "not_found", who=tok)
    api.error("GET", "/api/v1/agents/alice/state/x", 404, "not_found", who=tok)
    # A wrong method: 405 naming the methods (before authentication).
    no_allow = []
    for m, p, allow in (("DELETE", "/api/v1/me", "GET"), ("POST", "/api/v1/agents", "GET"),
                        ("GET", "/api/v1/login", "POST"),
                        ("GET", "/api/v1/agents/bob/state", "PUT"),
                        ("PATCH", "/api/v1/users/x", "DELETE"),
                        ("DELETE", "/api/v1/site", "GET, PUT"),
                        ("POST", "/health", None), ("PUT", "/metrics", None)):
        j = api.error(m, p, 405, "method_not_allowed", body={} if m != "GET" else None)
        if allow:
            check(j["message"] == f"{p} allows {allow}", j)
            r = api.call(m, p, body={} if m != "GET" else None)
            if r.headers.get("allow") != allow:
                no_allow.append(f"{m} {p} (Allow: {allow})")
    server_bug(not no_allow, "a 405 must carry an Allow header (RFC 9110 15.5.6); none on "
               + ", ".join(no_allow))
    api.error("POST", "/index.html", 405, "method_not_allowed", validate=False)
    api.call("GET", "/no-such-page.html", validate=False, expect=404)
    # Bodies: type, JSON, size.
    api.error("PUT", "/api/v1/agents/bob/state", 415, "unsupported_media_type",
              body="state=ready", ctype="application/x-www-form-urlencoded", who=tok)
    api.error("PUT", "/api/v1/agents/bob/state", 400, "bad_json", body="{state: ready}",
              who=tok)
    api.error("PUT", "/api/v1/agents/bob/state", 400, "bad_request", body="[1]", who=tok)
    api.error("PUT", "/api/v1/agents/bob/state", 400, "bad_request", body="", who=tok)
    api.error("PUT", "/api/v1/agents/bob/state", 400, "bad_request", body={"reason": "x"},
              who=tok)
    api.error("PUT", "/api/v1/agents/bob/state", 400, "bad_request",
              body={"state": "asleep"}, who=tok)
    api.error("PUT", "/api/v1/agents/nobody/state", 404, "not_found",
              body={"state": "not-ready"}, who=tok)
    api.error("PUT", "/api/v1/agents/bob/state", 413, "too_large",
              body={"state": "ready", "pad": "x" * 70000}, who=tok)
    api.error("POST", "/api/v1/login", 413, "too_large", body={"user": "x" * 70000})
    # Every route: too large a body is 413 (before anything else); a route
    # that reads a JSON body refuses other types with 415.
    # Files (a site, a POI set, a spoken note) may be up to 448 KiB.
    files = ("/api/v1/site", "/api/v1/pois", "/api/v1/booth/watch/{}/audio")
    for m, pat, role, scope in api_routes():
        if m == "GET":
            continue
        path = pat.replace("{}", "x")
        pad = 460 * 1024 if pat in files else 66000
        if pat == "/api/v1/site":   # its own test above
            continue
        api.error(m, path, 413, "too_large", body={"pad": "x" * pad}, who=tok)
    for path in ("/api/v1/login", "/api/v1/agents/bob/state", "/api/v1/calls/x/wrapup",
                 "/api/v1/click-to-call", "/api/v1/supervise", "/api/v1/accounts",
                 "/api/v1/users"):
        m = "PUT" if path.endswith("/state") else "POST"
        api.error(m, path, 415, "unsupported_media_type", body="{}", ctype="text/plain",
                  who=tok)
    # Every list checks its paging and time parameters.
    for path in ("/api/v1/wrapups", "/api/v1/cdr", "/api/v1/queue-log", "/api/v1/callbacks",
                 "/api/v1/accounts", "/api/v1/users", "/api/v1/audit", "/api/v1/kpi"):
        for q in ("limit=0", "offset=-1", "from=x", "to=2020-02-30T"):
            api.error("GET", f"{path}?{q}", 400, "bad_request", who=tok)
    # Ready needs the agent's phone registered.
    api.error("PUT", "/api/v1/agents/bob/state", 409, "phone_unregistered",
              body={"state": "ready"}, who=tok)
    r = api.call("PUT", "/api/v1/agents/bob/state", {"state": "not-ready", "reason": "lunch"},
                 who=tok, expect=200).json
    check(r["state"] == "not-ready" and r["reason"] == "lunch", r)
    r = api.call("PUT", "/api/v1/agents/bob/state", {"state": "logged-out"}, who=tok,
                 expect=200).json
    check(r["state"] == "logged-out", r)
    # Ids in paths.
    for p in ("/api/v1/recordings/abc", "/api/v1/recordings/0", "/api/v1/recordings/-1"):
        api.error("GET", p, 400, "bad_request", who=tok)
    api.error("GET", "/api/v1/recordings/12345", 404, "not_found", who=tok)
    api.error("POST", "/api/v1/callbacks/abc/done", 400, "bad_request", who=tok)
    api.error("POST", "/api/v1/callbacks/77/done", 404, "not_found", who=tok)
    api.error("GET", "/api/v1/queues/none", 404, "not_found", who=tok)
    # The events route is a WebSocket only.
    r = api.call("GET", "/api/v1/events", who=tok, expect=426)
    check(r.json["error"] == "upgrade_required", r)
    api.error("GET", "/api/v1/events", 400, "bad_request", who=tok,
              headers={"Upgrade": "websocket"})
    server_bug(r.headers.get("upgrade", "").lower() == "websocket",
               "GET /api/v1/events without Upgrade: a 426 must carry Upgrade: websocket "
               f"(RFC 9110 15.5.22); got headers {dict(r.headers)}")
    # HEAD answers like GET without a body (the next response on the same
    # connection must not be corrupted by one).
    s = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    s.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n"
              b"Connection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), data[:200])
    server_bug(rest.startswith(b"HTTP/1.1 200"),
               "HEAD /health: the reply carries the body (Content-Length bytes after the "
               f"headers), which breaks keep-alive (RFC 9110 9.3.2); got {rest[:80]!r}")


@api_test
def test_call_records_from_real_calls():
    e = setup()
    api, srv, sup = e.api, e.srv, e.who["sup"]
    # Two real calls: alice → bob (answered), alice → carol (busy).
    bob_port, carol_port = free_port(), free_port()
    bob = uas(srv.tmp, "bob-phone", "bob", bob_port, mode="answer")
    bob.start(f"127.0.0.1:{srv.sip_port}")
    carol = uas(srv.tmp, "carol-phone", "carol", carol_port, mode="busy")
    carol.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "bob", "bobpw", bob_port)[0] == 0, "bob registers")
    check(register(srv, srv.tmp, "carol", "carolpw", carol_port)[0] == 0, "carol registers")
    a = uac(srv.tmp, "call1", "alice", "alicepw", "1002", hold_ms=1500)
    a.start(f"127.0.0.1:{srv.sip_port}")
    # While it is up it is a call in progress.
    seen = []

    def in_progress():
        items = api.get("/api/v1/calls", who=sup, expect=200).json["items"]
        seen.extend(items)
        return any(c["state"] == "answered" for c in items)
    srv.wait_for(in_progress, timeout=10, what="the call in /api/v1/calls")
    c = next(c for c in seen if c["state"] == "answered")
    check(c["caller"] == "alice" and c["callee"] == "bob" and c["dialled"] == "1002" and
          c["answer_ms"] >= c["start_ms"] > 0, c)
    api.error("GET", "/api/v1/calls", 403, "forbidden", who=e.who["alice"])
    check(a.wait(30) == 0, "call 1: " + a.errors())
    check(bob.wait(30) == 0, "bob: " + bob.errors())
    b = uac(srv.tmp, "call2", "alice", "alicepw", "1003", expect=486)
    check(b.run(f"127.0.0.1:{srv.sip_port}") == 0, "call 2: " + b.errors())
    check(carol.wait(30) == 0, "carol: " + carol.errors())
    srv.wait_for(lambda: len(srv.cdrs()) >= 2, what="two call records")
    check(api.get("/api/v1/calls", who=sup, expect=200).json["items"] == [], "calls ended")

    r = api.get("/api/v1/cdr", who=sup, expect=200).json
    check(r["total"] == 2 and [x["dialled"] for x in r["items"]] == ["1003", "1002"], r)
    ans, busy = r["items"][1], r["items"][0]
    check(ans["disposition"] == "answered" and ans["caller"] == "alice" and
          ans["callee"] == "bob" and ans["duration_s"] >= 1 and ans["has_recording"] == 0 and
          ans["survey"] == -1, ans)
    check(busy["disposition"] == "busy" and busy["cause"] == 486, busy)
    r = api.get("/api/v1/cdr?caller=bob", who=sup, expect=200).json
    check(r["total"] == 1 and r["items"][0]["id"] == ans["id"], r)
    r = api.get("/api/v1/cdr?caller=alice", who=e.tok["tread"], expect=200).json
    check(r["total"] == 2, r)
    api.error("GET", f"/api/v1/recordings/{ans['id']}", 404, "not_found", who=sup)

    # Many more records (inserted) for filters and pages.
    con = sqlite3.connect(srv.db, timeout=5)
    base = 1577836800000                          # 2020-01-01T00:00:00Z
    for i in range(30):
        con.execute("INSERT INTO cdr(callid,caller,callee,dialled,start_ms,ring_ms,answer_ms,"
                    "end_ms,duration_s,billable_s,disposition,cause,reason,hangup_by,codec,"
                    "pkts_a2b,bytes_a2b,pkts_b2a,bytes_b2a,lost_a2b,lost_b2a,hotline,language,"
                    "path,survey,recording) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,0,0,0,0,"
                    "?,?,?,?,?)",
                    (f"synth-{i}", "citizen" if i % 3 else "elder", "alice", "12345",
                     base + i * 3600000, base + i * 3600000, base + i * 3600000 + 1000,
                     base + i * 3600000 + 61000, 61, 60, "answered", 200,
                     'Said "hi", then bye', "caller", "PCMA", "12345" if i < 20 else "968888",
                     "zh", "welcome>menu", i % 5 + 1, ""))
    wav = os.path.join(srv.tmp, "rec.wav")
    with open(wav, "wb") as f:
        f.write(b"RIFF\x24\0\0\0WAVEfmt " + bytes(24) + b"data\0\0\0\0")
    con.execute("UPDATE cdr SET recording=? WHERE callid='synth-0'", (wav,))
    con.execute("UPDATE cdr SET recording=? WHERE callid='synth-1'", (wav + ".gone",))
    con.commit()
    con.close()
    r = api.get("/api/v1/cdr", who=sup, expect=200).json
    check(r["total"] == 32 and len(r["items"]) == 32, r["total"])
    r = api.get("/api/v1/cdr?hotline=12345", who=sup, expect=200).json
    check(r["total"] == 20, r["total"])
    r = api.get("/api/v1/cdr?hotline=12345&caller=elder", who=sup, expect=200).json
    check(r["total"] == 7 and all(x["caller"] == "elder" for x in r["items"]), r["total"])
    r = api.get(f"/api/v1/cdr?from={base + 10 * 3600000}&to={base + 15 * 3600000}",
                who=sup, expect=200).json
    check(r["total"] == 5 and [x["callid"] for x in r["items"]] ==
          [f"synth-{i}" for i in (14, 13, 12, 11, 10)], r)
    r = api.get("/api/v1/cdr?from=2019-12-01&to=2020-01-03", who=sup, expect=200).json
    check(r["total"] == 30, r["total"])
    # Dates are the server's local time (the same zone as ours).
    noon = int(time.mktime(time.strptime("2020-01-01T12:00:00", "%Y-%m-%dT%H:%M:%S")) * 1000)
    r = api.get("/api/v1/cdr?from=2019-12-01T00:00:00&to=2020-01-01T12:00:00", who=sup,
                expect=200).json
    want = sum(1 for i in range(30) if base + i * 3600000 < noon)
    check(r["total"] == want, f"{r['total']} records before local noon, expected {want}")
    r = api.get("/api/v1/cdr?hotline=12345&limit=7&offset=7", who=sup, expect=200).json
    check(r["total"] == 20 and r["limit"] == 7 and r["offset"] == 7 and
          [x["callid"] for x in r["items"]] == [f"synth-{i}" for i in range(12, 5, -1)], r)
    r = api.get("/api/v1/cdr?hotline=12345&offset=18", who=sup, expect=200).json
    check(len(r["items"]) == 2 and r["total"] == 20, r)
    r = api.get("/api/v1/cdr?hotline=12345&offset=500", who=sup, expect=200).json
    check(r["items"] == [] and r["total"] == 20, r)
    for q in ("limit=0", "limit=1001", "limit=ten", "limit=", "offset=-1", "offset=1.5",
              "from=yesterday", "to=2020-13-45", "from=2020-01-01T25:00:00"):
        j = api.error("GET", "/api/v1/cdr?" + q, 400, "bad_request", who=sup)
        check(q.split("=")[0] in j["message"], j)
    # CSV: a header of the JSON's fields, one CRLF line per record.
    r = api.get("/api/v1/cdr?hotline=968888&format=csv&limit=3", who=sup, expect=200)
    check(r.headers["content-type"] == "text/csv; charset=utf-8", r.headers)
    lines = r.body.decode().split("\r\n")
    cols = list(doc().resolve({"$ref": "#/components/schemas/CdrRecord"})["properties"])
    check(lines[0].split(",") == cols, f"CSV header {lines[0]} vs {cols}")
    check(len(lines) == 5 and lines[-1] == "", lines)
    top = srv.sql("SELECT max(id) FROM cdr WHERE hotline='968888'")[0][0]
    check(lines[1].startswith(f"{top},"), lines[1])
    check('"synth-29","citizen","alice","12345"' in lines[1] and
          '"Said ""hi"", then bye"' in lines[1], lines[1])
    # Recordings of records.
    rid = srv.sql("SELECT id FROM cdr WHERE callid='synth-0'")[0][0]
    r = api.get(f"/api/v1/recordings/{rid}", who=sup, expect=200)
    check(r.headers["content-type"] == "audio/wav" and r.body.startswith(b"RIFF"), r)
    check(srv.sql("SELECT who, detail FROM audit WHERE action='recording.download'") ==
          [("sup", f"call {rid}")], "recording download audited")
    gone = srv.sql("SELECT id FROM cdr WHERE callid='synth-1'")[0][0]
    j = api.error("GET", f"/api/v1/recordings/{gone}", 404, "not_found", who=sup)
    check("retention" in j["message"], j)
    api.error("GET", f"/api/v1/recordings/{rid}", 403, "forbidden", who=e.who["bob"])
    # Metrics count the real calls.
    fams = parse_prometheus(api.get("/metrics", expect=200).body.decode())
    check(fams["laoyou_calls_total"]["samples"][0][2] == 2, fams["laoyou_calls_total"])
    check(fams["laoyou_rtp_packets_total"]["samples"][0][2] >= 0, fams)


@api_test
def test_queue_log_kpi_callbacks_wrapups():
    e = setup()
    api, srv, sup = e.api, e.srv, e.who["sup"]
    con = sqlite3.connect(srv.db, timeout=5)
    t = 1583118000000                            # 2020-03-02T03:00Z
    rows = [("c1", "ENTER", "", 0, 0), ("c2", "ENTER", "", 0, 0), ("c3", "ENTER", "", 0, 0),
            ("c4", "ENTER", "", 0, 0), ("c5", "ENTER", "", 0, 0),
            ("c1", "CONNECT", "a1", 4000, 0), ("c2", "CONNECT", "a1", 15000, 0),
            ("c3", "CONNECT", "a2", 25000, 0), ("c4", "ABANDON", "", 3000, 0),
            ("c5", "ABANDON", "", 40000, 0), ("c1", "COMPLETEAGENT", "a1", 4000, 60000),
            ("c2", "COMPLETECALLER", "a1", 15000, 120000),
            ("c3", "COMPLETEAGENT", "a2", 25000, 90000)]
    for i, (cid, ev, agent, wait, talk) in enumerate(rows):
        con.execute("INSERT INTO queue_log(ts_ms,callid,queue,agent,event,wait_ms,talk_ms,"
                    "position,hotline) VALUES(?,?,?,?,?,?,?,?,?)",
                    (t + i * 1000, cid, "kq", agent, ev, wait, talk, 1, "7777"))
    con.execute("INSERT INTO queue_log(ts_ms,callid,queue,agent,event,wait_ms,talk_ms,"
                "position,hotline) VALUES(?,?,?,?,?,?,?,?,?)",
                (t, "o1", "other", "", "ENTER", 0, 0, 1, "8888"))
    for i, (num, status) in enumerate((("13800000001", "open"), ("13800000002", "done"),
                                       ("13800000003", "open"))):
        con.execute("INSERT INTO callbacks(created_ms,callid,caller,hotline,number,recording,"
                    "status) VALUES(?,?,?,?,?,?,?)",
                    (t + i, f"cb{i}", "caller", "7000" if i else "12345", num, "missed",
                     status))
    # A call alice had, for her wrap-up below.
    con.execute("INSERT INTO cdr(callid,caller,callee,dialled,start_ms,ring_ms,answer_ms,"
                "end_ms,duration_s,billable_s,disposition,cause,reason,hangup_by,codec,"
                "pkts_a2b,bytes_a2b,pkts_b2a,bytes_b2a,lost_a2b,lost_b2a) VALUES(?,?,?,?,?,"
                "?,?,?,0,0,'answered',200,'OK','callee','PCMA',0,0,0,0,0,0)",
                ("abc123@127.0.0.1", "caller", "alice", "7000", t, t, t, t))
    con.commit()
    con.close()
    win = f"from={t - 1000}&to={t + 3600000}"

    r = api.get(f"/api/v1/queue-log?{win}", who=sup, expect=200).json
    check(r["total"] == 14, r["total"])
    r = api.get(f"/api/v1/queue-log?queue=kq&agent=a1", who=sup, expect=200).json
    check(r["total"] == 4 and {x["agent"] for x in r["items"]} == {"a1"}, r)
    r = api.get(f"/api/v1/queue-log?hotline=7777&limit=2", who=sup, expect=200).json
    check(r["total"] == 13 and [x["event"] for x in r["items"]] ==
          ["COMPLETEAGENT", "COMPLETECALLER"], r)
    r = api.get("/api/v1/queue-log?format=csv&queue=other", who=sup, expect=200)
    check(r.body.decode().split("\r\n")[0] ==
          ",".join(doc().resolve({"$ref": "#/components/schemas/QueueLogEntry"})
                   ["properties"]), r)
    api.error("GET", "/api/v1/queue-log", 403, "forbidden", who=e.who["alice"])

    def kpi(q, who=sup):
        return api.get(f"/api/v1/kpi?queue=kq&{win}{q}", who=who, expect=200).json

    def near(k, want):
        # Printed with one or two decimals: within the last digit.
        return set(k) == set(want) and all(abs(k[x] - want[x]) <= 0.1 for x in want)

    k = kpi("")
    check(near(k, {"offered": 4, "answered": 3, "abandoned": 1, "short_abandoned": 1,
                   "timeouts": 0, "connect_rate": 75.0, "service_level": 50.0,
                   "asa_s": 44 / 3, "aht_s": 90.0, "longest_wait_s": 40.0, "occupancy": 0.0}), k)
    check(kpi("&sl=30")["service_level"] == 75.0, "sl=30")
    k2 = kpi("&sl_abandons=ignore")
    check(abs(k2["service_level"] - 200 / 3) <= 0.01, f"sl_abandons=ignore: {k2}")
    # The API and `laoyou kpi` show the same figures (kpi.h: "so the CLI,
    # the API and the wallboard never disagree").
    for q, args in (("", []), ("&sl_abandons=ignore", ["--sl-abandons", "ignore"])):
        out = srv.cli("kpi", "--queue", "kq", "--from", "2020-03-01", "--to", "2020-03-04",
                      *args).stdout
        k = api.get("/api/v1/kpi?queue=kq&from=2020-03-01&to=2020-03-04" + q, who=sup,
                    expect=200).json
        cli = {"connect_rate": r"connect rate\s+([0-9.]+)%",
               "service_level": r"service level\s+([0-9.]+)%",
               "asa_s": r"ASA\s+([0-9.]+)s", "aht_s": r"AHT\s+([0-9.]+)s",
               "longest_wait_s": r"longest wait\s+([0-9.]+)s"}
        for key, rx in cli.items():
            m = re.search(rx, out)
            check(m, f"laoyou kpi: no {key} in {out}")
            server_bug(float(m.group(1)) == k[key],
                       f"GET /api/v1/kpi?queue=kq{q}: {key} is {k[key]} but `laoyou kpi` "
                       f"prints {m.group(1)} (the API's JSON truncates where printf rounds)")
    k = kpi("&short=0")
    check(k["offered"] == 5 and k["abandoned"] == 2 and k["short_abandoned"] == 0 and
          k["connect_rate"] == 60.0, k)
    k = kpi("&agent=a1")
    check(k["offered"] == 2 and k["answered"] == 2, k)
    k = api.get(f"/api/v1/kpi?hotline=7777&{win}", who=e.tok["tread"], expect=200).json
    check(k["offered"] == 4 and k["answered"] == 3, k)
    k = api.get("/api/v1/kpi?from=2020-03-01&to=2020-03-04", who=sup, expect=200).json
    check(k["offered"] == 5 and k["answered"] == 3, k)    # with queue "other"
    k = api.get("/api/v1/kpi?queue=nope", who=sup, expect=200).json
    check(k["offered"] == 0 and k["connect_rate"] == 0.0, k)
    for q in ("sl=0", "sl=3601", "sl=x", "short=-1", "short=3601", "sl_abandons=maybe",
              "from=now", "limit=0"):
        j = api.error("GET", "/api/v1/kpi?" + q, 400, "bad_request", who=sup)
        check(q.split("=")[0] in j["message"], j)
    api.error("GET", "/api/v1/kpi", 403, "forbidden", who=e.who["bob"])
    # The queues' live view carries today's figures.
    q = api.get("/api/v1/queues/support", who=e.who["alice"], expect=200).json
    check(q["waiting"] == 0 and q["agents"] == {"ready": 0, "busy": 0, "not_ready": 0,
                                                "logged_out": 2}, q)

    # Call-back tasks: the open ones; closing one.
    alice = e.who["alice"]
    r = api.get("/api/v1/callbacks", who=alice, expect=200).json
    check([x["number"] for x in r["items"]] == ["13800000001", "13800000003"] and
          r["total"] == 2, r)
    r = api.get("/api/v1/callbacks?hotline=7000", who=alice, expect=200).json
    check([x["number"] for x in r["items"]] == ["13800000003"], r)
    first = api.get("/api/v1/callbacks", who=alice).json["items"][0]["id"]
    api.error("POST", f"/api/v1/callbacks/{first}/done", 403, "forbidden",
              who=e.tok["tread"])
    r = api.call("POST", f"/api/v1/callbacks/{first}/done", who=alice, expect=200).json
    check(r == {"id": first, "status": "done"}, r)
    api.error("POST", f"/api/v1/callbacks/{first}/done", 404, "not_found", who=alice)
    done = srv.sql("SELECT id FROM callbacks WHERE status='done' AND callid='cb1'")[0][0]
    api.error("POST", f"/api/v1/callbacks/{done}/done", 404, "not_found", who=alice)
    check(api.get("/api/v1/callbacks", who=alice).json["total"] == 1, "one open task left")

    # Wrap-ups: by agents only, listed for supervisors.
    cid = "abc123@127.0.0.1"
    path = "/api/v1/calls/" + urllib.parse.quote(cid, safe="") + "/wrapup"
    r = api.call("POST", path, {"category": "complaint", "notes": "noisy neighbours"},
                 who=alice, expect=201).json
    check(r == {"call": cid, "agent": "alice", "category": "complaint"}, r)
    for bad in ({}, {"category": ""}, {"category": "x" * 65}, {"category": "c", "ready": 1},
                {"category": "c", "notes": "n" * 4001}):
        api.error("POST", path, 400, "bad_request", body=bad, who=alice)
    api.error("POST", path, 403, "forbidden", body={"category": "c"}, who=e.tok["tcontrol"])
    api.error("POST", path, 403, "forbidden", body={"category": "c"}, who=e.who["root"])
    r = api.get("/api/v1/wrapups", who=sup, expect=200).json
    check(r["total"] == 1 and r["items"][0]["callid"] == cid and
          r["items"][0]["notes"] == "noisy neighbours", r)
    r = api.get("/api/v1/wrapups?agent=bob", who=sup, expect=200).json
    check(r["total"] == 0, r)
    r = api.get("/api/v1/wrapups?caller=" + urllib.parse.quote(cid), who=sup, expect=200).json
    check(r["total"] == 1, r)
    api.error("GET", "/api/v1/wrapups", 403, "forbidden", who=alice)
    # A wrap-up names a call that laoyou had: an unknown Call-ID is 404.
    r = api.call("POST", "/api/v1/calls/no-such-call/wrapup", {"category": "x"}, who=alice)
    server_bug(r.status == 404, "POST /api/v1/calls/no-such-call/wrapup (a Call-ID no call "
               f"ever had): expected 404 not_found, got {r.status} (the wrap-up is stored)")


def parse_prometheus(text):
    """The text exposition format, strictly: # HELP / # TYPE before a
    family's samples, each family's lines together, label values escaped."""
    fams, order, current = {}, [], None
    name_rx = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
    check(text.endswith("\n"), "the exposition ends with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"/metrics line {n}: {line!r}"
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = parts[2]
                check(name_rx.fullmatch(fam), where)
                f = fams.setdefault(fam, {"type": None, "help": None, "samples": []})
                if fam != current:
                    check(fam not in order, f"{where}: family {fam} interleaved")
                    order.append(fam)
                    current = fam
                if parts[1] == "TYPE":
                    check(f["type"] is None and not f["samples"], f"{where}: TYPE late/twice")
                    check(len(parts) == 4 and parts[3] in ("counter", "gauge", "histogram",
                                                           "summary", "untyped"), where)
                    f["type"] = parts[3]
                else:
                    check(f["help"] is None, f"{where}: HELP twice")
                    f["help"] = parts[3] if len(parts) > 3 else ""
            continue
        m = name_rx.match(line)
        check(m, where)
        name, i, labels = m.group(0), m.end(), {}
        if i < len(line) and line[i] == "{":
            i += 1
            while line[i] != "}":
                lm = name_rx.match(line, i)
                check(lm and line[lm.end():lm.end() + 2] == '="', f"{where}: label")
                key, i, val = lm.group(0), lm.end() + 2, ""
                while True:
                    check(i < len(line), f"{where}: unterminated label value")
                    c = line[i]
                    if c == "\\":
                        nxt = line[i + 1:i + 2]
                        check(nxt in ('\\', '"', 'n'), f"{where}: bad escape")
                        val += "\n" if nxt == "n" else nxt
                        i += 2
                    elif c == '"':
                        i += 1
                        break
                    else:
                        val += c
                        i += 1
                labels[key] = val
                check(i < len(line) and line[i] in ",}", f"{where}: after label {key}")
                if line[i] == ",":
                    i += 1
            i += 1
        rest = line[i:].split()
        check(line[i:i + 1] == " " and 1 <= len(rest) <= 2, f"{where}: value")
        try:
            value = float(rest[0])
        except ValueError:
            raise TestFailure(f"{where}: value {rest[0]!r}")
        fam = name
        if fam not in fams:
            for suf in ("_bucket", "_sum", "_count"):
                if name.endswith(suf) and name[:-len(suf)] in fams:
                    fam = name[:-len(suf)]
        check(fam in fams and fams[fam]["type"], f"{where}: sample before its # TYPE")
        if fam != current:
            check(fam not in order, f"{where}: family {fam} interleaved")
            order.append(fam)
            current = fam
        if fams[fam]["type"] == "counter":
            check(value >= 0, f"{where}: a negative counter")
        fams[fam]["samples"].append((name, labels, value))
    return fams


@api_test
def test_metrics_prometheus_format():
    e = setup(users=False)
    api, srv = e.api, e.srv
    r = api.get("/metrics", expect=200)
    check(r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers)
    fams = parse_prometheus(r.body.decode())
    want = {"laoyou_active_calls": "gauge", "laoyou_calls_total": "counter",
            "laoyou_registrations": "gauge", "laoyou_rtp_ports_in_use": "gauge",
            "laoyou_rtp_packets_total": "counter", "laoyou_rtp_lost_total": "counter",
            "laoyou_http_requests_total": "counter", "laoyou_event_clients": "gauge",
            "laoyou_queue_waiting": "gauge", "laoyou_queue_longest_wait_seconds": "gauge",
            "laoyou_agents": "gauge"}
    check({k: v["type"] for k, v in fams.items()} == want, fams.keys())
    for k, f in fams.items():
        check(f["help"], f"{k} has no HELP")
        if k.endswith("_total"):
            check(f["type"] == "counter", k)
    check(fams["laoyou_queue_waiting"]["samples"] == [("laoyou_queue_waiting",
                                                        {"queue": "support"}, 0.0)], fams)
    agents = {s[1]["state"]: s[2] for s in fams["laoyou_agents"]["samples"]}
    check(agents == {"logged_out": 3.0, "ready": 0.0, "not_ready": 0.0, "reserved": 0.0,
                     "on_call": 0.0, "wrap_up": 0.0}, agents)
    n1 = fams["laoyou_http_requests_total"]["samples"][0][2]
    api.get("/health", expect=200)
    api.call("PUT", "/api/v1/agents/bob/state", {"state": "not-ready"}, who=e.tok["tcontrol"],
             expect=200)
    fams = parse_prometheus(api.get("/metrics", expect=200).body.decode())
    check(fams["laoyou_http_requests_total"]["samples"][0][2] >= n1 + 3, "requests counted")
    agents = {s[1]["state"]: s[2] for s in fams["laoyou_agents"]["samples"]}
    check(agents["not_ready"] == 1.0 and agents["logged_out"] == 2.0, agents)
    # Metrics need no credentials, and answer GET only.
    api.error("POST", "/metrics", 405, "method_not_allowed", body={})
    # A queue name that needs escaping in a label: either the site refuses
    # it, or the exposition stays valid.
    site = json.loads(json.dumps(SITE))
    odd = 'q"1\\x'
    site["queues"][odd] = {"strategy": "ringall"}
    r = api.call("PUT", "/api/v1/site", json.dumps(site), who=e.tok["tadmin"])
    if r.status == 200:
        text = api.get("/metrics", expect=200).body.decode()
        try:
            fams = parse_prometheus(text)
            labels = [s[1].get("queue") for s in fams["laoyou_queue_waiting"]["samples"]]
            server_bug(odd in labels, f"/metrics: queue label {odd!r} not in {labels}")
        except TestFailure as ex:
            server_bug(False, "/metrics: label values are not escaped (queue name "
                       f"{odd!r} from an accepted site breaks the exposition: {ex})")
    else:
        check(r.status == 422, r)


@api_test
def test_events_websocket_by_role():
    e = setup()
    api, srv = e.api, e.srv
    # The handshake needs credentials as any route does.
    ws = WebSocket(api.port, "/api/v1/events")
    check(ws.status == 401, f"anonymous WebSocket: {ws.status}")
    ws = WebSocket(api.port, "/api/v1/events?token=" + "2" * 64)
    check(ws.status == 401, f"bad token WebSocket: {ws.status}")
    # control implies read: such a token may listen.
    ws = WebSocket(api.port, "/api/v1/events",
                   {"Authorization": "Bearer " + e.tok["tcontrol"].token})
    check(ws.status == 101, f"a control token: {ws.status}")
    ws.close()
    clients = []
    try:
        sup = WebSocket(api.port, "/api/v1/events",
                        {"Cookie": "laoyou_session=" + e.who["sup"].cookie})
        alice = WebSocket(api.port, "/api/v1/events",
                          {"Cookie": "laoyou_session=" + e.who["alice"].cookie})
        tok = WebSocket(api.port, "/api/v1/events?token=" + e.tok["tread"].token)
        clients = [sup, alice, tok]
        for c in clients:
            check(c.status == 101, f"WebSocket handshake: {c.status}")
        fams = parse_prometheus(api.get("/metrics").body.decode())
        check(fams["laoyou_event_clients"]["samples"][0][2] == 3, "three event clients")
        # The supervisor sets bob's state: supervisors and tokens see it.
        api.call("PUT", "/api/v1/agents/bob/state", {"state": "not-ready", "reason": "lunch"},
                 who=e.who["sup"], expect=200)
        is_bob = lambda ev: ev["type"] == "agent.state" and ev["data"]["agent"] == "bob"
        ev, _ = sup.wait_event(is_bob, 5, "bob's agent.state (supervisor)")
        check(ev["data"] == {"agent": "bob", "state": "not-ready", "reason": "lunch"}, ev)
        tok.wait_event(is_bob, 5, "bob's agent.state (token)")
        # alice changes her own state: she sees hers — and never saw bob's.
        api.call("PUT", "/api/v1/agents/alice/state", {"state": "not-ready"},
                 who=e.who["alice"], expect=200)
        is_alice = lambda ev: ev["type"] == "agent.state" and ev["data"]["agent"] == "alice"
        ev, seen = alice.wait_event(is_alice, 5, "alice's own agent.state")
        check(ev["data"]["state"] == "not-ready" and ev["data"]["reason"] == "break", ev)
        check(not any(is_bob(x) for x in seen), f"an agent saw another's state: {seen}")
        sup.wait_event(is_alice, 5, "alice's agent.state (supervisor)")
        # The KPI tick (every 5 s) comes to everybody.
        ev, _ = tok.wait_event(lambda ev: ev["type"] == "kpi.tick", 6, "kpi.tick")
        check([q["name"] for q in ev["data"]["items"]] == ["support"], ev)
        more = alice.events(0.3)
        check(not any(is_bob(x) for x in more), f"an agent saw another's state: {more}")
        api.call("PUT", "/api/v1/agents/bob/state", {"state": "logged-out"},
                 who=e.tok["tcontrol"], expect=200)
        sup.wait_event(lambda ev: is_bob(ev) and ev["data"]["state"] == "logged-out", 5,
                       "bob logged out")
        api.call("PUT", "/api/v1/agents/alice/state", {"state": "logged-out"},
                 who=e.who["alice"], expect=200)
        ev, seen = alice.wait_event(lambda ev: is_alice(ev) and
                                    ev["data"]["state"] == "logged-out", 5, "alice logged out")
        check(not any(is_bob(x) for x in seen), f"an agent saw another's state: {seen}")
        # A caller in line: supervisors see who; an agent it is not about
        # sees the queue's news without the caller.
        citizen = ivr_caller(srv.tmp, "in-line", "caller", "callerpw", "7000",
                             [("pause", 1500), ("bye",)])
        check(citizen.run(f"127.0.0.1:{srv.sip_port}") == 0, "caller: " + citizen.errors())
        is_q = lambda ev: ev["type"] == "queue"
        ev, _ = sup.wait_event(is_q, 5, "queue news (supervisor)")
        check(ev["data"]["queue"] == "support" and ev["data"]["caller"] == "caller" and
              ev["data"]["hotline"] == "7000", ev)
        ev, _ = alice.wait_event(is_q, 5, "queue news (alice)")
        check(set(ev["data"]) == {"queue", "event", "waiting"}, f"trimmed for agents: {ev}")
        ev, _ = sup.wait_event(lambda ev: ev["type"] == "call.ended", 5, "call.ended")
        check(ev["data"]["caller"] == "caller" and ev["data"]["dialled"] == "7000", ev)
        rest = alice.events(0.3)
        check(not any(x["type"].startswith("call.") for x in rest),
              f"an agent saw another's call: {rest}")
    finally:
        for c in clients:
            c.close()
    srv.wait_for(lambda: parse_prometheus(api.get("/metrics").body.decode())
                 ["laoyou_event_clients"]["samples"][0][2] == 0, what="clients gone")


@api_test
def test_click_to_call_toll_fraud_supervision_wrapup():
    e = setup()
    api, srv = e.api, e.srv
    alice, sup = e.who["alice"], e.who["sup"]
    # alice's account may not call outside numbers: refused, and audited.
    for number in ("013800138000", "+8613800138000", "5000"):
        j = api.error("POST", "/api/v1/click-to-call", 403, "forbidden",
                      body={"number": number}, who=alice)
        check("outside" in j["message"], j)
    check(len(srv.sql("SELECT * FROM audit WHERE action='click-to-call.refused' "
                      "AND who='alice'")) == 3, "refusals audited")
    for bad in ({}, {"number": ""}, {"number": "12a"}, {"number": 1002},
                {"number": "1" * 64}):
        api.error("POST", "/api/v1/click-to-call", 400, "bad_request", body=bad, who=alice)
    # No phone of one's own: a user without an agent.
    api.error("POST", "/api/v1/click-to-call", 403, "forbidden", body={"number": "1002"},
              who=e.who["root"])
    api.error("POST", "/api/v1/click-to-call", 403, "forbidden", body={"number": "1002"},
              who=e.tok["tcontrol"])
    # Our own extension, with alice's phone not registered: 409.
    api.error("POST", "/api/v1/click-to-call", 409, "not_possible", body={"number": "1002"},
              who=alice)
    # Registered: laoyou rings alice's phone (202), which answers.  The
    # phone answers two calls: this one, then one from the queue.
    port = free_port()
    phone = uas(srv.tmp, "alice-phone", "alice", port, mode="answer", calls=2)
    phone.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "alice", "alicepw", port)[0] == 0, "alice registers")
    ws = WebSocket(api.port, "/api/v1/events", {"Cookie": "laoyou_session=" + alice.cookie})
    try:
        r = api.call("POST", "/api/v1/click-to-call", {"number": "1002"}, who=alice,
                     expect=202)
        check(r.json == {"status": "ringing your phone", "number": "1002"}, r)
        # alice's client sees her own call.
        ev, _ = ws.wait_event(lambda ev: ev["type"] == "call.ended", 5, "alice's call")
        check(ev["data"]["callee"] == "alice" or ev["data"]["caller"] == "alice", ev)
    finally:
        ws.close()
    check(srv.sql("SELECT detail FROM audit WHERE action='click-to-call'") ==
          [("alice to 1002",)], "click-to-call audited")
    # Ready now works for alice (her phone is registered).
    r = api.call("PUT", "/api/v1/agents/alice/state", {"state": "ready"}, who=alice,
                 expect=200)
    check(r.json["state"] == "ready", r)
    # Supervision: the checks before any call is placed.
    for bad in ({}, {"agent": "alice"}, {"agent": "alice", "mode": "spy"}):
        api.error("POST", "/api/v1/supervise", 400, "bad_request", body=bad, who=sup)
    api.error("POST", "/api/v1/supervise", 404, "not_found",
              body={"agent": "nobody", "mode": "listen"}, who=sup)
    api.error("POST", "/api/v1/supervise", 403, "forbidden",
              body={"agent": "alice", "mode": "listen"}, who=e.who["root"])
    api.error("POST", "/api/v1/supervise", 409, "conflict",
              body={"agent": "alice", "mode": "whisper"}, who=sup)
    api.error("POST", "/api/v1/supervise", 403, "forbidden",
              body={"agent": "alice", "mode": "listen"}, who=alice)
    # Supervision of a real call: a citizen in line is put through to
    # alice; carol (sup) listens from her own phone.
    cport = free_port()
    carol_phone = uas(srv.tmp, "carol-phone", "carol", cport, mode="answer")
    carol_phone.start(f"127.0.0.1:{srv.sip_port}")
    check(register(srv, srv.tmp, "carol", "carolpw", cport)[0] == 0, "carol registers")
    c = ivr_caller(srv.tmp, "citizen", "caller", "callerpw", "7000", [("pause", 5000), ("bye",)])
    c.start(f"127.0.0.1:{srv.sip_port}")
    on_call = []

    def alice_on_call():
        items = api.get("/api/v1/agents", who=sup, expect=200).json["items"]
        on_call[:] = [a for a in items if a["id"] == "alice" and a["state"] == "on-call"]
        return on_call
    srv.wait_for(alice_on_call, timeout=10, what="alice on a queue call")
    check(on_call[0]["queue"] == "support" and on_call[0]["call"], on_call)
    callid = on_call[0]["call"]
    calls = api.get("/api/v1/calls", who=sup, expect=200).json["items"]
    check(any(x["id"] == callid and x["hotline"] == "7000" for x in calls), calls)
    r = api.call("POST", "/api/v1/supervise", {"agent": "alice", "mode": "listen"}, who=sup,
                 expect=202)
    check(r.json == {"status": "ringing your phone", "agent": "alice", "mode": "listen"}, r)
    check(c.wait(30) == 0, "caller: " + c.errors())
    check(phone.wait(30) == 0, "alice's phone: " + phone.errors())
    check("carol listens" in srv.logtext(), "supervision not logged")
    # The supervised call ended: so does the supervisor's (as with *65).
    deadline = time.time() + 5
    while time.time() < deadline and api.get("/api/v1/calls", who=sup).json["items"]:
        time.sleep(0.1)
    left = api.get("/api/v1/calls", who=sup, expect=200).json["items"]
    server_bug(not left, "POST /api/v1/supervise: when the supervised call ends, the "
               "supervisor's call stays up (5 s later GET /api/v1/calls still lists "
               f"{[(x['dialled'], x['state']) for x in left]}); *65 hangs it up "
               "(ivr.c sup_event), the API's op does not")
    if left:
        carol_phone.kill()
    else:
        check(carol_phone.wait(10) == 0, "carol's phone: " + carol_phone.errors())
    check(srv.sql("SELECT who, detail FROM audit WHERE action='supervise'") ==
          [("sup", "listen alice")], "supervision audited")
    # alice wraps the call up and is ready again at once.
    path = "/api/v1/calls/" + urllib.parse.quote(callid, safe="") + "/wrapup"
    r = api.call("POST", path, {"category": "enquiry", "notes": "bus routes", "ready": True},
                 who=alice, expect=201)
    check(r.json == {"call": callid, "agent": "alice", "category": "enquiry"}, r)
    a = [x for x in api.get("/api/v1/agents", who=alice, expect=200).json["items"]
         if x["id"] == "alice"]
    check(a and a[0]["state"] == "ready", a)
    w = api.get("/api/v1/wrapups?caller=" + urllib.parse.quote(callid, safe=""), who=sup,
                expect=200).json
    check(w["total"] == 1 and w["items"][0]["notes"] == "bus routes", w)
