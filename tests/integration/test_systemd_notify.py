"""sd_notify against an emulated systemd: what the master says on NOTIFY_SOCKET, and when.

With ``Type=notify`` systemd believes what the master tells it: ``systemctl
start`` returns at READY=1, ``systemctl reload`` at the READY=1 after
RELOADING=1, the watchdog kills a master that stops pinging, and MAINPID=
decides which process the service is. A READY=1 sent too early sends traffic
to workers that do not answer yet; one sent by the wrong process (a worker, or
the old master after an upgrade) makes systemd track the wrong pid.

Each test binds an AF_UNIX datagram socket (as systemd does; with SO_PASSCRED,
so every datagram carries its sender's pid, as systemd checks it), starts the
daemon with NOTIFY_SOCKET pointing at it and reads the datagrams:

- READY=1 (with MAINPID= the master and STATUS= the worker count) comes only
  once the workers serve: the app sleeps at import, so a premature READY=1 is
  caught both by its timing and by a request sent right after it;
- SIGHUP: RELOADING=1 with MONOTONIC_USEC (the CLOCK_MONOTONIC of the moment,
  in microseconds), then READY=1 once the new generation serves; a broken
  configuration: RELOADING=1 then READY=1 with "reload refused";
- TERM/INT/QUIT: STOPPING=1 from the master before it exits; TTIN/TTOU: STATUS=;
- WATCHDOG_USEC: WATCHDOG=1 every half interval, not when WATCHDOG_PID names
  another process;
- "@name" (the abstract namespace) works; USR2: the new master sends its own
  READY=1 with MAINPID= its pid, and the old master does not say STOPPING=1;
- the workers neither send anything nor see NOTIFY_SOCKET or WATCHDOG_*;
- without NOTIFY_SOCKET (or with one nobody listens on) the daemon serves and stops.

Every wait has a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Daemon, free_port
from tests.support.datagrams import receive_with_sender

pytestmark = pytest.mark.integration

Start = Callable[..., Daemon]
TIMEOUT = 5.0  # socket operations, and waits for something that should be quick
STARTUP = 15.0  # waits for READY=1 (workers import the app)
# Seconds the test app sleeps at import: longer than the master's loop tick
# (1 s), so that a READY=1 sent at the first tick, before the workers serve, is caught.
IMPORT_DELAY = 2.0

# The app: its process's pid and os.environ as JSON. It sleeps at import, as a
# big app does, for NOTIFY_APP_IMPORT_DELAY seconds.
APP_SOURCE = '''\
"""Answers the serving process's pid and os.environ as JSON; sleeps at import."""
import json
import os
import time

time.sleep(float(os.environ.get("NOTIFY_APP_IMPORT_DELAY", "0")))


