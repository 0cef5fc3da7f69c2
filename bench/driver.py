"""The benchmark driver: choose the configurations, run them in interleaved rounds,
write latest.json, latest.md and latest.png.

One run of one configuration: build its server in a fresh directory, start it
and wait until it answers GET / with 200, warm it up, remember where its logs
end, run wrk for a bounded duration, read the memory of its processes, count the
error lines its logs gained, stop it (always: try/finally, process groups).

Rounds are interleaved: round 1 runs every configuration once, then round 2...
This machine is shared, and a disturbance that lasts a minute then lands in
one round of every configuration instead of in all the rounds of one. Within a
scenario the order is rotated each round, so that no configuration always runs
right after the same neighbour (or always first, on a cold cache).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import resource
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.load import Generator, Load, LoadError, LoadResult, find_wrk, write_script
from bench.peers import PEERS, PeerState, ensure
from bench.scenarios import IDLE_MAX_CONNECTIONS, SCENARIOS, Config, Scenario
from bench.servers import (
    FASTCGI_PARAMS,
    REPO_ROOT,
    Server,
    StartError,
    Tools,
    die_with_parent,
    find_nginx,
    server_env,
)

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_PEERS = BENCH_DIR / ".peers"
DEFAULT_OUT = BENCH_DIR / "results"
SMOKE_OUT = DEFAULT_OUT / "smoke"
# Start-up, stop, nginx and wrk's own start around each run, for the time estimate
# (measured: 1.2 s on average on 2 cores; uWSGI and flup take a second to stop).
RUN_OVERHEAD_S = 1.2
# Opening one idle connection (and its request), checking it and closing it, for the
# estimate (10,000: about 3.5 s on 2 cores).
IDLE_COST_S = 0.0004
IDLE_HELPER = BENCH_DIR / "idle.py"
IDLE_TIMEOUT = 120.0  # opening or checking the idle connections; past it the helper is hung
# File descriptors the driver keeps for itself besides the connections (wrk's,
# the idle helper's, the server's listeners, logs and pipes).
FD_MARGIN = 1024

# mode -> rounds, duration, warm-up, connections, idle connections (where a scenario
# holds some; its own count otherwise). Scenarios may set their own duration and
# warm-up per mode (Scenario.timing): the quick run's budget is under 10 minutes.
# wrk runs whole seconds: a warm-up under a second lasts one.
MODES = {
    "quick": (3, 3.0, 1.0, 50, None),  # make bench: about 9 minutes (the estimate is printed)
    "full": (5, 15.0, 2.0, 50, None),  # make bench FULL=1: about 55 minutes
    "smoke": (1, 1.0, 0.0, 16, 100),  # CI: fcgigate alone, about 40 s; asserts no speed
}


Need = tuple[bool, str | None]  # (available, why not)
Plan = list[tuple[Scenario, list[Config]]]
Runnable = list[tuple[Scenario, list[tuple[Config, dict[str, Any]]]]]


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that every finally block stops its server."""


