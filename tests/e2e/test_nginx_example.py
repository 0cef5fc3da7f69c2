"""The shipped production example, conf/nginx/fcgigate.conf, works as shipped in front of fcgigate.

The site file is used as it is shipped, with only what must differ on a test machine
substituted: its ``listen`` becomes a free port on 127.0.0.1, each ``server unix:``
socket a short path in the ``socket_dir`` fixture, and its log files paths in the
test's directory (any other absolute path fails the test, so the example cannot grow
one the test does not know about). It is wrapped in a minimal nginx.conf (main,
events, ``http { include <site>; temp paths }``) next to a copy of Debian's
``fastcgi_params``, so its ``include fastcgi_params`` resolves as it does in
/etc/nginx, and run by real nginx in the foreground in a private prefix.

Behind each upstream runs one fcgigate instance with conf/prod.ini's settings (only
the binds, pidfile, logs, ``workers = 2`` and the echo app are changed), mounted
(``mount``) at the prefix of the location that passes to it. Through nginx:

- the root app sees ``SCRIPT_NAME = ""`` and the whole path as ``PATH_INFO``, its
  query string and the request headers as ``HTTP_*`` (but no ``HTTP_PROXY``);
- the location under a prefix reaches the instance mounted there, with
  ``SCRIPT_NAME`` = the prefix and ``PATH_INFO`` = the rest, percent-decoded;
- a POST of a few MB arrives intact at either;
- 200 sequential requests travel over one kept FastCGI connection per upstream
  (nginx ``keepalive`` + ``fastcgi_keep_conn on``), with no error in nginx's logs.

And without processes: the example's numbers agree with prod.ini (body size limit,
keepalive below ``idle_timeout``, read timeout above ``timeout`` and
``graceful_timeout``).
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fcgigate.config import as_seconds, as_size
from tests.support.daemon import Daemon, free_port, split_binds
from tests.support.nginx import FASTCGI_PARAMS, HTTPResult, Nginx

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "conf" / "nginx" / "fcgigate.conf"
PROD_INI = REPO / "conf" / "prod.ini"
APP = "tests.apps.echo:app"
MB = 1024 * 1024
HTTP_TIMEOUT = 10.0
# prod.ini settings that name things of a production host (the app's directory,
# users and groups that need root); the echo app and the test's user replace them.
NOT_FOR_TESTS = ("chdir", "pythonpath", "user", "group", "socket_owner", "socket_group")
# Directives whose absolute-path arguments the test knows how to substitute.
LOG_DIRECTIVES = ("access_log", "error_log")
ERROR_LEVELS = re.compile(r"\[(error|crit|alert|emerg)\]")


# -- the example, parsed


@dataclass
class Directive:
    """One ``name args;`` statement and the blocks it sits in (``("server", "location /app/")``)."""

    blocks: tuple[str, ...]
    name: str
    args: list[str]


@dataclass
class Example:
    """conf/nginx/fcgigate.conf without its comments, and what the test needs from it."""

    text: str
    directives: list[Directive]
    upstreams: dict[str, list[str]] = field(default_factory=dict)  # name -> its `server` arguments
    locations: dict[str, str] = field(default_factory=dict)  # location prefix -> fastcgi_pass target

    @classmethod
    def load(cls, path: Path = EXAMPLE) -> Example:
        text = re.sub(r"#[^\n]*", "", path.read_text(encoding="utf-8"))
        example = cls(text, parse(text))
        for d in example.directives:
            if d.blocks and d.blocks[-1].startswith("upstream ") and d.name == "server":
                example.upstreams.setdefault(d.blocks[-1].split()[1], []).append(d.args[0])
            if d.blocks and d.blocks[-1].startswith("location ") and d.name == "fastcgi_pass":
                example.locations[d.blocks[-1].split()[-1]] = d.args[0]
        return example

    def values(self, name: str, block: str | None = None) -> list[list[str]]:
        """The arguments of every ``name`` directive (inside a block starting with ``block``)."""
        return [
            d.args
            for d in self.directives
            if d.name == name and (block is None or (d.blocks and d.blocks[-1].startswith(block)))
        ]

    def value(self, name: str, block: str | None = None) -> str:
        found = self.values(name, block)
        assert found, f"{EXAMPLE.name} sets no {name}" + (f" in {block}" if block else "")
        return found[0][0]

    def unix_sockets(self) -> dict[str, str]:
        """upstream name -> the path of its one unix socket."""
        sockets = {}
        for name, servers in self.upstreams.items():
            assert len(servers) == 1 and servers[0].startswith("unix:/"), (
                f"upstream {name}: the example should point at one fcgigate unix socket, not {servers}"
            )
            sockets[name] = servers[0][len("unix:") :]
        return sockets

    def mounts(self) -> dict[str, str]:
        """upstream name -> the `mount` its fcgigate instance needs (the location's prefix)."""
        mounts: dict[str, str] = {}
        for prefix, upstream in self.locations.items():
            assert upstream in self.upstreams, (
                f"location {prefix} passes to {upstream}, not to an upstream block"
            )
            assert prefix == "/" or (prefix.startswith("/") and prefix.endswith("/")), (
                f"location {prefix}: a prefix location for an app should end with a slash"
            )
            assert upstream not in mounts, f"two locations pass to {upstream}; an instance has one mount"
            mounts[upstream] = prefix.rstrip("/")
        return mounts


def parse(text: str) -> list[Directive]:
    """nginx's syntax, enough for this file: words, quoted strings, ``;``, ``{`` and ``}``."""
    directives: list[Directive] = []
    blocks: list[str] = []
    words: list[str] = []
    for token in re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};"\']+', text):
        if token == ";":
            directives.append(Directive(tuple(blocks), words[0], words[1:]))
            words = []
        elif token == "{":
            blocks.append(" ".join(words))
            words = []
        elif token == "}":
            blocks.pop()
        else:
            words.append(token[1:-1] if token[0] in "\"'" else token)
    assert not blocks and not words, f"{EXAMPLE.name}: unbalanced braces or a missing ';'"
    return directives


