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


# -- the access log -----------------------------------------------------------------

# Apache's combined format, in access_log_format's {field} syntax.
COMBINED = (
    '{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {bytes} "{referer}" "{user_agent}"'
)


class AccessLog:
    """One line per request, buffered and written once per event-loop turn.

    ``log`` only formats into a list; the owner calls ``flush`` soon after
    (the glue schedules it with ``loop.call_soon`` on the first line of a
    turn), so a burst of responses costs one write system call, not one each.
    ``target`` is a file path, or "-" for stdout.
    """

    def __init__(self, target: str, fmt: str = COMBINED) -> None:
        self.target = target
        self.format = fmt
        self.lines: list[str] = []
        self._file = self._open()

    def _open(self):  # noqa: ANN202 - a text stream
        if self.target == "-":
            return sys.stdout
        return open(self.target, "a", encoding="utf-8", errors="replace")  # noqa: SIM115 - held for life

    def log(self, fields: dict) -> bool:
        """Buffer a line; True when it is the first since the last flush."""
        self.lines.append(self.format.format_map(fields))
        return len(self.lines) == 1

    def flush(self) -> None:
        if not self.lines:
            return
        text = "\n".join(self.lines) + "\n"
        self.lines.clear()
        try:
            self._file.write(text)
            self._file.flush()
        except (OSError, ValueError):
            logging.getLogger("fcgigate.error").exception("writing the access log %s failed", self.target)

    def reopen(self) -> None:
        """SIGUSR1: new lines go to a new file at the path (logrotate)."""
        self.flush()
        if self.target != "-":
            old, self._file = self._file, self._open()
            old.close()

    def close(self) -> None:
        self.flush()
        if self.target != "-":
            self._file.close()
