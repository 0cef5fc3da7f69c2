"""The master: bind the listeners, then run the serving process.

For now the master serves in its own process, one worker, no fork (the
pre-fork arbiter with supervision, reload and upgrade is the next step and
will live here). What already holds: listeners are bound before the app is
imported, so a taken port is reported at once; the fork-safety rule is
checked before serving (no thread may exist yet); unix socket files are
removed on the way out.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any

from fcgigate import sockets
from fcgigate.worker import EXIT_APP_LOAD_ERROR, Worker

error_log = logging.getLogger("fcgigate.error")

EXIT_BIND_ERROR = 1


class ForkSafetyError(RuntimeError):
    """A thread exists where none may (before the last fork): names them."""


def check_no_threads(where: str) -> None:
    """Raise ForkSafetyError unless the calling thread is the only one.

    A thread alive here would not survive the fork that comes next, and
    anything waiting on it would hang: the flup bug this project exists to fix.
    """
    if threading.active_count() != 1:
        names = ", ".join(
            sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())
        )
        raise ForkSafetyError(
            f"{where}: threads already running ({names}); no thread may start before the last fork"
        )


class Master:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.listeners: list[tuple[Any, str]] = []

    def run(self) -> int:
        cfg = self.config
        try:
            for address in cfg.bind:
                sock = sockets.bind(address, cfg.backlog, cfg.socket_mode)
                self.listeners.append((sock, sockets.describe(sock, address.protocol)))
        except sockets.BindError as exc:
            error_log.error("%s", exc)
            self.close()
            return EXIT_BIND_ERROR
        try:
            check_no_threads("before serving")
            code = Worker(cfg, self.listeners).run()
        finally:
            self.close()
        exit_past_stuck_threads(code)
        return code

    def close(self) -> None:
        for sock, _url in self.listeners:
            sockets.close(sock)
        self.listeners = []


def exit_past_stuck_threads(code: int, patience: float = 1.0) -> None:
    """Exit now if app threads outlived the graceful stop.

    The pool's threads are not daemons, and Python joins them at exit: one
    app stuck in a request would hang the stop forever. A thread cannot be
    killed, so past ``patience`` seconds the process leaves without them.
    """
    deadline = time.monotonic() + patience
    for thread in threading.enumerate():
        if thread.name.startswith("fcgigate-app"):
            thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t.name.startswith("fcgigate-app") and t.is_alive()]
    if stuck:
        error_log.warning(
            "%d app threads still busy after the stop (%s); exiting without them",
            len(stuck),
            ", ".join(stuck),
        )
        logging.shutdown()
        os._exit(code)


_CHECK_APP = """
import sys, json
from fcgigate.worker import AppLoadError, load_app
spec, chdir, pythonpath = json.loads(sys.argv[1])
try:
    load_app(spec, chdir, pythonpath)
except AppLoadError as exc:
    print(exc, file=sys.stderr)
    sys.exit(4)
"""


def check_app(config: Any, timeout: float = 60.0) -> tuple[bool, str]:
    """Import the app in a child process (so that whatever it starts dies with
    the child); return (ok, what went wrong)."""
    args = json.dumps([config.app, config.chdir, list(config.pythonpath)])
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHECK_APP, args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False, f"importing app {config.app!r} took longer than {timeout:.0f} s"
    if proc.returncode == 0:
        return True, ""
    detail = proc.stderr.strip() or f"exit status {proc.returncode}"
    if proc.returncode != EXIT_APP_LOAD_ERROR:
        detail = f"importing app {config.app!r} failed:\n{detail}"
    return False, detail
