"""The settings registry: every setting is declared once, in :data:`SETTINGS`.

Rule 1: each :class:`Setting` record is the only place a setting is written down. The
INI reader, the ``--flags``, the ``FCGIGATE_*`` environment overrides, the effective
configuration printed by :meth:`Config.describe` and ``docs/settings.md`` are all
derived from it (``python -m fcgigate.config --docs`` renders the docs).

Rule 2: this is a ground-floor module. It imports nothing from fcgigate, and importing
it has no side effect; validating a value never touches the filesystem or the network
(a config can be checked on a machine other than the one that will run it).

Precedence is CLI > environment > file > default. Every error is a :class:`ConfigError`
whose text is one line naming where the value came from and the setting, e.g.
``conf/dev.ini:12: setting 'threads': expected an integer >= 0, got 'abc'``.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import ipaddress
import keyword
import math
import os
import re
import string
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SECTION = "fcgigate"
ENV_PREFIX = "FCGIGATE_"
DOCS_HEADER = "<!-- generated from fcgigate/config.py by `make docs`; edit the registry, not this file -->"


class ConfigError(Exception):
    """A configuration problem; ``str(error)`` is one line fit to show an operator."""


# --------------------------------------------------------------------------- validators
# Each validator takes the text an operator wrote or an already-typed value (defaults,
# tests, callers building a Config in code) and returns the typed value, or raises
# ValueError with the reason. The first line of its docstring says what it accepts and
# is copied into docs/settings.md, so parameterised validators set theirs.

Validator = Callable[[Any], Any]


def _expected(what: str, value: object) -> ValueError:
    # repr() keeps the message on one line even when the value holds a newline.
    return ValueError(f"expected {what}, got {value!r}")


def as_int(minimum: int = 0) -> Validator:
    def check(value: str | int) -> int:
        what = f"an integer >= {minimum}"
        if isinstance(value, bool):  # bool is an int subclass, but True threads is a bug
            raise _expected(what, value)
        try:
            number = value if isinstance(value, int) else int(str(value).strip(), 10)
        except ValueError:
            raise _expected(what, value) from None
        if number < minimum:
            raise _expected(what, value)
        return number

    check.__doc__ = f"An integer >= {minimum}."
    return check


_BOOLS = dict.fromkeys(("true", "yes", "on", "1"), True) | dict.fromkeys(("false", "no", "off", "0"), False)


def as_bool(value: str | bool) -> bool:
    """`true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`."""
    if isinstance(value, bool):
        return value
    try:
        return _BOOLS[str(value).strip().lower()]
    except KeyError:
        raise _expected("true/false, yes/no, on/off or 1/0", value) from None


_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SIZE_RE = re.compile(r"([0-9]+)\s*([kmg]?)", re.IGNORECASE)


def as_size(value: str | int) -> int:
    """A byte count, or a whole number with `k`, `m` or `g` (powers of 1024): `65536`, `64k`, `1g`."""
    what = "a size like 65536, 64k, 1m or 1g"
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise _expected(what, value)
        return value
    match = _SIZE_RE.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise _expected(what, value)
    return int(match[1]) * _SIZE_UNITS[match[2].lower()]


_SECONDS_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
_SECONDS_RE = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([smh]?)", re.IGNORECASE)


def as_seconds(value: str | float) -> float:
    """A duration >= 0 in seconds, or with `s`, `m` or `h`: `30`, `2.5`, `30s`, `5m`."""
    what = "a duration like 30, 2.5, 30s or 5m"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and value >= 0):
            raise _expected(what, value)
        return float(value)
    match = _SECONDS_RE.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise _expected(what, value)
    return float(match[1]) * _SECONDS_UNITS[match[2].lower()]


def as_octal(value: str | int) -> int:
    """File permissions in octal, e.g. `0660` (`0o660` and `660` work too)."""
    what = "an octal mode like 0660"
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and re.fullmatch(r"(0o?)?[0-7]+", value.strip(), re.IGNORECASE):
        text = value.strip().lower()
        mode = int(text[2:] if text.startswith("0o") else text, 8)
    else:
        raise _expected(what, value)
    if not 0 <= mode <= 0o7777:
        raise _expected(what, value)
    return mode


def as_choice(*choices: str) -> Validator:
    def check(value: str) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise _expected("one of " + ", ".join(choices), value)
        return text

    check.__doc__ = "One of " + ", ".join(f"`{choice}`" for choice in choices) + "."
    return check


def as_path(value: str) -> str:
    """A file or directory path (checked when it is used, not here)."""
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise _expected("a path", value)
    return value.strip()


def as_path_list(value: str | Iterable[str]) -> tuple[str, ...]:
    """Paths separated by commas or `os.pathsep` (`:` on POSIX); may be empty."""
    items = re.split(f"[,{re.escape(os.pathsep)}\n]", value) if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise _expected("a list of paths", value)
    return tuple(item.strip() for item in items if item.strip())


def as_optional(inner: Validator) -> Validator:
    """Wrap a validator so that an empty value (or None) means "not set" (None)."""

    def check(value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return inner(value)

    check.__doc__ = _first_line(inner.__doc__) + " Empty: not set."
    return check


def _dotted(text: str) -> bool:
    parts = text.split(".")
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in parts)


def as_app(value: str) -> str:
    """`package.module:callable`, or `package.module:factory()` to call a factory."""
    text = value.strip() if isinstance(value, str) else ""
    module, colon, attribute = text.partition(":")
    attribute = attribute[:-2] if attribute.endswith("()") else attribute
    if not (colon and _dotted(module) and _dotted(attribute)):
        raise _expected("'package.module:callable' or 'package.module:factory()'", value)
    return text


def as_mount(value: str) -> str:
    """Empty, or a URL path with a leading slash and no trailing slash: `/app`."""
    if not isinstance(value, str):
        raise _expected("a URL path", value)
    text = value.strip()
    well_formed = text == "" or (text.startswith("/") and not text.endswith("/"))
    if not well_formed or re.search(r"[\s?#]", text):
        raise _expected("'' (the root) or a path like /app, without a trailing slash", value)
    return text


def as_networks(value: str | Iterable[str]) -> tuple[str, ...]:
    """Addresses or networks separated by commas: `127.0.0.1, ::1, 10.0.0.0/8`; `*` for any; may be empty."""
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else list(value)
    networks = []
    for item in items:
        if not isinstance(item, str):
            raise _expected("addresses or networks", value)
        text = item.strip()
        if not text:
            continue
        if text != "*":
            try:
                text = str(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValueError(f"{text!r} is not an IP address or network") from None
        networks.append(text)
    return tuple(networks)


def as_status_allow(value: str | Iterable[str]) -> tuple[str, ...]:
    """Addresses or networks, and `unix` for HTTP peers on a unix socket, separated by commas."""
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else list(value)
    unix = any(isinstance(item, str) and item.strip().lower() == "unix" for item in items)
    rest = [item for item in items if not (isinstance(item, str) and item.strip().lower() == "unix")]
    networks = as_networks(rest)
    if "*" in networks:
        raise ValueError("'*' is not allowed here: name the networks that may see the status page")
    return (*networks, "unix") if unix else networks


def as_page_path(value: str) -> str:
    """A URL path like `/fcgigate/status`, or empty to turn the page off."""
    if not isinstance(value, str):
        raise _expected("a URL path", value)
    text = value.strip()
    if text and (not text.startswith("/") or re.search(r"[\s?#%]", text)):
        raise _expected("a path like /fcgigate/status (no query, no escapes), or empty", value)
    return text


def as_rotate_when(value: str) -> str:
    """Empty (no time-based rotation), `hourly`, `daily` or `midnight`."""
    text = str(value).strip().lower()
    if text not in ("", "hourly", "daily", "midnight"):
        raise _expected("hourly, daily, midnight, or empty", value)
    return text


def as_header_value(value: str) -> str:
    """Text without control characters (it goes into a response header); empty for none."""
    if not isinstance(value, str) or re.search(r"[\x00-\x1f\x7f]", value):
        raise _expected("a header value without control characters", value)
    return value.strip()


def as_workers(value: str | int) -> str | int:
    """`auto` (one per CPU this process may run on) or a number >= 1."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return as_int(minimum=1)(value)