@dataclass
class Options:
    mode: str
    rounds: int
    duration: float
    warmup: float
    connections: int
    wrk_threads: int
    idle: int | None  # idle connections for the scenarios that hold some; None: theirs
    timed: bool  # --duration or --warmup given: they apply to every scenario
    only: list[str]
    out: Path
    peers_dir: Path
    use_peers: bool
    reinstall_peers: bool
    chart: bool
    keep: bool


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark fcgigate beside its peers, in interleaved rounds (bench/README.md).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="longer runs and more rounds (make bench FULL=1)")
    mode.add_argument(
        "--smoke",
        action="store_true",
        help="fcgigate alone, every scenario once for 1 s; exit 1 on any error (CI). Asserts no speed.",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (quick 3, full 5, smoke 1)")
    parser.add_argument(
        "--duration",
        type=float,
        help="seconds of wrk per run (quick 3, full 15 or a scenario's own, smoke 1), for every scenario",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds of wrk before each measured run (quick 1, full 2), for every scenario",
    )
    parser.add_argument(
        "--connections", type=int, help="wrk connections (50; smoke 16), where a scenario sets none"
    )
    parser.add_argument(
        "--idle",
        type=int,
        help="idle connections held open in the idle-connection scenario (10000; smoke 100)",
    )
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (1: the server keeps a core)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenario or configuration names (see --list); scenario/config for one",
    )
    parser.add_argument("--list", action="store_true", help="list scenarios and configurations, and exit")
    parser.add_argument("--out", type=Path, help=f"results directory ({DEFAULT_OUT}; smoke: {SMOKE_OUT})")
    parser.add_argument("--peers-dir", type=Path, default=DEFAULT_PEERS, help="the peers' virtualenv")
    parser.add_argument(
        "--no-peers", action="store_true", help="fcgigate and nginx only: no peers' virtualenv"
    )
    parser.add_argument("--reinstall-peers", action="store_true", help="recreate the peers' virtualenv")
    parser.add_argument("--no-chart", action="store_true", help="skip latest.png")
    parser.add_argument(
        "--keep", action="store_true", help="keep each run's directory (configs, logs) in /tmp"
    )
    args = parser.parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name}: {scenario.title}")
            for config in scenario.configs:
                full = " [FULL only]" if config.full_only else ""
                print(f"    {config.name:20} {config.describe}{full}")
        raise SystemExit(0)
    name = "smoke" if args.smoke else "full" if args.full else "quick"
    rounds, duration, warmup, connections, idle = MODES[name]
    options = Options(
        mode=name,
        rounds=args.rounds or rounds,
        duration=args.duration or duration,
        warmup=warmup if args.warmup is None else args.warmup,
        connections=args.connections or connections,
        wrk_threads=args.wrk_threads,
        idle=args.idle if args.idle is not None else idle,
        timed=args.duration is not None or args.warmup is not None,
        only=[item.strip() for item in args.only.split(",") if item.strip()],
        out=args.out or (SMOKE_OUT if args.smoke else DEFAULT_OUT),
        peers_dir=args.peers_dir,
        use_peers=not (args.smoke or args.no_peers),
        reinstall_peers=args.reinstall_peers,
        chart=not (args.smoke or args.no_chart),
        keep=args.keep,
    )
    if options.rounds < 1 or options.duration <= 0 or options.connections < 1 or options.warmup < 0:
        parser.error("--rounds, --duration and --connections must be positive, --warmup not negative")
    if options.idle is not None and options.idle < 1:
        parser.error("--idle must be positive")
    return options


def timing(scenario: Scenario, options: Options) -> tuple[float, float]:
    """(duration, warm-up) of the scenario's runs: --duration and --warmup if given,
    else the scenario's own for this mode, else the mode's."""
    if options.timed or options.mode not in scenario.timing:
        return options.duration, options.warmup
    return scenario.timing[options.mode]


def idle_count(load: Load, options: Options) -> int:
    """Idle connections a run of ``load`` holds open (0: none)."""
    if not load.idle:
        return 0
    return options.idle if options.idle is not None else load.idle


def connections_of(load: Load, options: Options) -> int:
    return load.connections or options.connections


def select(options: Options) -> Plan:
    """The scenarios and configurations to run: ``--only`` names scenarios,
    configurations or scenario/configuration pairs; smoke keeps fcgigate's (all of
    them); quick leaves out the FULL-only ones unless ``--only`` names them."""
    wanted = set(options.only)
    known = set()
    for scenario in SCENARIOS:
        known.add(scenario.name)
        for config in scenario.configs:
            known.update({config.name, f"{scenario.name}/{config.name}"})
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(f"bench: unknown --only name(s): {', '.join(unknown)} (see --list)")
    plan = []
    for scenario in SCENARIOS:
        configs = [
            config
            for config in scenario.configs
            if not wanted or wanted & {scenario.name, config.name, f"{scenario.name}/{config.name}"}
        ]
        if options.mode == "quick":
            configs = [
                config
                for config in configs
                if not config.full_only or wanted & {config.name, f"{scenario.name}/{config.name}"}
            ]
        if options.mode == "smoke":
            configs = [config for config in configs if config.peer == "fcgigate"]
        if configs:
            plan.append((scenario, configs))
    return plan


# -- the machine


