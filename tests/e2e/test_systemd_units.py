"""The systemd units in systemd/, read as systemd reads them and held to what fcgigate does.

- fcgigate.service: Type=notify with NotifyAccess=all (an upgraded master reports its
  own MAINPID), reload is HUP to the master, ExecStart runs the master in the foreground
  on a configuration file, the stop timeout outlasts the master's own graceful stop,
  a worker killed for memory does not stop the service, the process is unprivileged
  and sandboxed, and every file conf/prod.ini writes is writable in that sandbox.
- fcgigate.socket: every socket systemd hands over matches a `bind` URL of
  conf/prod.ini, decided with fcgigate's own address comparison
  (``sockets.same_address``): one that matches none would be served only with the
  protocol its FileDescriptorName= names, whatever prod.ini says. The settings prod.ini gives
  sockets fcgigate binds itself (mode, group, backlog) are repeated in the unit.
- ``systemd-analyze verify`` accepts both files without a warning.

The units are parsed by a small reader of systemd.syntax(7), tested first.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from fcgigate.config import load_config
from fcgigate.master import KILL_GRACE
from fcgigate.sockets import same_address

REPO = Path(__file__).resolve().parents[2]
SERVICE_FILE = REPO / "systemd" / "fcgigate.service"
SOCKET_FILE = REPO / "systemd" / "fcgigate.socket"
PROD_INI = REPO / "conf" / "prod.ini"

Unit = dict[str, dict[str, list[str]]]


# --------------------------------------------------------------------------- reading units


def parse_unit(text: str) -> Unit:
    """``{section: {key: [values]}}`` from a unit file, as systemd.syntax(7) reads it.

    A key may repeat (each value is kept, in order); an empty assignment (``Key=``)
    empties the list, as it resets list settings in systemd, but leaves the key present.
    Whole lines starting with ``#`` or ``;`` are comments (elsewhere both characters
    are part of the value). A line ending in a backslash goes on with the next one,
    the backslash becoming a space; comment lines inside a continued line are skipped.
    A line that is none of these raises ValueError, naming its number.
    """
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    pending = ""  # a continued line, so far
    start = 0  # its first line's number
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith(("#", ";")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise ValueError(f"line {start}: bad section header {line!r}")
            section = unit.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not re.fullmatch(r"[A-Za-z0-9_-]+", key):
            raise ValueError(f"line {start}: expected Key=Value, got {line!r}")
        if section is None:
            raise ValueError(f"line {start}: {key}= outside any [Section]")
        values = section.setdefault(key, [])
        if value:
            values.append(value)
        else:
            values.clear()
    if pending:
        raise ValueError(f"line {start}: the file ends inside a continued line")
    return unit


def last(unit: Unit, section: str, key: str) -> str | None:
    """The value a single-valued setting takes (the last assignment wins), or None."""
    values = unit.get(section, {}).get(key)
    return values[-1] if values else None


def words(unit: Unit, section: str, key: str) -> list[str]:
    """A space-separated list setting, all its lines together."""
    return [word for value in unit.get(section, {}).get(key, []) for word in value.split()]


def command(value: str) -> list[str]:
    """An Exec*= command line as argv, without systemd's prefixes (-, @, :, +, !)."""
    return shlex.split(value.lstrip("-@:+!"))


TIME_UNITS = {
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
}  # fmt: skip


