"""The ``fcgigate`` command: argv -> Config -> Master.

fcgigate [-c FILE] [--SETTING VALUE ...] [APP]     run
fcgigate check -c FILE [...]  (or --check)          validate, import the app, print
                                                    the effective config; exit 0/1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fcgigate import __version__, logs
from fcgigate.config import ConfigError, add_arguments, cli_values, load_config
from fcgigate.master import Master, check_app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fcgigate",
        description="Serve a WSGI app over FastCGI. Settings come from the [fcgigate] section of "
        "the config file, FCGIGATE_* environment variables and these flags (flags win).",
        epilog="Commands: 'fcgigate check -c FILE' validates a configuration and exits 0 or 1.",
    )
    parser.add_argument("-c", "--config", metavar="FILE", help="the INI file to read")
    parser.add_argument("--check", action="store_true", help="check the configuration and the app, then exit")
    parser.add_argument("--version", action="version", version=f"fcgigate {__version__}")
    parser.add_argument(
        "app_arg", nargs="?", metavar="APP", help="the app, as module:callable (same as --app)"
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = False
    if args and args[0] == "check":
        check, args = True, args[1:]
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
    if not config.app:
        print(
            f"fcgigate: {where}: setting 'app' is required (app = package.module:callable)", file=sys.stderr
        )
        return 1
    if check:
        ok, problem = check_app(config)
        print(config.describe(), end="")
        if not ok:
            print(f"fcgigate: {problem}", file=sys.stderr)
            print(f"fcgigate: configuration file {where} test failed", file=sys.stderr)
            return 1
        print(f"fcgigate: configuration file {where} test is successful", file=sys.stderr)
        return 0
    logs.configure(config.error_log, config.log_level)
    return Master(config, overrides).run()
