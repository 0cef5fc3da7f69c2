"""daemon = true: the founding bug as a regression test, the pidfile, and the
stop/reload/reopen commands.

flup's bug: a thread pool created before the process daemonizes loses its
threads in the child, so the server accepts connections and never answers.
Here the daemon runs with threads = 8, and must answer over both protocols.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.daemon import free_port
from tests.support.fcgi import FastCGIClient, default_params

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def write_ini(tmp_path: Path, app: str = "tests.apps.threads_probe:app", **extra: str) -> tuple[Path, dict]:
    settings = {
        "app": app, "bind": f"http://127.0.0.1:{free_port()}, fastcgi://127.0.0.1:{free_port()}",
        "threads": "8", "workers": "2", "daemon": "true", "pidfile": str(tmp_path / "fcgigate.pid"),
        "error_log": str(tmp_path / "error.log"), "graceful_timeout": "5", **extra,
    }  # fmt: skip
    ini = tmp_path / "fcgigate.ini"
    ini.write_text("[fcgigate]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    return ini, settings


def fcgigate(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "fcgigate", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def ports(settings: dict) -> tuple[int, int]:
    http_url, fcgi_url = (u.strip() for u in settings["bind"].split(","))
    return int(http_url.rsplit(":", 1)[1]), int(fcgi_url.rsplit(":", 1)[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@pytest.fixture
def daemonized(tmp_path: Path):
    """Start a daemon; always stop whatever the pidfile names at the end."""
    started: list[Path] = []

    def start(**extra: str) -> tuple[subprocess.CompletedProcess, dict]:
        ini, settings = write_ini(tmp_path, **extra)
        started.append(Path(settings["pidfile"]))
        return fcgigate("-c", str(ini), cwd=tmp_path), settings

    yield start
    for pidfile in started:
        try:
            pid = int(pidfile.read_text())
        except (FileNotFoundError, ValueError):
            continue
        os.kill(pid, signal.SIGKILL)


def test_the_founding_bug_daemon_with_threads_answers(daemonized, tmp_path: Path) -> None:
    started = time.monotonic()
    launch, settings = daemonized()
    assert launch.returncode == 0, launch.stderr
    pid = int(Path(settings["pidfile"]).read_text())
    # Readiness: the launcher returned only once the workers serve, so a
    # request right now is answered (no sleep, no retry).
    http_port, fcgi_port = ports(settings)
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.status == 200
    probe = json.loads(response.read())
    assert probe["current"].startswith("fcgigate-app")  # the pool exists and answers
    with FastCGIClient(("127.0.0.1", fcgi_port)) as client:
        assert client.request(default_params("GET", "/")).status == 200
    # Detached: its parent is init (or a subreaper), its own session, titled.
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ppid, session = int(fields[1]), int(fields[3])
    assert ppid != os.getpid() and session == pid or session != os.getsid(0)
    assert b"fcgigate: master [fcgigate.ini]" in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert len(os.listdir(f"/proc/{pid}/task")) == 1  # still no thread in the master
    # TERM: gone within graceful_timeout, pidfile removed.
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid, 5 + 2)
    assert not Path(settings["pidfile"]).exists()
    assert time.monotonic() - started < 20
    log = Path(settings["error_log"]).read_text()
    assert "Traceback" not in log and "Logging error" not in log


def test_a_second_instance_refuses(daemonized, tmp_path: Path) -> None:
    launch, settings = daemonized()
    assert launch.returncode == 0, launch.stderr
    pid = int(Path(settings["pidfile"]).read_text())
    again = fcgigate("-c", str(tmp_path / "fcgigate.ini"), cwd=tmp_path)
    assert again.returncode != 0
    assert f"already running as PID {pid}" in again.stderr
    assert alive(pid) and int(Path(settings["pidfile"]).read_text()) == pid


def test_a_stale_pidfile_is_replaced(daemonized, tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "fcgigate.pid").write_text(f"{dead.pid}\n")
    launch, settings = daemonized()
    assert launch.returncode == 0, launch.stderr
    pid = int(Path(settings["pidfile"]).read_text())
    assert pid != dead.pid and alive(pid)
    assert "stale pidfile" in Path(settings["error_log"]).read_text()


def test_the_launcher_reports_a_daemon_that_cannot_serve(daemonized, tmp_path: Path) -> None:
    launch, settings = daemonized(app="tests.apps.no_such_module:app")
    assert launch.returncode == 1
    assert "not serving" in launch.stderr and settings["error_log"] in launch.stderr
    assert "no_such_module" in Path(settings["error_log"]).read_text()
    assert not Path(settings["pidfile"]).exists()


def test_stop_reload_reopen_commands(daemonized, tmp_path: Path) -> None:
    launch, settings = daemonized(workers="1")
    assert launch.returncode == 0, launch.stderr
    ini = str(tmp_path / "fcgigate.ini")
    pid = int(Path(settings["pidfile"]).read_text())
    http_port, _ = ports(settings)

    def worker_pid() -> int:
        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        conn.request("GET", "/")
        return json.loads(conn.getresponse().read())["pid"]

    before = worker_pid()
    assert fcgigate("reload", "-c", ini, cwd=tmp_path).returncode == 0
    # The new generation serves first, then the old worker drains and exits.
    assert wait_gone(before, 10), "HUP through `fcgigate reload` did not replace the worker"
    assert worker_pid() != before
    log = Path(settings["error_log"])
    log.rename(tmp_path / "error.log.1")
    assert fcgigate("reopen", "-c", ini, cwd=tmp_path).returncode == 0
    deadline = time.monotonic() + 5
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.exists(), "SIGUSR1 through `fcgigate reopen` did not reopen the log"
    stop = fcgigate("stop", "-c", ini, cwd=tmp_path)
    assert stop.returncode == 0 and f"PID {pid} stopped" in stop.stdout
    assert not alive(pid) and not Path(settings["pidfile"]).exists()


def test_commands_without_a_running_daemon_say_why(tmp_path: Path) -> None:
    ini, _ = write_ini(tmp_path)
    result = fcgigate("stop", "-c", str(ini), cwd=tmp_path)
    assert result.returncode == 1 and "is fcgigate running?" in result.stderr


def test_a_pidfile_in_a_missing_directory_is_a_clear_error(daemonized, tmp_path: Path) -> None:
    launch, settings = daemonized(pidfile=str(tmp_path / "no-such-dir" / "fcgigate.pid"))
    assert launch.returncode == 1
    assert f"setting 'pidfile': cannot write {settings['pidfile']}: no directory" in launch.stderr
    assert "Traceback" not in launch.stderr + Path(settings["error_log"]).read_text()