ACCESS_FIELDS = (
    "remote_addr", "remote_user", "time_local", "request", "method", "uri", "status", "bytes", "referer",
    "user_agent", "request_time_us", "pid", "protocol", "request_id", "wait_us", "app_us", "cpu_us",
)  # fmt: skip


def as_access_format(value: str) -> str:
    """A line with `{field}` names (see access_log_format)."""
    if not isinstance(value, str) or not value.strip():
        raise _expected("a format with {field} names", value)
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
    except ValueError as error:
        raise ValueError(f"malformed format ({error}): {value!r}") from None
    unknown = sorted(names - set(ACCESS_FIELDS))
    if unknown:
        raise ValueError(f"unknown field {{{unknown[0]}}} (known: {', '.join(ACCESS_FIELDS)})")
    return value


_ACCOUNT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\$?")


def as_account(value: str | int) -> str:
    """A user or group name, or a numeric id; empty for none."""
    text = str(value).strip()
    if text and not _ACCOUNT_RE.fullmatch(text):
        raise _expected("a user or group name, or a numeric id", value)
    return text


SYSLOG_FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip


@dataclass(frozen=True)
class SyslogTarget:
    """A ``syslog:`` log target, parsed: where to send (a unix socket path, or a
    (host, port) pair for UDP), the facility name and the tag each line carries."""

    spec: str
    address: str | tuple[str, int] = "/dev/log"
    facility: str = "daemon"
    tag: str = "fcgigate"

    def __str__(self) -> str:
        return self.spec


def parse_syslog(spec: str) -> SyslogTarget:
    """``syslog:`` then comma-separated ``server=``, ``facility=``, ``tag=`` (nginx's syntax).

    ``server`` is ``unix:/path`` (the default is ``unix:/dev/log``) or ``host[:port]``
    (UDP, port 514 by default; an IPv6 address in brackets).
    """
    fields: dict[str, Any] = {}
    for item in spec[len("syslog:") :].split(","):
        if not item.strip():
            continue
        key, sep, val = (part.strip() for part in item.partition("="))
        if not sep or not val:
            raise ValueError(f"{spec!r}: expected key=value, got {item.strip()!r}")
        if key == "server":
            fields["address"] = _syslog_server(val, spec)
        elif key == "facility":
            if val.lower() not in SYSLOG_FACILITIES:
                known = ", ".join(SYSLOG_FACILITIES)
                raise ValueError(f"{spec!r}: unknown facility {val!r} (one of {known})")
            fields["facility"] = val.lower()
        elif key == "tag":
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", val):
                raise ValueError(f"{spec!r}: a tag is 1-32 letters, digits, '_', '.' or '-', got {val!r}")
            fields["tag"] = val
        else:
            raise ValueError(f"{spec!r}: unknown parameter {key!r} (server, facility or tag)")
    return SyslogTarget(spec, **fields)


