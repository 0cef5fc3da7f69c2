"""Zero downtime: no request fails while the workers are replaced.

A bounded client loop (a few thousand requests from four threads, GETs and
POSTs mixed, over kept-alive connections and some fresh ones, each with a
timeout and never retried) runs across each of

- HUP (reload: a new generation boots, the old one drains),
- USR2 then TERM to the old master (an upgraded master inherits the listeners),
- max_requests recycling (max_requests 200, jitter 50),
- TTIN then TTOU (a worker added, then retired),

over three paths: HTTP straight to the daemon, and FastCGI through nginx with
``fastcgi_keep_conn on`` and an upstream ``keepalive`` cache, over TCP and
over a unix socket (the client talks HTTP/1.1 keep-alive to nginx). nginx
does not retry a POST, so a kept FastCGI connection closed under a request
shows as a 502 (a GET is retried on a cached connection, but nginx logs an
``[error]`` line for it, which fails the test too).

Each test asserts: every request got 200 with its own body back, nginx logged
no error, the daemon logged no traceback, and the pids that serve after the
event are not those that served before it. A failure report puts every
failed request, the daemon's drain lines and nginx's errors on one time line
(seconds from the trigger).

Then the reload and supervision edge cases: HUP with a new ``bind`` (the new
listener serves, the old one never refuses a connection), HUP with a bad value
(the old workers keep serving, the error names file:line), HUP with an app
that no longer imports (the previous generation keeps serving: "reload
abandoned"), HUP during a graceful stop (no new workers), a worker retired
the moment it is forked (TTIN then TTOU at once: the master must not stop),
and max_requests honoured to within a few requests.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Daemon, free_port
from tests.support.nginx import Nginx

PID_APP = "tests.apps.pid:app"
THREADS = 4  # client threads
REQUEST_TIMEOUT = 10.0  # seconds, each request
MINIMUM = 3000  # requests in one loop, at least
TRIGGER = 500  # requests completed before the event is triggered
TAIL = 600  # requests started after the event is over, at least
CAP = 30000  # requests in one loop, at most
LOOP_SECONDS = 45.0  # one loop, at most
EVENT_TIMEOUT = 25.0

# What nginx must never log while the workers are replaced.
NGINX_BAD = re.compile(
    r"\[(error|crit|alert|emerg)\]|upstream prematurely closed|Connection reset|connect\(\) failed"
)

Start = Callable[..., Daemon]


# --------------------------------------------------------------------------- processes


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def children_of(parent: int) -> set[int]:
    """Live child processes of ``parent``."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields is not None and int(fields[1]) == parent and fields[0] not in ("Z", "X"):
                found.add(int(name))
    return found