def timespan(value: str) -> float:
    """Seconds in a systemd time span: ``45``, ``45s``, ``1min 30s``, ``1.5h``."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value)
    if not parts or re.sub(r"[\d.a-z\s]", "", value) or any(u and u not in TIME_UNITS for _, u in parts):
        raise ValueError(f"not a time span: {value!r}")
    return sum(float(n) * TIME_UNITS[u or "s"] for n, u in parts)


def test_parse_unit_reads_systemd_syntax() -> None:
    text = (
        "# a comment\n"
        "; another\n"
        "[Service]\n"
        "ExecStart=/bin/a \\\n"
        "# a comment inside the continued line is skipped\n"
        "    --flag value\n"
        "Environment=A=1 # not a comment here\n"
        "ListenStream=one\n"
        "  ListenStream = two  \n"
        "ExecReload=/bin/old\n"
        "ExecReload=\n"
        "ExecReload=/bin/new\n"
        "CapabilityBoundingSet=\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    assert parse_unit(text) == {
        "Service": {
            "ExecStart": ["/bin/a  --flag value"],
            "Environment": ["A=1 # not a comment here"],
            "ListenStream": ["one", "two"],
            "ExecReload": ["/bin/new"],
            "CapabilityBoundingSet": [],
        },
        "Install": {"WantedBy": ["multi-user.target"]},
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Type=notify\n", "outside any [Section]"),
        ("[Service]\nType notify\n", "line 2: expected Key=Value"),
        ("[Service\n", "bad section header"),
        ("[Service]\nExecStart=/bin/a \\\n", "ends inside a continued line"),
    ],
)
def test_parse_unit_refuses_what_it_does_not_understand(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_unit(text)


def test_timespan_reads_systemd_time_spans() -> None:
    assert [timespan(v) for v in ("45", "45s", "1min 30s", "1.5h", "500ms")] == [45, 45, 90, 5400, 0.5]
    with pytest.raises(ValueError):
        timespan("45 fortnights")


# --------------------------------------------------------------------------- the units


@pytest.fixture(scope="module")
def service() -> Unit:
    return parse_unit(SERVICE_FILE.read_text())


@pytest.fixture(scope="module")
def socket_unit() -> Unit:
    return parse_unit(SOCKET_FILE.read_text())


@pytest.fixture(scope="module")
def prod() -> Any:
    """conf/prod.ini as the daemon reads it (defaults for what it leaves out), no env."""
    return load_config(PROD_INI, environ={})


def test_service_is_type_notify_and_hears_an_upgraded_master(service: Unit) -> None:
    # notify-reload (systemd >= 253) is notify plus the HUP sent by systemd itself.
    assert last(service, "Service", "Type") in ("notify", "notify-reload")
    # The master that USR2 starts is a child of the old one; it sends MAINPID=.
    assert last(service, "Service", "NotifyAccess") == "all"


def test_reload_is_sighup_to_the_master(service: Unit) -> None:
    reloads = [command(value) for value in service["Service"].get("ExecReload", [])]
    if last(service, "Service", "Type") == "notify-reload":
        assert reloads == [], "with notify-reload systemd sends the signal itself"
        assert last(service, "Service", "ReloadSignal") in (None, "SIGHUP", "HUP")
        return
    assert reloads, "Type=notify needs an ExecReload= that sends HUP"
    kill = reloads[-1]
    assert PurePosixPath(kill[0]).name == "kill" and kill[-1] == "$MAINPID", kill
    assert kill[1:-1] in (["-HUP"], ["-SIGHUP"], ["-s", "HUP"], ["-s", "SIGHUP"]), kill
    # Anything before the signal is a check of the very configuration the master reads.
    start = command(last(service, "Service", "ExecStart") or "")
    for check in reloads[:-1]:
        assert check == [start[0], "check", *start[1:]], check


def test_exec_start_runs_the_master_in_the_foreground_on_a_config_file(service: Unit, prod: Any) -> None:
    argv = command(last(service, "Service", "ExecStart") or "")
    assert argv and PurePosixPath(argv[0]).is_absolute() and PurePosixPath(argv[0]).name == "fcgigate"
    assert "-c" in argv, argv
    config = PurePosixPath(argv[argv.index("-c") + 1])
    assert config.is_absolute() and config.suffix == ".ini", config
    # daemon = true would detach from the process systemd started and watches.
    assert not any(arg.startswith("--daemon") for arg in argv), argv
    assert prod.daemon is False, "conf/prod.ini must keep daemon = false under systemd"


def test_stop_timeout_outlasts_the_masters_graceful_stop(service: Unit, prod: Any) -> None:
    # TERM is the graceful stop (INT and QUIT drop in-flight requests) ...
    assert last(service, "Service", "KillSignal") in (None, "SIGTERM", "TERM")
    # ... sent to the master alone, which stops its workers itself ...
    assert last(service, "Service", "KillMode") == "mixed"
    # ... and given until the master's own deadline and then some, or systemd's
    # SIGKILL cuts requests the master would have let finish.
    stop = last(service, "Service", "TimeoutStopSec") or last(service, "Service", "TimeoutSec")
    assert stop is not None, "the default TimeoutStopSec (90 s) is not ours to rely on"
    master_deadline = prod.graceful_timeout + KILL_GRACE
    assert timespan(stop) > master_deadline, f"TimeoutStopSec={stop}, the master may take {master_deadline} s"


def test_a_crash_restarts_and_a_killed_worker_does_not_stop_the_service(service: Unit) -> None:
    assert last(service, "Service", "Restart") == "on-failure"
    # systemd's default OOMPolicy (stop) would stop the whole service when the
    # kernel kills one worker; the master replaces it.
    assert last(service, "Service", "OOMPolicy") == "continue"


def test_runs_unprivileged_and_sandboxed(service: Unit, prod: Any) -> None:
    user, group = last(service, "Service", "User"), last(service, "Service", "Group")
    assert user and user not in ("root", "0"), user
    # fcgigate's own privilege drop would need root, which the unit never gives it.
    assert prod.user in ("", user) and prod.group in ("", group), (prod.user, prod.group)
    assert last(service, "Service", "NoNewPrivileges") == "yes"
    assert service["Service"].get("CapabilityBoundingSet") == [], "no capabilities: systemd binds the ports"
    assert last(service, "Service", "ProtectSystem") == "strict"
    assert last(service, "Service", "PrivateTmp") == "yes"
    # sd_notify and the unix socket are AF_UNIX: without it READY=1 never arrives.
    families = words(service, "Service", "RestrictAddressFamilies")
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(families) and "~" not in "".join(families), families


def writable_dirs(service: Unit) -> list[PurePosixPath]:
    """What ProtectSystem=strict leaves writable and the rest of the system can see:
    the unit's directories and its ReadWritePaths (not its PrivateTmp /tmp, the
    service's alone)."""
    base = {"RuntimeDirectory": "/run", "LogsDirectory": "/var/log", "StateDirectory": "/var/lib",
            "CacheDirectory": "/var/cache"}  # fmt: skip
    dirs = [PurePosixPath(root, d) for key, root in base.items() for d in words(service, "Service", key)]
    return dirs + [PurePosixPath(p.lstrip("-")) for p in words(service, "Service", "ReadWritePaths")]


