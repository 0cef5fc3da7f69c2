"""Start, probe, measure and stop the servers under test.

A configuration under test is a ``Server``: one or more ``Launch``es (a process
group each: fcgigate's master and workers, gunicorn's arbiter and worker, nginx's
master and worker...), started in order, each waited for until its address
accepts, and stopped in reverse order whatever happens. The builders at the end
(``fcgigate``, ``gunicorn``, ``granian``, ``flup``, ``uwsgi``, ``nginx``) turn a
handful of arguments into a ``Launch``; ``bench/scenarios.py`` combines them.

Every process is started in a session of its own (``start_new_session``), so
that it and its workers form one process group that can be found in /proc (to
sum their memory) and killed as a whole; and with ``PR_SET_PDEATHSIG`` so that a
driver killed with SIGKILL does not leave a master running. Everything listens
on 127.0.0.1 or on a unix socket in the run's own temporary directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
NGINX_TEMPLATE = BENCH_DIR / "nginx.conf.in"
FASTCGI_PARAMS = Path("/etc/nginx/fastcgi_params")
# nginx lives in /usr/sbin, which is not on an unprivileged user's PATH.
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])

# Every server imports its app by such a path (bench/apps.py; PYTHONPATH has the repository).
HELLO_APP = "bench.apps:hello"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# Python servers' error lines: fcgigate, gunicorn and granian print "[ERROR]",
# every one of them prints a traceback.
PYTHON_ERROR = re.compile(r"\[(ERROR|CRITICAL)\]|Traceback \(most recent call last\)")
NGINX_ERROR = re.compile(r"\[(error|crit|alert|emerg)\]")

Address = tuple[str, int] | str  # (host, port) or a unix socket path


class StartError(RuntimeError):
    """A server did not come up (exited, never accepted, or answered its probe wrongly)."""


# -- small helpers


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def can_connect(address: Address, timeout: float = 0.5) -> bool:
    """True if something accepts connections at ``address``."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            return False
    return True


def find_nginx() -> str | None:
    return shutil.which("nginx", path=SBIN_PATH)


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every server runs in: the driver's, without the developer's
    ``FCGIGATE_*`` settings (a stray FCGIGATE_THREADS would change what is measured),
    with the repository on PYTHONPATH so that every server imports ``bench.apps``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FCGIGATE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    env.update(extra or {})
    return env


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the driver dies (Linux). The driver starts
    servers (and the idle-connection helper) only while it has no other thread, which
    preexec_fn requires."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def group_pids(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``, from /proc."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            pids.append(int(entry))
    return pids


