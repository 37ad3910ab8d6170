"""What every benchmark driver needs to start and stop its peers: each
process leads its own process group, so it is ended by that id and nothing
else on the machine is touched; if the driver itself dies (even by
SIGKILL) its children get SIGTERM."""
import os
import signal
import socket
import subprocess
import time


def die_with_parent():
    """In the child before exec: SIGTERM when the driver dies."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Procs:
    """The processes this run started."""

    def __init__(self):
        self.live = []

    def start(self, name, argv, stdout=None, stderr=None, stdin=None, cwd=None, env=None):
        """stdout/stderr: a path (appended to), a file object, or None."""
        out = open(stdout, "ab") if isinstance(stdout, str) else \
            (stdout if stdout is not None else subprocess.DEVNULL)
        err = open(stderr, "ab") if isinstance(stderr, str) else \
            (stderr if stderr is not None else subprocess.DEVNULL)
        try:
            p = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                 stdout=out, stderr=err, cwd=cwd, env=env,
                                 start_new_session=True, preexec_fn=die_with_parent)
        finally:
            for f, spec in ((out, stdout), (err, stderr)):
                if isinstance(spec, str):
                    f.close()
        p.name = name
        self.live.append(p)
        return p

    def stop(self, p, grace=5.0, sig=signal.SIGTERM):
        """sig to p's group, then SIGKILL to what is left of it (children
        such as Kamailio's workers); returns p's exit status."""
        if p not in self.live:
            return p.returncode
        self.live.remove(p)
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(2)
        except subprocess.TimeoutExpired:
            pass
        return p.returncode

    def stop_all(self, grace=3.0):
        for p in list(reversed(self.live)):
            self.stop(p, grace=grace)


class Abort(Exception):
    pass

def free_port(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True

def first_lines(path, n=6, width=200, match=None):
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip()
                if line and (not match or any(m in line for m in match)):
                    out.append(line[:width])
                if len(out) >= n:
                    break
    except OSError:
        pass
    return out

def log(msg=""):
    print(msg, flush=True)

def machine_busy_ticks():
    """Busy clock ticks of all CPUs together, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(v[:8]) - v[3] - v[4]

def percentile(sorted_vals, p):
    """Nearest-rank percentile of an ascending list (None if empty)."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]

def pid_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return int(rest[11]) + int(rest[12])

def udp_bound(port):
    want = ":%04X" % port
    try:
        with open("/proc/net/udp") as f:
            return any(line.split()[1].upper().endswith(want) for line in f.readlines()[1:])
    except OSError:
        return False

def wait_until(pred, secs, proc=None, what=""):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise Abort("%s exited (status %s) while starting" % (what, proc.returncode))
        if pred():
            return
        time.sleep(0.05)
    raise Abort("%s not ready after %.0f s" % (what, secs))
