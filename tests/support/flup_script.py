"""Run a flup user's program, with fcgigate's drop-in or with real flup, as a subprocess.

``FlupScript(tmp_path, bind="/tmp/x.sock", daemonize=True).start()`` writes
``<tmp>/server.py`` (settings in ``<tmp>/settings.json``), the program a flup user has::

    server = WSGIServer(app, bindAddress=..., environ=..., **kwargs)
    with daemon.DaemonContext():       # when daemonize: after the server was built
        <write the pidfile>
        while server.run():            # True: SIGHUP, run again
            pass

and runs it with ``import WSGIServer`` from ``fcgigate.compat.flup`` (``server="fcgigate"``)
or ``flup.server.fcgi`` (``server="flup"``). The program writes its pid to
``<tmp>/server.pid`` once it is the process that serves (after daemonizing), and one
JSON line per return of ``run()`` to ``<tmp>/returns.jsonl``: what it returned and
whether the signal handlers found before it were put back. ``start()`` waits for the
pidfile and for the address to accept; ``stop()`` sends SIGTERM and waits until the
process is gone (a daemon is not our child: /proc says when). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.daemon import REPO_ROOT, can_connect, clean_environ

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

PROGRAM = '''\
#!@PYTHON@
"""A flup user's program (written by tests/support/flup_script.py); settings.json beside it."""
import json
import os
import signal
import sys

sys.path.insert(0, @REPO@)  # fcgigate and tests.apps, from this checkout
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "settings.json")) as file:
    settings = json.load(file)
if settings["server"] == "flup":
    from flup.server.fcgi import WSGIServer
else:
    from fcgigate.compat.flup import WSGIServer

module, _, name = settings["app"].partition(":")
app = getattr(__import__(module, fromlist=[name]), name)
bind = settings["bind"]
server = WSGIServer(
    app, bindAddress=tuple(bind) if isinstance(bind, list) else bind, environ=settings["environ"],
    **settings["kwargs"],
)


def usr1(signum, frame):
    pass


def write_pid():
    partial = settings["pidfile"] + ".partial"
    with open(partial, "w") as file:
        file.write(f"{os.getpid()}\\n")
    os.rename(partial, settings["pidfile"])


def serve():
    signal.signal(signal.SIGUSR1, usr1)  # a handler of the program's own, which run() must leave
    watched = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
    while True:
        before = [signal.getsignal(sig) for sig in watched]
        restart = server.run()
        restored = before == [signal.getsignal(sig) for sig in watched]
        with open(settings["returns"], "a") as file:
            file.write(json.dumps({"returned": restart, "handlers_restored": restored}) + "\\n")
        if not restart:
            return


if settings["daemonize"]:
    import daemon

    # The server exists already, and the fork comes now: the sequence that breaks flup.
    with daemon.DaemonContext(stderr=open(settings["log"], "a")):
        write_pid()
        serve()
else:
    write_pid()
    serve()
'''


class FlupScriptError(AssertionError):
    """The program did not start, stop or answer as expected; the message has its log."""


class FlupScript:
    """One run of the program; see the module docstring.

    ``bind`` is a unix socket path, a (host, port) tuple, or None (fd 0, for a
    program started by ``cgi-fcgi -start``: then ``launcher`` is the command that
    starts it, with the program's command line appended).
    """

    def __init__(
        self,
        directory: Path,
        bind: str | tuple[str, int] | None,
        *,
        server: str = "fcgigate",
        app: str = "tests.apps.echo:app",
        environ: dict[str, str] | None = None,
        kwargs: dict[str, Any] | None = None,
        daemonize: bool = False,
        launcher: list[str] | None = None,
        address: Any = None,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bind = bind
        self.address = address if address is not None else bind  # where clients connect
        self.daemonize = daemonize
        self.launcher = launcher
        self.program = self.dir / "server.py"
        self.pidfile = self.dir / "server.pid"
        self.returns_path = self.dir / "returns.jsonl"
        self.log_path = self.dir / "server.log"
        self.settings = {
            "server": server,
            "app": app,
            "bind": list(bind) if isinstance(bind, tuple) else bind,
            "environ": environ or {},
            "kwargs": kwargs or {},
            "daemonize": daemonize,
            "pidfile": str(self.pidfile),
            "returns": str(self.returns_path),
            "log": str(self.log_path),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None

    def command(self) -> list[str]:
        """The program is executable (its #! names this Python), for ``cgi-fcgi -start``,
        which runs a path, not a command line."""
        return [*(self.launcher or []), str(self.program)]

    def start(self, stdin: Any = subprocess.DEVNULL, wait: bool = True) -> FlupScript:
        """Start the program; with ``wait``, until it serves (pidfile written, address accepting)."""
        program = PROGRAM.replace("@PYTHON@", sys.executable).replace("@REPO@", repr(str(REPO_ROOT)))
        self.program.write_text(program, encoding="utf-8")
        self.program.chmod(0o755)
        (self.dir / "settings.json").write_text(json.dumps(self.settings), encoding="utf-8")
        env = clean_environ()
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdin=stdin, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.dir,
                start_new_session=True,
            )  # fmt: skip
        if not wait:
            return self
        deadline = time.monotonic() + START_TIMEOUT
        while not self.pidfile.exists():
            if self.proc.poll() is not None and not (self.daemonize or self.launcher):
                raise self.fail(f"the program exited with {self.proc.returncode} before it wrote its pid")
            if time.monotonic() > deadline:
                raise self.fail(f"no pidfile within {START_TIMEOUT}s")
            time.sleep(0.02)
        self.pid = int(self.pidfile.read_text())
        self.wait_listening(deadline)
        return self

    def wait_listening(self, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + START_TIMEOUT
        while not can_connect(self.address):
            if not self.alive():
                raise self.fail("the program exited before it listened")
            if time.monotonic() > deadline:
                raise self.fail(f"{self.address} did not accept within {START_TIMEOUT}s")
            time.sleep(0.02)

    def alive(self) -> bool:
        if self.proc is not None and self.proc.pid == self.pid:
            return self.proc.poll() is None
        return _alive(self.pid) if self.pid else False

    def signal(self, sig: int) -> None:
        assert self.pid is not None
        os.kill(self.pid, sig)

    def wait_gone(self, timeout: float = STOP_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self, timeout: float = STOP_TIMEOUT, *, kill_ok: bool = False) -> None:
        """SIGTERM, then SIGKILL after ``timeout``. Needing SIGKILL fails, unless ``kill_ok``.
        Idempotent."""
        if self.pid is None or not self.alive():
            self._reap()
            return
        self.signal(signal.SIGTERM)
        if not self.wait_gone(timeout):
            self.kill()
            if not kill_ok:
                raise self.fail(f"the program did not stop within {timeout}s of SIGTERM; killed it")
        self._reap()

    def kill(self) -> None:
        if self.pid is not None and self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.wait_gone(5.0)

    def _reap(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5.0)

    def returns(self) -> list[dict[str, bool]]:
        """What each run() returned, in order."""
        if not self.returns_path.exists():
            return []
        return [json.loads(line) for line in self.returns_path.read_text().splitlines() if line.strip()]

    def threads(self) -> int:
        """How many threads the serving process has now."""
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def fail(self, why: str) -> FlupScriptError:
        return FlupScriptError(f"{why}\n--- {self.log_path}:\n{self.log()}")


def _alive(pid: int) -> bool:
    """Is ``pid`` a live process (not a zombie nobody reaped yet)?"""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("State:"):
                    return line.split()[1] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return False