def under(path: str, dirs: list[PurePosixPath]) -> bool:
    return any(PurePosixPath(path).is_relative_to(d) for d in dirs)


def test_what_prod_ini_writes_is_writable_and_visible(service: Unit, prod: Any) -> None:
    runtime = writable_dirs(service)
    assert words(service, "Service", "RuntimeDirectory"), "RuntimeDirectory= for the pidfile"
    # The pidfile in a RuntimeDirectory: writable, removed at stop, and seen by
    # `fcgigate reopen` and logrotate (a PrivateTmp /tmp is the service's alone).
    if prod.pidfile:
        dirs = [PurePosixPath("/run", d) for d in words(service, "Service", "RuntimeDirectory")]
        assert under(prod.pidfile, dirs), f"pidfile {prod.pidfile} is not under {dirs}"
    for name in ("error_log", "access_log"):
        target = getattr(prod, name, "")
        if isinstance(target, str) and target not in ("", "-"):  # a file (not stderr, syslog)
            assert under(target, runtime), f"{name} {target} is not under {runtime}"


@dataclass
class ActivatedSocket:
    """What fcgigate sees of a socket systemd bound for a ListenStream= value:
    its family and getsockname() (enough for ``sockets.same_address``)."""

    family: int
    name: Any

    def getsockname(self) -> Any:
        return self.name