def _syslog_server(value: str, spec: str) -> str | tuple[str, int]:
    if value.startswith("unix:"):
        path = value[len("unix:") :]
        if not path.startswith("/") or "\0" in path:
            raise ValueError(f"{spec!r}: server=unix: needs an absolute socket path")
        return path
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([A-Za-z0-9_.-]+)(?::(\d+))?", value)
    if not match:
        raise ValueError(f"{spec!r}: server is unix:/path or host[:port], got {value!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4) or 514)
    if not 0 < port < 65536:
        raise ValueError(f"{spec!r}: port {port} out of range")
    return (host, port)


def as_log_target(value: str | SyslogTarget) -> str | SyslogTarget:
    """`-` for the standard stream, a file path, or `syslog:[server=...][,facility=...][,tag=...]`."""
    if isinstance(value, SyslogTarget):
        return value
    if isinstance(value, str) and value.strip().startswith("syslog:"):
        return parse_syslog(value.strip())
    return as_path(value)


def as_optional_log_target(value: str | SyslogTarget) -> str | SyslogTarget:
    """Empty for none, `-` for the standard stream, a file path, or `syslog:...` (as error_log)."""
    if isinstance(value, str) and not value.strip():
        return ""
    if isinstance(value, str) and re.search(r"[\x00-\x1f\x7f]", value):
        raise _expected("a path without control characters", value)
    return as_log_target(value)


@dataclass(frozen=True)
class BindAddress:
    """One listener, parsed from a bind URL.

    ``url`` is the normalised spelling (lower-case scheme, compressed IPv6 literal),
    so two spellings of one address compare equal. TCP listeners have ``host`` and
    ``port`` (0 asks the kernel for a free port); unix ones have an absolute ``path``.
    """

    url: str
    protocol: str  # "fastcgi" or "http"
    family: str  # "tcp" or "unix"
    host: str | None = None
    port: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        return self.url


_HOSTNAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_KNOWN_SCHEMES = {
    "fastcgi": "tcp", "fastcgi+unix": "unix", "http": "tcp", "http+unix": "unix", "https": "tcp",
}  # fmt: skip


def parse_bind_url(url: str) -> BindAddress:
    """Parse one bind URL; ValueError names the URL and what is wrong with it."""

    def bad(why: str) -> ValueError:
        return ValueError(f"bind URL {url!r}: {why}")

    scheme, sep, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not sep:
        raise bad("missing scheme, write e.g. fastcgi://127.0.0.1:9000 or fastcgi+unix:///run/fcgigate.sock")
    if scheme not in _KNOWN_SCHEMES:
        raise bad(f"unknown scheme {scheme!r} (expected fastcgi, fastcgi+unix, http, http+unix or https)")
    protocol = scheme.partition("+")[0]
    if _KNOWN_SCHEMES[scheme] == "unix":
        if not rest:
            raise bad("missing socket path")
        if not rest.startswith("/"):
            raise bad(f"the socket path must be absolute: {scheme}:///run/fcgigate.sock")
        if "\0" in rest:
            raise bad("NUL byte in the socket path")
        return BindAddress(f"{scheme}://{rest}", protocol, "unix", path=rest)

    if rest.startswith("["):  # [IPv6]:port
        literal, bracket, after = rest[1:].partition("]")
        if not bracket:
            raise bad("missing ']' after the IPv6 address")
        try:
            host = str(ipaddress.IPv6Address(literal))
        except ValueError:
            raise bad(f"{literal!r} is not an IPv6 address") from None
        if not after.startswith(":"):
            raise bad("missing port, e.g. [::1]:9000" if not after else f"unexpected {after!r} after ']'")
        port_text = after[1:]
        shown = f"[{host}]"
    else:
        if re.search(r"[/?#]", rest):
            raise bad(f"unexpected path or query: a TCP bind URL is just {scheme}://HOST:PORT")
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            raise bad(f"missing port, e.g. {scheme}://127.0.0.1:9000")
        if ":" in host:
            raise bad(f"put an IPv6 address in brackets: {scheme}://[::1]:9000")
        if not host:
            raise bad("missing host (use 0.0.0.0 for every IPv4 address)")
        if not _HOSTNAME_RE.fullmatch(host):
            raise bad(f"invalid host {host!r}")
        host = host.lower()
        shown = host
    if not (port_text.isascii() and port_text.isdigit()):
        raise bad(f"port {port_text!r} is not a number" if port_text else "missing port")
    port = int(port_text)
    if port > 65535:
        raise bad(f"port {port} is out of range 0-65535")
    return BindAddress(f"{scheme}://{shown}:{port}", protocol, "tcp", host=host, port=port)


def as_bind(value: str | BindAddress | Iterable[str | BindAddress]) -> tuple[BindAddress, ...]:
    """URLs separated by commas or newlines: `fastcgi://HOST:PORT`, `fastcgi+unix:///PATH`,
    `http://HOST:PORT`, `http+unix:///PATH`."""
    if isinstance(value, (str, BindAddress)):
        items: list[str | BindAddress] = [value]
    else:
        items = list(value)
    addresses: list[BindAddress] = []
    for item in items:
        if isinstance(item, BindAddress):
            addresses.append(item)
        elif isinstance(item, str):
            # An empty entry ("a,,b", a trailing comma) is harmless: skip it.
            addresses.extend(parse_bind_url(url) for url in re.split(r"[,\n]", item) if url.strip())
        else:
            raise _expected("bind URLs", value)
    if not addresses:
        raise _expected("at least one URL like fastcgi://127.0.0.1:9000", value)
    seen: set[str] = set()
    for address in addresses:
        if address.url in seen:
            raise ValueError(f"bind URL {address.url!r} is listed twice")
        seen.add(address.url)
    return tuple(addresses)


# --------------------------------------------------------------------------- formatting
# The inverse of the validators: typed value -> the text an operator would write, so
# that describe() can be pasted back into an INI file and the docs show real spellings.


def _format_size(value: int) -> str:
    for unit in "gmk":
        if value and value % _SIZE_UNITS[unit] == 0:
            return f"{value // _SIZE_UNITS[unit]}{unit}"
    return str(value)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "int": str,
    "bool": lambda value: "true" if value else "false",
    "str": str,
    "size": _format_size,
    "seconds": _format_seconds,
    "path": str,
    "list": ", ".join,
    "networks": ", ".join,
    "workers": str,
    "bind": lambda value: ", ".join(address.url for address in value),
    "octal": lambda value: f"0{value:o}",
    "choice": str,
    "log": str,
}
_METAVARS = {
    "int": "N", "bool": "BOOL", "str": "TEXT", "size": "SIZE", "seconds": "SECONDS", "path": "PATH",
    "list": "PATHS", "bind": "URLS", "octal": "MODE", "choice": "CHOICE", "networks": "ADDRESSES",
    "workers": "N|auto", "log": "TARGET",
}  # fmt: skip


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0].strip()


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Setting:
    """One setting. ``help``'s first line is the short help (``--help``); the rest is
    the longer text for docs/settings.md. ``default`` is already typed (None: not set)."""

    name: str
    section: str
    kind: str
    default: Any
    validator: Validator
    help: str
    metavar: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _FORMATTERS:
            raise ValueError(f"setting {self.name!r}: unknown kind {self.kind!r}")

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def short_help(self) -> str:
        return _first_line(self.help)

    @property
    def long_help(self) -> str:
        return inspect.cleandoc(self.help).partition("\n")[2].strip()

    @property
    def accepts(self) -> str:
        return _first_line(self.validator.__doc__)

    @property
    def value_name(self) -> str:
        return self.metavar or _METAVARS[self.kind]

    @property
    def default_text(self) -> str:
        """The default as docs and ``--help`` show it."""
        if self.default is None:
            return "not set"
        return self.format(self.default) or "empty"

    def parse(self, value: Any) -> Any:
        return self.validator(value)

    def format(self, value: Any) -> str:
        """The INI spelling of a typed value; "" for not set."""
        return "" if value is None else _FORMATTERS[self.kind](value)


