"""The error log: where it goes, at which level, and reopening it.

Everything logs through the standard ``logging`` module under the
``fcgigate`` name (``fcgigate.error`` for the server, ``fcgigate.app`` for
what the app writes to ``wsgi.errors``). This module only configures
handlers; it imports nothing of fcgigate and starts no thread (the standard
handlers used here write synchronously, so they survive a fork).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import string
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fcgigate.config import SyslogTarget

FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
# Under systemd the journal stamps each line itself and reads its priority
# from a "<N>" prefix (sd-daemon(3)); the pid stays: workers share the stream.
JOURNAL_FORMAT = "[%(process)d] [%(levelname)s] %(message)s"
SYSLOG_FORMAT = "%(tag)s[%(process)d]: [%(levelname)s] %(message)s"
_PRIORITIES = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}

_current: tuple[Any, str] = ("-", "info")


def is_file(target: str | SyslogTarget) -> bool:
    """Is this log target a file path (not "-", empty, or syslog)?"""
    return isinstance(target, str) and target not in ("-", "")


def is_syslog(target: str | SyslogTarget) -> bool:
    return hasattr(target, "facility")


def journal_stream(stream: Any = None) -> bool:
    """Is ``stream`` (stderr) the systemd journal? ``JOURNAL_STREAM`` holds the
    device and inode of the journal's socket; comparing them with the stream's
    own tells a service's stderr from a terminal or a file it was redirected to."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        info = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


