"""The ``fcgigate`` command as a user runs it: ``check``, flags, environment, signals.

``fcgigate check`` runs as ``python -m fcgigate check -c FILE`` in a scratch
directory with the repository on PYTHONPATH (so ``tests.apps`` imports) and no
``FCGIGATE_*`` variable of the developer's own. The daemon itself starts through
``daemon_factory``.
"""

from __future__ import annotations

import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import REPO_ROOT, Daemon, clean_environ
from tests.support.fcgi import FastCGIClient, default_params

Start = Callable[..., Daemon]
TIMEOUT = 20


def run_fcgigate(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    environ = clean_environ()
    environ["PYTHONPATH"] = str(REPO_ROOT)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "fcgigate", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def write_ini(directory: Path, *lines: str, name: str = "fcgigate.ini") -> str:
    """``[fcgigate]`` on line 1, then ``lines`` (line 2 onwards); returns the file name."""
    (directory / name).write_text("\n".join(["[fcgigate]", *lines]) + "\n")
    return name


def setting_line(output: str, name: str) -> str:
    """The line of ``check``'s output that gives setting ``name``."""
    for line in output.splitlines():
        if re.match(rf"{name}\s*=", line):
            return line
    raise AssertionError(f"no {name!r} line in:\n{output}")


GOOD = ("app = tests.apps.hello:app", "threads = 3", "bind = fastcgi://127.0.0.1:9000")


# --------------------------------------------------------------------------- fcgigate check


def test_check_a_good_file(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, *GOOD)
    result = run_fcgigate(tmp_path, "check", "-c", ini)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[fcgigate]\n")
    assert re.fullmatch(rf"threads = 3\s+# {re.escape(ini)}:3", setting_line(result.stdout, "threads"))
    assert re.fullmatch(
        rf"app = tests\.apps\.hello:app\s+# {re.escape(ini)}:2", setting_line(result.stdout, "app")
    )
    assert re.fullmatch(r"backlog = 2048\s+# default", setting_line(result.stdout, "backlog"))
    assert "Traceback" not in result.stderr


def test_check_output_loads_back(tmp_path: Path) -> None:
    # The printed configuration is itself a valid configuration file.
    ini = write_ini(tmp_path, *GOOD)
    first = run_fcgigate(tmp_path, "check", "-c", ini)
    assert first.returncode == 0, first.stderr
    (tmp_path / "effective.ini").write_text(first.stdout)
    again = run_fcgigate(tmp_path, "check", "-c", "effective.ini")
    assert again.returncode == 0, again.stderr
    assert re.match(r"threads = 3\s+# effective\.ini:\d+", setting_line(again.stdout, "threads"))


def test_check_option_form(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, *GOOD)
    result = run_fcgigate(tmp_path, "--check", "-c", ini)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"threads = 3\s+# {re.escape(ini)}:3", setting_line(result.stdout, "threads"))


def _error_lines(result: subprocess.CompletedProcess[str], where: str) -> list[str]:
    output = result.stdout + result.stderr
    return [line for line in output.splitlines() if where in line]


@pytest.mark.parametrize("command", [("check",), ()], ids=["check", "run"])
def test_bad_value_names_file_line_and_setting(tmp_path: Path, command: tuple[str, ...]) -> None:
    ini = write_ini(tmp_path, "app = tests.apps.hello:app", "threads = many")
    result = run_fcgigate(tmp_path, *command, "-c", ini)
    assert result.returncode == 1
    lines = _error_lines(result, f"{ini}:3")
    assert len(lines) == 1, result.stderr
    assert "threads" in lines[0] and "many" in lines[0]
    assert "Traceback" not in result.stderr


def test_misspelt_setting_suggests_the_right_one(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "app = tests.apps.hello:app", "thread = 4")
    result = run_fcgigate(tmp_path, "check", "-c", ini)
    assert result.returncode == 1
    lines = _error_lines(result, f"{ini}:3")
    assert len(lines) == 1, result.stderr
    assert "'thread'" in lines[0] and "did you mean 'threads'" in lines[0]