SETTINGS: tuple[Setting, ...] = (
    # Application
    Setting(
        name="app",
        section="Application",
        kind="str",
        default=None,
        validator=as_optional(as_app),
        help="""\
        The WSGI application, as `package.module:callable`.
        Write `package.module:create_app()` to call a factory with no arguments and serve what it
        returns. Only the syntax is checked when the configuration is loaded; each worker imports
        the app after `chdir` and `pythonpath` apply. fcgigate will not serve without it.""",
        metavar="MODULE:CALLABLE",
    ),
    Setting(
        name="chdir",
        section="Application",
        kind="path",
        default=None,
        validator=as_optional(as_path),
        help="""\
        Directory to change to before importing the app.
        Not set: stay in the directory fcgigate was started from.""",
    ),
    Setting(
        name="pythonpath",
        section="Application",
        kind="list",
        default=(),
        validator=as_path_list,
        help="""\
        Directories prepended to `sys.path` before importing the app.""",
    ),
    Setting(
        name="mount",
        section="Application",
        kind="str",
        default="",
        validator=as_mount,
        help="""\
        URL prefix the app lives under, e.g. `/app`; it becomes `SCRIPT_NAME`.
        Empty (the default) mounts the app at the root.""",
        metavar="PREFIX",
    ),
    # Listeners
    Setting(
        name="bind",
        section="Listeners",
        kind="bind",
        default=as_bind("fastcgi://127.0.0.1:9000"),
        validator=as_bind,
        help="""\
        Where to listen: one or more URLs, separated by commas or on continuation lines.
        `fastcgi://127.0.0.1:9000` is a TCP listener (write `fastcgi://[::1]:9000` for IPv6;
        port 0 asks the kernel for a free port). `fastcgi+unix:///run/fcgigate.sock` is a unix
        socket; its path must be absolute. `http://127.0.0.1:8000` and `http+unix:///run/web.sock`
        serve HTTP/1.1 (see docs/http.md), for health checks or without a web server in front;
        `https://0.0.0.0:8443` serves it over TLS (`certfile`, `keyfile`: docs/tls.md).""",
    ),
    Setting(
        name="backlog",
        section="Listeners",
        kind="int",
        default=2048,
        validator=as_int(minimum=1),
        help="""\
        Listen backlog: connections the kernel queues before a worker accepts them.
        The kernel caps it at `net.core.somaxconn`.""",
    ),
    Setting(
        name="socket_mode",
        section="Listeners",
        kind="octal",
        default=0o660,
        validator=as_octal,
        help="""\
        Permissions of the unix sockets fcgigate creates.
        The web server's user must be able to write to the socket: with the default, 0660, give
        it the socket's group.""",
    ),
    Setting(
        name="socket_owner",
        section="Listeners",
        kind="str",
        default="",
        validator=as_account,
        help="""\
        Owner (user name or uid) of the unix sockets fcgigate creates; empty: `user`, if set.
        Needs root: the master binds before it drops privileges. With neither set, the socket
        belongs to whoever started fcgigate.""",
    ),
    Setting(
        name="socket_group",
        section="Listeners",
        kind="str",
        default="",
        validator=as_account,
        help="""\
        Group (name or gid) of the unix sockets fcgigate creates, e.g. the web server's `www-data`.
        With `socket_mode = 0660` only that group (and the owner) may connect.""",
    ),
    Setting(
        name="max_connections",
        section="Listeners",
        kind="int",
        default=1024,
        validator=as_int(minimum=1),
        help="""\
        Connections one serving process holds open at once.
        Past it the process stops accepting (new connections wait in the listen backlog, they are
        not refused) and resumes when a connection closes. It is also the `FCGI_MAX_CONNS` value
        answered to `FCGI_GET_VALUES`.""",
    ),
    # Processes
    Setting(
        name="workers",
        section="Processes",
        kind="workers",
        default="auto",
        validator=as_workers,
        help="""\
        Worker processes the master forks; `auto` is one per CPU this process may run on.
        Each worker runs one event loop (and, with `threads`, its own pool), so one worker per CPU
        uses the machine without the workers fighting over cores.""",
    ),
    Setting(
        name="cpu_affinity",
        section="Processes",
        kind="bool",
        default=False,
        validator=as_bool,
        help="""\
        Pin worker i to the i-th CPU this process may run on.
        Keeps each worker's caches warm; leave it off when other busy services share the CPUs.""",
    ),
    Setting(
        name="preload",
        section="Processes",
        kind="bool",
        default=False,
        validator=as_bool,
        help="""\
        Import the app once in the master, before forking, instead of in each worker.
        Saves memory (copy-on-write) and boot time. The app must not start threads at import: the
        master checks that it is still the only thread before every fork and refuses, naming the
        threads, if not. HUP then re-forks the same code; use USR2 to load new code.""",
    ),
    Setting(
        name="daemon",
        section="Processes",
        kind="bool",
        default=False,
        validator=as_bool,
        help="""\
        Detach into the background (python-daemon) after binding.
        The command returns only once the workers serve (exit 0), or with the reason they do not
        (exit 1), so `fcgigate -c prod.ini && curl ...` is reliable. No thread exists before it:
        the listeners and the log file are kept, the standard streams go to `error_log`. Leave it
        off under systemd.""",
    ),
    Setting(
        name="pidfile",
        section="Processes",
        kind="path",
        default=None,
        validator=as_optional(as_path),
        help="""\
        Write the master's pid here (atomically) and hold a lock on it while running.
        A second instance with the same pidfile refuses to start ("already running as PID n"); a
        stale one is replaced. Removed at exit; renamed `.oldbin` during a USR2 upgrade. `fcgigate
        stop|reload|reopen -c FILE` find the master through it.""",
    ),
    Setting(
        name="umask",
        section="Processes",
        kind="octal",
        default=0o022,
        validator=as_octal,
        help="""\
        The umask of the daemon (with `daemon = true`): files it creates get at most 0777 minus it.""",
    ),
    Setting(
        name="timeout",
        section="Processes",
        kind="seconds",
        default=30.0,
        validator=as_seconds,
        help="""\
        Seconds a worker's event loop may stay unresponsive before the master kills it.
        Each worker stamps a heartbeat once a second; a worker silent for longer (an inline app
        blocked in a request, a deadlock) is killed with SIGKILL and replaced, and the log names
        the request it was serving. 0 disables the check.""",
    ),
    Setting(
        name="max_requests",
        section="Processes",
        kind="int",
        default=0,
        validator=as_int(minimum=0),
        help="""\
        Requests a worker serves before it is recycled; 0 = never.
        A recycled worker keeps serving until its replacement is ready, then drains: capacity never
        dips. A cure for slow leaks in apps.""",
    ),
    Setting(
        name="max_requests_jitter",
        section="Processes",
        kind="int",
        default=0,
        validator=as_int(minimum=0),
        help="""\
        A random 0..N added to `max_requests` per worker, so that workers do not recycle together.""",
    ),
    Setting(
        name="recycle_concurrency",
        section="Processes",
        kind="int",
        default=1,
        validator=as_int(minimum=1),
        help="""\
        Workers that may be recycling (for `max_requests`) at the same time.""",
    ),
    # Privileges
    Setting(
        name="user",
        section="Privileges",
        kind="str",
        default="",
        validator=as_account,
        help="""\
        Run the master and the workers as this user (name or uid), once the listeners are bound.
        fcgigate started as root binds first (port 80, a socket under /run), creates its log files
        and unix sockets owned by this user, writes the pidfile, then switches user, group and
        supplementary groups for good (the groups of the user in /etc/group, and `group`). The
        app never runs as root unless `allow_root` says so. Sets HOME, USER and LOGNAME to the
        user's. Changing it needs a restart, not a reload.""",
        metavar="USER",
    ),
    Setting(
        name="group",
        section="Privileges",
        kind="str",
        default="",
        validator=as_account,
        help="""\
        Run as this group (name or gid); empty: the primary group of `user`.""",
        metavar="GROUP",
    ),
    Setting(
        name="allow_root",
        section="Privileges",
        kind="bool",
        default=False,
        validator=as_bool,
        help="""\
        Let the app run as root (with no `user`, when started by root).
        Off by default: fcgigate then refuses to start, as php-fpm does, and says to set `user`.
        A web app running as root turns any bug into a machine takeover; use it for throwaway
        containers and development only.""",
    ),
    # Threads
    Setting(
        name="threads",
        section="Threads",
        kind="int",
        default=0,
        validator=as_int(minimum=0),
        help="""\
        Application threads per worker; 0 calls the app inline on the event loop.
        0, the default, is fastest for apps that never block, and serves one request at a time per
        worker like gunicorn's sync worker, uWSGI and php-fpm. An app that blocks (a database, an
        HTTP call) wants N threads, sized for the requests a worker must have in progress at once,
        not for CPUs: 64 is what docs/performance.md measured best for 10 ms calls. With N > 0
        each worker calls the app in a pool of N threads, created inside the worker after the last
        fork, so threads and `daemon` mode mix safely.""",
    ),
    Setting(
        name="loop",
        section="Threads",
        kind="choice",
        default="auto",
        validator=as_choice("auto", "asyncio", "uvloop"),
        help="""\
        Event loop implementation: `auto` picks uvloop when it is installed, else asyncio.""",
        metavar="LOOP",
    ),
    # FastCGI limits
    Setting(
        name="fastcgi_max_params_size",
        section="FastCGI limits",
        kind="size",
        default=256 * 1024,
        validator=as_size,
        help="""\
        Most bytes of FastCGI PARAMS (the CGI environment) one request may send.
        A request with a larger PARAMS stream fails.""",
    ),
    Setting(
        name="fastcgi_max_params",
        section="FastCGI limits",
        kind="int",
        default=1000,
        validator=as_int(minimum=1),
        help="""\
        Most name-value pairs in one request's PARAMS.""",
    ),
    Setting(
        name="fastcgi_max_requests_per_connection",
        section="FastCGI limits",
        kind="int",
        default=0,
        validator=as_int(minimum=0),
        help="""\
        Requests served on one kept-open FastCGI connection before it is closed; 0 = unlimited.
        The connection is closed once idle after that many requests, and the web server opens a
        fresh one.""",
    ),
    Setting(
        name="fastcgi_max_concurrent_requests",
        section="FastCGI limits",
        kind="int",
        default=64,
        validator=as_int(minimum=1),
        help="""\
        Requests multiplexed at once on one FastCGI connection.
        Past it, a new request is refused with `FCGI_OVERLOADED`. nginx never multiplexes; this
        bounds clients that do.""",
    ),
    Setting(
        name="stderr_limit",
        section="FastCGI limits",
        kind="size",
        default=64 * 1024,
        validator=as_size,
        help="""\
        Bytes of `wsgi.errors` output per request forwarded to the web server as FCGI_STDERR.
        The rest goes to the error log only.""",
    ),
    # Requests
    Setting(
        name="max_body_size",
        section="Requests",
        kind="size",
        default=1024**3,
        validator=as_size,
        help="""\
        Largest request body accepted; 0 = unlimited.
        A larger body is answered with 413 Request Entity Too Large.""",
    ),
    Setting(
        name="body_memory_limit",
        section="Requests",
        kind="size",
        default=1024**2,
        validator=as_size,
        help="""\
        Bytes of unread request body kept in memory.
        Past it the body spills to a temporary file or, with `threads` > 0, the upload is paused
        until the app reads `wsgi.input`.""",
    ),
    Setting(
        name="idle_timeout",
        section="Requests",
        kind="seconds",
        default=75.0,
        validator=as_seconds,
        help="""\
        Seconds a connection with no request in progress is kept open.
        The default is above nginx's 60 s upstream `keepalive_timeout`, so nginx closes idle kept
        connections first and never sends a request on one we are closing.""",
    ),
    Setting(
        name="graceful_timeout",
        section="Requests",
        kind="seconds",
        default=30.0,
        validator=as_seconds,
        help="""\
        On SIGTERM, how long in-flight requests may take before they are cut.""",
    ),
    # HTTP
    Setting(
        name="server_header",
        section="HTTP",
        kind="str",
        default="fcgigate",
        validator=as_header_value,
        help="""\
        The `Server` header of HTTP responses; empty sends none.
        An app's own `Server` header is sent as well; FastCGI responses never get one (the web
        server adds its own).""",
    ),
    Setting(
        name="forwarded_allow_ips",
        section="HTTP",
        kind="networks",
        default=("127.0.0.1/32", "::1/128"),
        validator=as_networks,
        help="""\
        HTTP peers trusted to set `X-Forwarded-For`, `-Proto`, `-Host` and `Forwarded`.
        From these addresses (a proxy such as nginx `proxy_pass` on the same host) the headers set
        `REMOTE_ADDR`, `wsgi.url_scheme` and `HTTP_HOST`; from any other peer they are ignored.
        Unix-socket peers are trusted. `*` trusts every peer: only behind a proxy that strips the
        headers.""",
    ),
    Setting(
        name="http_max_request_line",
        section="HTTP",
        kind="int",
        default=8190,
        validator=as_int(minimum=64),
        help="""\
        Bytes of the request target (path and query); longer ones get 414.""",
    ),
    Setting(
        name="http_max_headers",
        section="HTTP",
        kind="int",
        default=100,
        validator=as_int(minimum=1),
        help="""\
        Header fields in one request; more get 431.""",
    ),
    Setting(
        name="http_max_header_size",
        section="HTTP",
        kind="size",
        default=64 * 1024,
        validator=as_size,
        help="""\
        Bytes of all header fields of one request together; more get 431.""",
    ),
    Setting(
        name="header_timeout",
        section="HTTP",
        kind="seconds",
        default=10.0,
        validator=as_seconds,
        help="""\
        Seconds a client has to send a whole request head, from its first byte.
        The defence against slowloris: a connection that trickles its headers is closed (after a
        408 when nothing of it was answered yet).""",
    ),
    Setting(
        name="body_timeout",
        section="HTTP",
        kind="seconds",
        default=30.0,
        validator=as_seconds,
        help="""\
        Seconds a request body may stall (no byte arriving) before the connection is closed.""",
    ),
    Setting(
        name="keepalive_timeout",
        section="HTTP",
        kind="seconds",
        default=5.0,
        validator=as_seconds,
        help="""\
        Seconds an idle HTTP keep-alive connection waits for its next request; 0 disables keep-alive.
        FastCGI connections use `idle_timeout` instead.""",
    ),
    # TLS
    Setting(
        name="certfile",
        section="TLS",
        kind="path",
        default=None,
        validator=as_optional(as_path),
        help="""\
        The certificate chain (PEM) of `https://` listeners: the server's certificate, then intermediates.
        Read by each worker as it starts, so a reload (HUP) picks up a renewed certificate while
        connections in progress go on. A file that cannot be read, or a key that does not match, is
        an error at start and in `fcgigate check`, naming the file.""",
    ),
    Setting(
        name="keyfile",
        section="TLS",
        kind="path",
        default=None,
        validator=as_optional(as_path),
        help="""\
        The private key (PEM) of `certfile`; not needed when `certfile` holds the key too.""",
    ),
    Setting(
        name="ca_certs",
        section="TLS",
        kind="path",
        default=None,
        validator=as_optional(as_path),
        help="""\
        CA certificates (PEM) that client certificates must be signed by (with `verify_client`).""",
    ),
    Setting(
        name="verify_client",
        section="TLS",
        kind="bool",
        default=False,
        validator=as_bool,
        help="""\
        Mutual TLS: refuse clients without a certificate signed by `ca_certs`.
        The app finds the client's certificate subject in `SSL_CLIENT_S_DN` and its verification in
        `SSL_CLIENT_VERIFY`.""",
    ),
    Setting(
        name="tls_min_version",
        section="TLS",
        kind="choice",
        default="1.2",
        validator=as_choice("1.2", "1.3"),
        help="""\
        The oldest TLS version `https://` listeners accept.""",
        metavar="VERSION",
    ),
    Setting(
        name="ciphers",
        section="TLS",
        kind="str",
        default="",
        validator=as_header_value,
        help="""\
        OpenSSL cipher list for TLS 1.2 (`ECDHE+AESGCM:ECDHE+CHACHA20`); empty: OpenSSL's defaults.
        TLS 1.3's suites are not configurable here (OpenSSL's are good).""",
    ),
    # Status
    Setting(
        name="status_path",
        section="Status",
        kind="str",
        default="/fcgigate/status",
        validator=as_page_path,
        help="""\
        The status page, answered by the worker before the app; empty turns it off.
        Text by default; `?json`, `?openmetrics` (Prometheus), `?html` (refreshes itself); `?full`
        adds the workers table to text and JSON. It shows the master (start, generation, reloads,
        worker exits by cause), the listen queues, busy and idle workers, and per worker its state,
        requests, connections, current request, CPU time and memory. Only clients in
        `status_allow` see it; others get 403. `fcgigate status -c FILE` prints it without HTTP.""",
        metavar="PATH",
    ),
    Setting(
        name="ping_path",
        section="Status",
        kind="str",
        default="/fcgigate/ping",
        validator=as_page_path,
        help="""\
        Answered `pong` by the worker itself (a health check that does not touch the app); empty: off.
        Limited by `status_allow` like the status page.""",
        metavar="PATH",
    ),
    Setting(
        name="status_allow",
        section="Status",
        kind="networks",
        default=("127.0.0.1/32", "::1/128", "unix"),
        validator=as_status_allow,
        help="""\
        Who may see the status and ping pages: networks, and `unix` for HTTP peers on a unix socket.
        A request is judged by REMOTE_ADDR: for FastCGI the client address the web server reports
        (nginx's client, not nginx), for HTTP the peer, or a trusted proxy's forwarded address. A
        FastCGI request without REMOTE_ADDR counts as `unix`.""",
    ),
    Setting(
        name="slow_request_timeout",
        section="Status",
        kind="seconds",
        default=10.0,
        validator=as_seconds,
        help="""\
        Log a request still running after this long, once, with the Python stack of its thread; 0: off.
        Taken inside the worker, no ptrace (so it works in containers): with threads, the worker's
        once-a-second tick reads the app thread's stack; an inline app (`threads = 0`) blocks that
        tick, so the master, seeing the request run long, sends the worker SIGUSR2 and its handler
        logs the stack of the blocked app.""",
    ),
    Setting(
        name="request_terminate_timeout",
        section="Status",
        kind="seconds",
        default=50.0,
        validator=as_seconds,
        help="""\
        Answer 504 for a request still running after this long, and recycle the worker; 0: off.
        The client gets 504 if no response has started (else the response is cut), the log gets the
        request and its stack, and the worker is replaced gracefully (a Python thread cannot be
        killed: the new worker starts, then the old one drains). Below nginx's default
        fastcgi_read_timeout (60 s), so the client sees fcgigate's answer. An inline app blocks the
        loop that would answer: it is killed at `timeout` by the master instead.""",
    ),
    # Logging
    Setting(
        name="error_log",
        section="Logging",
        kind="log",
        default="-",
        validator=as_log_target,
        help="""\
        Where the error log goes: `-` for stderr, a file path, or `syslog:`.
        A file is created owned by `user` and reopened on SIGUSR1 (logrotate). `syslog:` sends to
        the local syslog socket (/dev/log); `syslog:server=10.0.0.5:514,facility=local0,tag=app`
        sends elsewhere (UDP for host:port, or `server=unix:/path`; facility defaults to daemon,
        the tag to fcgigate). Under systemd (`JOURNAL_STREAM` names stderr) the lines sent to `-`
        carry the journal's priority prefix and no timestamp of their own.""",
    ),
    Setting(
        name="access_log",
        section="Logging",
        kind="log",
        default="",
        validator=as_optional_log_target,
        help="""\
        Where to write one line per request: a file, `-` for stdout, `syslog:...`, or empty for none.
        Lines are buffered and written once per event-loop turn. SIGUSR1 reopens the file. A
        `syslog:` target takes the same parameters as `error_log`'s and sends one datagram a line,
        at severity info.""",
    ),
    Setting(
        name="access_log_format",
        section="Logging",
        kind="str",
        default='{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {bytes} '
        '"{referer}" "{user_agent}"',
        validator=as_access_format,
        help="""\
        The access log line, with `{field}` names; the default is Apache's combined format.
        Fields: remote_addr, remote_user, time_local, request (the request line), method, uri,
        status, bytes (of the response body), referer, user_agent, request_time_us, pid (of the
        worker), protocol (fastcgi or http), request_id (unique per worker: pid-sequence), wait_us
        (waiting for a free app thread), app_us (in the app, until it returned its last chunk),
        cpu_us (CPU time of the app's thread for this request).""",
    ),
    Setting(
        name="log_rotate_size",
        section="Logging",
        kind="size",
        default=0,
        validator=as_size,
        help="""\
        Rotate the log files when one reaches this size (checked once a second); 0: not by size.
        Built-in rotation, for hosts without logrotate: only the master rotates (access.log becomes
        access.log.1, older files shift up to `log_rotate_keep`), then every worker reopens, as
        SIGUSR1 makes them; the master rotates again only once all have. No line is lost or split,
        and none is written to a removed file. Applies to `error_log` and `access_log` files.""",
    ),
    Setting(
        name="log_rotate_when",
        section="Logging",
        kind="choice",
        default="",
        validator=as_rotate_when,
        help="""\
        Rotate the log files at this time: `hourly`, `midnight` (local), `daily` (every 24 h from the
        start); empty: not by time. Combines with `log_rotate_size`.""",
        metavar="WHEN",
    ),
    Setting(
        name="log_rotate_keep",
        section="Logging",
        kind="int",
        default=7,
        validator=as_int(minimum=1),
        help="""\
        How many rotated files of each log to keep (`.1` is the newest); older ones are removed.""",
    ),
    Setting(
        name="log_level",
        section="Logging",
        kind="choice",
        default="info",
        validator=as_choice("debug", "info", "warning", "error", "critical"),
        help="""\
        Least severe level written to the error log.""",
        metavar="LEVEL",
    ),
)
SETTINGS_BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


