"""Several apps in one gateway: ``[mount:/prefix]`` sections, over HTTP and FastCGI.

One daemon serves ``tests.apps.mounted``: ``root`` (the ``app`` setting, inline),
``a`` at ``/a`` (its own pool of 2 threads), ``ab`` at ``/a/b`` (inside ``/a``:
the longer prefix wins; inline) and ``b`` at ``/b`` (inline). Each app answers
which it is, its SCRIPT_NAME and PATH_INFO and the thread it ran on. A second
daemon has mounts and no root app: unmatched paths get fcgigate's 404.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.daemon import Daemon, free_port
from tests.support.fcgi import default_params

MOUNTS = {
    "mount:/a": {"app": "tests.apps.mounted:a", "threads": 2},
    "mount:/a/b": {"app": "tests.apps.mounted:ab"},
    "mount:/b": {"app": "tests.apps.mounted:b", "threads": 0},
}

# path -> (app, SCRIPT_NAME, PATH_INFO)
ROUTES = [
    ("/", ("root", "", "/")),
    ("/x/y", ("root", "", "/x/y")),
    ("/a", ("a", "/a", "")),
    ("/a/", ("a", "/a", "/")),
    ("/a/x/y", ("a", "/a", "/x/y")),
    ("/ab", ("root", "", "/ab")),  # /ab is not under /a
    ("/a/b", ("ab", "/a/b", "")),
    ("/a/b/c", ("ab", "/a/b", "/c")),
    ("/a/bc", ("a", "/a", "/bc")),
    ("/b/../a/x", ("a", "/a", "/x")),  # dot segments go before matching, as in nginx
    ("/b/%2e%2e/a/x", ("a", "/a", "/x")),  # ... decoded ones too
    ("/%62/x", ("b", "/b", "/x")),
    ("/b/x?q=1", ("b", "/b", "/x")),
]


class Both:
    """GET over HTTP (listener 0) or FastCGI (listener 1) of one daemon."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.http_port = int(daemon.address(0).rsplit(":", 1)[1])

    def get(self, protocol: str, path: str, body: bytes = b"") -> tuple[int, str, bytes]:
        """(status, content type, body)."""
        if protocol == "http":
            connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
            try:
                connection.putrequest("POST" if body else "GET", path, skip_accept_encoding=True)
                connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body)
                response = connection.getresponse()
                return response.status, response.getheader("Content-Type", ""), response.read()
            finally:
                connection.close()
        with self.daemon.client(1) as client:
            params = default_params("POST" if body else "GET", path, body=body or None)
            response = client.request(params, body)
        return response.status, response.header("Content-Type") or "", response.body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = {
        "bind": f"http://127.0.0.1:{free_port()}, fastcgi://127.0.0.1:{free_port()}",
        "app": "tests.apps.mounted:root",
        "workers": 2,
    }
    daemon = Daemon(tmp_path_factory.mktemp("mounts"), settings, sections=MOUNTS).start()
    yield Both(daemon)
    assert daemon.stop() == 0


@pytest.mark.parametrize("protocol", ["http", "fastcgi"])
@pytest.mark.parametrize(("path", "expected"), ROUTES, ids=[path for path, _ in ROUTES])
def test_routes_by_longest_prefix(served: Both, protocol: str, path: str, expected: tuple) -> None:
    status, _, body = served.get(protocol, path)
    assert status == 200, body
    seen = json.loads(body)
    assert (seen["app"], seen["SCRIPT_NAME"], seen["PATH_INFO"]) == expected


@pytest.mark.parametrize("protocol", ["http", "fastcgi"])
def test_threads_per_mount_and_bodies(served: Both, protocol: str) -> None:
    """/a runs in its own pool (named after its prefix) and reads the body as it
    streams; /b and the root app run inline, their bodies spooled first."""
    body = b"x" * 300_000  # several socket reads
    expected = [("/a/p", "fcgigate-app-a_", True), ("/b/p", "MainThread", False), ("/p", "MainThread", False),
                ("/a/b/p", "MainThread", False)]  # fmt: skip
    for path, thread, multithread in expected:
        status, _, answer = served.get(protocol, path, body)
        assert status == 200, answer
        seen = json.loads(answer)
        assert seen["thread"].startswith(thread), (path, seen)
        assert seen["multithread"] is multithread, (path, seen)
        assert seen["body_len"] == len(body), (path, seen)


def test_status_counts_requests_per_mount(served: Both) -> None:
    def counts() -> dict[str, int]:
        status, _, body = served.get("http", "/fcgigate/status?json")
        assert status == 200, body
        return json.loads(body)["mounts"]

    before = counts()
    assert set(before) == {"/", "/a", "/a/b", "/b"}
    for path in ("/a/1", "/a/2", "/a/b/3", "/b/4", "/zzz", "/a/5"):
        assert served.get("fastcgi", path)[0] == 200
    after = counts()
    assert {name: after[name] - before[name] for name in after} == {"/": 1, "/a": 3, "/a/b": 1, "/b": 1}
    status, _, body = served.get("http", "/fcgigate/status?json")
    assert sum(after.values()) == json.loads(body)["requests"]  # every app request is one mount's
    status, _, metrics = served.get("http", "/fcgigate/status?openmetrics")
    assert f'fcgigate_mount_requests_total{{mount="/a"}} {after["/a"]}' in metrics.decode()


@pytest.fixture
def only_mounts(daemon_factory: Callable[..., Daemon]) -> Both:
    settings = {"bind": f"http://127.0.0.1:{free_port()}, fastcgi://127.0.0.1:{free_port()}"}
    sections = {"mount:/a": {"app": "tests.apps.mounted:a"}, "mount:/b": {"app": "tests.apps.mounted:b"}}
    return Both(daemon_factory(settings, sections=sections))


@pytest.mark.parametrize("protocol", ["http", "fastcgi"])
def test_unmatched_path_is_404_without_a_root_app(only_mounts: Both, protocol: str) -> None:
    for path in ("/", "/ab", "/c/a", "/b/../c"):
        status, content_type, body = only_mounts.get(protocol, path)
        assert (status, content_type, body) == (404, "text/plain; charset=utf-8", b"Not Found\n"), path
    status, _, body = only_mounts.get(protocol, "/b/../a/z")
    assert status == 200 and json.loads(body)["app"] == "a"
    _, _, page = only_mounts.get("http", "/fcgigate/status?json")
    assert json.loads(page)["mounts"]["/"] >= 4  # the 404s are the root's


def test_a_mount_that_cannot_be_imported_fails_the_boot(daemon_factory: Callable[..., Daemon]) -> None:
    sections = {"mount:/a": {"app": "tests.apps.mounted:a"}, "mount:/gone": {"app": "tests.apps.nope:app"}}
    daemon = daemon_factory({"app": "tests.apps.mounted:root"}, sections=sections, wait=False)
    assert daemon.wait(timeout=10) not in (0, None)
    assert "[mount:/gone] app 'tests.apps.nope:app': no module named 'tests.apps.nope'" in daemon.log()
