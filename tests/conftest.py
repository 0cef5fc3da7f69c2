"""Fixtures shared by the whole suite.

- ``daemon_factory(settings=None, app=None, argv=(), env=None, wait=True)`` starts a
  fcgigate daemon (``tests.support.daemon.Daemon``) in its own directory under
  ``tmp_path`` and stops every daemon it started at teardown;
- ``nginx_factory(upstream, **options)`` does the same for nginx
  (``tests.support.nginx.Nginx``); ``upstream`` may be a Daemon (its first bind);
- ``free_port``: a TCP port on 127.0.0.1 that was free a moment ago;
- ``socket_dir``: a short directory under /tmp for unix sockets (sun_path is short);
- ``flup_program(bind, **options)`` starts a flup user's program
  (``tests.support.flup_script.FlupScript``) and stops every one it started.

Tests are marked ``unit``, ``integration`` or ``e2e`` by the directory they live in,
so ``pytest -m unit`` runs the fast layer alone. When a test fails, the logs of
the daemons and nginx it started are printed with its report.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import ALLOW_ROOT_ENV, Daemon, short_socket_dir
from tests.support.daemon import free_port as _free_port
from tests.support.flup_script import FlupScript
from tests.support.nginx import Nginx

# CI runs the suite as root, and fcgigate refuses to run an app as root unless
# allowed: every daemon a test starts is allowed (tests of the refusal unset it).
if os.geteuid() == 0:
    os.environ.setdefault(ALLOW_ROOT_ENV, "true")

MARKERS = {
    "unit": "no processes, no sockets; the whole layer runs in seconds",
    "integration": "the real daemon as a subprocess over real sockets",
    "e2e": "real nginx and cgi-fcgi in front of the daemon",
}


def pytest_configure(config: pytest.Config) -> None:
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for name, description in MARKERS.items():
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: {description}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        try:
            layer = item.path.relative_to(tests_dir).parts[0]
        except ValueError:
            continue
        if layer in MARKERS:
            item.add_marker(getattr(pytest.mark, layer))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    # Keep each phase's report on the item, so fixtures can tell at teardown
    # whether the test failed (and print the logs that explain why).
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


@pytest.fixture
def free_port() -> int:
    return _free_port()


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    path = short_socket_dir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def daemon_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Daemon]]:
    daemons: list[Daemon] = []

    def start(
        settings: dict[str, Any] | None = None,
        app: str | None = None,
        argv: tuple[str, ...] | list[str] = (),
        env: dict[str, str | None] | None = None,
        wait: bool = True,
        **options: Any,
    ) -> Daemon:
        daemon = Daemon(tmp_path / f"daemon{len(daemons)}", settings, app, argv, env, **options)
        daemons.append(daemon)
        return daemon.start(wait=wait)

    yield start

    errors = []
    for daemon in daemons:
        try:
            daemon.stop()
        except AssertionError as error:  # DaemonError: it hung or left workers behind
            errors.append(error)
    if _failed(request):
        for daemon in daemons:
            print(f"--- {daemon.log_path}\n{daemon.log()}")
    if errors:
        raise errors[0]


@pytest.fixture
def nginx_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Nginx]]:
    servers: list[Nginx] = []

    def start(upstream: Any, **options: Any) -> Nginx:
        if isinstance(upstream, Daemon):
            upstream = upstream.address()
        nginx = Nginx(tmp_path / f"nginx{len(servers)}", upstream, **options)
        servers.append(nginx)
        return nginx.start()

    yield start

    errors = []
    for nginx in servers:
        try:
            nginx.stop()
        except AssertionError as error:  # NginxError
            errors.append(error)
    if _failed(request):
        for nginx in servers:
            print(f"--- {nginx.error_log_path}\n{nginx.error_log()}")
    if errors:
        raise errors[0]


@pytest.fixture
def flup_program(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., FlupScript]]:
    programs: list[FlupScript] = []

    def start(bind: Any, *, wait: bool = True, **options: Any) -> FlupScript:
        program = FlupScript(tmp_path / f"program{len(programs)}", bind, **options)
        programs.append(program)
        return program.start(wait=wait)

    yield start

    errors = []
    for program in programs:
        try:
            program.stop(kill_ok=program.settings["server"] == "flup")  # flup's may hang: that is the bug
        except AssertionError as error:  # FlupScriptError
            errors.append(error)
    if _failed(request):
        for program in programs:
            print(f"--- {program.log_path}\n{program.log()}")
    if errors:
        raise errors[0]