def test_misspelt_environment_variable_is_an_error(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, *GOOD)
    result = run_fcgigate(tmp_path, "check", "-c", ini, env={"FCGIGATE_THRADS": "2"})
    assert result.returncode == 1
    assert "FCGIGATE_THRADS" in result.stderr and "did you mean" in result.stderr


@pytest.mark.parametrize("command", [("check",), ()], ids=["check", "run"])
def test_malformed_bind_url_is_a_config_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    ini = write_ini(tmp_path, "app = tests.apps.hello:app", "bind = tcp://127.0.0.1:9000")
    result = run_fcgigate(tmp_path, *command, "-c", ini)
    assert result.returncode == 1
    lines = _error_lines(result, f"{ini}:3")
    assert len(lines) == 1, result.stderr
    assert "tcp://127.0.0.1:9000" in lines[0] and "bind" in lines[0]
    assert "Traceback" not in result.stderr


def test_app_that_does_not_import(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "app = no_such_module_here:app")
    result = run_fcgigate(tmp_path, "check", "-c", ini)
    assert result.returncode == 1
    assert "no_such_module_here" in result.stderr
    assert "test failed" in result.stderr


@pytest.mark.parametrize(
    "source, shown",
    [
        ("from os import no_such_name_in_os\n", "no_such_name_in_os"),
        ("import no_such_dependency_xyz\n", "no_such_dependency_xyz"),
        ("raise RuntimeError('the app module blew up at import')\n", "the app module blew up at import"),
    ],
    ids=["ImportError", "missing-dependency", "RuntimeError"],
)
def test_app_module_that_raises_at_import_shows_its_error(tmp_path: Path, source: str, shown: str) -> None:
    (tmp_path / "brokenapp.py").write_text(source + "def app(environ, start_response):\n    pass\n")
    ini = write_ini(tmp_path, "app = brokenapp:app")
    result = run_fcgigate(tmp_path, "check", "-c", ini)
    assert result.returncode == 1
    assert shown in result.stderr
    assert "brokenapp" in result.stderr


def test_app_attribute_missing(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "app = tests.apps.hello:no_such_callable")
    result = run_fcgigate(tmp_path, "check", "-c", ini)
    assert result.returncode == 1
    assert "no_such_callable" in result.stderr


def test_missing_app_is_an_error(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "threads = 1")
    result = run_fcgigate(tmp_path, "check", "-c", ini)
    assert result.returncode == 1
    assert "app" in result.stderr


# --------------------------------------------------------------------------- precedence


def test_cli_flag_overrides_the_file(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, *GOOD)
    result = run_fcgigate(tmp_path, "check", "-c", ini, "--threads", "2")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"threads = 2\s+# --threads", setting_line(result.stdout, "threads"))


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, *GOOD)
    result = run_fcgigate(tmp_path, "check", "-c", ini, env={"FCGIGATE_THREADS": "5"})
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"threads = 5\s+# env FCGIGATE_THREADS", setting_line(result.stdout, "threads"))


def test_cli_flag_overrides_the_environment(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, *GOOD)
    result = run_fcgigate(tmp_path, "check", "-c", ini, "--threads", "7", env={"FCGIGATE_THREADS": "5"})
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"threads = 7\s+# --threads", setting_line(result.stdout, "threads"))


def test_bad_cli_value_is_an_error(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, *GOOD)
    result = run_fcgigate(tmp_path, "check", "-c", ini, "--threads", "-1")
    assert result.returncode == 1
    assert "--threads" in result.stderr


def test_app_as_the_last_argument(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "threads = 1")
    result = run_fcgigate(tmp_path, "check", "-c", ini, "tests.apps.hello:app")
    assert result.returncode == 0, result.stderr
    assert setting_line(result.stdout, "app").startswith("app = tests.apps.hello:app ")


