"""The ``?html`` status page in a real browser: Debian's Chromium, headless.

A daemon with two inline workers (``threads = 0``) serves one slow request
(``tests.apps.slowpage``): it blocks that worker's event loop, so the worker
shows busy and accepts nothing, and everything Chromium asks for (the page
twice, /favicon.ico, answered 404 at once) goes to the other worker, which stays
idle. Chromium loads ``/fcgigate/status?html`` twice: once to take a screenshot,
once to dump the DOM it built. What must hold:

- the DOM has ``table#workers`` with one ``tr[data-pid]`` per worker, the pids
  being the daemon's children as /proc lists them; the busy worker's row is
  marked ``busy`` and names the slow request, the other is ``idle``; the summary
  says two workers, one busy; the page refreshes itself (``meta refresh``);
- the screenshot is a valid PNG of the window's size (signature, IHDR, every
  chunk's CRC, IEND), and decoding its pixels finds the page's own colours: the
  table header's grey (#f3f3f3) and the busy row's yellow (#fff4d6), so the
  browser rendered this page, with its stylesheet, and not an error page.

Chromium runs as root in CI, in a container: it needs ``--no-sandbox`` (it
refuses to start as root otherwise), and ``--disable-dev-shm-usage`` keeps it off
a small /dev/shm (Docker gives 64 MiB). Each run gets its own profile
directory and process group, is bounded by CHROMIUM_TIMEOUT (its start is slow
on two cores) and leaves no process behind. When Chromium is missing the test
fails, it is not skipped: CI installs it (``.ci/run``), and a skipped test proves
nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.daemon import Daemon, free_port

pytestmark = pytest.mark.e2e

Start = Callable[..., Daemon]
CHROMIUM_TIMEOUT = 60.0
WINDOW = (1200, 800)
STATUS = "/fcgigate/status"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER_GREY = (0xF3, 0xF3, 0xF3)  # th { background: #f3f3f3 }
BUSY_YELLOW = (0xFF, 0xF4, 0xD6)  # tr.busy td { background: #fff4d6 }


# --------------------------------------------------------------------------- chromium


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed: `apt-get install chromium` (.ci/run installs it)")


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Headless Chromium with ``args``, in its own process group, killed whole at the end."""
    command = [
        chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
        "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
        "--force-device-scale-factor=1", "--mute-audio", *args,
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(profile)}  # nothing written to the real home
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        stdout, stderr = proc.communicate(timeout=10)
        pytest.fail(f"chromium did not finish in {CHROMIUM_TIMEOUT}s: {command}\n{stderr.decode()[-3000:]}")
    finally:
        _kill_group(proc.pid)  # a renderer or zygote left behind
    assert proc.returncode == 0, f"chromium exited with {proc.returncode}\n{stderr.decode()[-3000:]}"
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------- PNG


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG; AssertionError
    if it is not a well-formed one (signature, IHDR first, CRCs, IEND last)."""
    assert data[:8] == PNG_SIGNATURE, data[:16]
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r} at {pos}"
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data) and chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b""), chunks[:1]
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * bpp
    assert len(raw) == height * (stride + 1), (len(raw), width, height)
    rows, previous = [], bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        row = _unfilter(line[0], bytearray(line[1:]), previous, bpp)
        rows.append(row if bpp == 3 else b"".join(row[i : i + 3] for i in range(0, stride, 4)))
        previous = row
    return width, height, rows


def _unfilter(kind: int, cur: bytearray, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return bytes(cur)
    if kind == 2:  # Up: the common case, done a row at a time
        return bytes((a + b) & 0xFF for a, b in zip(cur, prev, strict=True))
    for i in range(len(cur)):
        left = cur[i - bpp] if i >= bpp else 0
        if kind == 1:
            cur[i] = (cur[i] + left) & 0xFF
        elif kind == 3:
            cur[i] = (cur[i] + (left + prev[i]) // 2) & 0xFF
        elif kind == 4:
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            cur[i] = (cur[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        else:
            raise AssertionError(f"PNG filter type {kind}")
    return bytes(cur)


def count_color(rows: list[bytes], rgb: tuple[int, int, int]) -> int:
    needle = bytes(rgb)
    total = 0
    for row in rows:
        start = row.find(needle)
        while start != -1:
            if start % 3 == 0:
                total += 1
            start = row.find(needle, start + 1)
    return total


# --------------------------------------------------------------------------- DOM


class StatusDOM(HTMLParser):
    """What a test needs of the dumped DOM: the meta refresh, the summary table's
    cells, and table#workers's body rows with their attributes and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.refresh: str | None = None
        self.table: str | None = None  # id of the table we are in
        self.in_body = False
        self.rows: list[dict[str, Any]] = []
        self.headers: list[str] = []
        self.summary: dict[str, str] = {}
        self._cell: list[str] | None = None
        self._summary_key: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.refresh = attributes.get("content")
        elif tag == "table":
            self.table = attributes.get("id")
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.table == "workers" and self.in_body:
            self.rows.append({"attrs": attributes, "cells": []})
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table, self.in_body = None, False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            self._cell = None
            if self.table == "workers":
                if self.in_body and self.rows:
                    self.rows[-1]["cells"].append(text)
                elif tag == "th":
                    self.headers.append(text)
            elif self.table == "summary":
                if tag == "th":
                    self._summary_key = text
                elif self._summary_key is not None:
                    self.summary[self._summary_key] = text

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


