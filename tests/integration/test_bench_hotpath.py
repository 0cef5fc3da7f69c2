"""The in-process hot-path benchmark cannot rot: ``bench/hotpath.py --smoke --no-peers``
runs fcgigate's HTTP and FastCGI paths for a few hundred requests and must get a
correct response (200, the body, the connection kept) every time. It asserts no
speed: timings belong to the benchmark's report, not to the tests (CI machines
are shared).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import clean_environ

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0  # about a second on 2 cores; this only bounds a hang


def test_hotpath_smoke_answers_every_request_for_fcgigate(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        str(REPO / "bench" / "hotpath.py"),
        "--smoke",
        "--no-peers",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(
        argv, cwd=REPO, env=clean_environ(), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output

    results = json.loads((tmp_path / "hotpath.json").read_text(encoding="utf-8"))
    assert (tmp_path / "hotpath.md").exists()
    assert results["mode"] == "smoke"
    implementations = results["implementations"]
    assert set(implementations) == {"fcgigate-http", "fcgigate-fastcgi"}, output
    for name, record in implementations.items():
        assert record["available"], f"{name}: {record.get('reason')}"
        assert record["check"]["ok"], f"{name}: {record['check']['error']}"
        assert "error" not in record, f"{name}: {record['error']}"
        runs = record["runs"]
        assert len(runs) == results["settings"]["rounds"], name
        for run in runs:
            # ok: the child sent exactly one correct-sized response per request.
            assert run["ok"], f"{name}: {run.get('error')}"
            assert run["requests"] == results["settings"]["requests"] > 0, name
    assert implementations["fcgigate-http"]["check"]["response"].startswith("HTTP/1.1 200 OK\r\n")
    assert implementations["fcgigate-http"]["check"]["response"].endswith("\r\n\r\nHello, World!")
    assert "Status: 200 OK\r\n" in implementations["fcgigate-fastcgi"]["check"]["response"]