def _run_text(argv: list[str], timeout: float = 30) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def fcgigate_python() -> str:
    """The interpreter that runs fcgigate: this one if fcgigate and its dependencies
    import in it, else the repository's .venv (``make bench`` creates it)."""
    probe = "import fcgigate.cli, httptools, uvloop, daemon"
    for candidate in (sys.executable, str(REPO_ROOT / ".venv" / "bin" / "python")):
        if Path(candidate).exists():
            done = subprocess.run(
                [candidate, "-c", probe], env=server_env(), capture_output=True, cwd="/", check=False
            )
            if done.returncode == 0:
                return candidate
    raise SystemExit(
        "bench: no Python here imports fcgigate and its dependencies: run `make bench` (it makes .venv)"
    )


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    system = platform.system()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": memory,
        "kernel": platform.release(),
        "os": system,
        "python": platform.python_version(),
        "loadavg_start": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def versions(python: str, wrk: str | None, nginx: str | None, peers: dict[str, PeerState]) -> dict[str, str]:
    found = {}
    code = (
        "import fcgigate, httptools, uvloop\n"
        "print(fcgigate.__version__, httptools.__version__, uvloop.__version__)"
    )
    parts = _run_text([python, "-c", code]).split()
    if len(parts) == 3:
        found.update(fcgigate=parts[0], httptools=parts[1], uvloop=parts[2])
    commit = _run_text(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    if commit and " " not in commit:
        dirty = _run_text(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "fcgigate"])
        found["git"] = commit + (" + uncommitted changes to fcgigate/" if dirty else "")
    for peer in PEERS:
        state = peers.get(peer.name)
        if state is not None and state.available and state.version:
            found[peer.requirement] = state.version
    if nginx:
        found["nginx"] = _run_text([nginx, "-v"]).rpartition("/")[2]
    if wrk:
        found["wrk"] = _run_text([wrk, "-v"]).split("\n")[0].split(" [")[0].removeprefix("wrk ")
    return found


# -- one run


