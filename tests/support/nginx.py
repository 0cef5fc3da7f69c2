"""Run a real nginx in front of the daemon, in a private prefix directory.

``Nginx(tmp_path, "127.0.0.1:9000")`` renders ``<tmp>/nginx.conf`` (one server on a
free port of 127.0.0.1 whose ``location /`` passes everything to the FastCGI
upstream with Debian's stock ``/etc/nginx/fastcgi_params``), starts
``nginx -p <tmp> -c <tmp>/nginx.conf`` in the foreground and waits until its port
accepts. ``request()`` sends one HTTP request with ``http.client``; ``error_log()``
shows what nginx logged (FastCGI stderr lines, upstream errors).

No test is skipped when nginx is missing: the fixture fails, because CI installs
it (``.ci/run``) and a silently skipped end-to-end suite proves nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.daemon import can_connect, free_port
from tests.support.fcgi import parse_address

START_TIMEOUT = 10.0
FASTCGI_PARAMS = "/etc/nginx/fastcgi_params"
# nginx lives in /usr/sbin, which is not on an unprivileged user's PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


class NginxError(AssertionError):
    """nginx failed to start or stop; the message carries its logs."""


def nginx_binary() -> str:
    found = shutil.which("nginx", path=_SEARCH_PATH)
    if found is None:
        raise NginxError("nginx is not installed: `sudo apt-get install nginx libfcgi-bin` (.ci/run does it)")
    return found


def upstream_target(upstream: Any) -> str:
    """nginx's spelling of a FastCGI address: ``127.0.0.1:9000``, ``[::1]:9000`` or ``unix:/path``.

    Accepts what FastCGIClient accepts: a (host, port) tuple, a unix socket path or
    a bind URL (``fastcgi://...``, ``fastcgi+unix://...``), or nginx's own spelling.
    """
    if isinstance(upstream, str) and upstream.startswith("unix:"):
        return upstream
    if isinstance(upstream, str) and "://" not in upstream and not upstream.startswith("/"):
        return upstream  # already host:port
    family, sockaddr = parse_address(upstream)
    if isinstance(sockaddr, str):
        return f"unix:{sockaddr}"
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class HTTPResult:
    """What nginx answered: status, headers in order (names as sent), body."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), default)

    def header_list(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class Nginx:
    """One nginx master (one worker) proxying to a FastCGI upstream.

    Options: ``keep_conn`` adds ``upstream fcgigate_up { server ...; keepalive 8; }``
    and ``fastcgi_keep_conn on``; ``buffering`` and ``request_buffering`` set
    ``fastcgi_buffering`` and ``fastcgi_request_buffering``; ``params`` adds
    ``fastcgi_param NAME VALUE;`` lines; ``location``, ``server`` and ``http`` add
    raw directives to those blocks.
    """

    def __init__(
        self,
        tmp_path: str | os.PathLike,
        upstream: Any,
        *,
        keep_conn: bool = False,
        buffering: bool = True,
        request_buffering: bool = True,
        read_timeout: str = "30s",
        params: Mapping[str, str] | None = None,
        location: str = "",
        server: str = "",
        http: str = "",
        port: int | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.prefix = Path(tmp_path)
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.target = upstream_target(upstream)
        self.keep_conn = keep_conn
        self.buffering = buffering
        self.request_buffering = request_buffering
        self.read_timeout = read_timeout
        self.params = dict(params or {})
        self.extra_location, self.extra_server, self.extra_http = location, server, http
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.conf_path = self.prefix / "nginx.conf"
        self.error_log_path = self.prefix / "error.log"
        self.access_log_path = self.prefix / "access.log"
        self.output_path = self.prefix / "nginx.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    # -- configuration

    def preamble(self, writer: str, worker_connections: int) -> str:
        """nginx.conf up to the inside of ``http {``: one worker in the
        foreground, everything it writes under the prefix."""
        p = self.prefix
        # Workers run as the user that starts nginx, except root, whose workers
        # would otherwise become "nobody" and lose access to 0660 sockets root made.
        user = "user root;\n" if os.geteuid() == 0 else ""
        return f"""\
# rendered by {writer}
daemon off;
master_process on;
worker_processes 1;
{user}pid {p}/nginx.pid;
error_log {self.error_log_path} info;

events {{
    worker_connections {worker_connections};
}}

http {{
    access_log {self.access_log_path};
    client_body_temp_path {p}/client_body_temp;
    proxy_temp_path {p}/proxy_temp;
    fastcgi_temp_path {p}/fastcgi_temp;
    uwsgi_temp_path {p}/uwsgi_temp;
    scgi_temp_path {p}/scgi_temp;
"""

    def render(self) -> str:
        pass_to = "fcgigate_up" if self.keep_conn else self.target
        upstream = (
            f"    upstream fcgigate_up {{\n        server {self.target};\n        keepalive 8;\n    }}\n"
            if self.keep_conn
            else ""
        )
        indent = " " * 12
        params = "".join(f"{indent}fastcgi_param {name} {value};\n" for name, value in self.params.items())
        on_off = {True: "on", False: "off"}
        return f"""\
{self.preamble("tests/support/nginx.py", 1024)}{upstream}{self.extra_http}
    server {{
        listen 127.0.0.1:{self.port};
        server_name localhost;
        client_max_body_size 0;
{self.extra_server}
        location / {{
            include {FASTCGI_PARAMS};
{params}            fastcgi_pass {pass_to};
            fastcgi_keep_conn {on_off[self.keep_conn]};
            fastcgi_buffering {on_off[self.buffering]};
            fastcgi_request_buffering {on_off[self.request_buffering]};
            fastcgi_read_timeout {self.read_timeout};
{self.extra_location}
        }}
    }}
}}
"""

    # -- life cycle

    def command(self, *extra: str) -> list[str]:
        """``nginx -p PREFIX/ -e ERROR_LOG -c CONF`` (-e: never touch /var/log/nginx)."""
        prefix, error_log, conf = f"{self.prefix}/", str(self.error_log_path), str(self.conf_path)
        return [nginx_binary(), "-p", prefix, "-e", error_log, "-c", conf, *extra]

    def start(self) -> Nginx:
        if self.proc is not None:
            raise NginxError("nginx was already started")
        self.conf_path.write_text(self.render(), encoding="utf-8")
        with open(self.output_path, "ab") as output:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.prefix,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout
        while not can_connect(("127.0.0.1", self.port)):
            if self.proc.poll() is not None:
                raise self._fail(f"nginx exited with {self.proc.returncode} before it listened")
            if time.monotonic() > deadline:
                self._kill()
                raise self._fail(f"nginx did not listen on port {self.port} within {self.start_timeout}s")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        """Graceful stop (SIGQUIT), then SIGTERM, then SIGKILL; the exit code.

        NginxError if it needed SIGKILL. Idempotent.
        """
        if self.proc is None or self.returncode is not None:
            return self.returncode
        for sig, wait in ((signal.SIGQUIT, timeout * 0.7), (signal.SIGTERM, timeout * 0.3)):
            if self.proc.poll() is None:
                try:
                    self.proc.send_signal(sig)
                except ProcessLookupError:
                    pass
            try:
                self.returncode = self.proc.wait(wait)
                return self.returncode
            except subprocess.TimeoutExpired:
                continue
        self._kill()
        raise self._fail(f"nginx did not stop within {timeout}s; killed it")

    def _kill(self) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.returncode = self.proc.wait(5)

    def __enter__(self) -> Nginx:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- logs

    def _read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def error_log(self) -> str:
        return self._read(self.error_log_path)

    def access_log(self) -> str:
        return self._read(self.access_log_path)

    def fastcgi_stderr(self) -> list[str]:
        """The error-log lines where nginx reports FastCGI stderr output."""
        return [line for line in self.error_log().splitlines() if "FastCGI sent in stderr" in line]

    def _fail(self, why: str) -> NginxError:
        return NginxError(
            f"{why}\n--- {self.conf_path}:\n{self._read(self.conf_path)}"
            f"--- {self.output_path}:\n{self._read(self.output_path)}"
            f"--- {self.error_log_path}:\n{self.error_log()}"
        )

    # -- HTTP

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def connection(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        """A new HTTP connection to this nginx (for keep-alive or streaming tests)."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> HTTPResult:
        """One HTTP/1.1 request on a fresh connection; the whole answer.

        ``bytes`` are sent with a Content-Length; an iterable of bytes is sent
        chunked unless ``headers`` give a Content-Length.
        """
        headers = dict(headers or {})
        # http.client frames an iterable itself, but encodes chunks only when asked
        # if the caller wrote the Transfer-Encoding header.
        chunked = any(name.lower() == "transfer-encoding" for name in headers)
        connection = self.connection(timeout)
        try:
            connection.request(method, path, body=body, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            data = response.read()
            return HTTPResult(response.status, response.reason, list(response.getheaders()), data)
        finally:
            connection.close()
