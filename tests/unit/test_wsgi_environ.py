"""CGI params -> WSGI environ, and the start_response / header rules."""

from __future__ import annotations

import io
import sys

import pytest

from fcgigate.wsgi import (
    BadResponse,
    FileWrapper,
    StartResponse,
    build_environ,
    check_headers,
    split_path,
    wsgi_constants,
)

pytestmark = pytest.mark.unit

# What nginx 1.22 sends with the stock fastcgi_params (tests/corpus has the raw bytes).
NGINX = {
    "QUERY_STRING": "x=1&y=%20z", "REQUEST_METHOD": "GET", "CONTENT_TYPE": "", "CONTENT_LENGTH": "",
    "SCRIPT_NAME": "/app/path", "REQUEST_URI": "/app/path?x=1&y=%20z", "DOCUMENT_URI": "/app/path",
    "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "http", "GATEWAY_INTERFACE": "CGI/1.1",
    "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "52466", "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "18632",
    "SERVER_NAME": "localhost", "HTTP_HOST": "127.0.0.1", "HTTP_X_CUSTOM": "hello world",
}  # fmt: skip


def environ(params: dict[str, str], mount: str = "") -> dict:
    return build_environ(params, io.BytesIO(), sys.stderr, split_path(params, mount), wsgi_constants())


@pytest.mark.parametrize(
    ("params", "mount", "expected"),
    [
        (NGINX, "", ("", "/app/path")),  # nginx: SCRIPT_NAME is the whole path
        (NGINX, "/app", ("/app", "/path")),
        (NGINX, "/ap", ("", "/app/path")),  # a prefix of a segment is not a mount
        ({**NGINX, "REQUEST_URI": "/app", "DOCUMENT_URI": "/app"}, "/app", ("/app", "")),
        ({**NGINX, "REQUEST_URI": "/a%20b/%C3%A9?q"}, "", ("", "/a b/\xc3\xa9")),  # PEP 3333: latin-1
        ({**NGINX, "REQUEST_URI": "/a%2Fb"}, "", ("", "/a/b")),
        # fastcgi_split_path_info: the web server's own split is honoured
        ({**NGINX, "SCRIPT_NAME": "/split/app.py", "PATH_INFO": "/extra/path",
          "REQUEST_URI": "/split/app.py/extra/path?q=1"}, "", ("/split/app.py", "/extra/path")),
        # a copied `fastcgi_param PATH_INFO $fastcgi_path_info;` without a split sends it empty
        ({**NGINX, "PATH_INFO": ""}, "", ("", "/app/path")),
        # cgi-fcgi sends only SCRIPT_NAME
        ({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/x"}, "", ("", "/x")),
        ({"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/d/e"}, "/d", ("/d", "/e")),
        ({"REQUEST_METHOD": "GET", "REQUEST_URI": "http://h/abs/path?x"}, "", ("", "/abs/path")),
        # dot segments go, as nginx removes them before it picks a location
        ({**NGINX, "REQUEST_URI": "/x/../app/y"}, "/app", ("/app", "/y")),
        ({**NGINX, "REQUEST_URI": "/app/../x"}, "/app", ("", "/x")),
        ({**NGINX, "REQUEST_URI": "/app/%2E%2E/x?q"}, "/app", ("", "/x")),
        ({**NGINX, "REQUEST_URI": "/a/./b/."}, "", ("", "/a/b/")),
        ({**NGINX, "REQUEST_URI": "/../../etc"}, "", ("", "/etc")),
        ({**NGINX, "REQUEST_URI": "/a/b/.."}, "", ("", "/a/")),
        ({**NGINX, "REQUEST_URI": "/a/.well-known/..x"}, "", ("", "/a/.well-known/..x")),
    ],
)  # fmt: skip
def test_script_name_and_path_info(params: dict, mount: str, expected: tuple[str, str]) -> None:
    assert split_path(params, mount) == expected
    env = environ(params, mount)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == expected


def test_nginx_environ_is_pep3333() -> None:
    env = environ({**NGINX, "HTTP_CONTENT_TYPE": "a/b", "HTTP_CONTENT_LENGTH": "3"})
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.input_terminated"] is True
    assert env["QUERY_STRING"] == "x=1&y=%20z"  # passed still encoded
    assert "CONTENT_LENGTH" not in env  # empty means absent
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_X_CUSTOM"] == "hello world"
    assert all(type(k) is str for k in env) and all(type(v) is str for k, v in env.items() if k.isupper())


@pytest.mark.parametrize(
    ("extra", "scheme"),
    [({"HTTPS": "on"}, "https"), ({"HTTPS": "1"}, "https"), ({"HTTPS": "off"}, "http"),
     ({"REQUEST_SCHEME": "https"}, "https"), ({"REQUEST_SCHEME": "gopher"}, "http"), ({}, "http")],
)  # fmt: skip
def test_url_scheme(extra: dict, scheme: str) -> None:
    params = {k: v for k, v in NGINX.items() if k != "REQUEST_SCHEME"}
    assert environ({**params, **extra})["wsgi.url_scheme"] == scheme


def test_defaults_for_sparse_clients() -> None:
    env = environ({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/x"})
    assert env["SERVER_NAME"] == "localhost" and env["SERVER_PORT"] == "80" and env["QUERY_STRING"] == ""
    assert environ({"REQUEST_METHOD": "GET", "HTTPS": "on"})["SERVER_PORT"] == "443"


def test_params_are_not_modified() -> None:
    params = dict(NGINX)
    environ(params, "/app")
    assert params == NGINX


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("X-Bad", "a\r\nSet-Cookie: evil=1")], "control characters"),
        ([("X-Bad", "a\nb")], "control characters"),
        ([("X-Bad", "a\x00b")], "control characters"),
        ([("Bad Name", "v")], "not a valid token"),
        ([("X-Bad:", "v")], "not a valid token"),
        ([("Connection", "close")], "hop-by-hop"),
        ([("Transfer-Encoding", "chunked")], "hop-by-hop"),
        ([("X-Snow", "\u2603")], "latin-1"),
        ([("X-Bytes", b"v")], "must be str"),
        ([["X-List", "v"]], "tuple"),
        ((("X-Tuple", "v"),), "must be a list"),
    ],
)  # fmt: skip
def test_bad_response_headers_are_refused(headers: object, reason: str) -> None:
    with pytest.raises(BadResponse, match=reason):
        check_headers(headers)