class IdleClients:
    """bench/idle.py in a child process: ``count`` connections to ``port``, each with
    one request answered, then held idle until ``check()`` makes one more request on
    each (they must all still be served) and the helper exits."""

    def __init__(self, port: int, count: int, path: str = "/") -> None:
        argv = [sys.executable, str(IDLE_HELPER), "127.0.0.1", str(port), str(count), "--path", path]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        self.opened: dict[str, Any] = {}

    def _line(self, mark: str) -> dict[str, Any]:
        """The helper's next ``mark`` line, within IDLE_TIMEOUT (read in a thread-free
        way: select on its stdout)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + IDLE_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    line = self.proc.stdout.readline()
                    if not line:
                        break
                    if line.startswith(mark + " "):
                        return json.loads(line[len(mark) + 1 :])
        self.proc.kill()
        self.proc.wait()
        stderr = self.proc.stderr.read() if self.proc.stderr is not None else ""
        raise LoadError(f"the idle-connection helper gave no {mark} line:\n{stderr[-2000:]}")

    def wait_open(self) -> dict[str, Any]:
        self.opened = self._line("IDLE_OPEN")
        return self.opened

    def check(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("check\n")
        self.proc.stdin.flush()
        return self._line("IDLE_CHECK")

    def close(self) -> None:
        """End of file on its stdin: it closes its connections and exits (killed if it
        has not within 10 s: it may be busy opening them)."""
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> IdleClients:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def with_idle(
    server: Server,
    generator: Generator,
    load: Load,
    script: Path,
    seconds: float,
    connections: int,
    count: int,
    record: dict[str, Any],
) -> tuple[LoadResult, dict[str, int]]:
    """The idle-connection procedure, on one server: wrk alone (the baseline), the
    server's memory, ``count`` idle connections opened, wrk again beside them, the
    memory again, then one more request on every idle connection. Returns wrk's
    result and the memory with the idle connections; ``record`` gets the baseline,
    the memory per idle connection and the helper's counts (connections that failed
    to open, were closed or failed their last request count as ``idle`` errors)."""
    baseline = generator.run(server.url, load, script, seconds, connections)
    before = server.memory()
    with IdleClients(server.port, count, load.path) as idle:
        opened = idle.wait_open()
        result = generator.run(server.url, load, script, seconds, connections)
        after = server.memory()
        checked = idle.check()
    record["without_idle"] = {
        "rps": round(baseline.rps, 1),
        "requests": baseline.requests,
        "latency_ms": baseline.latency_ms,
        "errors": baseline.errors,
        "rss_kib": before.get("rss_kib", 0),
        "pss_kib": before.get("pss_kib", 0),
    }
    record["idle"] = {"requested": count, "open": opened, "check": checked}
    record["idle_alive"] = checked["alive"]
    if opened["opened"]:
        grown = after.get("rss_kib", 0) - before.get("rss_kib", 0)
        record["rss_per_idle_kib"] = round(grown / opened["opened"], 3)
        record["pss_per_idle_kib"] = round(
            (after.get("pss_kib", 0) - before.get("pss_kib", 0)) / opened["opened"], 3
        )
    p99_without = baseline.latency_ms["p99"]
    record["p99_without_idle_ms"] = p99_without
    if p99_without > 0:
        record["p99_idle_ratio"] = round(result.latency_ms["p99"] / p99_without, 3)
    # The baseline's own errors count too: the run is both phases.
    for kind, number in baseline.errors.items():
        result.errors[kind] = result.errors.get(kind, 0) + number
    result.errors["idle"] = count - checked["alive"]
    return result, after


def derived(record: dict[str, Any], scenario: Scenario, config: Config, connections: int) -> None:
    """Numbers computed from a run's: in-flight (Little's law: req/s x mean latency;
    in a closed loop it is the connections, less those that waited the whole run),
    and, for an app that blocks ``block_s``, the limits it is measured against."""
    rps = record["rps"]
    in_flight = rps * record["latency_ms"]["mean"] / 1000
    record["in_flight"] = round(in_flight, 1)
    record["in_flight_pct"] = round(100 * in_flight / connections, 1)
    if scenario.block_s:
        at_once = min(connections, config.concurrency or connections)
        record["limit_rps"] = round(at_once / scenario.block_s, 1)
        record["limit_pct"] = round(100 * rps / record["limit_rps"], 1)
        record["conn_limit_pct"] = round(100 * rps * scenario.block_s / connections, 1)


def measure(
    tools: Tools,
    generator: Generator,
    scenario: Scenario,
    config: Config,
    options: Options,
    round_no: int,
    workdir: Path,
) -> dict[str, Any]:
    """One run of one configuration; never raises for a server or load failure (the
    record says what failed), and always stops what it started."""
    record: dict[str, Any] = {"round": round_no, "ok": False}
    workdir.mkdir(parents=True, exist_ok=True)
    load = scenario.load
    connections = connections_of(load, options)
    seconds, warmup = timing(scenario, options)
    idle = idle_count(load, options)
    server = None
    try:
        server = config.build(tools, workdir)
        record["startup_s"] = round(server.start(), 3)
        script = write_script(workdir, load)
        if warmup > 0:
            generator.run(server.url, load, script, warmup, connections)
        server.mark()
        if idle:
            # The memory with the idle connections held, not after they closed.
            result, memory = with_idle(server, generator, load, script, seconds, connections, idle, record)
        else:
            result = generator.run(server.url, load, script, seconds, connections)
            memory = server.memory()
        record.update(result.as_dict())
        record["load_output"] = record.pop("output")
        record.update(memory)
        record.update(server.facts())
        errors = dict(result.errors)
        errors.update(server.log_errors())
        record["errors"] = errors
        record["errors_total"] = sum(errors.values())
        record["ok"] = result.requests > 0
        if record["ok"]:
            derived(record, scenario, config, result.connections or connections)
        else:
            record["error"] = "no request was answered"
    except (StartError, LoadError, OSError, ValueError) as error:
        record["error"] = str(error)
    finally:
        if server is not None:
            began = time.monotonic()
            server.stop()
            record["stop_s"] = round(time.monotonic() - began, 3)
    return record


def progress(round_no: int, rounds: int, scenario: Scenario, config: Config, record: dict[str, Any]) -> str:
    where = f"[round {round_no}/{rounds}] {scenario.name}/{config.name}"
    if not record.get("ok"):
        first = (record.get("error") or "failed").splitlines()[0]
        return f"{where:52} FAILED: {first}"
    latency = record["latency_ms"]
    errors = record["errors_total"]
    memory = record.get("rss_kib", 0) / 1024
    line = (
        f"{where:52} {record['rps']:>9,.0f} req/s  p50 {latency['p50']:6.2f} ms  p99 {latency['p99']:6.2f} ms"
        f"  errors {errors}  RSS {memory:.1f} MiB"
    )
    extras = [
        f"{report.METRICS[name][0]} {report.format_metric(name, record.get(name))}"
        for name in scenario.columns
        if record.get(name) is not None
    ]
    return line + ("  " + ", ".join(extras) if extras else "")


# -- smoke verdict


def smoke_failures(results: dict[str, Any]) -> list[str]:
    """Why the smoke run fails: a configuration that could not run, a run with no
    request answered, any error, an access log that did not get its lines."""
    failures = []
    for scenario in results["scenarios"]:
        for config in scenario["configs"]:
            where = f"{scenario['name']}/{config['name']}"
            if not config.get("available", True):
                failures.append(f"{where}: unavailable: {config.get('reason')}")
                continue
            if not config["runs"]:
                failures.append(f"{where}: did not run")
            for run in config["runs"]:
                if not run.get("ok"):
                    failures.append(f"{where}: {run.get('error', 'failed')}")
                elif run["errors_total"]:
                    failures.append(f"{where}: {run['errors_total']} errors: {run['errors']}")
                elif "access_log_lines" in run and run["access_log_lines"] < run["requests"]:
                    failures.append(
                        f"{where}: {run['access_log_lines']} access log lines for {run['requests']} requests"
                    )
    return failures


# -- main


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(f"signal {signum}")


def write_outputs(results: dict[str, Any], options: Options, tools: Tools) -> None:
    options.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (options.out / f"latest.{ext}" for ext in ("json", "md", "png"))
    report.summarize(results)
    json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(report.markdown(results), encoding="utf-8")
    print(f"\nwrote {json_path}\nwrote {md_path}")
    if not options.chart:
        return
    # A chart from an earlier run beside this run's table would mislead.
    png_path.unlink(missing_ok=True)
    matplotlib = results["peers"].get("matplotlib", {})
    if tools.peers is None or not matplotlib.get("available"):
        print(
            f"no chart: matplotlib is not in the peers' virtualenv ({matplotlib.get('reason', 'no peers')})"
        )
        return
    done = subprocess.run(
        [str(tools.peers / "bin" / "python"), str(BENCH_DIR / "plot.py"), str(json_path), str(png_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode == 0:
        print(f"wrote {png_path}")
    else:
        print(f"no chart: bench/plot.py failed:\n{done.stdout}{done.stderr}")


def availability(
    options: Options, plan: Plan, nginx: str | None
) -> tuple[dict[str, Need], dict[str, PeerState]]:
    """What each configuration may need (nginx, each peer): there, or why not. Creates
    the peers' virtualenv when a selected configuration (or the chart) needs it."""
    available: dict[str, Need] = {"nginx": (True, None)}
    if nginx is None:
        available["nginx"] = (False, "nginx is missing: apt-get install nginx")
    elif not FASTCGI_PARAMS.exists():
        available["nginx"] = (False, f"{FASTCGI_PARAMS} is missing (Debian's nginx package ships it)")
    peer_states: dict[str, PeerState] = {}
    needed = {need for _, configs in plan for config in configs for need in config.needs} - {"nginx"}
    if options.use_peers and (needed or options.chart):
        peer_states = ensure(options.peers_dir, options.reinstall_peers)
    for peer in PEERS:
        state = peer_states.get(peer.name)
        if state is None:
            available[peer.name] = (False, "no peers' virtualenv in this run (--smoke or --no-peers)")
        else:
            available[peer.name] = (state.available, state.reason)
    return available, peer_states


