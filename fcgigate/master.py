"""The master (the arbiter): bind, fork one worker per CPU, supervise.

Rules of this file:

1. The master never starts a thread and never creates an event loop
   (design.md, invariant 1). Before every fork it checks that it is the only
   thread and refuses, naming the threads, if not: that is how flup's bug
   (a thread pool created before fork, lost in the child) would surface.
2. Signal handlers only record (invariant 3). ``signal.set_wakeup_fd`` writes
   each signal's number to a non-blocking self-pipe; the master sleeps in one
   ``select`` on that pipe (with a one-second timeout for its own clock), wakes,
   and calls ``handle_<signal>`` by name, then ``reap_workers``,
   ``murder_workers`` and ``manage_workers``.
3. Listeners are bound once, before anything else can fail, and never closed
   while the master lives: reloads, recycling and upgrades hand the same
   sockets to new workers, so no connection is ever refused.

Worker fate is read from the scoreboard (status.py): a worker is *booted*
once its slot says READY; one that exits before that is a boot failure, and
repeated boot failures (an app that does not import) halt the master with
EXIT_BOOT_FAILURE instead of a fork loop. A worker whose heartbeat is older
than ``timeout`` is killed and replaced, with the request it was serving in
the log.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from fcgigate import logs, sockets, tls
from fcgigate.config import ConfigError, load_config
from fcgigate.daemon import (
    AlreadyRunning,
    PidFile,
    PidFileError,
    PrivilegeError,
    check_privileges,
    config_label,
    daemonize,
    drop_privileges,
    give_files,
    monotonic_usec,
    pid_alive,
    report_ready,
    resolve_account,
    sd_notify,
    set_title,
    watchdog_interval,
)
from fcgigate.status import READY, RETIRING, Scoreboard
from fcgigate.worker import AppLoadError, Worker, load_app, worker_dispositions

error_log = logging.getLogger("fcgigate.error")

EXIT_OK = 0
EXIT_BIND_ERROR = 1  # could not start: bind, pidfile ("already running"), privileges
EXIT_FORK_UNSAFE = 2
EXIT_BOOT_FAILURE = 3

# Signals the master acts on; each gets a do-nothing Python handler so that
# set_wakeup_fd reports it.
SIGNALS = {
    signal.SIGHUP: "hup", signal.SIGTERM: "term", signal.SIGINT: "int", signal.SIGQUIT: "quit",
    signal.SIGUSR1: "usr1", signal.SIGUSR2: "usr2", signal.SIGTTIN: "ttin", signal.SIGTTOU: "ttou",
    signal.SIGCHLD: "chld",
}  # fmt: skip

BOOT_FAILURE_LIMIT = 5  # boot failures in a row that halt the master
BACKOFF_MAX = 4.0  # seconds between respawns after boot failures, at most
KILL_GRACE = 5.0  # seconds past graceful_timeout before a draining worker is killed
INHERIT_ENV = "_FCGIGATE_LISTENERS"  # fd -> [url, systemd's] handed to an upgraded master
NO_DETACH_ENV = "_FCGIGATE_NO_DETACH"  # an upgraded master of a daemon stays where it is
# systemd's variables for the master alone: workers and the app must not answer for it.
SYSTEMD_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class ForkSafetyError(RuntimeError):
    """A thread exists where none may (before a fork): names them."""


def check_no_threads(where: str) -> None:
    """Raise ForkSafetyError unless the calling thread is the only one.

    A thread alive here would not exist in the child after the fork that
    comes next, and whatever waits on it would hang: the flup bug.
    """
    if threading.active_count() != 1:
        others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        raise ForkSafetyError(
            f"{where}: threads already running ({', '.join(sorted(others))}); "
            "no thread may start before the last fork (is the app, with preload, starting one at import?)"
        )


@dataclass
class WorkerInfo:
    pid: int
    index: int
    generation: int
    slot: Any
    booted: bool = False
    stopping_since: float | None = None  # when we sent TERM (or QUIT)
    killed_for: str = ""  # why we sent SIGKILL, if we did
    replaced: bool = False  # a replacement was started for it (recycling)
    retired_as: str = "retired"  # the exit cause counted when it stops as asked ("recycled")
    slow_signaled: int = 0  # the request number we sent SIGUSR2 for (inline slow requests)


class Master:
    def __init__(self, config: Any, cli_overrides: dict[str, str] | None = None) -> None:
        self.config = config
        self.cli_overrides = dict(cli_overrides or {})
        self.listeners: list[tuple[socket.socket, str]] = []
        self.by_url: dict[str, tuple[socket.socket, str]] = {}  # config URL -> listener
        self._retired_listeners: list[tuple[socket.socket, str]] = []
        # Sockets systemd made (socket activation): their files are systemd's,
        # never removed here, and those no `bind` URL names are kept on reload.
        self.systemd_fds: set[int] = set()
        self.unbound: list[tuple[socket.socket, str]] = []  # systemd's, matching no `bind` URL
        self.previous_config: Any = None
        self.workers: dict[int, WorkerInfo] = {}
        self.generation = 0
        self.num_workers = resolve_workers(config.workers)
        self.app: Any = None
        self.scoreboard: Scoreboard | None = None
        self.stopping: str | None = None  # "graceful" or "fast"
        self.stop_deadline = 0.0
        self.boot_failures = 0
        self.next_spawn_at = 0.0
        self.upgraded_child: int | None = None
        self.reloads = 0
        self.started = time.time()
        self.rotation: logs.Rotation | None = None
        self.last_rotation = 0.0  # monotonic; workers that reopened since may rotate again
        self._pipe: tuple[int, int] | None = None
        self.exit_code = EXIT_OK
        self.pid = os.getpid()
        self.pidfile: PidFile | None = None
        self.ready_fd: int | None = None  # the launcher waits on it (daemon = true)
        self.announced = False  # READY=1 sent to systemd
        self.reloading = False  # RELOADING=1 sent, READY=1 not yet
        self.watchdog: float | None = None  # seconds between WATCHDOG=1 (after detaching: our pid)
        self.next_watchdog = 0.0

    # -- start ------------------------------------------------------------------------

    def run(self) -> int:
        cfg = self.config
        set_title(f"fcgigate: master [{config_label(cfg.path)}]")
        try:
            # First the checks that need nothing bound: "already running as
            # PID n" or "no such user" say more than what binding would report.
            account = resolve_account(cfg.user, cfg.group)
            check_privileges(account, cfg.allow_root)
            if tls.uses_tls(cfg):
                tls.server_context(cfg)  # a bad certificate or key: said now, naming the file
            if cfg.pidfile:
                PidFile(cfg.pidfile).check()
            self.listeners = self.bind(cfg)
        except (AlreadyRunning, PidFileError, PrivilegeError, tls.TLSError) as exc:
            error_log.error("%s", exc)
            self.tell_terminal(exc)
            return EXIT_BIND_ERROR
        except sockets.BindError as exc:
            error_log.error("%s", exc)
            self.tell_terminal(exc)
            self.close_listeners()
            return EXIT_BIND_ERROR
        try:
            if cfg.pidfile:
                self.pidfile = PidFile(cfg.pidfile)
                self.pidfile.check()
            if cfg.daemon and not os.environ.pop(NO_DETACH_ENV, ""):
                self.detach(cfg)
            if self.pidfile is not None:
                self.pidfile.write(os.getpid())
                if self.pidfile.stale_pid:
                    error_log.warning("replaced a stale pidfile %s (PID %d is gone)", cfg.pidfile,
                                      self.pidfile.stale_pid)  # fmt: skip
            self.become(account)
            if cfg.preload and cfg.app:  # the root app only: mounts are imported by each worker
                self.app = self.preload_app(cfg)
                if self.app is None:
                    self.exit_code = EXIT_BOOT_FAILURE
                    return self.exit_code
            self.watchdog = watchdog_interval()
            self.rotation = self.make_rotation(cfg)
            # Room for every worker, a full new generation during a reload,
            # and workers added with TTIN.
            self.scoreboard = Scoreboard(max(64, 4 * self.num_workers))
            self.scoreboard.set_master(os.getpid(), self.generation, self.reloads, self.started)
            self.install_signals()
            error_log.info("master %d: %d workers for %s on %s", self.pid, self.num_workers, cfg.apps(),
                           ", ".join(url for _, url in self.listeners))  # fmt: skip
            self.spawn_generation()
            self.sample_listen_queues()
            self.loop()
        except (AlreadyRunning, PidFileError, PrivilegeError) as exc:
            error_log.error("%s", exc)
            self.tell_terminal(exc)
            if isinstance(exc, AlreadyRunning):
                self.pidfile = None  # not ours
            self.exit_code = EXIT_BIND_ERROR
            if self.ready_fd is not None:
                report_ready(self.ready_fd, str(exc))
                self.ready_fd = None
        except ForkSafetyError as exc:
            error_log.error("%s", exc)
            self.kill_workers(signal.SIGKILL)
            self.exit_code = EXIT_FORK_UNSAFE
        finally:
            if self.ready_fd is not None:
                report_ready(
                    self.ready_fd, f"not serving (exit status {self.exit_code}); see {cfg.error_log}"
                )
                self.ready_fd = None
            if self.pidfile is not None and (problem := self.pidfile.remove()):
                error_log.warning("%s", problem)
            self.restore_signals()
            if self.upgraded_child is None or not pid_alive(self.upgraded_child):
                self.close_listeners()
            else:  # the new master serves on them now: close ours, keep the files
                for sock, _ in self.listeners:
                    sock.close()
        error_log.info("master %d: exiting (status %d)", self.pid, self.exit_code)
        if threading.active_count() > 1:
            # Only a preloaded app can have started these (the fork-safety
            # check refused it); Python would wait for them at exit forever.
            logging.shutdown()
            os._exit(self.exit_code)
        return self.exit_code

    def bind(self, cfg: Any) -> list[tuple[socket.socket, str]]:
        """Listeners for ``cfg.bind``: inherited from an upgrading master when
        it handed them over, else bound here."""
        inherited, from_systemd = _inherited_listeners()
        activated = sockets.systemd_sockets()
        self.systemd_fds = {sock.fileno() for sock, _ in activated} | from_systemd
        listeners = []
        for address in cfg.bind:
            sock = inherited.pop(address.url, None)
            if sock is None:
                match = next((a for a in activated if sockets.same_address(a[0], address)), None)
                if match is not None:
                    activated.remove(match)
                    sock = match[0]
            if sock is None:
                sock = sockets.bind(
                    address, cfg.backlog, cfg.socket_mode, cfg.socket_owner or cfg.user, cfg.socket_group
                )
            listener = (sock, sockets.describe(sock, address.protocol))
            self.by_url[address.url] = listener
            listeners.append(listener)
        for sock, name in activated:
            # Handed over by systemd but not in `bind`: served anyway, with the
            # protocol its FileDescriptorName= says (http, else FastCGI).
            protocol = "http" if name.startswith("http") else "fastcgi"
            listener = (sock, sockets.describe(sock, protocol))
            self.by_url[listener[1]] = listener
            self.unbound.append(listener)
        for url, sock in inherited.items():
            if sock.fileno() in self.systemd_fds:  # systemd's, from the master we upgrade
                listener = (sock, url)
                self.by_url[url] = listener
                self.unbound.append(listener)
            else:  # handed over but no longer configured
                sock.close()
        return listeners + self.unbound

    def become(self, account: Any) -> None:
        """Drop privileges (``user``/``group``) now that the listeners are bound
        and the pidfile written; the log files are handed over first, so that
        the processes can still reopen them."""
        if account is not None:
            cfg = self.config
            give_files([t for t in (cfg.error_log, cfg.access_log) if logs.is_file(t)], account)
            if self.pidfile is not None and os.geteuid() == 0:
                self.pidfile.chown(account.uid, account.gid)
            drop_privileges(account)
            error_log.info("master: running as user %s (uid %d, gid %d)", account.label, account.uid,
                           account.gid)  # fmt: skip
        check_privileges(None, self.config.allow_root)

    def tell_terminal(self, problem: Exception) -> None:
        """A start-up error is also said on stderr when the log goes to a file:
        whoever typed the command should not have to look for it."""
        if self.config.error_log not in ("-", "") and self.ready_fd is None:
            print(f"fcgigate: {problem}", file=sys.stderr)

    def detach(self, cfg: Any) -> None:
        """daemon = true: detach now, keeping the listeners; the launching
        process waits (in daemonize) until report_ready says how it went."""
        check_no_threads("before daemonizing")
        to_file = logs.is_file(cfg.error_log)
        if cfg.error_log in ("-", ""):
            error_log.warning(
                "daemon = true with error_log = -: the daemon's log is discarded; set error_log"
            )
        self.ready_fd = daemonize([sock.fileno() for sock, _ in self.listeners], cfg.umask,
                                  cfg.error_log if to_file else None)  # fmt: skip
        logs.reopen(fds_closed=True)  # the log file's descriptor was closed with the others
        self.pid = os.getpid()

    def preload_app(self, cfg: Any) -> Any:
        try:
            return load_app(cfg.app, cfg.chdir, cfg.pythonpath)
        except AppLoadError as exc:
            error_log.error("%s", exc)
        except Exception:
            error_log.exception("app %r failed to import (preload)", cfg.app)
        return None

    def install_signals(self) -> None:
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._pipe = (r, w)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        for sig in SIGNALS:
            signal.signal(sig, _record)

    def restore_signals(self) -> None:
        if self._pipe is None:
            return
        signal.set_wakeup_fd(-1)
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        for fd in self._pipe:
            os.close(fd)
        self._pipe = None

    # -- the loop ---------------------------------------------------------------------

    def loop(self) -> None:
        r = self._pipe[0]
        while True:
            timeout = 1.0
            if self.next_spawn_at:
                timeout = max(0.0, min(timeout, self.next_spawn_at - time.monotonic()))
            if self.watchdog:
                timeout = max(0.0, min(timeout, self.ping_watchdog()))
            try:
                ready, _, _ = select.select([r], [], [], timeout)
            except InterruptedError:
                ready = []
            if ready:
                for signum in self.read_signals():
                    getattr(self, f"handle_{SIGNALS[signum]}")()
            self.reap_workers()
            if self.exit_code:
                self.stop("fast")
            if self.stopping:
                if not self.workers:
                    return
                if time.monotonic() > self.stop_deadline:
                    self.kill_workers(signal.SIGKILL, "the stop took longer than graceful_timeout")
                continue
            self.murder_workers()
            self.manage_workers()
            self.sample_listen_queues()
            self.rotate_logs()

    def ping_watchdog(self) -> float:
        """WATCHDOG=1 every half ``WatchdogSec``: the master's loop still turns.
        Returns the seconds until the next ping is due."""
        now = time.monotonic()
        if now >= self.next_watchdog:
            sd_notify("WATCHDOG=1")
            self.next_watchdog = now + self.watchdog
        return self.next_watchdog - now

    def notify_status(self, *lines: str) -> None:
        sd_notify(*lines, f"STATUS={self.num_workers} workers serving {self.config.apps()} (generation "
                          f"{self.generation})")  # fmt: skip

    @staticmethod
    def make_rotation(cfg: Any) -> logs.Rotation | None:
        paths = [target for target in (cfg.error_log, cfg.access_log) if logs.is_file(target)]
        rotation = logs.Rotation(paths, cfg.log_rotate_size, cfg.log_rotate_when, cfg.log_rotate_keep)
        return rotation if rotation.enabled else None

    def rotate_logs(self) -> None:
        """Built-in rotation: when due, and only once every worker has reopened
        its files since the last one (a file is never removed under a writer)."""
        rotation = self.rotation
        if rotation is None or self.stopping or not rotation.due():
            return
        for info in self.workers.values():
            if info.slot.read()["logs_opened"] < self.last_rotation:
                return  # a worker still writes to the previous file: wait for it
        problems = rotation.rotate()
        self.last_rotation = time.monotonic()
        logs.reopen()
        for problem in problems:
            error_log.error("master: %s", problem)
        error_log.info("master: rotated %s", ", ".join(rotation.paths))
        self.signal_workers(signal.SIGUSR1)

    def sample_listen_queues(self) -> None:
        """Each listener's accept queue, for the status page (once a wake-up:
        about a second; a system call or two per listener)."""
        queues = []
        for sock, url in self.listeners:
            found = sockets.listen_queue(sock)
            if found is not None:
                queues.append((url, *found))
        self.scoreboard.set_listeners(queues)

    def read_signals(self) -> list[int]:
        try:
            data = os.read(self._pipe[0], 4096)
        except BlockingIOError:
            return []
        seen: list[int] = []
        for signum in data:
            if signum in SIGNALS and signum not in seen:
                seen.append(signum)
        return seen

    # -- signals ----------------------------------------------------------------------

    def handle_term(self) -> None:
        error_log.info("master: SIGTERM, graceful stop (graceful_timeout %ss)", self.config.graceful_timeout)
        self.stop("graceful")

    def handle_int(self) -> None:
        error_log.info("master: SIGINT, fast stop")
        self.stop("fast")

    def handle_quit(self) -> None:
        error_log.info("master: SIGQUIT, fast stop")
        self.stop("fast")

    def handle_chld(self) -> None:
        return  # reap_workers runs after every wake-up

    def handle_usr1(self) -> None:
        logs.reopen()
        error_log.info("master: SIGUSR1, reopened the log files")
        self.signal_workers(signal.SIGUSR1)

    def handle_ttin(self) -> None:
        self.num_workers += 1
        error_log.info("master: SIGTTIN, %d workers", self.num_workers)
        self.notify_status()

    def handle_ttou(self) -> None:
        if self.num_workers > 1:
            self.num_workers -= 1
        error_log.info("master: SIGTTOU, %d workers", self.num_workers)
        self.notify_status()

    def handle_hup(self) -> None:
        """Reload: re-read the configuration, start a new generation of
        workers on it, and drain the old one once the new one is ready.
        The listeners stay open throughout; a changed ``bind`` is applied."""
        if self.stopping:
            error_log.info("master: SIGHUP ignored, stopping")
            return
        error_log.info("master: SIGHUP, reloading %s", self.config.path or "(no file)")
        if self.announced:
            sd_notify("RELOADING=1", monotonic_usec(), "STATUS=reloading")
        try:
            new = load_config(self.config.path, self.cli_overrides)
            if tls.uses_tls(new):
                tls.server_context(new)  # renewed certificates: refuse the reload if they are bad
            listeners = self.rebind(new)
        except (ConfigError, sockets.BindError, tls.TLSError) as exc:
            error_log.error("reload refused, the running configuration stays: %s", exc)
            if self.announced:
                sd_notify("READY=1", f"STATUS=reload refused: {exc}")
            return
        if (new.user, new.group) != (self.config.user, self.config.group):
            error_log.warning("user and group changes take effect on restart, not on reload")
        self.by_url = {a.url: listener for a, listener in zip(new.bind, listeners, strict=True)}
        listeners += [listener for listener in self.unbound if listener not in listeners]
        self.by_url.update({url: (sock, url) for sock, url in self.unbound})
        kept = {id(sock) for sock, _ in listeners}
        self._retired_listeners += [(sock, url) for sock, url in self.listeners if id(sock) not in kept]
        self.previous_config = self.config
        self.config = new
        self.listeners = listeners
        self.num_workers = resolve_workers(new.workers)
        if new.preload:
            error_log.warning(
                "preload = true: workers re-fork the code the master loaded; USR2 loads new code"
            )
        self.spawn_generation()
        self.reloading = self.announced
        self.rotation = self.make_rotation(new)
        self.reloads += 1
        self.scoreboard.set_master(os.getpid(), self.generation, self.reloads)

    def rebind(self, cfg: Any) -> list[tuple[socket.socket, str]]:
        """Listeners for a reloaded ``bind``: the same sockets for the same URLs
        (never closed, so no connection is refused), new ones bound."""
        listeners = []
        try:
            for address in cfg.bind:
                listener = self.by_url.get(address.url)
                if listener is None:
                    sock = sockets.bind(
                        address, cfg.backlog, cfg.socket_mode, cfg.socket_owner or cfg.user, cfg.socket_group
                    )
                    listener = (sock, sockets.describe(sock, address.protocol))
                    error_log.info("master: now also listening on %s", listener[1])
                listeners.append(listener)
        except sockets.BindError:
            known = {id(sock) for sock, _ in self.listeners}
            for sock, _ in listeners:
                if id(sock) not in known:
                    sockets.close(sock)
            raise
        return listeners

    def handle_usr2(self) -> None:
        """Upgrade: exec a new master (new code) that inherits the listeners.
        This master keeps serving until it gets TERM, as nginx and gunicorn do."""
        if self.stopping:
            error_log.info("master: SIGUSR2 ignored, stopping")
            return
        if self.upgraded_child is not None and pid_alive(self.upgraded_child):
            error_log.warning(
                "master: SIGUSR2 ignored, an upgraded master (pid %d) already runs", self.upgraded_child
            )
            return
        fds = {sock.fileno(): url for sock, url in self.listeners}
        for fd in fds:
            os.set_inheritable(fd, True)
        env = dict(os.environ)
        env[INHERIT_ENV] = json.dumps({str(fd): [url, fd in self.systemd_fds] for fd, url in fds.items()})
        env[NO_DETACH_ENV] = "1"  # already a daemon's child: it must not detach again
        env.pop("WATCHDOG_PID", None)  # the new master pings for itself (with MAINPID= its pid)
        if self.pidfile is not None:
            self.pidfile.rename_oldbin()
        argv = [sys.executable, "-m", "fcgigate", *sys.argv[1:]]
        error_log.info("master: SIGUSR2, starting a new master: %s", " ".join(argv))
        try:
            proc = subprocess.Popen(argv, env=env, pass_fds=tuple(fds), close_fds=True)
        except OSError as exc:
            error_log.error("master: upgrade failed: %s", exc)
            return
        finally:
            for fd in fds:
                os.set_inheritable(fd, False)
        self.upgraded_child = proc.pid  # reaped by reap_workers' waitpid(-1) like any child

    # -- workers ----------------------------------------------------------------------

    def spawn_generation(self) -> None:
        self.generation += 1
        self.scoreboard.set_master(os.getpid(), self.generation, self.reloads)
        for index in range(self.num_workers):
            self.spawn_worker(index)

    def spawn_worker(self, index: int) -> None:
        check_no_threads(f"forking worker {index + 1}")
        slot_index = self.scoreboard.free_index()
        if slot_index is None:
            error_log.error("master: scoreboard full; not starting worker %d", index + 1)
            return
        slot = self.scoreboard.slot(slot_index)
        slot.claim(0, self.generation)
        # Signals stay blocked across the fork: one that reaches the child
        # before it has its own handlers would otherwise run the master's
        # (and write to the master's pipe) and be lost. In the child they are
        # unblocked once the worker's dispositions are in place, so a TERM
        # sent to a brand-new worker still stops it.
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            raise
        if pid == 0:  # the child
            code = 1
            try:
                signal.set_wakeup_fd(-1)  # the pipe is the master's
                for fd in self._pipe:
                    os.close(fd)
                if self.ready_fd is not None:  # the launcher's, not ours
                    os.close(self.ready_fd)
                for name in SYSTEMD_ENV:
                    os.environ.pop(name, None)
                worker_dispositions()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
                worker = Worker(
                    self.config, self.listeners, self.app, index=index, total=self.num_workers, slot=slot,
                    master_pid=self.pid, reopen_logs=logs.reopen, scoreboard=self.scoreboard,
                )  # fmt: skip
                code = worker.run()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                error_log.exception("worker %d crashed", index + 1)
            finally:
                logging.shutdown()
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        slot.set_pid(pid)
        self.workers[pid] = WorkerInfo(pid, index, self.generation, slot)

    def reap_workers(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.upgraded_child:
                error_log.warning(
                    "master: the upgraded master (pid %d) exited with %s", pid, _describe(status)
                )
                self.upgraded_child = None
                continue
            info = self.workers.pop(pid, None)
            if info is None:
                continue
            last = info.slot.read()
            booted = info.booted or last["state"] in (READY, RETIRING)
            self.scoreboard.keep_counts(last)
            info.slot.free()
            self.report_exit(info, status, booted)

    def report_exit(self, info: WorkerInfo, status: int, booted: bool) -> None:
        name = f"worker {info.index + 1} (pid {info.pid})"
        how = _describe(status)
        if info.stopping_since is not None and not info.killed_for:
            error_log.info("%s stopped", name)
            self.scoreboard.count_exit(info.retired_as)
            return
        if info.killed_for:
            error_log.warning("%s killed: %s", name, info.killed_for)
            self.scoreboard.count_exit("timeout")
            return
        if not booted:
            self.scoreboard.count_exit("boot_failed")
            self.boot_failures += 1
            delay = min(BACKOFF_MAX, 0.25 * 2 ** (self.boot_failures - 1))
            error_log.error(
                "%s failed to boot (%s); %d boot failures in a row", name, how, self.boot_failures
            )
            if self.boot_failures >= BOOT_FAILURE_LIMIT and self.abandon_reload():
                return
            if self.boot_failures >= BOOT_FAILURE_LIMIT:
                error_log.critical(
                    "workers keep failing to boot (see the errors above: does the app import?); "
                    "stopping instead of forking in a loop"
                )
                self.exit_code = EXIT_BOOT_FAILURE
                return
            self.next_spawn_at = time.monotonic() + delay
            return
        self.scoreboard.count_exit("crashed")
        if os.WIFSIGNALED(status):
            self.scoreboard.count_exit("signal")
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            error_log.error("%s was killed by SIGKILL (perhaps out of memory?)", name)
        else:
            error_log.error("%s exited unexpectedly (%s)", name, how)

    def abandon_reload(self) -> bool:
        """A reloaded generation that does not boot while the previous one
        still serves: give up the reload, keep the previous generation."""
        old = [w for w in self.workers.values() if w.generation < self.generation and w.booted]
        if not old or self.previous_config is None:
            return False
        error_log.error(
            "reload abandoned: the new workers do not boot; the previous generation keeps serving"
        )
        for info in list(self.workers.values()):
            if info.generation == self.generation:
                self.retire(info, "reload abandoned")
        self.generation = max(w.generation for w in old)
        self.config, self.previous_config = self.previous_config, None
        self.num_workers = len({w.index for w in old})
        self.boot_failures = 0
        self.next_spawn_at = 0.0
        if self.reloading:
            self.reloading = False
            self.notify_status("READY=1")
        return True

    def murder_workers(self) -> None:
        """Kill workers whose event loop stopped turning, and draining ones
        that outlived graceful_timeout."""
        timeout = self.config.timeout
        now = time.monotonic()
        for info in list(self.workers.values()):
            if info.killed_for:
                continue
            if info.stopping_since is not None:
                if now - info.stopping_since > self.config.graceful_timeout + KILL_GRACE:
                    self.kill(info, "still draining after graceful_timeout")
                continue
            slot = info.slot.read()
            if not info.booted:
                if slot["state"] in (READY, RETIRING):
                    info.booted = True
                    self.boot_failures = 0
                continue
            slow = self.config.slow_request_timeout
            inline_slow = slow and self.config.runs_inline() and slot["request"]
            if (
                inline_slow
                and info.slow_signaled != slot["requests"]
                and now - slot["request_started"] > slow
            ):
                # An inline app blocks the worker's loop: we ask for its stack.
                info.slow_signaled = slot["requests"]
                _signal(info.pid, signal.SIGUSR2)
            if timeout and now - slot["heartbeat"] > timeout:
                what = "no request in progress"
                if slot["request"]:
                    ago = now - slot["request_started"]
                    what = f"it was serving {slot['request']!r}, started {ago:.1f} s ago"
                self.kill(info, f"silent for {now - slot['heartbeat']:.1f} s (timeout {timeout:g} s); {what}")

    def kill(self, info: WorkerInfo, why: str) -> None:
        error_log.error("worker %d (pid %d) %s: killing it", info.index + 1, info.pid, why)
        info.killed_for = why
        _signal(info.pid, signal.SIGKILL)

    def manage_workers(self) -> None:
        """Keep ``num_workers`` booted workers of the current generation:
        start missing ones, retire extra ones and older generations once
        the current one is ready, and recycle workers that asked for it."""
        if self.next_spawn_at:
            if time.monotonic() < self.next_spawn_at:
                return
            self.next_spawn_at = 0.0
        current = [
            w for w in self.workers.values() if w.generation == self.generation and w.stopping_since is None
        ]
        serving = [w for w in current if not w.replaced]
        missing = sorted(set(range(self.num_workers)) - {w.index for w in serving})
        for index in missing:
            self.spawn_worker(index)
        if missing:
            return
        # Excess workers (after TTOU): the highest indexes go first.
        for info in sorted(serving, key=lambda w: w.index)[self.num_workers :]:
            self.retire(info, "fewer workers wanted")
        booted_all = all(w.booted for w in serving)
        if booted_all and self.ready_fd is not None:
            report_ready(self.ready_fd)
            self.ready_fd = None
        if booted_all and not self.announced:
            self.announced = True
            self.notify_status("READY=1", f"MAINPID={os.getpid()}")
        elif booted_all and self.reloading:
            self.reloading = False
            self.notify_status("READY=1")
        if booted_all:
            for info in list(self.workers.values()):
                if info.generation != self.generation and info.stopping_since is None:
                    self.retire(info, "replaced by a reloaded generation")
            self.close_retired_listeners()
        # Recycling (max_requests): the replacement first, then the old one.
        recycling = [w for w in current if w.replaced]
        for info in recycling:
            successor = [w for w in serving if w.index == info.index]
            if successor and successor[0].booted:
                info.retired_as = "recycled"
                self.retire(info, "recycled at its request (max_requests, or request_terminate_timeout)")
        if len(recycling) < self.config.recycle_concurrency:
            for info in serving:
                if len(recycling) >= self.config.recycle_concurrency:
                    break
                if info.booted and info.slot.read()["state"] == RETIRING:
                    info.replaced = True
                    recycling.append(info)
                    self.spawn_worker(info.index)

    def retire(self, info: WorkerInfo, why: str) -> None:
        error_log.info("worker %d (pid %d) draining: %s", info.index + 1, info.pid, why)
        info.stopping_since = time.monotonic()
        _signal(info.pid, signal.SIGTERM)

    def close_retired_listeners(self) -> None:
        retired = self._retired_listeners
        if retired and all(w.generation == self.generation for w in self.workers.values()):
            for sock, url in retired:
                error_log.info("master: no longer listening on %s", url)
                self.close_listener(sock)
            self._retired_listeners = []

    # -- stop -------------------------------------------------------------------------

    def stop(self, how: str) -> None:
        if self.stopping == "fast" or (self.stopping == how):
            return
        self.stopping = how
        if self.upgraded_child is None or not pid_alive(self.upgraded_child):
            # (After an upgrade the new master is the service: it goes on.)
            sd_notify("STOPPING=1", f"STATUS=stopping ({how})")
        now = time.monotonic()
        if how == "graceful":
            self.stop_deadline = now + self.config.graceful_timeout + KILL_GRACE
            sig = signal.SIGTERM
        else:
            self.stop_deadline = now + KILL_GRACE
            sig = signal.SIGQUIT
        for info in self.workers.values():
            info.stopping_since = info.stopping_since or now
            _signal(info.pid, sig)

    def signal_workers(self, sig: int) -> None:
        for pid in list(self.workers):
            _signal(pid, sig)

    def kill_workers(self, sig: int, why: str = "") -> None:
        for info in list(self.workers.values()):
            if why:
                info.killed_for = why
            _signal(info.pid, sig)
        deadline = time.monotonic() + 5
        while self.workers and time.monotonic() < deadline:
            self.reap_workers()
            time.sleep(0.02)

    def close_listeners(self) -> None:
        for sock, _url in self.listeners + self._retired_listeners:
            self.close_listener(sock)
        self.listeners = []

    def close_listener(self, sock: socket.socket) -> None:
        sockets.close(sock, unlink=sock.fileno() not in self.systemd_fds)


def resolve_workers(value: str | int) -> int:
    """``auto``: the CPUs this process may run on (its affinity mask), not
    every CPU of the machine, so a container's cpuset is respected."""
    if value == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    return int(value)