def app(environ, start_response):
    body = json.dumps({"pid": os.getpid(), "environ": dict(os.environ)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
'''
APP = "notify_app:app"


# --------------------------------------------------------------------------- emulated systemd


@dataclass
class Message:
    """One sd_notify datagram: its KEY=VALUE lines, who sent it, when it came."""

    fields: dict[str, str]
    pid: int  # the sender, from SCM_CREDENTIALS (what systemd checks against MAINPID)
    at: float  # time.monotonic() on arrival
    text: str

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    def __getitem__(self, key: str) -> str:
        return self.fields[key]


class NotifySocket:
    """systemd's end of NOTIFY_SOCKET: a datagram socket that records every message."""

    def __init__(self, address: str) -> None:
        """``address``: a path, or "@name" for the abstract namespace (as in NOTIFY_SOCKET)."""
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.seen: list[Message] = []

    def close(self) -> None:
        self.sock.close()

    def receive(self, timeout: float) -> Message | None:
        """The next datagram, or None after ``timeout`` seconds."""
        received = receive_with_sender(self.sock, 4096, timeout)
        if received is None:
            return None
        data, pid = received
        text = data.decode("utf-8", "replace")
        fields = dict(line.partition("=")[::2] for line in text.split("\n") if line)
        message = Message(fields, pid, time.monotonic(), text)
        self.seen.append(message)
        return message

    def wait_for(
        self,
        what: str,
        match: Callable[[Message], bool],
        timeout: float = TIMEOUT,
        daemon: Daemon | None = None,
    ) -> Message:
        """Read until a message ``match``es (all are kept in ``seen``); AssertionError,
        with everything seen and the daemon's log, after ``timeout`` or if it exits."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self._explain(f"no {what} within {timeout}s", daemon))
            message = self.receive(min(remaining, 0.2))
            if message is not None and match(message):
                return message
            if message is None and daemon is not None and not daemon.running:
                raise AssertionError(self._explain(f"the daemon exited before {what}", daemon))

    def drain(self, seconds: float) -> list[Message]:
        """Everything that arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        found = []
        while (remaining := deadline - time.monotonic()) > 0:
            message = self.receive(remaining)
            if message is not None:
                found.append(message)
        return found

    def _explain(self, why: str, daemon: Daemon | None) -> str:
        seen = "\n".join(f"  from {m.pid}: {m.text!r}" for m in self.seen) or "  (nothing)"
        log = f"\n--- daemon log:\n{daemon.log()}" if daemon is not None else ""
        return f"{why}; messages seen:\n{seen}{log}"


def key(name: str) -> Callable[[Message], bool]:
    return lambda message: name in message


@pytest.fixture
def notify(socket_dir: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(str(socket_dir / "notify.sock"))
    try:
        yield listener
    finally:
        listener.close()


# --------------------------------------------------------------------------- helpers


def start(
    daemon_factory: Start,
    tmp_path: Path,
    notify_socket: str | None,
    import_delay: float = 0.0,
    env: dict[str, str | None] | None = None,
    **settings: Any,
) -> Daemon:
    """A daemon serving the test app over HTTP with NOTIFY_SOCKET set (unset for None),
    launched without waiting: the tests wait for READY=1 themselves."""
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "notify_app.py").write_text(APP_SOURCE, encoding="utf-8")
    settings.setdefault("bind", f"http://127.0.0.1:{free_port()}")
    settings.setdefault("workers", 2)
    settings.setdefault("graceful_timeout", 2)
    environ: dict[str, str | None] = {
        "NOTIFY_SOCKET": notify_socket,
        "WATCHDOG_USEC": None,
        "WATCHDOG_PID": None,
        "NOTIFY_APP_IMPORT_DELAY": str(import_delay),
        **(env or {}),
    }
    return daemon_factory({**settings, "pythonpath": str(code)}, app=APP, env=environ, wait=False)


def get(daemon: Daemon, timeout: float = TIMEOUT) -> dict[str, Any]:
    """One request on a fresh connection; the app's JSON (its pid and os.environ)."""
    host, _, port = daemon.address().removeprefix("http://").rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, body
    return json.loads(body)


def status_line(workers: int, generation: int) -> str:
    return f"{workers} workers serving {APP} (generation {generation})"


def wait_until(what: str, check: Callable[[], Any], daemon: Daemon, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{daemon.log()}")
        time.sleep(0.02)
    return value


def monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return text[text.rindex(")") + 2 :].split()[0] not in ("Z", "X")


def children_of(parent: int) -> set[int]:
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.add(int(name))
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a master this test does not own (an upgraded one) and its workers."""
    for one in [pid, *children_of(pid)]:
        try:
            os.kill(one, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------- READY=1 at start


def test_ready_comes_once_the_workers_serve(
    daemon_factory: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    daemon = start(daemon_factory, tmp_path, notify.address, import_delay=IMPORT_DELAY)
    launched = time.monotonic()
    ready = notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    took = ready.at - launched
    # A request sent now is answered at once: the workers already serve. (Had
    # READY=1 come while they were importing the app, it would wait for them.)
    answer = get(daemon, timeout=IMPORT_DELAY / 2)
    assert took >= IMPORT_DELAY, f"READY=1 {took:.2f}s after the launch, before the app could import"
    assert ready["READY"] == "1"
    assert ready["MAINPID"] == str(daemon.pid), ready.text
    assert ready.pid == daemon.pid, f"READY=1 sent by pid {ready.pid}, not by the master {daemon.pid}"
    assert ready["STATUS"] == status_line(2, 1), ready.text
    workers = daemon.worker_pids(2)
    assert answer["pid"] in workers and len(workers) == 2, (answer["pid"], workers)
    assert daemon.stop() == 0
    notify.drain(0.2)
    assert [m for m in notify.seen if "READY" in m] == [ready], "READY=1 more than once"
    assert {m.pid for m in notify.seen} == {daemon.pid}, "a process other than the master notified"


# --------------------------------------------------------------------------- reload


def test_hup_says_reloading_then_ready_once_the_new_workers_serve(
    daemon_factory: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    daemon = start(daemon_factory, tmp_path, notify.address, import_delay=IMPORT_DELAY)
    notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    old = set(daemon.worker_pids(2))
    assert len(old) == 2

    before = monotonic_usec()
    sent = time.monotonic()
    daemon.send_signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING=1", key("RELOADING"), TIMEOUT, daemon)
    after = monotonic_usec()
    assert reloading["RELOADING"] == "1" and reloading.pid == daemon.pid, reloading.text
    assert "READY" not in reloading, reloading.text
    # The master read CLOCK_MONOTONIC after the HUP was sent and before this arrived.
    assert before <= int(reloading["MONOTONIC_USEC"]) <= after, (before, reloading.text, after)
    assert reloading["STATUS"] == "reloading", reloading.text

    ready = notify.wait_for("READY=1 after the reload", key("READY"), STARTUP, daemon)
    new = set(daemon.children()) - old
    answer = get(daemon, timeout=IMPORT_DELAY / 2)
    took = ready.at - sent
    assert took >= IMPORT_DELAY, f"READY=1 {took:.2f}s after HUP: before the new workers imported the app"
    assert len(new) == 2, f"at READY=1 the new workers were {new} (old {old})\n{daemon.log()}"
    assert ready["STATUS"] == status_line(2, 2) and ready.pid == daemon.pid, ready.text
    assert answer["pid"] in new | old
    wait_until("the old workers to exit", lambda: not any(alive(pid) for pid in old), daemon)
    assert get(daemon)["pid"] in new
    assert [m for m in notify.seen if "RELOADING" in m] == [reloading]
    assert daemon.stop() == 0


def test_hup_with_a_broken_config_says_reload_refused(
    daemon_factory: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    daemon = start(daemon_factory, tmp_path, notify.address)
    notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    old = set(daemon.worker_pids(2))

    daemon.settings["threads"] = "lots"
    daemon.write_ini()
    daemon.send_signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING=1", key("RELOADING"), TIMEOUT, daemon)
    refused = notify.wait_for("READY=1 after the refused reload", key("READY"), TIMEOUT, daemon)
    assert refused.at >= reloading.at
    assert refused["STATUS"].startswith("reload refused: "), refused.text
    assert "'threads'" in refused["STATUS"] and "'lots'" in refused["STATUS"], refused.text
    assert "MAINPID" not in refused, refused.text
    assert set(daemon.children()) == old, "a refused reload must not replace the workers"
    assert get(daemon)["pid"] in old

    # Repaired, the next HUP reloads as usual: the refusal left nothing pending.
    del daemon.settings["threads"]
    daemon.write_ini()
    daemon.send_signal(signal.SIGHUP)
    notify.wait_for("RELOADING=1 (the second)", lambda m: "RELOADING" in m and m is not reloading)
    ready = notify.wait_for("READY=1 after the repaired reload", key("READY"), STARTUP, daemon)
    assert ready["STATUS"] == status_line(2, 2), ready.text
    assert len(set(daemon.children()) - old) == 2
    assert daemon.stop() == 0


# --------------------------------------------------------------------------- stop, TTIN/TTOU


@pytest.mark.parametrize(
    ("sig", "how"),
    [(signal.SIGTERM, "graceful"), (signal.SIGINT, "fast"), (signal.SIGQUIT, "fast")],
    ids=["TERM", "INT", "QUIT"],
)
def test_stop_says_stopping_before_the_master_exits(
    daemon_factory: Start, tmp_path: Path, notify: NotifySocket, sig: signal.Signals, how: str
) -> None:
    daemon = start(daemon_factory, tmp_path, notify.address)
    notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    daemon.send_signal(sig)
    stopping = notify.wait_for("STOPPING=1", key("STOPPING"), TIMEOUT)
    # Sent by the master itself (SCM_CREDENTIALS names a live sender): before it exited.
    assert stopping.pid == daemon.pid, stopping.text
    assert stopping["STOPPING"] == "1" and stopping["STATUS"] == f"stopping ({how})", stopping.text
    assert daemon.wait() == 0
    notify.drain(0.2)
    assert len([m for m in notify.seen if "STOPPING" in m]) == 1, [m.text for m in notify.seen]


def test_ttin_and_ttou_update_the_status(daemon_factory: Start, tmp_path: Path, notify: NotifySocket) -> None:
    daemon = start(daemon_factory, tmp_path, notify.address)
    notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    daemon.send_signal(signal.SIGTTIN)
    more = notify.wait_for("STATUS= after TTIN", key("STATUS"), TIMEOUT, daemon)
    assert more.fields == {"STATUS": status_line(3, 1)}, more.text
    daemon.worker_pids(3)
    daemon.send_signal(signal.SIGTTOU)
    fewer = notify.wait_for("STATUS= after TTOU", key("STATUS"), TIMEOUT, daemon)
    assert fewer.fields == {"STATUS": status_line(2, 1)}, fewer.text
    assert daemon.stop() == 0


# --------------------------------------------------------------------------- the watchdog


def test_watchdog_pings_every_half_interval_and_workers_see_no_systemd_variables(
    daemon_factory: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    env = {"WATCHDOG_USEC": "400000", "NOTIFY_TEST_MARKER": "inherited"}
    daemon = start(daemon_factory, tmp_path, notify.address, env=env)
    notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    window = notify.drain(1.5)
    pings = [m for m in window if "WATCHDOG" in m]
    # Every 0.2 s: about 7 in 1.5 s; a loaded machine may delay some, never multiply them.
    assert 4 <= len(pings) <= 10, [m.text for m in window]
    assert all(m.fields == {"WATCHDOG": "1"} and m.pid == daemon.pid for m in pings), [m.text for m in pings]

    environ = get(daemon)["environ"]
    assert environ.get("NOTIFY_TEST_MARKER") == "inherited", "the app does not show os.environ"
    leaked = {name for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID") if name in environ}
    assert not leaked, f"a worker inherited {leaked}"
    assert daemon.stop() == 0
    assert {m.pid for m in notify.seen} == {daemon.pid}


def test_no_watchdog_pings_when_watchdog_pid_names_another_process(
    daemon_factory: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    env = {"WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(os.getpid())}  # this test's pid, not the master's
    daemon = start(daemon_factory, tmp_path, notify.address, env=env)
    notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    window = notify.drain(1.0)  # five pings would have come
    assert not [m for m in notify.seen + window if "WATCHDOG" in m], [m.text for m in notify.seen]
    assert daemon.stop() == 0


# --------------------------------------------------------------------------- addresses


def test_an_abstract_namespace_socket(daemon_factory: Start, tmp_path: Path) -> None:
    listener = NotifySocket(f"@fcgigate-test-{uuid.uuid4().hex}")
    try:
        daemon = start(daemon_factory, tmp_path, listener.address)
        ready = listener.wait_for("READY=1", key("READY"), STARTUP, daemon)
        assert ready["MAINPID"] == str(daemon.pid) and ready.pid == daemon.pid, ready.text
        get(daemon)
        daemon.send_signal(signal.SIGTERM)
        listener.wait_for("STOPPING=1", key("STOPPING"), TIMEOUT)
        assert daemon.wait() == 0
    finally:
        listener.close()


@pytest.mark.parametrize("where", ["unset", "empty", "nobody-listens"])
def test_without_a_listening_notify_socket_the_daemon_serves_and_stops(
    daemon_factory: Start, tmp_path: Path, socket_dir: Path, where: str
) -> None:
    address = {"unset": None, "empty": "", "nobody-listens": str(socket_dir / "gone.sock")}[where]
    daemon = start(daemon_factory, tmp_path, address, env={"WATCHDOG_USEC": "200000"})
    daemon.wait_ready()
    old = set(daemon.worker_pids(2))
    assert get(daemon)["pid"] in old
    daemon.send_signal(signal.SIGHUP)  # RELOADING=1 ... READY=1 would go nowhere
    wait_until("the reloaded generation", lambda: len(set(daemon.children()) - old) == 2, daemon)
    wait_until("the old workers to exit", lambda: not any(alive(pid) for pid in old), daemon)
    assert get(daemon)["pid"] not in old
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.log()


# --------------------------------------------------------------------------- upgrade


def test_usr2_the_new_master_says_ready_with_its_own_mainpid(
    daemon_factory: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    daemon = start(daemon_factory, tmp_path, notify.address)
    notify.wait_for("READY=1", key("READY"), STARTUP, daemon)
    old_master = daemon.pid
    old_workers = set(daemon.worker_pids(2))
    daemon.send_signal(signal.SIGUSR2)
    new_master = 0
    try:
        new_master = wait_until(
            "the upgraded master", lambda: min(children_of(old_master) - old_workers, default=0), daemon
        )
        ready = notify.wait_for(
            "the new master's READY=1", lambda m: "READY" in m and m.pid != old_master, STARTUP, daemon
        )
        assert ready.pid == new_master, f"READY=1 from {ready.pid}, the upgraded master is {new_master}"
        assert ready["MAINPID"] == str(new_master) != str(old_master), ready.text
        assert ready["STATUS"] == status_line(2, 1), ready.text
        new_workers = wait_until(
            "the new master's workers",
            lambda: len(children_of(new_master)) == 2 and children_of(new_master),
            daemon,
        )

        # The old master goes; the service (the new master) goes on: no STOPPING=1.
        daemon.send_signal(signal.SIGTERM)
        assert daemon.proc is not None
        assert daemon.proc.wait(TIMEOUT * 2) == 0, daemon.log()
        notify.drain(0.2)  # whatever it sent is queued by now
        assert not [m for m in notify.seen if "STOPPING" in m], [m.text for m in notify.seen]
        assert alive(new_master)
        assert get(daemon)["pid"] in new_workers

        os.kill(new_master, signal.SIGTERM)
        stopping = notify.wait_for("the new master's STOPPING=1", key("STOPPING"), TIMEOUT)
        assert stopping.pid == new_master, stopping.text
        wait_until(
            "the new master and its workers to exit",
            lambda: not any(alive(p) for p in {new_master, *new_workers}),
            daemon,
            timeout=TIMEOUT * 2,
        )
        senders = {m.pid for m in notify.seen}
        assert senders == {old_master, new_master}, f"notified by {senders}"
    finally:
        if new_master:
            kill_tree(new_master)


# --------------------------------------------------------------------------- a sanity check of the emulation


def test_the_emulated_systemd_sees_the_sender(notify: NotifySocket) -> None:
    """SO_PASSCRED works here: the pid assertions above mean what they say."""
    code = (
        "import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
        f"s.sendto(b'READY=1', {notify.address!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        message = notify.wait_for("the child's datagram", key("READY"), TIMEOUT)
    finally:
        child.wait(TIMEOUT)
    assert message.pid == child.pid and message.fields == {"READY": "1"}
