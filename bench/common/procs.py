"""What every benchmark driver needs to start and stop its peers: each
process leads its own process group, so it is ended by that id and nothing
else on the machine is touched; if the driver itself dies (even by
SIGKILL) its children get SIGTERM."""
import os
import signal
import subprocess


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
