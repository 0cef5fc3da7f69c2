"""`fcgigate status -c FILE`: the status table of the running master, from the command line.

It reads the master's scoreboard (shared memory, found through the pidfile), not
a status URL: it answers even when status_path is off and every worker is busy.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.daemon import REPO_ROOT, clean_environ, free_port


def fcgigate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**clean_environ(), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "fcgigate", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)  # fmt: skip


def get(port: int, path: str = "/") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_status_prints_the_running_masters_table(daemon_factory: Any, tmp_path: Path) -> None:
    port = free_port()
    daemon = daemon_factory(
        {"bind": f"http://127.0.0.1:{port}", "workers": 2, "pidfile": tmp_path / "fcgigate.pid",
         "status_path": ""},  # the command does not need the page
        "tests.apps.hello:app",
    )  # fmt: skip
    for _ in range(7):
        assert get(port) == 200
    result = fcgigate("status", "-c", str(daemon.ini), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(rf"^master pid:\s+{daemon.pid}$", out, re.M), out
    assert re.search(r"^requests:\s+7$", out, re.M), out
    assert re.search(r"^total workers:\s+2$", out, re.M), out
    rows = [line.split() for line in out.splitlines() if re.match(r"^\d+\s+\d+\s+\d+\s+(idle|busy)", line)]
    assert sorted(int(row[1]) for row in rows) == sorted(daemon.worker_pids()), out
    assert sum(int(row[4]) for row in rows) == 7, out


def test_status_without_a_running_master_says_why(tmp_path: Path) -> None:
    ini = tmp_path / "fcgigate.ini"
    ini.write_text(f"[fcgigate]\napp = tests.apps.hello:app\npidfile = {tmp_path}/none.pid\n")
    result = fcgigate("status", "-c", str(ini), cwd=tmp_path)
    assert result.returncode == 1 and "holds no pid: is fcgigate running?" in result.stderr
    # A pid that is not an fcgigate master: this test process.
    (tmp_path / "none.pid").write_text(f"{os.getpid()}\n")
    result = fcgigate("status", "-c", str(ini), cwd=tmp_path)
    assert result.returncode == 1 and "has no fcgigate scoreboard" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