def _proc_kib(path: str, key: str) -> int:
    """A "Key:   123 kB" value from a /proc file, 0 if absent (a process that just exited)."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_kib(pids: Sequence[int]) -> dict[str, int]:
    """RSS and PSS summed over ``pids``. RSS counts pages a master shares with its
    forked workers once per process (the figure ps and top show); PSS divides
    shared pages among their users, so it adds up across processes."""
    return {
        "rss_kib": sum(_proc_kib(f"/proc/{pid}/status", "VmRSS:") for pid in pids),
        "pss_kib": sum(_proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids),
        "processes": len(pids),
    }


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# -- one process group


@dataclass
class LogWatch:
    """A log file whose error lines count as errors of the run: ``classify`` names
    the counter a line goes to (or None to ignore it). Only lines written after
    ``mark()`` (after the warm-up) count."""

    path: Path
    classify: Callable[[str], str | None]
    offset: int = 0

    def mark(self) -> None:
        try:
            self.offset = self.path.stat().st_size
        except OSError:
            self.offset = 0

    def count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return counts
        for line in text.splitlines():
            key = self.classify(line)
            if key:
                counts[key] = counts.get(key, 0) + 1
        return counts


def python_errors(line: str) -> str | None:
    return "server_log" if PYTHON_ERROR.search(line) else None


def nginx_errors(line: str) -> str | None:
    """nginx's [error] and worse lines: "upstream" ones (a backend that reset, closed
    early or timed out: the errors the issue counts) apart from the rest."""
    if not NGINX_ERROR.search(line):
        return None
    return "upstream" if "upstream" in line else "nginx"


@dataclass
class Launch:
    """One process group to start: its command, where it accepts when ready, the
    files its error lines are counted in, and the signal that stops it (sent to
    the group's leader, which stops its own workers; the group is killed after)."""

    name: str
    role: str  # "server" (the one under test) or "nginx" (the front)
    argv: list[str]
    cwd: Path
    address: Address
    output: Path
    watches: list[LogWatch] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=server_env)
    stop_signal: int = signal.SIGTERM
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.output, "ab") as output:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def logs(self) -> str:
        """The ends of its output and of its logs, for an error message."""
        paths = dict.fromkeys([self.output, *(watch.path for watch in self.watches)])
        return "\n".join(f"--- {path}:\n{tail(path)}" for path in paths if tail(path))

    def wait_ready(self, deadline: float) -> None:
        if self.proc is None:
            raise StartError(f"{self.name} was not started")
        while True:
            if self.proc.poll() is not None:
                raise StartError(
                    f"{self.name} exited with status {self.proc.returncode} before accepting "
                    f"connections:\n{self.logs()}"
                )
            if can_connect(self.address):
                return
            if time.monotonic() > deadline:
                raise StartError(f"{self.name} did not accept on {self.address!r} in time:\n{self.logs()}")
            time.sleep(0.02)

    def pids(self) -> list[int]:
        return group_pids(self.proc.pid) if self.proc is not None else []

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Signal the leader, wait for it, then kill whatever is left of its group
        (a worker that outlived its master must not hold a port into the next run)."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pgid, self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout)
        deadline = time.monotonic() + 2.0
        while group_pids(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


class Server:
    """A configuration's process groups (a backend, then nginx in front of it),
    reached by wrk at ``url``. A context manager: ``stop()`` always runs."""

    def __init__(
        self,
        launches: Sequence[Launch],
        port: int,
        probe_body: bytes | None = None,
        facts: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self.launches = list(launches)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.probe_body = probe_body
        self._facts = facts

    def facts(self) -> dict[str, object]:
        """What the configuration itself reports after a run (the access log's line count)."""
        return self._facts() if self._facts is not None else {}

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start every launch in order, wait for each, then GET / until it answers 200
        (a master accepts before its workers serve). Returns the seconds it took."""
        began = time.monotonic()
        deadline = began + timeout
        for launch in self.launches:
            launch.start()
            launch.wait_ready(deadline)
        self._probe(deadline)
        return time.monotonic() - began

    def _probe(self, deadline: float) -> None:
        last = "no answer"
        while time.monotonic() < deadline:
            for launch in self.launches:
                if launch.proc is not None and launch.proc.poll() is not None:
                    raise StartError(f"{launch.name} exited during start-up:\n{launch.logs()}")
            conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=max(0.5, deadline - time.monotonic())
            )
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read()
                if response.status == 200 and (self.probe_body is None or body == self.probe_body):
                    return
                last = f"{response.status} {response.reason}: {body[:200]!r}"
            except (OSError, http.client.HTTPException) as error:
                last = repr(error)
            finally:
                conn.close()
            time.sleep(0.05)
        logs = "\n".join(launch.logs() for launch in self.launches)
        raise StartError(f"GET / never answered 200 (last: {last})\n{logs}")

    def mark(self) -> None:
        """From now on, error lines in the logs count (the warm-up is over)."""
        for launch in self.launches:
            for watch in launch.watches:
                watch.mark()

    def log_errors(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for launch in self.launches:
            for watch in launch.watches:
                for key, value in watch.count().items():
                    counts[key] = counts.get(key, 0) + value
        return counts

    def memory(self) -> dict[str, int]:
        """Memory of the server under test, and of nginx (if any) apart."""
        found: dict[str, int] = {}
        for launch in self.launches:
            prefix = "" if launch.role == "server" else f"{launch.role}_"
            for key, value in memory_kib(launch.pids()).items():
                found[prefix + key] = found.get(prefix + key, 0) + value
        return found

    def stop(self) -> None:
        """Stop the front first (it stops sending), then the backend; each one is
        stopped even if stopping another raised (^C twice)."""
        failures: list[BaseException] = []
        for launch in reversed(self.launches):
            try:
                launch.stop()
            except BaseException as error:  # KeyboardInterrupt too: stop the rest, then raise it
                failures.append(error)
        if failures:
            raise failures[0]

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- builders: one Launch per kind of server


@dataclass(frozen=True)
class Tools:
    """What the builders need from the machine: the interpreter that runs fcgigate,
    the peers' virtualenv, nginx, and the size of nginx's upstream keepalive pool."""

    python: str
    peers: Path | None
    nginx: str | None
    upstream_keepalive: int = 64

    def peer_bin(self, name: str) -> str:
        if self.peers is None:
            raise StartError(f"{name} needs the peers' virtualenv, which this run has not")
        return str(self.peers / "bin" / name)


def _ini_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fcgigate(
    tools: Tools,
    workdir: Path,
    bind: str,
    address: Address,
    settings: Mapping[str, object],
    app: str = HELLO_APP,
) -> Launch:
    """``python -m fcgigate -c <workdir>/fcgigate.ini``, as a user runs it. One
    worker unless ``settings`` says otherwise; allowed to run as root (the bench
    machine is a throwaway one, and CI runs as root)."""
    workdir.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "app": app,
        "bind": bind,
        "workers": 1,
        "allow_root": True,
        "error_log": workdir / "fcgigate-error.log",
    }
    values.update(settings)
    ini = workdir / "fcgigate.ini"
    lines = ["; written by bench/servers.py", "[fcgigate]"]
    lines += [f"{name} = {_ini_value(value)}" for name, value in values.items()]
    ini.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Launch(
        name="fcgigate",
        role="server",
        argv=[tools.python, "-m", "fcgigate", "-c", str(ini)],
        cwd=workdir,
        address=address,
        output=workdir / "fcgigate.out",
        watches=[
            LogWatch(Path(str(values["error_log"])), python_errors),
            LogWatch(workdir / "fcgigate.out", python_errors),
        ],
    )


def gunicorn(
    tools: Tools, workdir: Path, port: int, worker_class: str = "sync", threads: int = 1, app: str = HELLO_APP
) -> Launch:
    """gunicorn, one worker of ``worker_class`` (sync, or gthread with ``threads``)."""
    argv = [tools.peer_bin("gunicorn"), "--workers", "1", "--worker-class", worker_class]
    if worker_class == "gthread":
        argv += ["--threads", str(threads)]
    argv += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", app]
    output = workdir / "gunicorn.out"
    return Launch(
        "gunicorn", "server", argv, workdir, ("127.0.0.1", port), output, [LogWatch(output, python_errors)]
    )


def granian(tools: Tools, workdir: Path, port: int, app: str = HELLO_APP) -> Launch:
    """granian's WSGI interface, one worker, HTTP/1 only (fcgigate speaks no HTTP/2,
    and ``auto`` would sniff every connection for it)."""
    argv = [
        tools.peer_bin("granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--http",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        app,
    ]
    output = workdir / "granian.out"
    return Launch(
        "granian",
        "server",
        argv,
        workdir,
        ("127.0.0.1", port),
        output,
        [LogWatch(output, python_errors)],
        stop_signal=signal.SIGINT,
    )


def flup(tools: Tools, workdir: Path, socket_path: Path, app: str = HELLO_APP) -> Launch:
    """flup's threaded FastCGI ``WSGIServer`` (bench/flup_server.py) on a unix socket."""
    argv = [tools.peer_bin("python"), str(BENCH_DIR / "flup_server.py"), str(socket_path), app]
    output = workdir / "flup.out"
    return Launch(
        "flup", "server", argv, workdir, str(socket_path), output, [LogWatch(output, python_errors)]
    )


def uwsgi(tools: Tools, workdir: Path, socket_path: Path, app: str = HELLO_APP) -> Launch:
    """uWSGI's FastCGI socket, a master and one single-threaded worker, request
    logging off. ``--die-on-term``: uWSGI 2.0 reloads on SIGTERM otherwise; it is
    stopped with SIGINT (its immediate shutdown) anyway."""
    binary = tools.peer_bin("uwsgi")
    argv = [
        binary,
        "--master",
        "--processes",
        "1",
        "--fastcgi-socket",
        str(socket_path),
        "--chmod-socket=666",
        "--home",  # the virtualenv: bin/uwsgi's grandparent
        str(Path(binary).parent.parent),
        "--pythonpath",
        str(REPO_ROOT),
        "--module",
        app,
        "--need-app",
        "--die-on-term",
        "--disable-logging",
    ]
    output = workdir / "uwsgi.out"
    return Launch(
        "uwsgi",
        "server",
        argv,
        workdir,
        str(socket_path),
        output,
        [LogWatch(output, python_errors)],
        stop_signal=signal.SIGINT,
    )


def render_nginx(prefix: Path, port: int, upstream: str | None, keep_conn: bool, keepalive: int) -> str:
    """nginx.conf.in with its fields filled: a FastCGI pass to ``upstream`` (nginx's
    spelling, ``unix:/path``), with or without kept connections; or, with no
    upstream, ``return 200`` (nginx alone: the ceiling of the machine)."""
    if upstream is None:
        upstream_block = ""
        location = '            default_type text/plain;\n            return 200 "Hello, World!";'
    else:
        pool = f"        keepalive {keepalive};\n" if keep_conn else ""
        upstream_block = f"    upstream backend {{\n        server {upstream};\n{pool}    }}\n"
        location = (
            f"            include {FASTCGI_PARAMS};\n"
            "            fastcgi_pass backend;\n"
            f"            fastcgi_keep_conn {'on' if keep_conn else 'off'};"
        )
    # Run as root, nginx's workers would become "nobody" and lose access to sockets root made.
    fields = {
        "USER": "user root;" if os.geteuid() == 0 else "",
        "PREFIX": str(prefix),
        "PORT": str(port),
        "UPSTREAM": upstream_block,
        "LOCATION": location,
    }
    text = NGINX_TEMPLATE.read_text(encoding="utf-8")
    for name, value in fields.items():
        text = text.replace("{{" + name + "}}", value)
    leftover = re.search(r"\{\{\w+\}\}", text)
    if leftover:
        raise ValueError(f"{NGINX_TEMPLATE}: no value for {leftover.group(0)}")
    return text


def nginx(
    tools: Tools, workdir: Path, port: int, upstream: str | None, keep_conn: bool = False, role: str = "nginx"
) -> Launch:
    """nginx (one worker) in the foreground, in its own prefix directory; ``-e``
    keeps it from first opening its compiled-in /var/log/nginx/error.log. Its
    ``role`` is "nginx" in front of a backend, "server" when it is what is measured."""
    if tools.nginx is None:
        raise StartError("nginx is not installed (apt-get install nginx)")
    prefix = workdir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    error_log = prefix / "error.log"
    conf.write_text(
        render_nginx(prefix, port, upstream, keep_conn, tools.upstream_keepalive), encoding="utf-8"
    )
    argv = [tools.nginx, "-p", f"{prefix}/", "-e", str(error_log), "-c", str(conf)]
    return Launch(
        "nginx",
        role,
        argv,
        prefix,
        ("127.0.0.1", port),
        prefix / "nginx.out",
        [LogWatch(error_log, nginx_errors)],
    )
