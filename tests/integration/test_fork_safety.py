"""Invariant 1 (design.md): no thread exists before the last fork.

The flup bug: a thread pool created before the process forks (or daemonizes)
loses its threads in the child, and the server accepts connections but never
answers. fcgigate creates its pool lazily inside the serving process. These
tests look at the real daemon from outside (/proc) and from inside (the app).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.support.fcgi import default_params

pytestmark = pytest.mark.integration


def task_names(pid: int) -> list[str]:
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as comm:
                names.append(comm.read().strip())
        except FileNotFoundError:
            pass
    return names


def test_the_serving_process_has_one_thread_until_the_first_request(daemon_factory) -> None:
    daemon = daemon_factory({"threads": 4}, "tests.apps.threads_probe:app")
    time.sleep(0.3)
    (worker,) = daemon.worker_pids()
    assert len(task_names(worker)) == 1, task_names(worker)
    with daemon.client() as client:
        response = client.request(default_params("GET", "/probe"))
    assert response.status == 200
    probe = response.json()
    assert probe["current"].startswith("fcgigate-app") and not probe["is_main"]
    assert probe["pid"] == worker
    assert len(task_names(worker)) > 1
    assert len(task_names(daemon.pid)) == 1, "the master started a thread"


def test_inline_mode_never_starts_a_thread(daemon_factory) -> None:
    daemon = daemon_factory({"threads": 0}, "tests.apps.threads_probe:app")
    with daemon.client() as client:
        for _ in range(20):
            probe = client.request(default_params("GET", "/probe")).json()
    assert probe["is_main"] and probe["active_count"] == 1
    assert len(task_names(probe["pid"])) == 1 and len(task_names(daemon.pid)) == 1