# --------------------------------------------------------------------------- mount sections
# Several apps in one gateway: each ``[mount:/prefix]`` section names an app served under
# that URL prefix. They are not registry settings (there may be any number of them, and
# they have no CLI flag or environment variable), but their values go through the same
# validators as the settings they resemble, so that `app`, `mount` and `threads` mean one
# thing everywhere.

MOUNT_SECTION = "mount:"
MAX_MOUNTS = 15  # the scoreboard counts requests per mount in a fixed array (status.MAX_ROUTES - 1)
_MOUNT_KEYS = {"app": "app", "threads": "threads"}


@dataclass(frozen=True)
class Mount:
    """One ``[mount:/prefix]`` section: ``app`` served under ``prefix`` (its SCRIPT_NAME),
    in a pool of ``threads`` threads (0: inline). ``where`` is ``file:line`` of the header."""

    prefix: str
    app: str
    threads: int
    where: str = ""


def _parse_mount(
    file: str, header: str, line: int, entries: list[tuple[str, str, int]], threads: int
) -> Mount:
    """A validated :class:`Mount` from one section; ``threads`` is the global default."""
    where = f"{file}:{line}"
    prefix_text = header[len(MOUNT_SECTION) :].strip()
    try:
        prefix = as_mount(prefix_text)
    except ValueError as error:
        raise ConfigError(f"{where}: section [{header}]: {error}") from None
    if not prefix:
        raise ConfigError(
            f"{where}: section [{header}]: the prefix is empty; the root app is the 'app' setting"
        )
    values: dict[str, Any] = {"threads": threads}
    for key, raw, number in entries:
        if key not in _MOUNT_KEYS:
            error = _unknown(f"{file}:{number}", key, _MOUNT_KEYS, spelling=key)
            raise ConfigError(f"{error} in [{header}] (a mount has 'app' and 'threads')")
        try:
            values[key] = SETTINGS_BY_NAME[key].validator(raw)
        except ValueError as error:
            raise ConfigError(f"{file}:{number}: [{header}] setting {key!r}: {error}") from None
    if not values.get("app"):
        raise ConfigError(
            f"{where}: section [{header}]: setting 'app' is required (app = package.module:callable)"
        )
    return Mount(prefix, values["app"], values["threads"], where)


