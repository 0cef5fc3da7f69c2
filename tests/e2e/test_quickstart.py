"""README's promise: `make run`, then the nginx quick start, then curl answers.

This runs the README's commands as written (`make run`, the bundled
conf/nginx/quickstart.conf under /tmp/fcgigate-nginx, `curl`), on their fixed
ports 8000, 9000 and 8080: it fails, rather than skips, when one is taken.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.daemon import can_connect
from tests.support.nginx import nginx_binary

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PREFIX = Path("/tmp/fcgigate-nginx")


def wait_for(address: tuple[str, int], proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not can_connect(address):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start listening on {address}")
        time.sleep(0.1)


def test_make_run_then_nginx_quickstart_answers_curl() -> None:
    for port in (8000, 9000, 8080):
        assert not can_connect(("127.0.0.1", port)), f"port {port} is taken; the quick start needs it"
    run = subprocess.Popen(["make", "run"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)  # fmt: skip
    nginx = [nginx_binary(), "-p", str(PREFIX), "-e", str(PREFIX / "error.log"),
             "-c", str(REPO / "conf/nginx/quickstart.conf")]  # fmt: skip
    try:
        wait_for(("127.0.0.1", 9000), run, "make run")
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(nginx, check=True, timeout=10)
        deadline = time.monotonic() + 10
        while not can_connect(("127.0.0.1", 8080)) and time.monotonic() < deadline:
            time.sleep(0.1)
        curl = subprocess.run(
            ["curl", "-sS", "-i", "http://127.0.0.1:8080/"], capture_output=True, timeout=10
        )
        assert curl.returncode == 0, curl.stderr
        head, _, body = curl.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"fcgigate" in body
        form = subprocess.run(["curl", "-sS", "--data-binary", "name=demo", "http://127.0.0.1:8080/echo"],
                              capture_output=True, timeout=10)  # fmt: skip
        assert form.stdout == b"name=demo"
        # and `make run` also serves the demo straight over HTTP, for a browser
        direct = subprocess.run(["curl", "-sS", "http://127.0.0.1:8000/"], capture_output=True, timeout=10)
        assert b"fcgigate" in direct.stdout
    finally:
        subprocess.run([*nginx, "-s", "stop"], timeout=10, capture_output=True)
        os.killpg(run.pid, signal.SIGTERM)
        out, _ = run.communicate(timeout=15)
        shutil.rmtree(PREFIX, ignore_errors=True)
    assert b"Traceback" not in out, out.decode(errors="replace")
