"""The shipped logrotate configuration, run by the real ``logrotate`` against a
running daemon: rotation by rename plus SIGUSR1 loses no line and splits none.

``conf/logrotate/fcgigate`` is rendered with this test's paths in place of
/var/log/fcgigate and /run/fcgigate/master/fcgigate.pid, and the current user and group
in place of the daemon's; nothing else of it changes, so its directives
(``create``, ``delaycompress``, ``sharedscripts``, the postrotate that signals the
master through the pidfile) are what is tested. A daemon with two workers logs one
access line and one error line (``wsgi.errors``) per request. After a forced
rotation the renamed files hold exactly the first batch, every process of the
daemon has reopened both logs (its descriptors, read from /proc, name the new
files), and a second batch served by both workers lands whole in the new files
alone. A second rotation, while a third batch is being served, compresses the
first one (``.2.gz``, byte for byte what was rotated) and keeps the second
uncompressed (``delaycompress``: a worker that has not reopened yet may still be
writing to it); each line of the third batch is in one of the two files, once.

No test is skipped when logrotate is missing: it fails, because CI installs it
(``.ci/run``) and a skipped test proves nothing.
"""

from __future__ import annotations

import grp
import gzip
import http.client
import os
import pwd
import re
import shutil
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.daemon import REPO_ROOT, Daemon, free_port

pytestmark = pytest.mark.e2e

SHIPPED = REPO_ROOT / "conf" / "logrotate" / "fcgigate"
PROD_LOG_DIR = "/var/log/fcgigate"
PROD_PIDFILE = "/run/fcgigate/master/fcgigate.pid"
# logrotate lives in /usr/sbin, which is not on an unprivileged user's PATH.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
LOGROTATE_TIMEOUT = 30.0
REOPEN_TIMEOUT = 10.0

REQUESTS = 200  # per batch
CLIENTS = 8  # concurrent connections, so that both workers accept some
ACCESS_FORMAT = '{pid} {request_id} "{request}" {status}'
# Each request's marker (b1-007: batch 1, request 7) is in its access line and in
# the error line the app writes; a line cut or glued to another does not match.
ACCESS_LINE = re.compile(
    r'^(?P<pid>\d+) (?P=pid)-\d+ "GET /stderr\?msg=(?P<marker>b\d-\d{3}) HTTP/1\.1" 200$'
)
ERROR_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(?P<pid>\d+)\] \[WARNING\] .*: (?P<marker>b\d-\d{3})$"
)
MARKER = re.compile(r"b\d-\d{3}")
SERVING = re.compile(r"\] worker \d/2 serving ")


def logrotate_binary() -> str:
    found = shutil.which("logrotate", path=SEARCH_PATH)
    if found is None:
        pytest.fail("logrotate is not installed: `sudo apt-get install logrotate` (.ci/run does it)")
    return found


def render(shipped: str, log_dir: Path, pidfile: Path) -> str:
    """The shipped configuration with this test's paths, user and group."""
    assert PROD_LOG_DIR in shipped and PROD_PIDFILE in shipped, "the shipped paths changed: update this test"
    text = shipped.replace(PROD_PIDFILE, str(pidfile)).replace(PROD_LOG_DIR, str(log_dir))
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    # `create MODE USER GROUP` and `su USER GROUP`: the daemon's user is ours here.
    text, count = re.subn(
        r"^(\s*)(create\s+[0-7]+|su)\s+\S+\s+\S+[ \t]*$",
        lambda m: f"{m[1]}{m[2]} {user} {group}",
        text,
        flags=re.MULTILINE,
    )
    assert re.search(r"^\s*create\s", text, re.MULTILINE) and count >= 1, "no `create MODE USER GROUP`"
    # Never let a test rotate (or signal) what a production daemon uses.
    for production in (PROD_LOG_DIR, "/run/fcgigate/"):
        assert production not in text, f"the rendered configuration still names {production}"
    return text