class JournalFormatter(logging.Formatter):
    """Each line of a record (a traceback too) prefixed with its syslog priority."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITIES.get(record.levelname, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


class SyslogHandler(logging.handlers.SysLogHandler):
    """The standard handler, made safe to run unattended: a syslog that is not
    listening, or a host name that does not resolve (yet), is not an error at
    start (the socket is made again at the next record), and records that
    cannot be sent cost one line on stderr a minute, not a traceback each."""

    append_nul = False  # RFC 3164 has no NUL terminator (rsyslog and journald need none)
    _complained = -60.0

    def createSocket(self) -> None:  # noqa: N802 - the standard library's name
        try:
            super().createSocket()
        except OSError:
            self.socket = None

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
        now = time.monotonic()
        if now - self._complained >= 60.0:
            self._complained = now
            sys.stderr.write(f"fcgigate: cannot send to syslog at {self.address}: {sys.exc_info()[1]}\n")


def syslog_handler(target: SyslogTarget, fmt: str) -> SyslogHandler:
    """A handler sending to ``target``: a unix datagram (or stream) socket, or UDP."""
    handler = SyslogHandler(address=target.address, facility=SyslogHandler.facility_names[target.facility])
    handler.setFormatter(logging.Formatter(fmt.replace("%(tag)s", target.tag)))
    return handler


def _let_go(handler: logging.Handler, fds_closed: bool) -> None:
    """Close an old handler, or, when its descriptor is already closed (and its
    number perhaps reused), forget the descriptor without closing it."""
    if fds_closed and isinstance(handler, logging.handlers.SysLogHandler) and handler.socket is not None:
        handler.socket.detach()
        handler.socket = None
    elif fds_closed and isinstance(handler, logging.StreamHandler):
        handler.stream = None  # type: ignore[assignment]
        return
    handler.close()


def configure(
    error_log: str | SyslogTarget = "-", level: str = "info", *, fds_closed: bool = False
) -> logging.Handler:
    """Send fcgigate's log records to ``error_log`` ("-" is stderr, a file, or syslog).

    The new handler is opened before the old ones are let go, so a file that
    cannot be opened (OSError) leaves logging as it was. ``fds_closed`` says
    the old descriptors are already gone (daemonizing closed them): their
    streams are then dropped first and without a close, which would hit
    whatever the kernel has since given that number (the new file, perhaps).
    """
    global _current
    root = logging.getLogger("fcgigate")
    if fds_closed:
        for old in list(root.handlers):
            root.removeHandler(old)
            _let_go(old, fds_closed=True)
    handler: logging.Handler
    if is_syslog(error_log):
        handler = syslog_handler(error_log, SYSLOG_FORMAT)
    elif error_log in ("-", ""):
        handler = logging.StreamHandler(sys.stderr)
        journal = journal_stream()
        handler.setFormatter(JournalFormatter(JOURNAL_FORMAT) if journal else logging.Formatter(FORMAT))
    else:
        handler = logging.FileHandler(error_log, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
    # One assignment swaps the handlers, so a record logged meanwhile by an
    # app thread goes to the old file or the new one, never nowhere.
    old_handlers, root.handlers = root.handlers, [handler]
    for old in old_handlers:
        _let_go(old, fds_closed=False)
    _current = (error_log, level)
    root.setLevel(level.upper())
    root.propagate = False
    return handler


def reopen(fds_closed: bool = False) -> None:
    """Reopen the log file (SIGUSR1, after logrotate renamed it): new lines
    go to a new file at the configured path (syslog: a new socket). Also after
    daemonizing, which closed every descriptor (``fds_closed``). When the file
    cannot be opened (its directory is not writable by the user we run as),
    the old one stays in use and the error log says why."""
    if _current[0] not in ("-", "") or fds_closed:
        try:
            configure(*_current, fds_closed=fds_closed)
        except OSError as exc:
            logging.getLogger("fcgigate.error").error(
                "cannot reopen the error log %s: %s; still writing to the previous file", _current[0], exc
            )


# -- the access log -----------------------------------------------------------------

# Apache's combined format, in access_log_format's {field} syntax.
COMBINED = (
    '{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {bytes} "{referer}" "{user_agent}"'
)


# What each access_log_format field is, as a Python expression over the
# request's CGI params (p), its exchange (ex), the worker's state and the
# protocol: compile_format turns a format into one function of them.
_FIELD_CODE = {
    "remote_addr": 'p.get("REMOTE_ADDR", "-")',
    "remote_user": '(p.get("REMOTE_USER") or "-")',
    "time_local": "state.log_time",
    "request": '(p.get("REQUEST_METHOD", "-") + " " + (p.get("REQUEST_URI") or p.get("SCRIPT_NAME", "-"))'
    ' + " " + p.get("SERVER_PROTOCOL", "-"))',
    "method": 'p.get("REQUEST_METHOD", "-")',
    "uri": '(p.get("REQUEST_URI") or p.get("SCRIPT_NAME", "-"))',
    "status": "ex.status[:3]",
    "bytes": "ex.bytes",
    "referer": 'p.get("HTTP_REFERER", "-")',
    "user_agent": 'p.get("HTTP_USER_AGENT", "-")',
    "request_time_us": "int((_monotonic() - ex.started) * 1e6)",
    "pid": "state.pid",
    "protocol": "protocol",
    "request_id": 'f"{state.pid}-{ex.seq}"',
    "wait_us": "ex.wait_us",
    "app_us": "ex.app_us",
    "cpu_us": "ex.cpu_us",
}


def compile_format(fmt: str) -> Any:
    """``render(p, ex, state, protocol) -> line`` for an access_log_format.

    The format is parsed once, and only the fields it names are computed per
    request, by one generated function: building a dict of every field and
    calling format_map cost about 5 us a line, a visible share of a
    hello-world request. Field names are the validated ones of config's
    ACCESS_FIELDS (KeyError otherwise); literal text is embedded with repr().
    """
    pieces = []
    for literal, field, spec, conversion in string.Formatter().parse(fmt):
        if literal:
            pieces.append(repr(literal))
        if field is None:
            continue
        code = _FIELD_CODE[field]
        if conversion in ("r", "s", "a"):
            code = f"{ {'r': 'repr', 's': 'str', 'a': 'ascii'}[conversion] }({code})"
        pieces.append(f"format({code}, {spec!r})" if spec else f"str({code})")
    source = f"def render(p, ex, state, protocol):\n    return ''.join(({', '.join(pieces)},))\n"
    namespace: dict[str, Any] = {"_monotonic": time.monotonic}
    exec(compile(source, "<access_log_format>", "exec"), namespace)  # noqa: S102 - our own expressions
    return namespace["render"]


class AccessLog:
    """One line per request, buffered and written once per event-loop turn.

    ``render`` makes a line (see compile_format) and ``add`` only appends it to a
    list; the owner calls ``flush`` soon after
    (the glue schedules it with ``loop.call_soon`` on the first line of a
    turn), so a burst of responses costs one write system call, not one each.
    ``target`` is a file path, "-" for stdout, or a syslog target (one
    datagram a line, at severity info).
    """

    def __init__(self, target: str | SyslogTarget, fmt: str = COMBINED) -> None:
        self.target = target
        self.format = fmt
        self.lines: list[str] = []
        self.render = compile_format(fmt)  # the fields were checked by config (ACCESS_FIELDS)
        self._file = self._open()

    def _open(self):  # noqa: ANN202 - a stream, or a syslog writer
        if is_syslog(self.target):
            return _SyslogWriter(self.target)
        if self.target == "-":
            return sys.stdout
        # Unbuffered bytes: each flush is one write(2) of whole lines on an
        # O_APPEND file, so lines of several workers never interleave mid-line.
        return _AppendFile(self.target)

    def add(self, line: str) -> bool:
        """Buffer ``line`` (see ``render``); True when it is the first since the last flush."""
        self.lines.append(line)
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
        """SIGUSR1: new lines go to a new file at the path (logrotate). If it
        cannot be opened, lines keep going to the previous one."""
        self.flush()
        if self.target == "-":
            return
        try:
            new = self._open()
        except OSError as exc:
            logging.getLogger("fcgigate.error").error(
                "cannot reopen the access log %s: %s; still writing to the previous file", self.target, exc
            )
            return
        old, self._file = self._file, new
        old.close()

    def close(self) -> None:
        self.flush()
        if self.target != "-":
            self._file.close()


class _AppendFile:
    """A log file opened for appending; ``write`` is one system call of whole lines."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        while data:  # a regular file takes it all at once; a full disk raises
            data = data[os.write(self.fd, data) :]

    def flush(self) -> None:
        return

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Rotation:
    """Built-in log rotation (``log_rotate_size``, ``log_rotate_when``,
    ``log_rotate_keep``), for hosts without logrotate. Only the master rotates:
    it renames each file to ``.1`` (older ones to ``.2`` ..., the oldest beyond
    ``keep`` removed), reopens its own, and tells the workers to reopen theirs,
    as SIGUSR1 does. It rotates again only once every worker has reopened
    (the caller checks that), so a file is never removed while a worker still
    writes to it, and no line is lost.
    """

    def __init__(self, paths: list[str], size: int, when: str, keep: int, now: float | None = None) -> None:
        self.paths = paths
        self.size = size
        self.when = when
        self.keep = keep
        self.next_at = next_boundary(when, time.time() if now is None else now)

    @property
    def enabled(self) -> bool:
        return bool(self.paths) and bool(self.size or self.when)

    def due(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if self.when and now >= self.next_at:
            return True
        if self.size:
            for path in self.paths:
                try:
                    if os.stat(path).st_size >= self.size:
                        return True
                except OSError:
                    continue
        return False

    def rotate(self, now: float | None = None) -> list[str]:
        """Shift every file; returns the problems met (one line each)."""
        now = time.time() if now is None else now
        self.next_at = next_boundary(self.when, now)
        problems = []
        for path in self.paths:
            try:
                if not os.path.exists(path) or os.stat(path).st_size == 0:
                    continue
                for n in range(self.keep, 0, -1):
                    older = f"{path}.{n}"
                    if n == self.keep:
                        if os.path.exists(older):
                            os.unlink(older)
                    elif os.path.exists(older):
                        os.replace(older, f"{path}.{n + 1}")
                os.replace(path, f"{path}.1")
            except OSError as exc:
                problems.append(f"rotating {path}: {exc}")
        return problems


def next_boundary(when: str, now: float) -> float:
    """When the next time-based rotation is due (local time); inf for none."""
    if not when:
        return float("inf")
    if when == "daily":
        return now + 86400.0
    local = time.localtime(now)
    if when == "hourly":
        start = time.mktime((*local[:4], 0, 0, 0, 0, -1))
        return start + 3600.0
    # midnight: the start of the next local day (mktime normalises day + 1)
    return time.mktime((local.tm_year, local.tm_mon, local.tm_mday + 1, 0, 0, 0, 0, 0, -1))


class _SyslogWriter:
    """The access log's file, for a syslog target: each line one message."""

    def __init__(self, target: SyslogTarget) -> None:
        self.handler = syslog_handler(target, "%(tag)s[%(process)d]: %(message)s")

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.handler.emit(logging.makeLogRecord({"msg": line, "levelname": "INFO", "levelno": 20}))

    def flush(self) -> None:
        return

    def close(self) -> None:
        self.handler.close()
