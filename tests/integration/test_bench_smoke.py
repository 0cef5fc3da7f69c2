"""The benchmark suite cannot rot: ``bench/run.py --smoke`` runs every fcgigate
scenario once, for a second, against fcgigate alone, and must answer every
request without an error. It asserts no speed (CI machines are shared).

It runs the driver as ``make bench`` does, as a subprocess: servers, nginx and
wrk (or the driver's Python client where wrk is missing) are real.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import clean_environ

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 240.0  # the smoke run takes about 40 s on 2 cores; this only bounds a hang
SCENARIOS = {
    "http-hello",
    "fastcgi-hello",
    "fastcgi-64k",
    "access-log",
    "upload-1m",
    "sleep10ms-c50",
    "sleep10ms-c200",
    "keepalive-1000",
    "idle-10k",
}


def test_smoke_runs_every_fcgigate_scenario_without_errors(tmp_path: Path) -> None:
    argv = [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--out", str(tmp_path)]
    proc = subprocess.Popen(
        argv, cwd=REPO, env=clean_environ(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM, not SIGKILL: the driver then stops the servers it started.
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        pytest.fail(f"bench/run.py --smoke ran past {TIMEOUT:.0f} s:\n{output.decode(errors='replace')}")
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text

    results = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert (tmp_path / "latest.md").exists()
    assert results["mode"] == "smoke"
    scenarios = {scenario["name"]: scenario for scenario in results["scenarios"]}
    assert SCENARIOS <= set(scenarios), text
    for name, scenario in scenarios.items():
        configs = scenario["configs"]
        assert configs, f"{name}: no configuration ran"
        for config in configs:
            where = f"{name}/{config['name']}"
            assert config["peer"] == "fcgigate", f"{where}: smoke runs fcgigate alone"
            assert config["available"], f"{where}: {config.get('reason')}"
            assert len(config["runs"]) == 1, where
            run = config["runs"][0]
            assert run["ok"], f"{where}: {run.get('error')}"
            assert run["requests"] > 0, where
            assert run["errors_total"] == 0, f"{where}: {run['errors']}"
    # The smoke run holds 100 idle connections (10,000 in make bench): all must still answer.
    assert scenarios["idle-10k"]["load"]["idle"] == 100
    for config in scenarios["idle-10k"]["configs"]:
        run = config["runs"][0]
        assert run["idle"]["open"]["opened"] == 100, run["idle"]
        assert run["idle_alive"] == 100, run["idle"]
        assert run["rss_per_idle_kib"] is not None
    # The FULL-only configurations are smoke-tested too (fcgigate 8 and 128 threads).
    sleeping = {config["name"] for config in scenarios["sleep10ms-c50"]["configs"]}
    assert {"fcgigate-t8", "fcgigate-t128"} <= sleeping, sleeping
    access = {config["name"]: config for config in scenarios["access-log"]["configs"]}
    logged = access["fcgigate-log-on"]["runs"][0]
    assert logged["access_log_lines"] >= logged["requests"], "the access log did not get a line per request"