def wait_for(
    what: str, check: Callable[[], Any], timeout: float = EVENT_TIMEOUT, daemon: Daemon | None = None
) -> Any:
    """Poll ``check`` until it returns something true; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            log = f"\n--- daemon log:\n{daemon.log()}" if daemon is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{log}")
        time.sleep(0.02)


def booted(daemon: Daemon, pid: int) -> bool:
    """Worker ``pid`` logged that it serves (it accepts from then on)."""
    return any(" serving " in line and f"(pid {pid}," in line for line in daemon.log().splitlines())


def stop_master(pid: int, timeout: float = 15.0) -> None:
    """Stop a master this test does not own (an upgraded one) and its workers."""
    workers = children_of(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in {pid, *workers}) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [p for p in {pid, *workers} if alive(p)]
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"the upgraded master {pid} and its workers did not stop on TERM: {left} (killed them)"


# --------------------------------------------------------------------------- logs


_DAEMON_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")
_NGINX_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ")


def daemon_lines(log: str, pattern: str = "") -> list[tuple[float, str]]:
    """(epoch seconds, line) of the daemon log lines that contain ``pattern``."""
    found = []
    for line in log.splitlines():
        match = _DAEMON_TIME.match(line)
        if match and pattern in line:
            stamp = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").timestamp() + int(match[2]) / 1000
            found.append((stamp, line))
    return found


def nginx_time(line: str) -> float | None:
    match = _NGINX_TIME.match(line)
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y/%m/%d %H:%M:%S").timestamp()


# --------------------------------------------------------------------------- the client loop


@dataclass
class Outcome:
    index: int
    thread: int
    method: str
    fresh: bool  # a new connection (Connection: close), not a kept one
    started: float  # time.time()
    ended: float = 0.0
    status: int | None = None
    pid: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error


@dataclass
class Load:
    """``threads`` clients, each with two kept-alive connections (and a fresh
    one for every 16th request), sending GETs and, every fourth request, a
    small POST; no request is ever retried.

    The loop is bounded: it ends once ``minimum`` requests were sent and
    ``tail`` were sent after :meth:`event_over`, or at ``cap`` requests or
    ``seconds``, whichever comes first.
    """

    host: str
    port: int
    minimum: int = MINIMUM
    tail: int = TAIL
    cap: int = CAP
    seconds: float = LOOP_SECONDS
    threads: int = THREADS
    outcomes: list[Outcome] = field(default_factory=list)
    issued: int = 0
    over_at: int | None = None  # requests issued when the event was over
    stopped: bool = False

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.deadline = 0.0
        self.clients: list[threading.Thread] = []

    # -- control

    def start(self) -> Load:
        self.deadline = time.monotonic() + self.seconds
        self.clients = [
            threading.Thread(target=self._client, args=(n,), name=f"client-{n}", daemon=True)
            for n in range(self.threads)
        ]
        for thread in self.clients:
            thread.start()
        return self

    def event_over(self) -> None:
        with self.lock:
            if self.over_at is None:
                self.over_at = self.issued

    def stop(self) -> None:
        self.stopped = True

    def join(self) -> None:
        for thread in self.clients:
            thread.join(self.seconds + 2 * REQUEST_TIMEOUT)
        assert not any(t.is_alive() for t in self.clients), "a client thread did not end"

    def wait_completed(self, count: int, timeout: float = 20.0) -> None:
        wait_for(f"{count} completed requests", lambda: self.completed() >= count or self.done(), timeout)

    # -- what happened

    def completed(self) -> int:
        with self.lock:
            return sum(1 for o in self.outcomes if o.ended)

    def done(self) -> bool:
        return not any(t.is_alive() for t in self.clients)

    def served_by(self, pids: Iterable[int]) -> set[int]:
        """Those of ``pids`` that answered a request."""
        wanted = set(pids)
        with self.lock:
            return {o.pid for o in self.outcomes if o.pid in wanted}

    def pids(self, since: float = 0.0, until: float = float("inf")) -> set[int]:
        """Pids that answered requests started in [since, until)."""
        with self.lock:
            return {o.pid for o in self.outcomes if o.pid and since <= o.started < until}

    def failures(self) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if not o.ok]

    # -- the clients

    def _take(self) -> int | None:
        with self.lock:
            if self.stopped or self.issued >= self.cap or time.monotonic() > self.deadline:
                return None
            if self.over_at is not None and self.issued >= max(self.minimum, self.over_at + self.tail):
                return None
            self.issued += 1
            return self.issued - 1

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)

    def _client(self, number: int) -> None:
        kept = [self._connection(), self._connection()]
        try:
            while (index := self._take()) is not None:
                self._one(number, index, kept)
        finally:
            for conn in kept:
                conn.close()

    def _one(self, number: int, index: int, kept: list[http.client.HTTPConnection]) -> None:
        fresh = index % 16 == 5
        method = "POST" if index % 4 == 1 else "GET"
        body = f"request {index} from client {number}\n".encode("ascii") * 4 if method == "POST" else None
        headers = {"Connection": "close"} if fresh else {}
        if body is not None:
            headers["Content-Type"] = "text/plain"
        conn = self._connection() if fresh else kept[index % 2]
        outcome = Outcome(index, number, method, fresh, time.time())
        with self.lock:
            self.outcomes.append(outcome)
        try:
            conn.request(method, f"/zero-downtime/{index}", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            outcome.status = response.status
            head, _, rest = data.partition(b"\n")
            if response.status == 200:
                outcome.pid = int(head)
                if rest != (body or b""):
                    outcome.error = f"body: sent {body!r}, echoed {rest!r}"
            else:
                outcome.error = f"{response.status} {response.reason}: {data[:200]!r}"
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none retried
            outcome.error = f"{type(exc).__name__}: {exc}"
            conn.close()  # the next request on this slot opens a new connection
        finally:
            outcome.ended = time.time()
            if fresh:
                conn.close()


# --------------------------------------------------------------------------- the stack


def settings(**extra: Any) -> dict[str, Any]:
    """Two workers with four threads each, serving the pid app on a FastCGI
    listener (nginx's upstream, first) and an HTTP one."""
    values: dict[str, Any] = {
        "bind": f"fastcgi://127.0.0.1:{free_port()}, http://127.0.0.1:{free_port()}",
        "workers": 2,
        "threads": 4,
        "app": PID_APP,
        "graceful_timeout": 20,
    }
    values.update(extra)
    return values


def http_port(daemon: Daemon, index: int = 1) -> int:
    return int(daemon.address(index).rstrip("/").rpartition(":")[2])


def describe(load: Load, marks: dict[str, float], daemon: Daemon, nginx: Nginx | None) -> str:
    """What went wrong, with every time relative to the first mark (the
    trigger), next to the daemon's drain/stop lines and nginx's errors."""
    zero = min(marks.values()) if marks else load.outcomes[0].started
    lines = ["marks: " + ", ".join(f"{name} {t - zero:+.3f}s" for name, t in marks.items())]
    failures = load.failures()
    lines.append(f"{len(failures)} of {len(load.outcomes)} requests failed:")
    for o in failures[:40]:
        lines.append(
            f"  #{o.index} client {o.thread} {o.method} {'fresh' if o.fresh else 'kept'}: "
            f"{o.started - zero:+.3f}s..{o.ended - zero:+.3f}s: {o.error or o.status}"
        )
    log = daemon.log()
    for pattern in (
        "draining",
        "stopped",
        "SIGTERM",
        "SIGHUP",
        "SIGUSR2",
        "SIGTTIN",
        "SIGTTOU",
        "recycling",
        "Traceback",
        "ERROR",
        "WARNING",
    ):
        for stamp, line in daemon_lines(log, pattern):
            lines.append(f"  daemon {stamp - zero:+.3f}s: {line}")
    if nginx is not None:
        for line in nginx.error_log().splitlines():
            if NGINX_BAD.search(line):
                stamp = nginx_time(line)
                when = f"{stamp - zero:+.0f}s (1 s resolution)" if stamp else "?"
                lines.append(f"  nginx {when}: {line}")
    return "\n".join(lines)


def check_clean(
    load: Load, marks: dict[str, float], daemon: Daemon, nginx: Nginx | None, traceback_ok: bool = False
) -> None:
    report = describe(load, marks, daemon, nginx)
    assert load.issued >= min(load.minimum, load.cap), (
        f"the loop ended early ({load.issued} requests)\n{report}"
    )
    assert not load.failures(), report
    if nginx is not None:
        bad = [line for line in nginx.error_log().splitlines() if NGINX_BAD.search(line)]
        assert not bad, report
    if not traceback_ok:
        assert "Traceback" not in daemon.log(), report


# --------------------------------------------------------------------------- the events


def event_hup(
    daemon: Daemon, load: Load, marks: dict[str, float], masters: list[int], first: set[int]
) -> set[int]:
    old = daemon.children()
    daemon.send_signal(signal.SIGHUP)
    marks["HUP"] = time.time()

    def new_generation() -> set[int] | None:
        kids = set(daemon.children()) - set(old)
        return kids if len(kids) >= 2 else None

    new = wait_for("a new generation", new_generation, daemon=daemon)
    wait_for("the new generation to serve", lambda: load.served_by(new), daemon=daemon)
    marks["new generation serves"] = time.time()
    wait_for("the old workers to exit", lambda: not any(alive(p) for p in old), daemon=daemon)
    marks["old workers gone"] = time.time()
    return set(old)


def event_usr2(
    daemon: Daemon, load: Load, marks: dict[str, float], masters: list[int], first: set[int]
) -> set[int]:
    old_master = daemon.pid
    old = set(daemon.children())
    daemon.send_signal(signal.SIGUSR2)
    marks["USR2"] = time.time()
    # The upgraded master is the old one's child that is not a worker.
    new_master = wait_for(
        "the upgraded master", lambda: min(children_of(old_master) - old, default=0), daemon=daemon
    )
    masters.append(new_master)  # stopped by the test, whatever happens

    def new_workers() -> set[int] | None:
        kids = children_of(new_master)
        return kids if len(kids) >= 2 else None

    new = wait_for("the upgraded master's workers", new_workers, daemon=daemon)
    # Ready: both booted (they accept from then on). Through nginx, whose
    # kept connections all lead to the old workers, they may not have
    # served yet; straight over HTTP the fresh connections reach them.
    wait_for(
        "the upgraded master's workers to boot",
        lambda: all(booted(daemon, pid) for pid in new),
        daemon=daemon,
    )
    marks["new workers ready"] = time.time()
    os.kill(old_master, signal.SIGTERM)
    marks["TERM old master"] = time.time()
    assert daemon.proc is not None
    code = daemon.proc.wait(EVENT_TIMEOUT)
    marks["old master exited"] = time.time()
    assert code == 0, f"the old master exited with {code}\n{daemon.log()}"
    wait_for("the old workers to exit", lambda: not any(alive(p) for p in old), daemon=daemon)
    assert alive(new_master), f"the upgraded master died with the old one\n{daemon.log()}"
    return old


def event_recycle(
    daemon: Daemon, load: Load, marks: dict[str, float], masters: list[int], first: set[int]
) -> set[int]:
    # Nothing to send: the first workers recycle themselves after 200..250
    # requests each; the event is over once both are gone.
    wait_for("the first workers to be recycled", lambda: not any(alive(p) for p in first), daemon=daemon)
    marks["first workers gone"] = time.time()
    return set(first)


def event_ttin_ttou(
    daemon: Daemon, load: Load, marks: dict[str, float], masters: list[int], first: set[int]
) -> set[int]:
    old = set(daemon.children())
    daemon.send_signal(signal.SIGTTIN)
    marks["TTIN"] = time.time()
    extra = wait_for("a third worker", lambda: next(iter(set(daemon.children()) - old), None), daemon=daemon)
    wait_for("the third worker to boot", lambda: booted(daemon, extra), daemon=daemon)
    marks["third worker ready"] = time.time()
    time.sleep(1.0)  # let it take some connections
    daemon.send_signal(signal.SIGTTOU)
    marks["TTOU"] = time.time()
    wait_for("the third worker to exit", lambda: not alive(extra), daemon=daemon)
    marks["third worker gone"] = time.time()
    assert set(daemon.children()) == old, f"TTOU retired the wrong worker\n{daemon.log()}"
    return {extra}


EVENTS = {
    "hup": event_hup,
    "usr2-term": event_usr2,
    "recycle": event_recycle,
    "ttin-ttou": event_ttin_ttou,
}


@pytest.mark.parametrize("path", ["http", "fastcgi-nginx", "fastcgi-unix-nginx"])
@pytest.mark.parametrize("event", list(EVENTS))
def test_no_request_fails_while_workers_are_replaced(
    event: str, path: str, daemon_factory: Start, nginx_factory: Callable[..., Nginx], socket_dir: Path
) -> None:
    extra: dict[str, Any] = {"max_requests": 200, "max_requests_jitter": 50} if event == "recycle" else {}
    if path == "fastcgi-unix-nginx":
        extra["bind"] = f"fastcgi+unix://{socket_dir}/fcgi.sock, http://127.0.0.1:{free_port()}"
        extra["socket_mode"] = "0666"
    daemon = daemon_factory(settings(**extra))
    first = set(daemon.worker_pids(2))
    nginx = nginx_factory(daemon, keep_conn=True) if path != "http" else None
    port = nginx.port if nginx is not None else http_port(daemon)
    load = Load("127.0.0.1", port)
    marks: dict[str, float] = {}
    masters: list[int] = []  # upgraded masters, stopped at the end
    try:
        load.start()
        if event != "recycle":
            load.wait_completed(TRIGGER)
        marks["trigger"] = time.time()
        before = load.pids(until=marks["trigger"]) | first
        gone = EVENTS[event](daemon, load, marks, masters, first)
        marks["event over"] = time.time()
        load.event_over()
        load.join()
        marks["loop over"] = time.time()
    finally:
        load.stop()
        for master in masters:
            stop_master(master)
    check_clean(load, marks, daemon, nginx)
    report = describe(load, marks, daemon, nginx)
    after = load.pids(since=marks["event over"])
    assert after, f"no request started after the event\n{report}"
    assert not after & gone, f"workers that were replaced still served: {after & gone}\n{report}"
    if event == "ttin-ttou":
        # TTOU retires the highest index, the worker TTIN added: the two
        # first workers remain, and served throughout.
        assert after <= first, report
        if path == "http":  # nginx's kept connections need not reach the new worker
            assert load.served_by(gone), f"the worker TTIN added served nothing\n{report}"
    else:
        assert after.isdisjoint(before), f"pids before {sorted(before)}, after {sorted(after)}\n{report}"
    if event == "recycle":
        assert len(daemon_lines(daemon.log(), "draining: recycled at its request")) >= 2, report


# --------------------------------------------------------------------------- reload edge cases


def test_hup_with_a_new_bind_serves_it_and_never_refuses_on_the_old_one(daemon_factory: Start) -> None:
    daemon = daemon_factory(settings())
    old = set(daemon.worker_pids(2))
    load = Load("127.0.0.1", http_port(daemon), minimum=1500, tail=300)
    refused: list[str] = []
    probing = threading.Event()

    def probe() -> None:
        # Fresh connections to both old listeners, all through the reload.
        ports = [int(daemon.address(i).rstrip("/").rpartition(":")[2]) for i in (0, 1)]
        while not probing.is_set():
            for port in ports:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT).close()
                except OSError as exc:
                    refused.append(f"{time.time():.3f} port {port}: {exc}")
            time.sleep(0.002)

    prober = threading.Thread(target=probe, daemon=True)
    marks: dict[str, float] = {}
    new_port = free_port()
    try:
        load.start()
        prober.start()
        load.wait_completed(300)
        marks["trigger"] = time.time()
        daemon.settings["bind"] = daemon.settings["bind"] + f", http://127.0.0.1:{new_port}"
        daemon.write_ini()
        daemon.send_signal(signal.SIGHUP)
        marks["HUP"] = time.time()

        def new_listener_serves() -> int | None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", new_port, timeout=REQUEST_TIMEOUT)
                conn.request("GET", "/new-listener")
                response = conn.getresponse()
                body = response.read()
                conn.close()
            except OSError:
                return None
            assert response.status == 200, body
            return int(body.split(b"\n")[0])

        pid = wait_for("the new listener to serve", new_listener_serves, daemon=daemon)
        marks["new listener serves"] = time.time()
        assert pid not in old, "the new listener was served by an old worker"
        wait_for("the old workers to exit", lambda: not any(alive(p) for p in old), daemon=daemon)
        marks["old workers gone"] = time.time()
        load.event_over()
        load.join()
    finally:
        load.stop()
        probing.set()
        prober.join(5)
    check_clean(load, marks, daemon, None)
    assert not refused, f"the old listeners refused connections during the reload: {refused[:10]}"
    assert "now also listening on" in daemon.log()
    after = load.pids(since=marks["old workers gone"])
    assert after and after.isdisjoint(old), (after, old)


