"""The error log: where it goes, at which level, and reopening it.

Everything logs through the standard ``logging`` module under the
``fcgigate`` name (``fcgigate.error`` for the server, ``fcgigate.app`` for
what the app writes to ``wsgi.errors``). This module only configures
handlers; it imports nothing of fcgigate and starts no thread (the standard
handlers used here write synchronously, so they survive a fork).
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"

_current: tuple[str, str] = ("-", "info")


def configure(error_log: str = "-", level: str = "info", *, fds_closed: bool = False) -> logging.Handler:
    """Send fcgigate's log records to ``error_log`` ("-" is stderr, else a file).

    The old handlers are let go first, then the file opened: the other way
    round, closing an old handler could close the new file's descriptor when
    the kernel reused its number. ``fds_closed`` says the old descriptors are
    already gone (daemonizing closed them): their streams are then dropped
    without a close, which would hit whatever now has that number.
    """
    global _current
    _current = (error_log, level)
    root = logging.getLogger("fcgigate")
    for old in list(root.handlers):
        root.removeHandler(old)
        if fds_closed and isinstance(old, logging.StreamHandler):
            old.stream = None  # type: ignore[assignment]
        else:
            old.close()
    handler: logging.Handler
    if error_log in ("-", ""):
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.FileHandler(error_log, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    return handler


def reopen(fds_closed: bool = False) -> None:
    """Reopen the log file (SIGUSR1, after logrotate renamed it): new lines
    go to a new file at the configured path. Also after daemonizing, which
    closed every descriptor (``fds_closed``)."""
    if _current[0] not in ("-", "") or fds_closed:
        configure(*_current, fds_closed=fds_closed)