def activated_socket(listen: str) -> ActivatedSocket:
    """systemd.socket(5): a path, ``ADDRESS:PORT``, ``[IPV6]:PORT``, or a bare port
    (every address, IPv6 and IPv4 on one socket, which reports itself as ``::``)."""
    if listen.startswith("/"):
        return ActivatedSocket(socket.AF_UNIX, listen)
    if listen.isdigit():
        return ActivatedSocket(socket.AF_INET6, ("::", int(listen), 0, 0))
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([0-9.]+):(\d+)", listen)
    if not match:
        raise ValueError(f"ListenStream={listen}: not a form this test knows")
    if match.group(1):
        return ActivatedSocket(socket.AF_INET6, (str(ipaddress.ip_address(match.group(1))),
                                                 int(match.group(2)), 0, 0))  # fmt: skip
    return ActivatedSocket(socket.AF_INET, (match.group(3), int(match.group(4))))


def test_activated_socket_reads_listen_stream_forms() -> None:
    assert activated_socket("/run/x.sock") == ActivatedSocket(socket.AF_UNIX, "/run/x.sock")
    assert activated_socket("127.0.0.1:8000") == ActivatedSocket(socket.AF_INET, ("127.0.0.1", 8000))
    assert activated_socket("[::1]:80").name == ("::1", 80, 0, 0)
    assert activated_socket("80") == ActivatedSocket(socket.AF_INET6, ("::", 80, 0, 0))
    with pytest.raises(ValueError):
        activated_socket("eth0:80")


def test_every_socket_systemd_hands_over_is_a_bind_url_of_prod_ini(socket_unit: Unit, prod: Any) -> None:
    """fcgigate serves a socket that matches a bind URL with that URL's protocol and
    keeps it across reloads; any other gets FileDescriptorName's protocol (one name for
    every socket of the unit: a unix FastCGI socket and an HTTP port cannot both be
    right) and is closed at the first HUP. So: each ListenStream= is in `bind`."""
    listens = socket_unit["Socket"].get("ListenStream", [])
    assert listens, "fcgigate.socket listens on nothing"
    binds = ", ".join(address.url for address in prod.bind)
    for listen in listens:
        matches = [a for a in prod.bind if same_address(activated_socket(listen), a)]
        assert len(matches) == 1, (
            f"ListenStream={listen} must match one bind URL of conf/prod.ini ({binds}), "
            f"matches {[a.url for a in matches]}"
        )


def test_every_bind_url_of_prod_ini_can_be_listened_on(service: Unit, socket_unit: Unit, prod: Any) -> None:
    """A bind URL that no ListenStream= covers is bound by fcgigate itself, as the
    unit's user, inside its sandbox: a unix socket needs a directory it may write
    that nginx can see (not the private /tmp), a port below 1024 needs systemd."""
    activated = [activated_socket(listen) for listen in socket_unit["Socket"].get("ListenStream", [])]
    visible = writable_dirs(service)
    for address in prod.bind:
        if any(same_address(sock, address) for sock in activated):
            continue
        if address.family == "unix":
            assert under(address.path, visible), (
                f"{address.url}: fcgigate may not create it or nginx cannot see it"
            )
        else:
            assert address.port >= 1024, f"{address.url}: a privileged port; add it to fcgigate.socket"