def test_hup_with_a_bad_value_keeps_the_old_workers_serving(daemon_factory: Start) -> None:
    daemon = daemon_factory(settings())
    old = set(daemon.worker_pids(2))
    load = Load("127.0.0.1", http_port(daemon), minimum=1500, tail=500)
    marks: dict[str, float] = {}
    try:
        load.start()
        load.wait_completed(300)
        marks["trigger"] = time.time()
        daemon.settings["threads"] = "lots"
        daemon.write_ini()
        number = next(
            n for n, line in enumerate(daemon.ini.read_text().splitlines(), 1) if line.startswith("threads")
        )
        daemon.send_signal(signal.SIGHUP)
        marks["HUP"] = time.time()
        wait_for("the reload to be refused", lambda: "reload refused" in daemon.log(), daemon=daemon)
        time.sleep(1.0)  # long enough for a new generation to have booted, had one been started
        marks["event over"] = time.time()
        load.event_over()
        load.join()
    finally:
        load.stop()
    check_clean(load, marks, daemon, None)
    refused = [line for line in daemon.log().splitlines() if "reload refused" in line]
    assert len(refused) == 1, daemon.log()
    assert f"{daemon.ini}:{number}: setting 'threads'" in refused[0], refused[0]
    assert "'lots'" in refused[0], refused[0]
    assert set(daemon.children()) == old, daemon.log()
    assert load.pids() == old, (load.pids(), old)
    assert daemon.running