def lay_out(results: dict[str, Any], plan: Plan, available: dict[str, Need], options: Options) -> Runnable:
    """Add each selected scenario and configuration to ``results`` (an unavailable one
    with its reason) and return the runnable ones, each with the record its runs go to."""
    runnable: Runnable = []
    for scenario, configs in plan:
        entries = []
        records = []
        for config in configs:
            missing = [need for need in config.needs if not available[need][0]]
            record: dict[str, Any] = {
                "name": config.name,
                "label": config.label,
                "peer": config.peer,
                "describe": config.describe,
                "available": not missing,
                "runs": [],
            }
            if missing:
                record["reason"] = f"{missing[0]}: {available[missing[0]][1]}"
            else:
                entries.append((config, record))
            records.append(record)
        load = scenario.load
        seconds, warmup = timing(scenario, options)
        left_out = []
        if options.mode == "quick":
            left_out = [
                config.label for config in scenario.configs if config.full_only and config not in configs
            ]
        results["scenarios"].append(
            {
                "name": scenario.name,
                "title": scenario.title,
                "load": {
                    "path": load.path,
                    "method": load.method,
                    "body_size": load.body_size,
                    "lua": load.lua,
                    "connections": connections_of(load, options),
                    "idle": idle_count(load, options),
                    "duration_s": seconds,
                    "warmup_s": warmup,
                },
                "block_s": scenario.block_s,
                "columns": list(scenario.columns),
                "full_only_left_out": left_out,
                "configs": records,
                "ratios": [
                    {
                        "label": r.label,
                        "numerator": r.numerator,
                        "denominator": r.denominator,
                        "target": r.target,
                        "metric": r.metric,
                        "op": r.op,
                    }
                    for r in scenario.ratios
                ],
                "checks": [
                    {"label": c.label, "config": c.config, "metric": c.metric, "target": c.target, "op": c.op}
                    for c in scenario.checks
                ],
            }
        )
        if entries:
            runnable.append((scenario, entries))
    return runnable


