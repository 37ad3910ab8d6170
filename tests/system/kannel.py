"""Kannel with its fake SMSC, for the SMS tests: bearerbox, smsbox and
fakesmsc (Debian `kannel` and `kannel-extras`) on ephemeral ports of
127.0.0.1, with a kannel.conf of their own in a temp dir, so the Debian
package's own service (ports 13000/13013, /etc/kannel) is never what a
test talks to.  fakesmsc plays the phones: it prints every message
bearerbox hands it, and bearerbox's fake SMSC then reports it "delivered
to the SMSC" (8) and "delivered" (1) to the dlr-url of the message.

    k = Kannel(tmp).start()
    laoyou settings: sms_url = k.sendsms_url
    k.wait_message(lambda m: m["to"] == "13800001111")
    k.stop()
"""
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

from harness import spawn, free_port, check, TestFailure

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

# fakesmsc: "... DEBUG: Got message 3: <12345 13800001111 ucs-2 O%60Y%7D>"
GOT = re.compile(r"Got message (\d+): <(\S*) (\S+) (\S+) (.*)>$")


def decode(kind, data):
    """A message's text as fakesmsc prints it: "text" is plain, "data" and
    "ucs-2" are URL-encoded (UCS-2 big-endian for the latter)."""
    if kind == "text":
        return data
    raw = urllib.parse.unquote_to_bytes(data.replace("+", "%20"))
    return raw.decode("utf-16-be") if kind == "ucs-2" else raw.decode("latin-1")


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Kannel:
    """bearerbox + smsbox + fakesmsc with a config in tmp; stopped by PID."""

    def __init__(self, tmp, user="laoyou", password="kannel-pw"):
        for path in (BEARERBOX, SMSBOX, FAKESMSC):
            check(os.access(path, os.X_OK), f"{path} is missing: install "
                  "Debian's kannel and kannel-extras (scripts/deps)")
        self.dir = os.path.join(tmp, "kannel")
        os.makedirs(self.dir, exist_ok=True)
        self.user, self.password = user, password
        self.admin_password = "adm-" + os.urandom(4).hex()
        # A name nobody else's Kannel has: status must show it.
        self.smsc_id = "fake-" + os.urandom(3).hex()
        self.conf = os.path.join(self.dir, "kannel.conf")
        self.procs = {}
        self.fake_out = os.path.join(self.dir, "fakesmsc.out")
        self._ports()

    def _ports(self):
        stream = socket.SOCK_STREAM
        self.admin_port = free_port(stream)
        self.box_port = free_port(stream)
        self.smsc_port = free_port(stream)
        self.sendsms_port = free_port(stream)

    @property
    def sendsms_url(self):
        return (f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?"
                f"username={self.user}&password={self.password}")

    def write_conf(self):
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(f"""# Written by tests/system/kannel.py: ephemeral ports, loopback only.
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{d}/bearerbox.log"
log-level = 0
access-log = "{d}/access.log"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = {self.smsc_id}
port = {self.smsc_port}
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{d}/smsbox.log"
log-level = 0
access-log = "{d}/smsbox-access.log"

group = sendsms-user
username = {self.user}
password = {self.password}
max-messages = 10
concatenation = true
""")

    def _spawn(self, name, args, **kw):
        out = open(os.path.join(self.dir, name + ".out"), "a")
        p = spawn(args, stdout=kw.pop("stdout", out), stderr=subprocess.STDOUT,
                  cwd=self.dir, **kw)
        self.procs[name] = p
        return p

    def _wait(self, what, pred, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise TestFailure(f"kannel: {name} exited rc={p.returncode}"
                                      f" waiting for {what}:\n{self.tail(name)}")
            if pred():
                return
            time.sleep(0.1)
        raise TestFailure(f"kannel: timed out waiting for {what}\n"
                          f"{self.tail('bearerbox')}\n{self.tail('smsbox')}")

    def start(self, fakesmsc=True, tries=3):
        """Start the boxes (and the phones) and wait until the fake SMSC is
        online; another program taking a port first means new ports."""
        for attempt in range(tries):
            self.write_conf()
            self._spawn("bearerbox", [BEARERBOX, "-v", "0", self.conf])
            try:
                self._wait("bearerbox's admin port",
                           lambda: _listening(self.admin_port), 10)
                self._wait("bearerbox's box port",
                           lambda: _listening(self.box_port), 10)
                break
            except TestFailure:
                self.stop()
                if attempt == tries - 1:
                    raise
                self._ports()
        self._spawn("smsbox", [SMSBOX, "-v", "0", self.conf])
        self._wait("smsbox's sendsms port", lambda: _listening(self.sendsms_port))
        self._wait("smsbox on bearerbox", lambda: "smsbox:" in self.status())
        check(self.smsc_id in self.status(), "bearerbox's status is not ours")
        if fakesmsc:
            self.start_phones()
        return self

    def start_phones(self):
        """fakesmsc, reading (nothing) from a pipe we keep open, printing
        what it receives."""
        self.fake_log = open(self.fake_out, "a")
        self._spawn("fakesmsc", [FAKESMSC, "-H", "127.0.0.1", "-r",
                                 str(self.smsc_port)],
                    stdin=subprocess.PIPE, stdout=self.fake_log)
        self._wait("the fake SMSC online",
                   lambda: re.search(re.escape(self.smsc_id) +
                                     r"\S*\s+FAKE:\d+\s+\(online",
                                     self.status()) is not None)
        return self

    def status(self):
        url = (f"http://127.0.0.1:{self.admin_port}/status.txt?password="
               f"{self.admin_password}")
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return r.read().decode(errors="replace")
        except OSError:
            return ""

    def messages(self):
        """Every message fakesmsc received, its parts put together: dicts
        sender, to, kind, text, parts."""
        out, pending = [], {}
        try:
            with open(self.fake_out, errors="replace") as f:
                lines = f.readlines()
        except OSError:
            return out
        for line in lines:
            m = GOT.search(line.rstrip("\n"))
            if not m:
                continue
            sender, to, kind, data = m.group(2), m.group(3), m.group(4), m.group(5)
            if kind != "udh":
                out.append({"n": int(m.group(1)), "sender": sender, "to": to,
                            "kind": kind, "text": decode(kind, data), "parts": 1})
                continue
            # A long message comes in parts: "udh <UDH> data <bytes>",
            # both URL-encoded; the UDH's concatenation element (0x00,
            # length 3) says which message (ref), how many parts, which.
            udh_enc, _, rest = data.partition(" ")
            _, _, body = rest.partition(" ")
            udh = urllib.parse.unquote_to_bytes(udh_enc.replace("+", "%20"))
            raw = urllib.parse.unquote_to_bytes(body.replace("+", "%20"))
            if len(udh) >= 6 and udh[1] == 0 and udh[2] == 3:
                ref, total, seq = udh[3], udh[4], udh[5]
            else:
                ref, total, seq = None, 1, 1
            key = (sender, to, ref)
            parts = pending.setdefault(key, {})
            parts[seq] = raw
            if len(parts) == total:
                del pending[key]
                whole = b"".join(parts[i] for i in sorted(parts))
                # The fake SMSC does not say the coding of parts: ours
                # are UCS-2 when they decode as such.
                try:
                    text, kind = whole.decode("utf-16-be"), "ucs-2"
                    if len(whole) % 2 or "\x00" in text:
                        raise ValueError
                except ValueError:
                    text, kind = whole.decode("latin-1"), "data"
                out.append({"n": int(m.group(1)), "sender": sender, "to": to,
                            "kind": kind, "text": text, "parts": total})
        return out

    def wait_message(self, pred, timeout=15, what="an SMS at fakesmsc"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            hits = [m for m in self.messages() if pred(m)]
            if hits:
                return hits[0]
            time.sleep(0.1)
        raise TestFailure(f"timed out waiting for {what}; fakesmsc got "
                          f"{self.messages()}\n{self.tail('bearerbox')}")

    def tail(self, name, n=15):
        path = os.path.join(self.dir, name + (".log" if name in
                                               ("bearerbox", "smsbox") else ".out"))
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop_one(self, name, timeout=10):
        p = self.procs.pop(name, None)
        if not p or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop(self):
        """Phones first, then smsbox, then bearerbox: each by its PID."""
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            self.stop_one(name)
