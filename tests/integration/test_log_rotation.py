"""Built-in log rotation: only the master rotates, the workers reopen, nothing is lost.

With a tiny `log_rotate_size`, a bounded load of exactly N requests over two
workers rotates the access log many times while both workers write to it: the
current file and the rotated ones hold exactly N lines, each whole (a line cut
by a rotation, or two glued together, would not match the format), and at most
`log_rotate_keep` rotated files are left.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.daemon import free_port

FORMAT = "{pid} {request_id} {uri} {status} end"
LINE = re.compile(r"^(\d+) \1-\d+ /n/(\d+) 200 end$")


def load(port: int, first: int, count: int, clients: int = 4) -> None:
    """Requests /n/first .. /n/(first+count-1), from ``clients`` keep-alive connections."""
    numbers = list(range(first, first + count))
    errors: list[str] = []

    def client(share: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for n in share:
                conn.request("GET", f"/n/{n}")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"{n}: {response.status}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(numbers[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def all_lines(directory: Path, name: str) -> list[str]:
    lines = []
    for path in directory.iterdir():
        if path.name == name or path.name.startswith(name + "."):
            lines += path.read_text().splitlines()
    return lines


def wait_for_lines(directory: Path, name: str, count: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(lines := all_lines(directory, name)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return lines


def start(daemon_factory: Any, tmp_path: Path, **settings: Any) -> tuple[Any, int, Path]:
    port = free_port()
    logs_dir = tmp_path / "logs"
    logs_dir.mkdir()
    daemon = daemon_factory(
        {"bind": f"http://127.0.0.1:{port}", "workers": 2, "access_log": logs_dir / "access.log",
         "access_log_format": FORMAT, "error_log": logs_dir / "error.log", "status_path": "", **settings},
        "tests.apps.hello:app",
    )  # fmt: skip
    return daemon, port, logs_dir


def test_every_line_is_kept_whole_across_rotations(daemon_factory: Any, tmp_path: Path) -> None:
    n = 1500
    daemon, port, logs_dir = start(daemon_factory, tmp_path, log_rotate_size="8k", log_rotate_keep=100)
    # In batches, with a pause: the master checks the size about once a second.
    for batch in range(5):
        load(port, batch * (n // 5), n // 5)
        time.sleep(1.3)
    lines = wait_for_lines(logs_dir, "access.log", n)
    rotated = sorted(p.name for p in logs_dir.iterdir() if p.name.startswith("access.log."))
    assert len(rotated) >= 3, f"expected several rotations: {rotated}"
    bad = [line for line in lines if not LINE.match(line)]
    assert not bad, bad[:5]
    numbers = sorted(int(LINE.match(line)[2]) for line in lines)
    assert numbers == list(range(n)), "every request exactly once"
    pids = {int(LINE.match(line)[1]) for line in lines}
    assert pids == set(daemon.worker_pids(2)), "both workers wrote"
    assert "rotated" in (logs_dir / "error.log").read_text() + "".join(
        p.read_text() for p in logs_dir.iterdir() if p.name.startswith("error.log.")
    )
    assert daemon.stop() == 0


def test_at_most_keep_rotated_files_remain(daemon_factory: Any, tmp_path: Path) -> None:
    daemon, port, logs_dir = start(daemon_factory, tmp_path, log_rotate_size="2k", log_rotate_keep=2)
    for batch in range(6):
        load(port, batch * 100, 100)
        time.sleep(1.3)
    rotated = sorted(p.name for p in logs_dir.iterdir() if p.name.startswith("access.log."))
    assert rotated == ["access.log.1", "access.log.2"], rotated
    for line in all_lines(logs_dir, "access.log"):
        assert LINE.match(line), line
    assert daemon.stop() == 0
