"""Mounts through real nginx: one ``location /`` passes everything to one fcgigate
that serves a root app, ``tests.apps.mounted:a`` at ``/a`` and a Flask app at
``/flask`` (docs/mounts.md's example), and the same daemon over its own HTTP
listener. Flask's ``url_for(..., _external=True)`` must carry the prefix, and
without a root app an unmatched path is a 404 from fcgigate.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable

import pytest

from tests.support.daemon import Daemon, free_port
from tests.support.nginx import Nginx

SECTIONS = {
    "mount:/a": {"app": "tests.apps.mounted:a", "threads": 2},
    "mount:/flask": {"app": "tests.apps.flask_app:app"},
}


def http_get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(params=["nginx", "http"])
def get(request: pytest.FixtureRequest, daemon_factory: Callable[..., Daemon],
        nginx_factory: Callable[..., Nginx]) -> Callable[..., tuple[int, bytes]]:  # fmt: skip
    """GET through nginx (FastCGI, kept connections) or fcgigate's own HTTP listener."""
    http_port = free_port()
    settings = {"bind": f"fastcgi://127.0.0.1:{free_port()}, http://127.0.0.1:{http_port}",
                "app": "tests.apps.mounted:root", "threads": 0}  # fmt: skip
    daemon = daemon_factory(settings, sections=SECTIONS)
    if request.param == "http":
        return lambda path: http_get(http_port, path)
    nginx = nginx_factory(daemon, keep_conn=True)
    return lambda path: (lambda r: (r.status, r.body))(nginx.request("GET", path))


def test_each_app_sees_its_prefix(get: Callable[..., tuple[int, bytes]]) -> None:
    status, body = get("/flask/")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["app"] == "flask" and seen["script_root"] == "/flask" and seen["path"] == "/"
    assert seen["url"].startswith("http://") and seen["url"].endswith("/flask/hello/x"), seen
    status, body = get("/flask/hello/y?z=1")
    assert status == 200 and json.loads(body) == {"app": "flask", "hello": "y", "path": "/hello/y"}
    status, body = get("/flask/nope")
    assert status == 404  # Flask's own 404, inside its prefix
    seen = json.loads(get("/a/x/../y")[1])
    assert (seen["app"], seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("a", "/a", "/y")
    assert seen["thread"].startswith("fcgigate-app-a_")
    seen = json.loads(get("/flaskx")[1])
    assert (seen["app"], seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("root", "", "/flaskx")


def test_unmatched_paths_404_without_a_root_app(
    daemon_factory: Callable[..., Daemon], nginx_factory: Callable[..., Nginx]
) -> None:
    daemon = daemon_factory({}, sections=SECTIONS)
    nginx = nginx_factory(daemon)
    for path in ("/", "/b/c", "/flaskx", "/a/../b"):
        result = nginx.request("GET", path)
        assert (result.status, result.body) == (404, b"Not Found\n"), path
        assert result.header("Content-Type") == "text/plain; charset=utf-8"
    assert nginx.request("GET", "/flask/hello/q").json()["hello"] == "q"