def render_site(example: Example, port: int, sockets: dict[str, Path], log_dir: Path) -> str:
    """The example with the test's port, sockets and log files; nothing else changes."""
    for d in example.directives:
        paths = [arg for arg in d.args if arg.startswith(("/", "unix:/"))]
        known = d.name in LOG_DIRECTIVES or (d.name == "server" and d.blocks[-1].startswith("upstream "))
        assert not paths or known, f"{EXAMPLE.name}: the test cannot substitute {d.name} {' '.join(d.args)}"
    listens = re.findall(r"^[ \t]*listen\s[^;]*;[ \t]*\n", example.text, flags=re.M)
    assert listens, f"{EXAMPLE.name} has no listen directive"
    text = example.text.replace(listens[0], f"    listen 127.0.0.1:{port};\n", 1)
    for other in listens[1:]:  # e.g. [::]:80: one port on 127.0.0.1 is enough here
        text = text.replace(other, "", 1)
    for shipped, path in sockets.items():
        text = text.replace(f"unix:{shipped};", f"unix:{path};")
    pattern = rf"^([ \t]*(?:{'|'.join(LOG_DIRECTIVES)})\s+)(/[^\s;]+)"
    return re.sub(pattern, lambda m: f"{m[1]}{log_dir / Path(m[2]).name}", text, flags=re.M)


def nginx_seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value)
    assert match, f"not an nginx time: {value!r}"
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2] or "s"]


def nginx_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert match, f"not an nginx size: {value!r}"
    return int(match[1]) * {"": 1, "k": 1024, "m": MB, "g": 1024 * MB}[match[2].lower()]


def prod_settings() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    assert parser.read(PROD_INI, encoding="utf-8"), f"cannot read {PROD_INI}"
    return dict(parser["fcgigate"])


def instance_settings(prod: dict[str, str], directory: Path, socket: Path, mount: str) -> dict[str, Any]:
    """prod.ini's settings for one instance of the test: its unix socket (the first
    fastcgi+unix bind; any other listener moves to a free port or a socket beside
    it), its pidfile and logs, two workers, the echo app and ``mount``."""
    directory.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {key: value for key, value in prod.items() if key not in NOT_FOR_TESTS}
    binds: list[str] = []
    for url in split_binds(prod["bind"]):
        scheme = url.partition("://")[0]
        if scheme == "fastcgi+unix" and f"{scheme}://{socket}" not in binds:
            binds.append(f"{scheme}://{socket}")
        elif scheme.endswith("+unix"):
            binds.append(f"{scheme}://{socket.with_name(f'{socket.stem}-{len(binds)}.sock')}")
        else:
            binds.append(f"{scheme}://127.0.0.1:{free_port()}")
    assert any(bind == f"fastcgi+unix://{socket}" for bind in binds), "prod.ini binds no FastCGI unix socket"
    settings["bind"] = ", ".join(binds)
    settings.update(app=APP, workers=2, mount=mount, daemon="false", pidfile=directory / "fcgigate.pid")
    settings["error_log"] = "-"  # into the Daemon's log, printed when a test fails
    if settings.get("access_log"):
        settings["access_log"] = directory / "access.log"
    return settings


# -- nginx running the example