def test_the_service_cannot_take_its_unix_sockets_away(service: Unit, socket_unit: Unit) -> None:
    """A unix socket systemd binds must not lie where the service may write. systemd
    chowns a RuntimeDirectory= (recursively, to User= and Group=) when the service
    starts, which takes the socket from nginx's group, and deletes it when the service
    stops, while fcgigate.socket goes on holding a socket nginx can no longer find; and
    fcgigate removes the file of a unix socket when it stops listening on it."""
    writable = writable_dirs(service)
    for listen in socket_unit["Socket"].get("ListenStream", []):
        if listen.startswith("/"):
            assert not under(listen, writable), f"ListenStream={listen} is under one of {writable}"


def test_socket_unit_repeats_what_prod_ini_says_of_its_sockets(socket_unit: Unit, prod: Any) -> None:
    # socket_mode, socket_owner, socket_group and backlog apply only to sockets
    # fcgigate binds: for those systemd binds, the unit must say the same.
    listens = socket_unit["Socket"].get("ListenStream", [])
    if any(listen.startswith("/") for listen in listens):
        assert int(last(socket_unit, "Socket", "SocketMode") or "0666", 8) == prod.socket_mode
        assert last(socket_unit, "Socket", "SocketGroup"), "nginx's group, so that it may connect"
        if prod.socket_group:
            assert last(socket_unit, "Socket", "SocketGroup") == prod.socket_group
        if prod.socket_owner:
            assert last(socket_unit, "Socket", "SocketUser") == prod.socket_owner
    backlog = last(socket_unit, "Socket", "Backlog")
    assert backlog is not None and int(backlog) >= prod.backlog, (backlog, prod.backlog)
    # Accept=yes would start one fcgigate per connection.
    assert last(socket_unit, "Socket", "Accept") in (None, "no", "false")


def test_socket_and_service_name_each_other(service: Unit, socket_unit: Unit) -> None:
    # The socket activates this service (Service=, else the unit of the same name) ...
    assert (last(socket_unit, "Socket", "Service") or SOCKET_FILE.stem + ".service") == SERVICE_FILE.name
    # ... and the service never starts without its sockets: it could not bind them.
    assert SOCKET_FILE.name in words(service, "Unit", "Requires")
    assert SOCKET_FILE.name in words(service, "Unit", "After")
    assert last(socket_unit, "Install", "WantedBy") == "sockets.target"


def test_limit_nofile_fits_every_connection_of_a_worker(service: Unit, prod: Any) -> None:
    # Per worker: a socket per connection and, past body_memory_limit, a
    # temporary file per request body; the default soft limit is 1024.
    limit = last(service, "Service", "LimitNOFILE")
    assert limit is not None and int(limit.split(":")[0]) >= 2 * prod.max_connections, limit


# --------------------------------------------------------------------------- systemd-analyze


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """systemd's own reading of the files: an unknown key, a value it cannot parse
    (Type=notify-reload on systemd < 253) or a missing command is a warning naming
    the file. The commands are pointed at this checkout's fcgigate (verify checks
    that they exist); the user and groups are not looked up."""
    analyze = shutil.which("systemd-analyze")
    # Not skipped when missing: .ci/run installs it, and a check that silently
    # does not run proves nothing.
    assert analyze is not None, "systemd-analyze is not installed: `sudo apt-get install systemd`"
    fcgigate = Path(sys.executable).with_name("fcgigate")
    assert fcgigate.is_file() and os.access(fcgigate, os.X_OK), f"{fcgigate}: pip install -e . first"
    service_text = SERVICE_FILE.read_text()
    installed = {command(v)[0] for v in parse_unit(service_text)["Service"]["ExecStart"]}
    assert len(installed) == 1, installed
    (tmp_path / SERVICE_FILE.name).write_text(service_text.replace(installed.pop(), str(fcgigate)))
    shutil.copy(SOCKET_FILE, tmp_path / SOCKET_FILE.name)
    result = subprocess.run(
        [analyze, "verify", "--man=no", SERVICE_FILE.name, SOCKET_FILE.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    output = result.stdout + result.stderr
    ours = [line for line in output.splitlines() if "fcgigate" in line]
    assert result.returncode == 0 and not ours, output
