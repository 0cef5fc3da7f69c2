"""Load generators: wrk for every number the suite reports, and a small Python
client that only ``--smoke`` falls back on when wrk is missing (it proves that a
scenario completes without errors; its speed means nothing).

Both return a ``LoadResult``: requests, duration, bytes, errors by kind
(connect, read, write, timeout, status: wrk's counters, status counting
responses >= 400) and latency in milliseconds (mean, max, p50, p90, p99, p99.9).
"""

from __future__ import annotations

import http.client
import json
import math
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
SUMMARY_LUA = BENCH_DIR / "wrk_summary.lua"
SUMMARY_MARK = "WRK_SUMMARY "
ERROR_KINDS = ("connect", "read", "write", "timeout", "status")
# Threads of the Python client: enough to have requests in flight, few enough for CI.
PYTHON_CONNECTIONS = 16
# wrk's own slack past -d: connecting, the done() callback. Past it, wrk is hung.
WRK_GRACE = 20.0


class LoadError(RuntimeError):
    """The load generator failed (wrk exited badly or printed no summary)."""


@dataclass
class LoadResult:
    tool: str
    requests: int
    duration_s: float
    bytes: int
    errors: dict[str, int]
    latency_ms: dict[str, float]
    connections: int = 0  # those it really kept busy (the Python client has at most 16)
    output: str = field(default="", repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["rps"] = round(self.rps, 1)
        return data


@dataclass(frozen=True)
class Load:
    """How a scenario loads each configuration: the request path and method, a request
    body of ``body_size`` bytes (wrk sends the same body every time), more Lua for wrk
    if need be (the summary callback is added), ``connections`` (overrides the run's
    ``--connections``), and ``idle``: connections to open, make one request on, and
    hold idle while wrk measures (the driver's ``--idle`` overrides it)."""

    path: str = "/"
    method: str = "GET"
    body_size: int = 0
    lua: str = ""
    connections: int | None = None
    idle: int = 0

    @property
    def script(self) -> str:
        """The Lua that shapes wrk's requests (the summary callback excepted)."""
        lines = []
        if self.method != "GET":
            lines.append(f'wrk.method = "{self.method}"')
        if self.body_size:
            # wrk.format adds the Content-Length of wrk.body.
            lines.append(f'wrk.body = string.rep("x", {self.body_size})')
            lines.append('wrk.headers["Content-Type"] = "application/octet-stream"')
        if self.lua:
            lines.append(self.lua)
        return "\n".join(lines)

    @property
    def body(self) -> bytes | None:
        return b"x" * self.body_size if self.body_size else None


def find_wrk() -> str | None:
    return shutil.which("wrk")


@dataclass(frozen=True)
class Generator:
    """The load generator of a run: wrk, or (smoke mode without wrk) the Python client."""

    wrk: str | None
    threads: int = 1

    @property
    def name(self) -> str:
        return "wrk" if self.wrk is not None else "python"

    def run(self, url: str, load: Load, script: Path, seconds: float, connections: int) -> LoadResult:
        if self.wrk is not None:
            return run_wrk(self.wrk, url + load.path, script, seconds, connections, self.threads)
        if load.lua:
            raise LoadError("this scenario shapes its requests with Lua of its own: it needs wrk")
        return run_python(
            url, load.path, seconds, min(connections, PYTHON_CONNECTIONS), load.method, load.body
        )


def write_script(directory: Path, load: Load) -> Path:
    """The scenario's Lua followed by the summary callback, as one wrk script."""
    script = directory / "wrk.lua"
    script.write_text(load.script + "\n" + SUMMARY_LUA.read_text(encoding="utf-8"), encoding="utf-8")
    return script


def run_wrk(
    wrk: str, url: str, script: Path, duration: float, connections: int, threads: int = 1
) -> LoadResult:
    """``wrk -t THREADS -c CONNECTIONS -d DURATION --latency -s SCRIPT URL``, bounded in time
    (DURATION in whole seconds, rounded up: wrk takes no fraction).

    ``--timeout 5s``: a request slower than that counts as a timeout error (wrk's
    default, 2 s, would count a 10k-idle-connection stall the same as a hang)."""
    seconds = max(1, math.ceil(duration))
    argv = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(max(connections, threads)),
        "-d",
        f"{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + WRK_GRACE, check=False)
    except subprocess.TimeoutExpired as error:
        raise LoadError(f"wrk did not finish within {seconds + WRK_GRACE:.0f} s: {' '.join(argv)}") from error
    output = done.stdout + done.stderr
    summary = next((line for line in done.stdout.splitlines() if line.startswith(SUMMARY_MARK)), None)
    if done.returncode != 0 or summary is None:
        raise LoadError(f"wrk failed (exit status {done.returncode}): {' '.join(argv)}\n{output}")
    data = json.loads(summary[len(SUMMARY_MARK) :])
    return LoadResult(
        tool="wrk",
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        bytes=data["bytes"],
        errors={kind: data[kind] for kind in ERROR_KINDS},
        latency_ms={
            "mean": round(data["mean_us"] / 1000, 3),
            "max": round(data["max_us"] / 1000, 3),
            "p50": round(data["p50_us"] / 1000, 3),
            "p90": round(data["p90_us"] / 1000, 3),
            "p99": round(data["p99_us"] / 1000, 3),
            "p999": round(data["p999_us"] / 1000, 3),
        },
        connections=max(connections, threads),
        output=output.replace(summary, "").strip(),
    )


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_python(
    url: str, path: str, duration: float, connections: int, method: str = "GET", body: bytes | None = None
) -> LoadResult:
    """A keep-alive request loop per connection, in threads, for ``duration`` seconds.

    Only for ``--smoke`` without wrk: it checks that answers are 2xx, nothing more.
    It sends ``method`` with ``body``; a scenario's own Lua is not supported."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lock = threading.Lock()
    latencies: list[float] = []
    errors = dict.fromkeys(ERROR_KINDS, 0)
    received = [0]
    deadline = time.monotonic() + duration

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        mine: list[float] = []
        mine_errors = dict.fromkeys(ERROR_KINDS, 0)
        size = 0
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body)
                response = conn.getresponse()
                size += len(response.read())
            except TimeoutError:
                mine_errors["timeout"] += 1
                conn.close()
                continue
            except ConnectionRefusedError:
                mine_errors["connect"] += 1
                conn.close()
                continue
            except (OSError, http.client.HTTPException):
                mine_errors["read"] += 1
                conn.close()
                continue
            mine.append((time.perf_counter() - began) * 1000)
            if response.status >= 400:
                mine_errors["status"] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            received[0] += size
            for kind, count in mine_errors.items():
                errors[kind] += count

    began = time.monotonic()
    threads = [threading.Thread(target=client, name=f"bench-client-{n}") for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 10)
    elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    return LoadResult(
        tool="python",
        requests=len(latencies),
        duration_s=elapsed,
        bytes=received[0],
        errors=errors,
        latency_ms={
            "mean": round(sum(ordered) / len(ordered), 3) if ordered else 0.0,
            "max": round(ordered[-1], 3) if ordered else 0.0,
            "p50": round(_percentile(ordered, 0.50), 3),
            "p90": round(_percentile(ordered, 0.90), 3),
            "p99": round(_percentile(ordered, 0.99), 3),
            "p999": round(_percentile(ordered, 0.999), 3),
        },
        connections=connections,
    )