class ExampleNginx(Nginx):
    """Nginx's life cycle, logs and HTTP helpers, with our nginx.conf: the rendered
    site included in a minimal http {} block, beside a copy of fastcgi_params."""

    def __init__(self, prefix: Path, site: str, port: int) -> None:
        super().__init__(prefix, "unix:/nowhere", port=port)
        self.site_path = self.prefix / "fcgigate.conf"
        self.site_path.write_text(site, encoding="utf-8")
        # `include fastcgi_params` is relative to the directory of nginx.conf
        shutil.copyfile(FASTCGI_PARAMS, self.prefix / "fastcgi_params")

    def render(self) -> str:
        return f"""\
{self.preamble("tests/e2e/test_nginx_example.py", 256)}
    include {self.site_path};
}}
"""

    def logs(self) -> dict[Path, str]:
        """Every log nginx writes here: its own and the site's (access logs too)."""
        return {path: self._read(path) for path in sorted(self.prefix.glob("*.log"))}

    def errors(self) -> list[str]:
        return [
            line for text in self.logs().values() for line in text.splitlines() if ERROR_LEVELS.search(line)
        ]


@dataclass
class Site:
    nginx: ExampleNginx
    root: Daemon
    mounted: Daemon
    prefix: str  # the mounted instance's location, without its trailing slash: "/app"
    sockets: dict[str, Path]  # "root" / "mounted" -> the socket nginx connects to

    def get(self, path: str, headers: dict[str, str] | None = None) -> HTTPResult:
        return self.nginx.request("GET", path, headers=headers, timeout=HTTP_TIMEOUT)

    def environ(self, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        result = self.get(path, headers)
        assert result.status == 200, (path, result.status, result.body[:500])
        return result.json()

    def assert_no_errors(self) -> None:
        assert self.nginx.errors() == [], "\n".join(self.nginx.errors())
        for daemon in (self.root, self.mounted):
            assert "Traceback" not in daemon.log(), daemon.log()


def connected(socket_path: Path) -> set[int]:
    """Inodes of the accepted (server-side, connected) sockets of a listening unix
    socket: /proc/net/unix lists them with the listener's path and state 03."""
    inodes = set()
    with open("/proc/net/unix", encoding="utf-8", errors="replace") as table:
        next(table)
        for line in table:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == str(socket_path) and fields[5] == "03":
                inodes.add(int(fields[6]))
    return inodes


@pytest.fixture(scope="module")
def example() -> Example:
    return Example.load()


@pytest.fixture
def site(
    example: Example,
    daemon_factory: Callable[..., Daemon],
    socket_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Site]:
    shipped_sockets = example.unix_sockets()
    mounts = example.mounts()
    assert sorted(mounts.values())[0] == "" and len(mounts) == 2, (
        f"the example should serve one app at / and one under a prefix; it has {mounts}"
    )
    names = [Path(path).name for path in shipped_sockets.values()]
    assert len(set(names)) == len(names), f"socket names collide: {names}"
    prod = prod_settings()
    sockets: dict[str, Path] = {}
    daemons: dict[str, Daemon] = {}
    for upstream, shipped in shipped_sockets.items():
        role = "root" if mounts[upstream] == "" else "mounted"
        sockets[role] = socket_dir / Path(shipped).name
        settings = instance_settings(prod, tmp_path / f"fcgigate-{role}", sockets[role], mounts[upstream])
        daemons[role] = daemon_factory(settings)
    port = free_port()
    text = render_site(example, port, {shipped_sockets[u]: socket_dir / Path(p).name for u, p in
                                       shipped_sockets.items()}, tmp_path / "nginx")  # fmt: skip
    nginx = ExampleNginx(tmp_path / "nginx", text, port)
    prefix = next(mount for mount in mounts.values() if mount)
    try:
        nginx.start()
        yield Site(nginx, daemons["root"], daemons["mounted"], prefix, sockets)
    finally:
        nginx.stop()
        if getattr(getattr(request.node, "rep_call", None), "failed", False):
            for path, text in nginx.logs().items():
                print(f"--- {path}\n{text}")
            print(
                f"--- {nginx.conf_path}\n{nginx.render()}--- {nginx.site_path}\n{nginx.site_path.read_text()}"
            )


# -- the tests


def test_example_numbers_agree_with_prod_ini(example: Example) -> None:
    prod = prod_settings()
    assert nginx_bytes(example.value("client_max_body_size")) == as_size(prod["max_body_size"])
    read_timeout = nginx_seconds(example.value("fastcgi_read_timeout"))
    assert read_timeout > as_seconds(prod["timeout"]), "fcgigate's liveness check must act before nginx"
    assert read_timeout > as_seconds(prod["graceful_timeout"]), "nginx must not cut a draining request"
    assert nginx_seconds(example.value("fastcgi_connect_timeout")) <= 10
    for upstream in example.upstreams:
        block = f"upstream {upstream}"
        assert int(example.value("keepalive", block)) > 0
        assert nginx_seconds(example.value("keepalive_timeout", block)) < as_seconds(prod["idle_timeout"])
    for prefix in example.locations:
        block = f"location {prefix}"
        assert ["fastcgi_params"] in example.values("include", block), block
        assert example.value("fastcgi_keep_conn", block) == "on", block


def test_root_app_gets_the_whole_path_query_and_headers(site: Site) -> None:
    headers = {"Host": "example.com", "X-Custom": "hello world", "Cookie": "a=1", "Proxy": "http://evil:8"}
    env = site.environ("/users/caf%C3%A9/7?x=1&y=%20z&p=%2F", headers)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/users/caf\xc3\xa9/7")
    assert env["QUERY_STRING"] == "x=1&y=%20z&p=%2F"
    assert env["REQUEST_METHOD"] == "GET" and env["REQUEST_URI"] == "/users/caf%C3%A9/7?x=1&y=%20z&p=%2F"
    assert env["HTTP_X_CUSTOM"] == "hello world" and env["HTTP_COOKIE"] == "a=1"
    assert env["HTTP_HOST"] == "example.com" and env["SERVER_PORT"] == str(site.nginx.port)
    assert "HTTP_PROXY" not in env  # httpoxy: the example hides the header
    assert env["wsgi.url_scheme"] == "http" and env["REMOTE_ADDR"] == "127.0.0.1"
    # It was the root instance that answered, over a connection nginx keeps.
    assert connected(site.sockets["root"]) and not connected(site.sockets["mounted"])
    # A path that only starts like the prefix is not under it.
    env = site.environ(f"{site.prefix}lication/x")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", f"{site.prefix}lication/x")
    assert not connected(site.sockets["mounted"])
    site.assert_no_errors()


def test_prefix_location_reaches_the_instance_mounted_there(site: Site) -> None:
    prefix = site.prefix
    expected = {
        f"{prefix}/users/7?x=1": ("/users/7", "x=1"),
        f"{prefix}/": ("/", ""),
        f"{prefix}/caf%C3%A9/a%2Fb%20c?q=%2F": ("/caf\xc3\xa9/a/b c", "q=%2F"),
        # the prefix's first letter percent-encoded ("/%61pp/x"): nginx routes on
        # the decoded path, and fcgigate decodes REQUEST_URI alike
        f"/%{ord(prefix[1]):02X}{prefix[2:]}/x": ("/x", ""),
    }
    for path, (path_info, query) in expected.items():
        env = site.environ(path, {"X-Mounted": "yes"})
        assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["QUERY_STRING"]) == (prefix, path_info, query), path
        assert env["HTTP_X_MOUNTED"] == "yes" and env["REQUEST_URI"] == path
    assert connected(site.sockets["mounted"])
    # The prefix without its slash is nginx's 301 to the location, not a request to either app.
    redirect = site.get(prefix)
    assert redirect.status == 301 and (redirect.header("Location") or "").endswith(f"{prefix}/")
    site.assert_no_errors()