def run_logrotate(binary: str, config: Path, state: Path) -> str:
    """``logrotate -f``: its verbose output; AssertionError with it on failure."""
    result = subprocess.run(
        [binary, "-v", "-f", "-s", str(state), str(config)],
        capture_output=True,
        text=True,
        timeout=LOGROTATE_TIMEOUT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"logrotate exited with {result.returncode}:\n{output}"
    assert "error:" not in output, output
    return output


def http_get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def send_batch(port: int, batch: int) -> set[str]:
    """REQUESTS requests, CLIENTS at a time, each on its own connection; their markers."""
    markers = [f"b{batch}-{i:03d}" for i in range(REQUESTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(lambda marker: http_get(port, f"/stderr?msg={marker}"), markers))
    assert statuses == [200] * REQUESTS
    return set(markers)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def access_markers(path: Path) -> tuple[Counter[str], set[int]]:
    """The markers of an access log (each line must be whole) and the pids that wrote them."""
    markers: Counter[str] = Counter()
    pids: set[int] = set()
    for line in path.read_text().splitlines():
        match = ACCESS_LINE.match(line)
        assert match, f"{path.name}: a line that is not whole: {line!r}"
        markers[match["marker"]] += 1
        pids.add(int(match["pid"]))
    return markers, pids


def error_markers(text: str, name: str) -> tuple[Counter[str], set[int]]:
    """The markers of an error log's wsgi.errors lines (each must be whole) and their pids."""
    markers: Counter[str] = Counter()
    pids: set[int] = set()
    for line in text.splitlines():
        if MARKER.search(line):
            match = ERROR_LINE.match(line)
            assert match, f"{name}: a line that is not whole: {line!r}"
            markers[match["marker"]] += 1
            pids.add(int(match["pid"]))
    return markers, pids


def open_logs(pids: Iterable[int], log_dir: Path) -> dict[int, set[str]]:
    """For each pid, the names of the files of ``log_dir`` it holds open."""
    held: dict[int, set[str]] = {}
    for pid in pids:
        names = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue  # closed meanwhile
            if target.startswith(f"{log_dir}/"):
                names.add(target[len(str(log_dir)) + 1 :])
        held[pid] = names
    return held


def wait_reopened(master: int, workers: list[int], log_dir: Path) -> None:
    """Until the master holds error.log alone and each worker error.log and access.log
    alone: SIGUSR1 is asynchronous, logrotate returns before the daemon acts on it."""
    wanted = {master: {"error.log"}} | {pid: {"error.log", "access.log"} for pid in workers}
    deadline = time.monotonic() + REOPEN_TIMEOUT
    while (held := open_logs(wanted, log_dir)) != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"logs not reopened within {REOPEN_TIMEOUT}s: {held}, wanted {wanted}")
        time.sleep(0.05)


def rotated(log_dir: Path, name: str) -> list[str]:
    """The rotated files of log ``name``, in the order logrotate numbers them."""
    return sorted(p.name for p in log_dir.iterdir() if p.name.startswith((f"{name}.", f"{name}-")))


def test_logrotate_renames_and_the_daemon_reopens(daemon_factory, tmp_path: Path) -> None:
    binary = logrotate_binary()
    log_dir, run_dir = tmp_path / "log", tmp_path / "pid"
    log_dir.mkdir()
    run_dir.mkdir()
    access, error, pidfile = log_dir / "access.log", log_dir / "error.log", run_dir / "fcgigate.pid"
    config, state = tmp_path / "logrotate.conf", tmp_path / "logrotate.state"
    config.write_text(render(SHIPPED.read_text(), log_dir, pidfile))
    config.chmod(0o644)  # logrotate ignores a configuration that others may write

    port = free_port()
    settings = {
        "bind": f"http://127.0.0.1:{port}",
        "workers": 2,
        "error_log": str(error),
        "access_log": str(access),
        "access_log_format": ACCESS_FORMAT,
        "pidfile": str(pidfile),
    }
    daemon: Daemon = daemon_factory(settings, "tests.apps.router:app")
    workers = daemon.worker_pids(2)
    assert len(workers) == 2, workers
    # A worker logs that it serves once its SIGUSR1 handler is in place; before, the
    # signal would end it (and the master would count a boot failure).
    wait_for(lambda: len(SERVING.findall(error.read_text())) == 2, 10, "both workers serving")
    assert int(pidfile.read_text()) == daemon.pid

    first = send_batch(port, 1)
    wait_for(lambda: line_count(access) >= REQUESTS, 5, f"{REQUESTS} lines in {access}")
    access_before = access.read_text()

    run_logrotate(binary, config, state)

    # Renamed, not copied: the renamed files are the old ones, and new empty ones
    # from `create` (mode and owner as configured) wait for the daemon.
    assert rotated(log_dir, "access.log") == ["access.log.1"]  # delaycompress: not compressed yet
    assert rotated(log_dir, "error.log") == ["error.log.1"]
    for new in (access, error):
        info = new.stat()
        assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_uid == os.getuid(), (new, info)
    wait_reopened(daemon.pid, workers, log_dir)
    old_access, old_error = log_dir / "access.log.1", log_dir / "error.log.1"
    assert old_access.read_text() == access_before
    old_error_text = old_error.read_text()

    second = send_batch(port, 2)
    wait_for(lambda: line_count(access) >= REQUESTS, 5, f"{REQUESTS} lines in the new {access}")
    time.sleep(0.2)  # a late, stray line would show up now
    old_markers, _ = access_markers(old_access)
    new_markers, new_pids = access_markers(access)
    assert old_markers == Counter(first), "the rotated access log is not exactly the first batch"
    assert new_markers == Counter(second), "the new access log is not exactly the second batch"
    assert sum(old_markers.values()) + sum(new_markers.values()) == 2 * REQUESTS
    assert new_pids == set(workers), f"both workers must have served the second batch: {new_pids} {workers}"

    error_text = error.read_text()
    assert old_error.read_text() == old_error_text, "a line reached the rotated error log after the reopen"
    old_markers, _ = error_markers(old_error_text, old_error.name)
    new_markers, new_pids = error_markers(error_text, error.name)
    assert old_markers == Counter(first) and new_markers == Counter(second)
    assert new_pids == set(workers)
    # The master saw one SIGUSR1 (sharedscripts: one postrotate for both logs),
    # and says so in the new file.
    assert error_text.count("reopened the log files") == 1
    assert "reopened the log files" not in old_error_text

    # A second rotation while a third batch is being served: each of its lines lands
    # once, whole, in the file renamed (a worker not reopened yet) or in the new one.
    # delaycompress leaves the renamed files alone; the first rotation's are compressed.
    with ThreadPoolExecutor(1) as sender:
        third_sent = sender.submit(send_batch, port, 3)
        wait_for(lambda: line_count(access) >= REQUESTS + CLIENTS, 5, "the third batch under way")
        run_logrotate(binary, config, state)
        third = third_sent.result(timeout=30)
    wait_reopened(daemon.pid, workers, log_dir)
    wait_for(lambda: line_count(old_access) + line_count(access) >= 2 * REQUESTS, 5, "the third batch logged")
    time.sleep(0.2)
    assert rotated(log_dir, "access.log") == ["access.log.1", "access.log.2.gz"]
    assert rotated(log_dir, "error.log") == ["error.log.1", "error.log.2.gz"]
    assert gzip.decompress((log_dir / "access.log.2.gz").read_bytes()).decode() == access_before
    assert gzip.decompress((log_dir / "error.log.2.gz").read_bytes()).decode() == old_error_text
    old_markers, _ = access_markers(old_access)
    new_markers, _ = access_markers(access)
    assert old_markers + new_markers == Counter(second | third), "access lines lost or repeated"
    assert not new_markers.keys() & second, "a line of the second batch reached the newest access log"
    old_text = old_error.read_text()
    assert old_text.startswith(error_text)
    old_markers, _ = error_markers(old_text, old_error.name)
    new_markers, _ = error_markers(error.read_text(), error.name)
    assert old_markers + new_markers == Counter(second | third), "error lines lost or repeated"
    assert daemon.running