# The pid app's own source, copied into a module the test may break and fix.
GOOD_APP = (Path(__file__).resolve().parents[1] / "apps" / "pid.py").read_text(encoding="utf-8")

BROKEN_APP = """\
raise RuntimeError("this app no longer imports (on purpose)")
"""


def test_hup_with_an_app_that_no_longer_imports_keeps_the_previous_generation(
    daemon_factory: Start, tmp_path: Path
) -> None:
    app_dir = tmp_path / "reloaded_app"
    app_dir.mkdir()
    module = app_dir / "zero_downtime_reloaded_app.py"
    module.write_text(GOOD_APP)
    daemon = daemon_factory(
        settings(app="zero_downtime_reloaded_app:app", pythonpath=str(app_dir)),
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    old = set(daemon.worker_pids(2))
    load = Load("127.0.0.1", http_port(daemon), minimum=1500, tail=500, seconds=60)
    marks: dict[str, float] = {}
    try:
        load.start()
        load.wait_completed(300)
        marks["trigger"] = time.time()
        module.write_text(BROKEN_APP)
        daemon.send_signal(signal.SIGHUP)
        marks["HUP"] = time.time()
        wait_for(
            "the reload to be abandoned",
            lambda: "reload abandoned" in daemon.log(),
            timeout=30,
            daemon=daemon,
        )
        marks["abandoned"] = time.time()
        # The abandoned generation's workers go; the previous one stays.
        wait_for("only the previous generation left", lambda: set(daemon.children()) == old, daemon=daemon)
        time.sleep(1.0)
        assert set(daemon.children()) == old, daemon.log()
        # And the master still reloads once the app is fixed.
        module.write_text(GOOD_APP + "\n# fixed\n")
        daemon.send_signal(signal.SIGHUP)
        marks["HUP fixed"] = time.time()
        wait_for("the old workers to exit", lambda: not any(alive(p) for p in old), daemon=daemon)
        marks["event over"] = time.time()
        load.event_over()
        load.join()
    finally:
        load.stop()
    # The broken imports are logged with their traceback, on purpose.
    check_clean(load, marks, daemon, None, traceback_ok=True)
    log = daemon.log()
    assert "this app no longer imports (on purpose)" in log
    assert daemon.running, log
    served = load.pids(since=marks["HUP"], until=marks["HUP fixed"])
    assert served <= old, (served, old)
    after = load.pids(since=marks["event over"])
    assert after and after.isdisjoint(old), (after, old)


# --------------------------------------------------------------------------- supervision edge cases


def test_hup_during_a_graceful_stop_starts_no_new_workers(daemon_factory: Start, tmp_path: Path) -> None:
    """TERM, then HUP while a request still drains: the master must not start
    a generation that its stop never signals (it would wait for it until
    graceful_timeout, then SIGKILL it)."""
    daemon = daemon_factory(settings(app="tests.apps.sleepy:app", graceful_timeout=10))
    daemon.worker_pids(2)
    marker = tmp_path / "started"
    answers: list[Any] = []

    def slow_request() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", http_port(daemon), timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", f"/?seconds=1.5&marker={marker}")
            response = conn.getresponse()
            answers.append((response.status, response.read()))
        except Exception as exc:  # noqa: BLE001
            answers.append(exc)
        finally:
            conn.close()

    client = threading.Thread(target=slow_request, daemon=True)
    client.start()
    wait_for("the slow request to start", marker.exists, daemon=daemon)
    daemon.send_signal(signal.SIGTERM)
    wait_for("the master to begin its stop", lambda: "graceful stop" in daemon.log(), daemon=daemon)
    daemon.send_signal(signal.SIGHUP)
    started = time.monotonic()
    # The request ends after 1.5 s, and the master with it; not after
    # graceful_timeout (10 s) plus the kill grace.
    code = daemon.wait(timeout=6.0)
    client.join(REQUEST_TIMEOUT)
    log = daemon.log()
    assert code == 0, log
    assert answers == [(200, b"slept 1.5")], answers
    after_term = log[log.index("graceful stop") :]
    assert " serving " not in after_term, f"workers started during the stop:\n{log}"
    assert "killed" not in log, log
    assert time.monotonic() - started < 6.0


