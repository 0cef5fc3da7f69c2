"""The ``fcgigate`` command: argv -> Config -> Master.

fcgigate [-c FILE] [--SETTING VALUE ...] [APP]     run
fcgigate check -c FILE [...]  (or --check)          validate, import the app, print
                                                    the effective config; exit 0/1
fcgigate stop|reload|reopen -c FILE                 signal the master (its pidfile)
fcgigate status -c FILE [--watch SECONDS]           the status table of the running master
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence

from fcgigate import __version__, logs
from fcgigate.config import Config, ConfigError, add_arguments, cli_values, load_config
from fcgigate.daemon import PrivilegeError, read_pid, resolve_account
from fcgigate.master import Master, check_app
from fcgigate.status import Scoreboard
from fcgigate.statuspage import render_text, summarize
from fcgigate.tls import TLSError, server_context, uses_tls


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fcgigate",
        description="Serve a WSGI app over FastCGI. Settings come from the [fcgigate] section of "
        "the config file, FCGIGATE_* environment variables and these flags (flags win).",
        epilog="Commands: 'fcgigate check -c FILE' validates a configuration and exits 0 or 1; "
        "'fcgigate stop|reload|reopen -c FILE' signals the running master through its pidfile; "
        "'fcgigate status -c FILE [--watch SECONDS]' prints its status table.",
    )
    parser.add_argument("-c", "--config", metavar="FILE", help="the INI file to read")
    parser.add_argument("--check", action="store_true", help="check the configuration and the app, then exit")
    parser.add_argument("--version", action="version", version=f"fcgigate {__version__}")
    parser.add_argument(
        "app_arg", nargs="?", metavar="APP", help="the app, as module:callable (same as --app)"
    )
    add_arguments(parser)
    return parser


COMMANDS = {"stop": signal.SIGTERM, "reload": signal.SIGHUP, "reopen": signal.SIGUSR1}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = False
    command = None
    if args and args[0] == "check":
        check, args = True, args[1:]
    elif args and args[0] in (*COMMANDS, "status"):
        command, args = args[0], args[1:]
    watch = None
    if command == "status" and "--watch" in args:
        at = args.index("--watch")
        try:
            watch = float(args[at + 1])
        except (IndexError, ValueError):
            print("fcgigate status: --watch takes a number of seconds", file=sys.stderr)
            return 1
        del args[at : at + 2]
    ns = build_parser().parse_args(args)
    check = check or ns.check
    overrides = cli_values(ns)
    if ns.app_arg:
        overrides["app"] = ns.app_arg
    try:
        config = load_config(ns.config, overrides)
    except ConfigError as exc:
        print(f"fcgigate: {exc}", file=sys.stderr)
        if check:
            print("fcgigate: configuration test failed", file=sys.stderr)
        return 1
    where = config.path or "(no file)"
    if command == "status":
        return show_status(config, watch)
    if command is not None:
        return send_command(command, config)
    if not config.app and not config.mounts:
        print(
            f"fcgigate: {where}: setting 'app' is required (app = package.module:callable), "
            "unless [mount:/prefix] sections name the apps",
            file=sys.stderr,
        )
        return 1
    if check:
        try:
            resolve_account(config.user, config.group)
            if uses_tls(config):
                server_context(config)
        except (PrivilegeError, TLSError) as exc:
            print(f"fcgigate: {where}: {exc}", file=sys.stderr)
            print(f"fcgigate: configuration file {where} test failed", file=sys.stderr)
            return 1
        ok, problem = check_app(config)
        print(config.describe(), end="")
        if not ok:
            print(f"fcgigate: {problem}", file=sys.stderr)
            print(f"fcgigate: configuration file {where} test failed", file=sys.stderr)
            return 1
        print(f"fcgigate: configuration file {where} test is successful", file=sys.stderr)
        return 0
    try:
        logs.configure(config.error_log, config.log_level)
    except OSError as exc:
        print(f"fcgigate: {where}: setting 'error_log': cannot open {config.error_log}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return 1
    return Master(config, overrides).run()


def show_status(config: object, watch: float | None = None) -> int:
    """The status table, read from the running master's scoreboard (shared
    memory, found through the pidfile): it answers even when every worker is
    busy or stuck. With ``watch``, again every ``watch`` seconds, like top."""
    path = getattr(config, "pidfile", None)
    pid = read_pid(path) if path else None
    if pid is None:
        why = "no pidfile is configured" if not path else f"{path} holds no pid: is fcgigate running?"
        print(f"fcgigate status: {why}", file=sys.stderr)
        return 1
    try:
        board = Scoreboard.attach(pid)
    except OSError as exc:
        print(f"fcgigate status: cannot read the scoreboard of PID {pid}: {exc}", file=sys.stderr)
        return 1
    app = config.apps() if isinstance(config, Config) else ""
    mounts = config.mount_names() if isinstance(config, Config) else ()
    try:
        while True:
            snap = board.snapshot()
            text = render_text(snap, summarize(snap, mounts), app, full=True)
            if watch:
                sys.stdout.write("\x1b[H\x1b[2J")  # home, clear: a screen that refreshes, as top's
            sys.stdout.write(text)
            sys.stdout.flush()
            if not watch:
                return 0
            time.sleep(watch)
    except KeyboardInterrupt:
        return 0


def send_command(command: str, config: object) -> int:
    """stop / reload / reopen: signal the master named in the pidfile."""
    path = getattr(config, "pidfile", None)
    if not path:
        print(
            f"fcgigate {command}: no pidfile is configured, so the running master cannot be found",
            file=sys.stderr,
        )
        return 1
    pid = read_pid(path)
    if pid is None:
        print(f"fcgigate {command}: {path} holds no pid: is fcgigate running?", file=sys.stderr)
        return 1
    try:
        os.kill(pid, COMMANDS[command])
    except ProcessLookupError:
        print(f"fcgigate {command}: PID {pid} from {path} is not running (stale pidfile)", file=sys.stderr)
        return 1
    if command != "stop":
        print(f"fcgigate: sent {COMMANDS[command].name} to PID {pid}")
        return 0
    deadline = time.monotonic() + getattr(config, "graceful_timeout", 30.0) + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"fcgigate: PID {pid} stopped")
            return 0
        time.sleep(0.05)
    print(f"fcgigate stop: PID {pid} is still running after graceful_timeout", file=sys.stderr)
    return 1