def test_post_of_a_few_mb_arrives_intact(site: Site) -> None:
    for path in ("/upload", f"{site.prefix}/upload"):
        body = os.urandom(5 * MB)
        result = site.nginx.request(
            "POST", path, body=body, headers={"Content-Type": "application/octet-stream"}, timeout=30
        )
        assert result.status == 200, result.body[:500]
        env = result.json()
        assert env["body_sha256"] == hashlib.sha256(body).hexdigest()
        assert env["body_len"] == len(body) and env["CONTENT_LENGTH"] == str(len(body))
        assert env["CONTENT_TYPE"] == "application/octet-stream" and "HTTP_CONTENT_LENGTH" not in env
    site.assert_no_errors()


def test_200_sequential_requests_share_one_kept_connection_per_upstream(site: Site) -> None:
    seen: dict[str, set[int]] = {"root": set(), "mounted": set()}
    connection = site.nginx.connection(timeout=HTTP_TIMEOUT)
    try:
        for number in range(200):
            role = ("root", "mounted")[number % 2]
            path = f"/n/{number}" if role == "root" else f"{site.prefix}/n/{number}"
            connection.request("GET", path, headers={"X-Number": str(number)})
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, (number, body[:500])
            assert f'"HTTP_X_NUMBER": "{number}"'.encode() in body
            now = connected(site.sockets[role])
            assert now, f"request {number}: nginx kept no connection to the {role} instance"
            seen[role] |= now
    finally:
        connection.close()
    # One nginx worker sending one request at a time needs one connection per upstream.
    assert {role: len(inodes) for role, inodes in seen.items()} == {"root": 1, "mounted": 1}, seen
    access = "".join(text for path, text in site.nginx.logs().items() if "access" in path.name)
    assert access.count('" 200 ') == 200
    site.assert_no_errors()
