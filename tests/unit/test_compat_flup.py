"""``fcgigate.compat.flup.WSGIServer``: flup's signature, what each argument maps to,
the arguments refused and why, and a constructor that does nothing but check.

No process and no socket here: run() is exercised in tests/integration/test_flup_run.py
and behind nginx and cgi-fcgi in tests/e2e/test_flup_dropin.py.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from fcgigate.compat.flup import FCGI_RESPONDER, REFUSED, WSGIServer, with_environ
from fcgigate.config import SETTINGS_BY_NAME, Config


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def requires_flup() -> None:
    assert importlib.util.find_spec("flup"), "flup is not installed: pip install -e '.[test]'"


# -- flup's face


def test_the_signature_is_flups() -> None:
    requires_flup()
    from flup.server.fcgi import WSGIServer as FlupWSGIServer
    from flup.server.threadpool import ThreadPool

    ours = inspect.signature(WSGIServer.__init__).parameters
    theirs = inspect.signature(FlupWSGIServer.__init__).parameters
    # Same names, same order (positional calls mean the same), same defaults.
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]
    # flup's **kw goes to its ThreadPool: the three we take, with its defaults.
    pool = {name: p.default for name, p in inspect.signature(ThreadPool.__init__).parameters.items()}
    assert pool == {"self": inspect.Parameter.empty, "minSpare": 1, "maxSpare": 5, "maxThreads": sys.maxsize}
    server = WSGIServer(app)
    assert (server.minSpare, server.maxSpare, server.maxThreads) == (1, 5, sys.maxsize)


def test_flups_public_attributes_are_kept() -> None:
    extra = {"A": "1"}
    server = WSGIServer(app, environ=extra, bindAddress=("127.0.0.1", 9000), multiplexed=True, debug=True)
    assert server.application is app and server.environ is extra
    assert (server.multithreaded, server.multiprocess, server.multiplexed, server.debug) == (
        True, False, True, True,
    )  # fmt: skip
    assert server.roles == (FCGI_RESPONDER,) and server.forceCGI is False


# -- what maps to what

DEFAULT_SLOW = SETTINGS_BY_NAME["slow_request_timeout"].default
MAX_CONNECTIONS = SETTINGS_BY_NAME["max_connections"].default
PER_CONNECTION = SETTINGS_BY_NAME["fastcgi_max_concurrent_requests"].default


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # flup's "no limit" on threads: as many as requests can be in flight at once.
        ({}, {"threads": MAX_CONNECTIONS, "fastcgi_max_concurrent_requests": 1, "log_level": "info"}),
        ({"multiplexed": True}, {"threads": MAX_CONNECTIONS * PER_CONNECTION,
                                 "fastcgi_max_concurrent_requests": PER_CONNECTION}),
        ({"maxThreads": 8}, {"threads": 8}),
        ({"maxThreads": 8, "multiplexed": True}, {"threads": 8}),
        ({"minSpare": 10, "maxThreads": 4}, {"threads": 10}),  # flup: max(minSpare, maxThreads)
        ({"maxSpare": 50, "maxThreads": 4}, {"threads": 4}),
        ({"minSpare": 0, "maxThreads": 1}, {"threads": 1}),
        ({"multithreaded": False}, {"threads": 0, "slow_request_timeout": 0}),
        ({"multithreaded": False, "maxThreads": 0}, {"threads": 0}),
        ({"maxThreads": 4}, {"slow_request_timeout": DEFAULT_SLOW}),
        ({"debug": True}, {"log_level": "debug"}),
        # No master in run(): nothing may recycle the process.
        ({}, {"request_terminate_timeout": 0, "max_requests": 0}),
        ({}, {"app": f"{app.__module__}:app"}),
    ],
)  # fmt: skip
def test_arguments_map_to_settings(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    settings = WSGIServer(app, **kwargs).settings()
    assert {name: settings[name] for name in expected} == expected


def test_an_app_object_without_an_import_path_is_served_unnamed() -> None:
    class App:
        def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
            return []

    assert WSGIServer(App()).settings()["app"] is None


def test_build_config_is_a_valid_config_naming_its_source() -> None:
    config = WSGIServer(app, maxThreads=3).build_config("fastcgi+unix:///run/app.sock")
    assert isinstance(config, Config)
    assert config.threads == 3
    assert [address.url for address in config.bind] == ["fastcgi+unix:///run/app.sock"]
    assert config.source("threads") == "fcgigate.compat.flup.WSGIServer"
    assert config.source("graceful_timeout") == "default"


@pytest.mark.parametrize(
    ("address", "url"),
    [
        (("127.0.0.1", 9000), "fastcgi://127.0.0.1:9000"),
        (("", 9000), "fastcgi://0.0.0.0:9000"),  # flup's '' is INADDR_ANY
        (("::1", 9000), "fastcgi://[::1]:9000"),
        (("LocalHost", 0), "fastcgi://localhost:0"),
    ],
)
def test_tcp_bind_addresses(address: tuple[str, int], url: str) -> None:
    assert WSGIServer(app, bindAddress=address).build_config().bind[0].url == url


def test_a_unix_path_is_taken_as_flup_takes_it() -> None:
    # Relative paths are resolved by run(), against the working directory of then
    # (after a DaemonContext, that is /), where flup's bind() would put them.
    for path in ("/run/app.sock", "app.sock", Path("/run/app.sock")):
        WSGIServer(app, bindAddress=path)


@pytest.mark.parametrize(
    ("address", "error", "words"),
    [
        (("127.0.0.1", "9000"), TypeError, "(host, port) tuple"),
        (["127.0.0.1", 9000], TypeError, "(host, port) tuple"),
        (("127.0.0.1", 9000, 0, 0), TypeError, "(host, port) tuple"),
        (("127.0.0.1", True), TypeError, "(host, port) tuple"),
        (b"/run/app.sock", TypeError, "unix socket path"),
        (9000, TypeError, "or None"),
        ("", ValueError, "unix socket path"),
        ("/run/a\0.sock", ValueError, "unix socket path"),
        (("127.0.0.1", 70000), ValueError, "out of range"),
        (("bad host", 9000), ValueError, "invalid host"),
    ],
)
def test_bad_bind_addresses_are_errors(address: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match="bindAddress") as info:
        WSGIServer(app, bindAddress=address)
    assert words in str(info.value)


def test_environ_goes_over_the_params_and_under_the_servers_keys() -> None:
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        return []

    extra = {"APP_SETTING": "x", "SERVER_NAME": "from-flup-environ", "wsgi.url_scheme": "gopher",
             "wsgi.custom": "kept"}  # fmt: skip
    wrapped = with_environ(inner, extra, multiprocess=False)
    extra["APP_SETTING"] = "changed later"  # copied when run() starts, not read per request
    wrapped(
        {"SERVER_NAME": "example.org", "wsgi.url_scheme": "https", "wsgi.multiprocess": True},
        lambda *args: None,
    )
    assert seen["APP_SETTING"] == "x"
    assert seen["SERVER_NAME"] == "from-flup-environ"  # flup: environ.update(server.environ)
    assert seen["wsgi.url_scheme"] == "https"  # then the server's own wsgi.* keys
    assert seen["wsgi.custom"] == "kept"
    assert seen["wsgi.multiprocess"] is False  # flup's multiprocess, not fcgigate's pre-fork True


# -- refused, with what to do instead


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_flups_other_servers_arguments_are_refused_by_name(name: str) -> None:
    with pytest.raises(TypeError, match=f"{name} is not supported: it ") as info:
        WSGIServer(app, **{name: 1})
    assert REFUSED[name] in str(info.value)


@pytest.mark.parametrize(
    ("name", "setting"),
    [("maxChildren", "workers"), ("maxRequests", "max_requests"), ("timeout", "request_terminate_timeout")],
)
def test_the_preforking_arguments_point_to_the_daemon(name: str, setting: str) -> None:
    with pytest.raises(TypeError) as info:
        WSGIServer(app, **{name: 1})
    assert "fcgigate -c FILE" in str(info.value) and f"`{setting}" in str(info.value)


def test_unknown_keywords_are_refused_with_a_suggestion() -> None:
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'bindaddress' \(did you mean 'bindAddress'"
    ):
        WSGIServer(app, bindaddress=("127.0.0.1", 9000))
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'no_such_thing'$"):
        WSGIServer(app, no_such_thing=1)


def test_too_many_positional_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        WSGIServer(app, None, True, False, None, None, False, False, (1,), False, "one too many")


@pytest.mark.parametrize("roles", [(1,), [1], (1, 1)])
def test_the_responder_role_is_accepted(roles: Any) -> None:
    WSGIServer(app, roles=roles)


@pytest.mark.parametrize("roles", [(2,), (1, 2), (3,), ()])
def test_other_roles_are_refused(roles: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"roles=.* is not supported: fcgigate is a FastCGI responder only"):
        WSGIServer(app, roles=roles)


def test_roles_must_be_roles() -> None:
    with pytest.raises(TypeError, match="roles must be a tuple"):
        WSGIServer(app, roles=1)


def test_force_cgi_is_refused() -> None:
    WSGIServer(app, forceCGI=False)
    with pytest.raises(ValueError, match=r"forceCGI=True is not supported: .*CGIHandler"):
        WSGIServer(app, forceCGI=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"application": None}, TypeError, "application must be a WSGI callable"),
        ({"environ": [("A", "1")]}, TypeError, "environ must be a mapping with str keys"),
        ({"environ": {1: "a"}}, TypeError, "environ must be a mapping with str keys"),
        ({"umask": "022"}, TypeError, "umask must be an integer"),
        ({"umask": -1}, ValueError, "umask must be >= 0"),
        ({"umask": 0o1000}, ValueError, "umask must be at most 0o777"),
        ({"maxThreads": "8"}, TypeError, "maxThreads must be an integer"),
        ({"maxThreads": True}, TypeError, "maxThreads must be an integer"),
        ({"minSpare": -1}, ValueError, "minSpare must be >= 0"),
        ({"maxSpare": 1.5}, TypeError, "maxSpare must be an integer"),
        ({"maxThreads": 0, "minSpare": 0}, ValueError, "multithreaded=False"),
    ],
)
def test_bad_values_are_errors(kwargs: dict[str, Any], error: type[Exception], words: str) -> None:
    arguments = {"application": app, **kwargs}
    with pytest.raises(error) as info:
        WSGIServer(**arguments)
    assert words in str(info.value)


# -- the constructor only checks (the point of the drop-in)


def test_constructing_starts_no_thread_binds_nothing_and_installs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    threads = threading.active_count()
    fds = set(os.listdir("/proc/self/fd"))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    server = WSGIServer(app, bindAddress=str(path), maxThreads=4, multiplexed=True)
    WSGIServer(app, bindAddress=("127.0.0.1", 0))
    assert threading.active_count() == threads
    assert not path.exists(), "the socket is bound by run(), after any daemonizing"
    assert set(os.listdir("/proc/self/fd")) == fds
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
    assert server.settings()["threads"] == 4


def test_run_needs_the_main_thread(tmp_path: Path) -> None:
    server = WSGIServer(app, bindAddress=str(tmp_path / "app.sock"))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "main thread" in str(errors[0])
    assert not (tmp_path / "app.sock").exists()


def test_run_refuses_fcgi_web_server_addrs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # flup filters TCP clients by it; silently serving everyone instead would open a hole.
    monkeypatch.setenv("FCGI_WEB_SERVER_ADDRS", "127.0.0.1")
    server = WSGIServer(app, bindAddress=str(tmp_path / "app.sock"))
    with pytest.raises(ValueError, match="FCGI_WEB_SERVER_ADDRS is set"):
        server.run()
    assert not (tmp_path / "app.sock").exists()