def test_a_worker_retired_as_it_forks_stops_alone(daemon_factory: Start) -> None:
    """TTIN then TTOU a moment later: the master forks a worker and sends it
    TERM at once, before the child has reset the master's signal handling.
    The TERM must end that worker (not be lost, not reach the master through
    the inherited wakeup pipe), and the master must go on with two workers."""
    daemon = daemon_factory(settings(graceful_timeout=3))
    first = set(daemon.worker_pids(2))
    # Some load: a busy CPU widens the window between fork and the child's
    # own signal set-up.
    load = Load("127.0.0.1", http_port(daemon), minimum=0, tail=0, seconds=30)
    try:
        load.start()
        for attempt in range(30):
            daemon.send_signal(signal.SIGTTIN)
            time.sleep(0.0005 * (1 + attempt % 10))
            daemon.send_signal(signal.SIGTTOU)
            time.sleep(0.1)
            log = daemon.log()
            assert "master: SIGTERM" not in log and daemon.running, (
                f"attempt {attempt}: the master stopped though only a worker was sent TERM\n{log}"
            )
        wait_for(
            "the added workers to be gone", lambda: set(daemon.children()) == first, timeout=12, daemon=daemon
        )
    finally:
        load.stop()
        load.join()
    log = daemon.log()
    assert "still draining" not in log and "killing it" not in log, f"a worker ignored its TERM\n{log}"
    assert daemon.running, log
    assert not load.failures(), describe(load, {}, daemon, None)


def test_max_requests_recycles_a_worker_after_about_max_requests(daemon_factory: Start) -> None:
    """docs/settings.md: max_requests is the requests a worker serves before it
    is recycled (plus 0..max_requests_jitter). A worker may finish the few
    requests its threads already run, not a second's worth of traffic."""
    daemon = daemon_factory(settings(max_requests=200, max_requests_jitter=50))
    daemon.worker_pids(2)
    # 2.5 s of traffic (thousands of requests): a dozen recycles are due.
    load = Load("127.0.0.1", http_port(daemon), minimum=CAP, seconds=2.5)
    load.start()
    load.join()
    assert not load.failures(), describe(load, {}, daemon, None)
    counts = [
        int(m[1]) for m in re.finditer(r"(\d+) requests served \(max_requests\); recycling", daemon.log())
    ]
    assert counts, daemon.log()
    slack = 2 * 4  # requests already running on the worker's 4 threads
    assert max(counts) <= 200 + 50 + slack, (
        f"workers recycled after {counts} requests (max_requests 200, jitter 50)\n{daemon.log()}"
    )