def test_good_headers_pass() -> None:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1; Path=/"), ("X-Tab", "a\tb"),
               ("X-Latin", "caf\xe9"), ("X-Accel-Redirect", "/internal")]  # fmt: skip
    assert check_headers(headers) == headers


@pytest.mark.parametrize("status", ["200", "OK", "2000 OK", "200 OK\r\nX: y", 200, b"200 OK", "099 Low"])
def test_bad_status_is_refused(status: object) -> None:
    with pytest.raises(BadResponse):
        StartResponse(lambda sr, data: None)(status, [])  # type: ignore[arg-type]


def test_start_response_rules() -> None:
    sr = StartResponse(lambda sr, data: None)
    write = sr("200 OK", [("A", "b")])
    assert callable(write) and sr.status == "200 OK"
    with pytest.raises(BadResponse, match="second time"):
        sr("500 Oops", [])
    # with exc_info before the head went out: the status is replaced
    try:
        raise KeyError("boom")
    except KeyError:
        sr("500 Internal Server Error", [], sys.exc_info())
    assert sr.status == "500 Internal Server Error"
    # after the head went out: the app's exception is raised again (PEP 3333)
    sr.headers_sent = True
    with pytest.raises(KeyError):
        try:
            raise KeyError("late")
        except KeyError:
            sr("500 Internal Server Error", [], sys.exc_info())


def test_file_wrapper_iterates_in_blocks_and_closes() -> None:
    f = io.BytesIO(b"x" * 100_000)
    wrapper = FileWrapper(f, 40_000)
    assert [len(b) for b in wrapper] == [40_000, 40_000, 20_000]
    wrapper.close()
    assert f.closed