def test_daemon_serves_the_app_given_as_the_last_argument(daemon_factory: Start) -> None:
    daemon = daemon_factory({"threads": 0}, argv=["tests.apps.hello:app"])
    with daemon.client() as client:
        response = client.request(default_params("GET", "/"))
    assert (response.status, response.body) == (200, b"Hello, World!")


def test_help_lists_the_settings(tmp_path: Path) -> None:
    result = run_fcgigate(tmp_path, "--help")
    assert result.returncode == 0
    assert "--threads" in result.stdout
    assert "--bind" in result.stdout and "--config" in result.stdout


# --------------------------------------------------------------------------- running and stopping


def test_port_in_use_exits_quickly(daemon_factory: Start, free_port: int) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port))
        holder.listen()
        began = time.monotonic()
        daemon = daemon_factory(
            {"bind": f"fastcgi://127.0.0.1:{free_port}"}, app="tests.apps.hello:app", wait=False
        )
        code = daemon.wait(timeout=5)
        took = time.monotonic() - began
    assert code not in (0, None)
    assert took < 5
    assert "cannot listen on" in daemon.log()
    assert f"127.0.0.1:{free_port}" in daemon.log()
    assert "Traceback" not in daemon.log()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_daemon_and_removes_its_socket(
    daemon_factory: Start, socket_dir: Path, free_port: int, sig: signal.Signals
) -> None:
    path = socket_dir / "stop.sock"
    daemon = daemon_factory(
        {"bind": f"fastcgi://127.0.0.1:{free_port}, fastcgi+unix://{path}"}, app="tests.apps.hello:app"
    )
    assert stat.S_ISSOCK(path.stat().st_mode)
    for index in (0, 1):
        with daemon.client(index) as client:
            assert client.request(default_params("GET", "/")).status == 200
    began = time.monotonic()
    assert daemon.stop(sig, timeout=5) == 0
    assert time.monotonic() - began < 5
    assert not path.exists(), "the unix socket file was left behind"
    assert "Traceback" not in daemon.log()


@pytest.mark.parametrize("threads", [0, 4], ids=["inline", "threads4"])
def test_sigterm_lets_the_request_in_flight_finish(
    daemon_factory: Start, tmp_path: Path, threads: int
) -> None:
    daemon = daemon_factory({"threads": threads}, app="tests.apps.sleepy:app")
    marker = tmp_path / "started"
    with FastCGIClient(daemon.address()) as client:
        client.send_request(default_params("GET", f"/?seconds=0.7&marker={marker}"))
        deadline = time.monotonic() + 3
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the app never started"
        daemon.send_signal(signal.SIGTERM)
        response = client.read_response()
    assert (response.status, response.body) == (200, b"slept 0.7")
    assert daemon.wait(timeout=5) == 0


@pytest.mark.parametrize("mode", [0o600, 0o660, 0o666], ids=oct)
def test_unix_socket_has_socket_mode(daemon_factory: Start, socket_dir: Path, mode: int) -> None:
    path = socket_dir / "mode.sock"
    daemon = daemon_factory(
        {"bind": f"fastcgi+unix://{path}", "socket_mode": f"{mode:04o}"}, app="tests.apps.hello:app"
    )
    assert stat.S_IMODE(path.stat().st_mode) == mode
    with daemon.client() as client:
        assert client.request(default_params("GET", "/")).status == 200


def test_the_shipped_configurations_check(tmp_path) -> None:
    """conf/dev.ini and the annotated conf/prod.ini are valid as shipped."""
    for name in ("dev.ini", "prod.ini"):
        repo = Path(__file__).resolve().parents[2]
        result = subprocess.run([sys.executable, "-m", "fcgigate", "check", "-c", str(repo / "conf" / name)],
                                capture_output=True, text=True, timeout=60, cwd=repo)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "test is successful" in result.stderr