# --------------------------------------------------------------------------- the daemon


def status_json(port: int) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {STATUS}?json&full HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    return json.loads(body)


@pytest.fixture
def busy_daemon(daemon_factory: Start, tmp_path: Path) -> Iterator[tuple[Daemon, int, str]]:
    """Two inline workers, one blocked in a slow request until the test ends, one idle;
    (daemon, port, the slow request's target)."""
    port = free_port()
    daemon = daemon_factory(
        # The blocked worker's loop stamps no heartbeat: `timeout` must outlast the test.
        {"bind": f"http://127.0.0.1:{port}", "workers": 2, "threads": 0, "timeout": 600,
         "slow_request_timeout": 0, "request_terminate_timeout": 0},
        app="tests.apps.slowpage:app",
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while (data := status_json(port))["workers"]["idle"] != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert data["workers"]["idle"] == 2, data
    release, started = tmp_path / "release", tmp_path / "started"
    target = f"/slow?started={quote(str(started))}&release={quote(str(release))}&seconds=300"
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        slow.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        # Polled as a file, not over HTTP: a connection made before the worker is
        # blocked could be accepted by it along with the slow one, and wait there.
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started.exists(), "the slow request never started"
        data = status_json(port)
        assert data["workers"]["busy"] == 1, data
        yield daemon, port, target
    finally:
        release.touch()  # the blocked worker answers and the daemon stops at once
        slow.close()


# --------------------------------------------------------------------------- the test


def test_html_page_in_headless_chromium(busy_daemon: tuple[Daemon, int, str], tmp_path: Path) -> None:
    daemon, port, slow = busy_daemon
    workers = daemon.worker_pids(2)
    assert len(workers) == 2, workers
    busy_pid = next(w["pid"] for w in status_json(port)["worker_list"] if w["status"] == "busy")
    url = f"http://127.0.0.1:{port}{STATUS}?html"

    screenshot = tmp_path / "status.png"
    run_chromium(tmp_path / "profile1", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                 f"--screenshot={screenshot}", url)  # fmt: skip
    assert screenshot.is_file(), "chromium wrote no screenshot"
    width, height, rows = png_pixels(screenshot.read_bytes())
    assert (width, height) == WINDOW
    assert count_color(rows, HEADER_GREY) > 1000, "no table header (#f3f3f3) in the screenshot"
    assert count_color(rows, BUSY_YELLOW) > 1000, "no busy row (#fff4d6) in the screenshot"

    dumped = run_chromium(tmp_path / "profile2", "--dump-dom", url).stdout.decode()
    dom = StatusDOM()
    dom.feed(dumped)
    assert dom.refresh == "5", dumped[:500]
    assert dom.headers[:4] == ["slot", "pid", "gen", "state"] and "request" in dom.headers, dom.headers
    by_pid = {int(row["attrs"]["data-pid"]): row for row in dom.rows}
    assert len(dom.rows) == 2 and sorted(by_pid) == workers, (dom.rows, workers)
    cells = {pid: dict(zip(dom.headers, row["cells"], strict=True)) for pid, row in by_pid.items()}
    for pid, row in by_pid.items():
        assert cells[pid]["pid"] == str(pid), cells[pid]
        state = "busy" if pid == busy_pid else "idle"
        assert row["attrs"]["class"] == state and cells[pid]["state"] == state, (pid, row)
    # The scoreboard keeps 160 bytes of "METHOD URI": compare what a long tmp_path leaves.
    assert f"GET {slow}".startswith(cells[busy_pid]["request"]), cells
    assert (
        cells[busy_pid]["request"].startswith("GET /slow?started=") and cells[busy_pid]["protocol"] == "http"
    )
    assert float(cells[busy_pid]["seconds"]) > 0, cells
    assert dom.summary["master pid"] == str(daemon.pid), dom.summary
    assert dom.summary["busy / idle / total workers"] == "1 / 1 / 2", dom.summary
