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


def configure(error_log: str = "-", level: str = "info") -> logging.Handler:
    """Send fcgigate's log records to ``error_log`` ("-" is stderr, else a file).

    Returns the handler, so the caller can close or reopen it.
    """
    global _current
    _current = (error_log, level)
    handler: logging.Handler
    if error_log in ("-", ""):
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.FileHandler(error_log, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger("fcgigate")
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    return handler


def reopen() -> None:
    """Reopen the log file (SIGUSR1, after logrotate renamed it): new lines
    go to a new file at the configured path. Stderr needs nothing."""
    if _current[0] not in ("-", ""):
        configure(*_current)