# --------------------------------------------------------------------------- Config


class Config:
    """The effective, validated configuration; read-only.

    Each setting is an attribute holding its typed value. The annotations below exist
    for type checkers only; a unit test keeps them in step with :data:`SETTINGS`.
    """

    app: str | None
    chdir: str | None
    pythonpath: tuple[str, ...]
    mount: str
    bind: tuple[BindAddress, ...]
    backlog: int
    socket_mode: int
    socket_owner: str
    socket_group: str
    max_connections: int
    workers: str | int
    cpu_affinity: bool
    preload: bool
    daemon: bool
    pidfile: str | None
    umask: int
    timeout: float
    max_requests: int
    max_requests_jitter: int
    recycle_concurrency: int
    user: str
    group: str
    allow_root: bool
    threads: int
    loop: str
    fastcgi_max_params_size: int
    fastcgi_max_params: int
    fastcgi_max_requests_per_connection: int
    fastcgi_max_concurrent_requests: int
    stderr_limit: int
    max_body_size: int
    body_memory_limit: int
    idle_timeout: float
    graceful_timeout: float
    server_header: str
    forwarded_allow_ips: tuple[str, ...]
    http_max_request_line: int
    http_max_headers: int
    http_max_header_size: int
    header_timeout: float
    body_timeout: float
    keepalive_timeout: float
    certfile: str | None
    keyfile: str | None
    ca_certs: str | None
    verify_client: bool
    tls_min_version: str
    ciphers: str
    status_path: str
    ping_path: str
    status_allow: tuple[str, ...]
    slow_request_timeout: float
    request_terminate_timeout: float
    error_log: str | SyslogTarget
    access_log: str | SyslogTarget
    access_log_format: str
    log_rotate_size: int
    log_rotate_when: str
    log_rotate_keep: int
    log_level: str

    path: str | None  # the INI file read, if any
    mounts: tuple[Mount, ...]  # the [mount:/prefix] sections, in file order
    _sources: dict[str, str]

    def __init__(
        self,
        values: Mapping[str, Any],
        sources: Mapping[str, str],
        path: str | None = None,
        mounts: Iterable[Mount] = (),
    ) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "mounts", tuple(mounts))
        object.__setattr__(self, "_sources", dict(sources))
        for setting in SETTINGS:
            object.__setattr__(self, setting.name, values[setting.name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Config is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Config is read-only")

    def __repr__(self) -> str:
        return f"<Config path={self.path!r}>"

    def runs_inline(self) -> bool:
        """Does any app (the root one or a mount's) run inline on the event loop?
        (The master then signals a worker whose request runs long, for its stack.)"""
        return (bool(self.app) and not self.threads) or any(not mount.threads for mount in self.mounts)

    def apps(self) -> str:
        """The apps served, for log lines: ``proj.wsgi:app, /api=proj.api:app``."""
        return ", ".join([*([self.app] if self.app else []), *(f"{m.prefix}={m.app}" for m in self.mounts)])

    def mount_names(self) -> tuple[str, ...]:
        """The status page's names for the scoreboard's per-route counters: the root
        app's `mount` (``/`` at the root; fcgigate's 404 when there is no root app),
        then each [mount:...] prefix; empty when there are no mount sections."""
        if not self.mounts:
            return ()
        return (self.mount or "/", *(mount.prefix for mount in self.mounts))

    def as_dict(self) -> dict[str, Any]:
        """Setting name -> typed value, in registry order."""
        return {setting.name: getattr(self, setting.name) for setting in SETTINGS}

    def source(self, name: str) -> str:
        """Where a value came from: ``conf/dev.ini:12``, ``env FCGIGATE_THREADS``,
        ``--threads`` or ``default``."""
        return self._sources[name]

    def describe(self) -> str:
        """The effective configuration as an INI file that loads back to the same values."""
        lines = [
            (f"{s.name} = {s.format(getattr(self, s.name))}".rstrip(), self.source(s.name)) for s in SETTINGS
        ]
        width = max(len(text) for text, _ in lines) + 2
        body = [f"{text.ljust(width)}# {source}" for text, source in lines]
        for mount in self.mounts:
            body += ["", f"[{MOUNT_SECTION}{mount.prefix}]  # {mount.where}"]
            body += [f"app = {mount.app}", f"threads = {mount.threads}"]
        return "\n".join([f"[{SECTION}]", *body]) + "\n"


# --------------------------------------------------------------------------- INI reader
# configparser forgets line numbers, and "file:line" is the point of our errors, so we
# read the small INI subset we document ourselves: [sections], "key = value" or
# "key: value", full-line comments (# or ;), inline comments after whitespace, and
# continuation lines indented deeper than their key. [fcgigate] and the [mount:/prefix]
# sections are kept; other sections (shared files) are checked for syntax and otherwise
# ignored.

_INLINE_COMMENT_RE = re.compile(r"\s[#;].*$")

Entries = list[tuple[str, str, int]]  # (key, value, line)


@dataclass
class IniFile:
    """What :func:`_read_ini` keeps: the [fcgigate] entries and each mount section's,
    as ``(section name, header line, entries)`` in file order."""

    settings: Entries
    mounts: list[tuple[str, int, Entries]]


def _read_ini(path: str) -> IniFile:
    """Read the [fcgigate] section and the [mount:...] sections of ``path``."""
    try:
        with open(path, encoding="utf-8-sig") as file:
            text = file.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None

    # section name -> (header line, key -> (line number, value lines)), for kept sections
    kept: dict[str, tuple[int, dict[str, tuple[int, list[str]]]]] = {}
    entries: dict[str, tuple[int, list[str]]] | None = None  # the current section's, if kept
    section: str | None = None
    current: list[str] | None = None  # the value lines that continuation lines extend
    current_indent = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue  # as in configparser, indentation alone says whether a value goes on
        line = _INLINE_COMMENT_RE.sub("", stripped).rstrip()  # "[section]  # note" too
        indent = len(raw) - len(raw.lstrip())
        if current is not None and indent > current_indent:
            current.append(line)
            continue
        current = None
        if line.startswith("["):
            if not line.endswith("]") or not line[1:-1].strip():
                raise ConfigError(f"{path}:{number}: syntax error: expected a section header like [fcgigate]")
            section = line[1:-1].strip()
            entries = None
            if section == SECTION or section.startswith(MOUNT_SECTION):
                if section in kept:
                    first = kept[section][0]
                    raise ConfigError(
                        f"{path}:{number}: duplicate section [{section}] (first at line {first})"
                    )
                entries = {}
                kept[section] = (number, entries)
            continue
        positions = [position for position in (line.find("="), line.find(":")) if position >= 0]
        key = line[: min(positions)].strip().lower() if positions else ""
        if not key:
            raise ConfigError(f"{path}:{number}: syntax error: expected 'name = value', got {stripped!r}")
        if section is None:
            raise ConfigError(f"{path}:{number}: {key!r} is outside any section (put [{SECTION}] above it)")
        current, current_indent = [line[min(positions) + 1 :].strip()], indent
        if entries is not None:
            if key in entries:
                first = entries[key][0]
                raise ConfigError(f"{path}:{number}: setting {key!r} given twice (first at line {first})")
            entries[key] = (number, current)
    if SECTION not in kept:
        raise ConfigError(f"{path}: no [{SECTION}] section")

    def flat(items: dict[str, tuple[int, list[str]]]) -> Entries:
        return [(key, "\n".join(lines).strip(), number) for key, (number, lines) in items.items()]

    mounts = [(name, line, flat(items)) for name, (line, items) in kept.items() if name != SECTION]
    return IniFile(flat(kept[SECTION][1]), mounts)


# --------------------------------------------------------------------------- loading


def _unknown(where: str, name: str, candidates: Mapping[str, str], spelling: str = "") -> ConfigError:
    """``candidates`` maps setting names to their spelling in the layer at ``where``."""
    match = difflib.get_close_matches(name, list(candidates), n=1)
    hint = f" (did you mean {candidates[match[0]]!r}?)" if match else ""
    return ConfigError(f"{where}: unknown setting{f' {spelling!r}' if spelling else ''}{hint}")


def load_config(
    path: str | os.PathLike[str] | None,
    cli: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective configuration: CLI > environment > file > default.

    ``path`` is an INI file whose [fcgigate] and [mount:/prefix] sections are read (None:
    no file; mounts exist only in files). ``cli``
    maps setting names to the text given on the command line (see :func:`cli_values`).
    ``environ`` defaults to ``os.environ``; every ``FCGIGATE_*`` name in it must be a
    setting, so a misspelt override fails loudly instead of being ignored. Raises
    :class:`ConfigError` for the first problem found, in any layer, even one a higher
    layer overrides.
    """
    values = {setting.name: setting.default for setting in SETTINGS}
    sources = dict.fromkeys(values, "default")

    def apply(setting: Setting, raw: str, where: str, source: str) -> None:
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{where}: setting {setting.name!r}: {error}") from None
        sources[setting.name] = source

    file = None if path is None else os.fspath(path)
    ini = IniFile([], [])
    if file is not None:
        ini = _read_ini(file)
        names = {name: name for name in SETTINGS_BY_NAME}
        for key, raw, number in ini.settings:
            where = f"{file}:{number}"
            if key not in SETTINGS_BY_NAME:
                raise _unknown(where, key, names, spelling=key)
            apply(SETTINGS_BY_NAME[key], raw, where, where)

    environ = os.environ if environ is None else environ
    env_names = {setting.name: setting.env_name for setting in SETTINGS}
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name not in SETTINGS_BY_NAME or variable != SETTINGS_BY_NAME[name].env_name:
            raise _unknown(variable, name, env_names)
        apply(SETTINGS_BY_NAME[name], raw, variable, f"env {variable}")

    flags = {setting.name: setting.cli_flag for setting in SETTINGS}
    for name, raw in (cli or {}).items():
        if name not in SETTINGS_BY_NAME:
            raise _unknown(f"--{name.replace('_', '-')}", name, flags)
        flag = SETTINGS_BY_NAME[name].cli_flag
        apply(SETTINGS_BY_NAME[name], raw, flag, flag)

    # After every layer: a mount without its own `threads` takes the effective global one.
    mounts: list[Mount] = []
    seen: dict[str, str] = {}
    for header, line, entries in ini.mounts:
        mount = _parse_mount(file or "", header, line, entries, values["threads"])
        if mount.prefix in seen:
            raise ConfigError(
                f"{mount.where}: mount {mount.prefix!r} given twice (first at {seen[mount.prefix]})"
            )
        seen[mount.prefix] = mount.where
        if values["app"] and mount.prefix == values["mount"]:
            raise ConfigError(f"{mount.where}: mount {mount.prefix!r} is also the 'mount' of the root app")
        mounts.append(mount)
    if len(mounts) > MAX_MOUNTS:
        raise ConfigError(f"{mounts[MAX_MOUNTS].where}: at most {MAX_MOUNTS} [mount:...] sections")
    return Config(values, sources, file, mounts)


# --------------------------------------------------------------------------- argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one ``--flag VALUE`` per setting, grouped by section.

    Flags default to ``argparse.SUPPRESS`` so that :func:`cli_values` sees only what
    the user typed; every flag takes a value, booleans included (``--flag true``), so
    that CLI, env and file all accept the same spellings.
    """
    groups: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.section not in groups:
            groups[setting.section] = parser.add_argument_group(setting.section)
        groups[setting.section].add_argument(
            setting.cli_flag,
            dest=setting.name,
            default=argparse.SUPPRESS,
            metavar=setting.value_name,
            help=f"{setting.short_help} (default: {setting.default_text})".replace("%", "%%"),
        )


def cli_values(namespace: argparse.Namespace) -> dict[str, str]:
    """The settings given on the command line, as ``{name: text}`` for :func:`load_config`."""
    return {
        setting.name: getattr(namespace, setting.name)
        for setting in SETTINGS
        if hasattr(namespace, setting.name)
    }


# --------------------------------------------------------------------------- docs


def render_docs() -> str:
    """docs/settings.md, in Markdown."""
    out = [
        DOCS_HEADER,
        "",
        "# Settings",
        "",
        "Every setting can be given in three places. The first that has it wins:",
        "",
        "1. the command line: `--threads 4`;",
        "2. the environment: `FCGIGATE_THREADS=4`;",
        f"3. the `[{SECTION}]` section of the INI file: `threads = 4`;",
        "",
        "and otherwise the default applies. In the INI file, `name: value` works too, a line",
        "starting with `#` or `;` is a comment (so is `#` or `;` after whitespace), and a value",
        "may continue on following lines indented deeper than its name. Sections other than",
        f"`[{SECTION}]` and `[{MOUNT_SECTION}/prefix]` are ignored. Every `FCGIGATE_` variable must",
        "name a setting. A bad value stops fcgigate with one line that says where it was written,",
        "which setting, and why.",
        "",
        "## Mount sections",
        "",
        f"Several apps can share one gateway: each `[{MOUNT_SECTION}/prefix]` section of the INI file",
        "serves its `app` (required, written like the `app` setting) under that URL prefix (written",
        "like `mount`: a leading slash, no trailing slash), in a pool of `threads` threads (optional,",
        "like `threads`; default: the global `threads`, 0 runs it inline). A request goes to the",
        "mount with the longest prefix that equals its path or starts it followed by `/`, matched on",
        "the percent-decoded path with dot segments removed; that app sees `SCRIPT_NAME` = the prefix",
        "and `PATH_INFO` = the rest. Other paths go to the root app (`app`, at `mount`), or get",
        f"fcgigate's `404 Not Found` when `app` is not set. At most {MAX_MOUNTS} mounts; they have no",
        "command-line flag or environment variable. See docs/mounts.md.",
        "",
        "```ini",
        "[mount:/api]",
        "app = myproject.api:app",
        "threads = 8",
        "```",
        "",
    ]
    sections = list(dict.fromkeys(setting.section for setting in SETTINGS))
    for section in sections:
        out += [f"## {section}", ""]
        for s in (setting for setting in SETTINGS if setting.section == section):
            default = s.default_text if s.default_text in ("not set", "empty") else f"`{s.default_text}`"
            out += [
                f"### `{s.name}`",
                "",
                s.short_help,
                "",
                f"- Type: {s.kind}. {s.accepts}",
                f"- Default: {default}",
                f"- INI `{s.name} = {s.value_name}`, CLI `{s.cli_flag} {s.value_name}`, "
                f"env `{s.env_name}={s.value_name}`",
                "",
            ]
            if s.long_help:
                out += [s.long_help, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fcgigate.config --docs`` prints docs/settings.md."""
    parser = argparse.ArgumentParser(prog="python -m fcgigate.config", description=main.__doc__)
    parser.add_argument("--docs", action="store_true", help="print the Markdown for docs/settings.md")
    args = parser.parse_args(argv)
    if not args.docs:
        parser.print_usage(sys.stderr)
        return 2
    sys.stdout.write(render_docs())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