def _record(signum: int, frame: Any) -> None:
    """The Python-level handler: nothing. set_wakeup_fd already wrote the
    signal's number to the self-pipe, which is all the master needs."""


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"signal {sig} ({signal.Signals(sig).name})"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _inherited_listeners() -> tuple[dict[str, socket.socket], set[int]]:
    """Sockets an upgrading master handed over (``INHERIT_ENV``: fd -> [url,
    made by systemd]), and the descriptors of those systemd made."""
    raw = os.environ.pop(INHERIT_ENV, "")
    if not raw:
        return {}, set()
    found, from_systemd = {}, set()
    for fd, value in json.loads(raw).items():
        url, systemd = (value, False) if isinstance(value, str) else value
        try:
            sock = socket.socket(fileno=int(fd))
        except OSError as exc:
            if exc.errno != errno.EBADF:
                raise
            continue
        sock.setblocking(False)
        found[url] = sock
        if systemd:
            from_systemd.add(int(fd))
    return found, from_systemd


_CHECK_APP = """
import sys, json
from fcgigate.worker import AppLoadError, load_app
specs, chdir, pythonpath = json.loads(sys.argv[1])
for where, spec in specs:
    try:
        load_app(spec, chdir, pythonpath)
    except AppLoadError as exc:
        print(where + str(exc), file=sys.stderr)
        sys.exit(4)
    except Exception:
        print("importing " + where + "app " + repr(spec) + " failed:", file=sys.stderr)
        raise
"""


def check_app(config: Any, timeout: float = 60.0) -> tuple[bool, str]:
    """Import the app, and every mount's, in a child process (so that whatever
    they start dies with the child); return (ok, what went wrong)."""
    specs = [("", config.app)] if config.app else []
    specs += [(f"[mount:{mount.prefix}] ", mount.app) for mount in config.mounts]
    args = json.dumps([specs, config.chdir, list(config.pythonpath)])
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHECK_APP, args], capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        names = ", ".join(repr(spec) for _, spec in specs)
        return False, f"importing {names} took longer than {timeout:.0f} s"
    if proc.returncode == 0:
        return True, ""
    detail = proc.stderr.strip() or f"exit status {proc.returncode}"
    return False, detail