def estimate_s(runnable: Runnable, options: Options) -> float:
    """Seconds the rounds should take: wrk's time, the warm-up, start and stop, and
    for the idle-connection scenario its baseline and its idle connections."""
    total = 0.0
    for scenario, entries in runnable:
        seconds, warmup = timing(scenario, options)
        each = math.ceil(seconds) + (math.ceil(warmup) if warmup > 0 else 0) + RUN_OVERHEAD_S
        idle = idle_count(scenario.load, options)
        if idle:
            each += math.ceil(seconds) + idle * IDLE_COST_S
        total += each * len(entries)
    return total * options.rounds


def fds_needed(runnable: Runnable, options: Options) -> int:
    """File descriptors one process may need: the most connections a scenario makes
    (its idle ones and wrk's), plus a margin."""
    most = 0
    for scenario, _ in runnable:
        most = max(most, idle_count(scenario.load, options) + connections_of(scenario.load, options))
    return most + FD_MARGIN


def raise_nofile(wanted: int) -> dict[str, int]:
    """Raise RLIMIT_NOFILE to ``wanted`` for the driver and so for what it starts
    (servers, wrk, the idle helper inherit it): the soft limit up to the hard one,
    and the hard one too where the driver may (root, up to fs.nr_open). Returns the
    limits before and after; a shortfall shows as connections that fail to open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = {"soft_before": soft, "hard_before": hard, "wanted": wanted}
    if soft != resource.RLIM_INFINITY and soft >= wanted:
        return {**before, "soft": soft, "hard": hard}
    new_hard = hard
    if hard != resource.RLIM_INFINITY and hard < wanted:
        ceiling = wanted
        with contextlib.suppress(OSError, ValueError):
            ceiling = min(wanted, int(Path("/proc/sys/fs/nr_open").read_text()))
        new_hard = ceiling
    new_soft = wanted if new_hard == resource.RLIM_INFINITY else min(wanted, new_hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, new_hard))
    except (OSError, ValueError):
        # Not allowed to raise the hard limit: raise the soft one as far as it goes.
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        print(f"bench: RLIMIT_NOFILE is {soft}, below the {wanted} wanted: idle connections may fail")
    return {**before, "soft": soft, "hard": hard}


def run_rounds(
    tools: Tools, generator: Generator, runnable: Runnable, options: Options, scratch: Path
) -> None:
    """Every round runs every configuration once, scenario after scenario; within a
    scenario the order is rotated by one each round."""
    for round_no in range(1, options.rounds + 1):
        for scenario, entries in runnable:
            shift = (round_no - 1) % len(entries)
            for config, record in entries[shift:] + entries[:shift]:
                # Short: the unix sockets inside must fit in sun_path's 107 bytes.
                workdir = scratch / f"r{round_no}-{scenario.name}-{config.name}"
                run = measure(tools, generator, scenario, config, options, round_no, workdir)
                record["runs"].append(run)
                print(progress(round_no, options.rounds, scenario, config, run), flush=True)


def verdict(results: dict[str, Any], options: Options) -> int:
    """The exit status: 130 if interrupted; in smoke mode 1 on any failure or error;
    otherwise 1 only if a fcgigate configuration could not run (peers' failures and
    everyone's errors are results, shown in the report)."""
    if results["interrupted"]:
        return 130
    if options.mode == "smoke":
        failures = smoke_failures(results)
        for failure in failures:
            print(f"bench --smoke: FAIL {failure}", file=sys.stderr)
        return 1 if failures else 0
    broken = [
        f"{scenario['name']}/{config['name']}"
        for scenario in results["scenarios"]
        for config in scenario["configs"]
        if config["peer"] == "fcgigate" and any(not run.get("ok") for run in config["runs"])
    ]
    if broken:
        print(f"bench: fcgigate configurations failed to run: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    plan = select(options)
    python = fcgigate_python()
    wrk = find_wrk()
    if wrk is None and options.mode != "smoke":
        print("bench: wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    generator = Generator(wrk, options.wrk_threads)
    nginx = find_nginx()
    available, peer_states = availability(options, plan, nginx)
    tools = Tools(python=python, peers=options.peers_dir if peer_states else None, nginx=nginx)
    arguments = argv if argv is not None else sys.argv[1:]
    results: dict[str, Any] = {
        "schema": 1,
        "mode": options.mode,
        "started": _now(),
        "command": shlex.join([Path(sys.executable).name, "bench/run.py", *arguments]),
        "settings": {
            "rounds": options.rounds,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "connections": options.connections,
            "wrk_threads": options.wrk_threads,
            "load_tool": generator.name,
        },
        "machine": machine_info(),
        "versions": versions(python, wrk, nginx, peer_states),
        "peers": {name: state.as_dict() for name, state in peer_states.items()},
        "scenarios": [],
        "interrupted": False,
    }
    runnable = lay_out(results, plan, available, options)
    for scenario, _ in runnable:
        held = idle_count(scenario.load, options) + connections_of(scenario.load, options)
        if held > IDLE_MAX_CONNECTIONS:
            raise SystemExit(f"bench: {scenario.name}: more than {IDLE_MAX_CONNECTIONS} connections")
    count = sum(len(entries) for _, entries in runnable) * options.rounds
    minutes = estimate_s(runnable, options) / 60
    results["settings"]["nofile"] = raise_nofile(fds_needed(runnable, options))
    print(
        f"bench: {options.mode} run, {count} runs ({options.rounds} rounds), about {minutes:.1f} min; "
        f"load by {generator.name}, {options.connections} connections where a scenario sets none"
    )
    for scenario in results["scenarios"]:
        for record in scenario["configs"]:
            if not record["available"]:
                print(f"bench: skipping {scenario['name']}/{record['name']}: {record['reason']}")

    scratch = Path(tempfile.mkdtemp(prefix="fcgigate-bench-", dir="/tmp"))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_rounds(tools, generator, runnable, options, scratch)
    except (KeyboardInterrupt, Interrupted):
        results["interrupted"] = True
        print("\nbench: interrupted; writing what was measured", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        results["machine"]["loadavg_end"] = " ".join(f"{value:.2f}" for value in os.getloadavg())
        results["finished"] = _now()
        if options.keep:
            print(f"bench: run directories kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    write_outputs(results, options, tools)
    print()
    print(report.markdown(results))
    return verdict(results, options)
