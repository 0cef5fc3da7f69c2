"""Turn a run's raw numbers into summaries, ratios and the Markdown report.

Everything here works on the JSON-shaped results (plain dicts and lists), so
that a saved ``latest.json`` can be summarised again, and so that bench/plot.py,
which runs in the peers' virtualenv, reads exactly what the report reads.

Medians, not means: on a shared machine one round can be disturbed, and the
median of three ignores it where the mean would not. Ratios are computed per
round (both configurations measured within minutes of each other) and their
median is reported, with the per-round range, rather than a ratio of medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

ERROR_LABELS = {
    "connect": "connect",
    "read": "read",
    "write": "write",
    "timeout": "timeout",
    "status": "non-2xx",
    "upstream": "nginx upstream",
    "nginx": "nginx other",
    "server_log": "server log",
    "idle": "idle connections lost",
}

# Metrics beyond req/s, p50 and p99 that a scenario may show as columns, or a ratio or
# a check may name: name -> (heading, digits, suffix). Each is a number per run
# (bench/driver.py), summarised by its median over rounds.
METRICS: dict[str, tuple[str, int, str]] = {
    "mean_ms": ("mean ms", 2, ""),
    "max_ms": ("max ms", 1, ""),
    "p999_ms": ("p99.9 ms", 2, ""),
    "in_flight": ("in-flight", 0, ""),
    "in_flight_pct": ("in-flight / connections", 1, "%"),
    "limit_rps": ("limit req/s", 0, ""),
    "limit_pct": ("% of its limit", 1, "%"),
    "conn_limit_pct": ("% of connections / 10 ms (the issue's limit)", 1, "%"),
    "p99_without_idle_ms": ("p99 without idle ms", 2, ""),
    "p99_idle_ratio": ("p99 with / without idle", 2, "x"),
    "rss_per_idle_kib": ("RSS KiB per idle conn", 2, ""),
    "pss_per_idle_kib": ("PSS KiB per idle conn", 2, ""),
    "idle_alive": ("idle conns served at the end", 0, ""),
    "errors_total": ("errors", 0, ""),
    "rps": ("req/s", 0, ""),
    "p50_ms": ("p50 ms", 2, ""),
    "p99_ms": ("p99 ms", 2, ""),
}
# Per-run numbers kept at the top of a run's record (the rest are in latency_ms).
RUN_METRICS = (
    "in_flight",
    "in_flight_pct",
    "limit_rps",
    "limit_pct",
    "conn_limit_pct",
    "p99_without_idle_ms",
    "p99_idle_ratio",
    "rss_per_idle_kib",
    "pss_per_idle_kib",
    "idle_alive",
)
OP_TEXT = {">=": "≥", "<=": "≤", "<": "<"}


def format_metric(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    _, digits, suffix = METRICS.get(name, (name, 2, ""))
    return f"{value:,.{digits}f}{suffix}"


def run_metric(run: dict[str, Any], metric: str) -> float | None:
    """One run's ``metric``: req/s, a latency (``p99_ms``...), or a derived number."""
    if metric == "rps":
        return run.get("rps")
    if metric.endswith("_ms") and metric[:-3] in run.get("latency_ms", {}):
        return run["latency_ms"][metric[:-3]]
    return run.get(metric)


def meets(value: float, op: str, target: float) -> bool:
    if op == "<=":
        return value <= target
    if op == "<":
        return value < target
    return value >= target


def _median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [run for run in runs if run.get("ok")]
    summary: dict[str, Any] = {"runs": len(ok), "failed": len(runs) - len(ok)}
    if not ok:
        return summary
    rps = [run["rps"] for run in ok]
    errors: dict[str, int] = {}
    for run in ok:
        for kind, count in run.get("errors", {}).items():
            errors[kind] = errors.get(kind, 0) + count
    summary.update(
        rps_median=round(_median(rps), 1),
        rps_min=round(min(rps), 1),
        rps_max=round(max(rps), 1),
        p50_ms=_median(run["latency_ms"]["p50"] for run in ok),
        p99_ms=_median(run["latency_ms"]["p99"] for run in ok),
        requests_total=sum(run["requests"] for run in ok),
        errors=errors,
        errors_total=sum(errors.values()),
        rss_kib=_median(run.get("rss_kib", 0) for run in ok),
        pss_kib=_median(run.get("pss_kib", 0) for run in ok),
        processes=max(run.get("processes", 0) for run in ok),
    )
    for name in ("p999", "mean", "max"):
        values = [run["latency_ms"][name] for run in ok if name in run["latency_ms"]]
        if values:
            summary[f"{name}_ms"] = _median(values)
    for name in RUN_METRICS:
        values = [run[name] for run in ok if run.get(name) is not None]
        if values:
            summary[name] = _median(values)
    if any("nginx_rss_kib" in run for run in ok):
        summary["nginx_rss_kib"] = _median(run.get("nginx_rss_kib", 0) for run in ok)
    return summary


def compute_ratio(ratio: dict[str, Any], configs: dict[str, dict[str, Any]]) -> None:
    """Fill ``value``, ``min``, ``max``, ``rounds`` and ``met`` of one ratio record
    (of req/s unless it names another ``metric``)."""
    numerator, denominator = configs.get(ratio["numerator"]), configs.get(ratio["denominator"])
    if numerator is None or denominator is None:
        ratio["value"], ratio["why"] = None, "not selected"
        return
    for side in (numerator, denominator):
        if not side.get("available", True):
            ratio["value"], ratio["why"] = None, f"{side['label']} unavailable"
            return
    metric = ratio.get("metric", "rps")
    first = {run["round"]: run_metric(run, metric) for run in numerator["runs"] if run.get("ok")}
    second = {run["round"]: run_metric(run, metric) for run in denominator["runs"] if run.get("ok")}
    values = [
        first[r] / second[r] for r in sorted(first) if first[r] is not None and r in second and second[r]
    ]
    if not values:
        ratio["value"], ratio["why"] = None, "no round measured both"
        return
    ratio.update(
        value=round(statistics.median(values), 3), min=round(min(values), 3), max=round(max(values), 3)
    )
    ratio["rounds"] = len(values)
    if ratio.get("target") is not None:
        ratio["met"] = meets(ratio["value"], ratio.get("op", ">="), ratio["target"])


def compute_check(check: dict[str, Any], configs: dict[str, dict[str, Any]]) -> None:
    """Fill ``value`` (the configuration's median of ``metric``; errors are summed
    over rounds) and ``met`` of one check record."""
    config = configs.get(check["config"])
    if config is None:
        check["value"], check["why"] = None, "not selected"
        return
    if not config.get("available", True):
        check["value"], check["why"] = None, f"{config['label']} unavailable"
        return
    summary = config.get("summary", {})
    value = summary.get("rps_median" if check["metric"] == "rps" else check["metric"])
    if not summary.get("runs") or value is None:
        check["value"], check["why"] = None, "not measured"
        return
    check["value"] = value
    if check.get("target") is not None:
        check["met"] = meets(value, check.get("op", ">="), check["target"])


def summarize(results: dict[str, Any]) -> None:
    """Add ``summary`` to every configuration and the values to every ratio, in place."""
    for scenario in results["scenarios"]:
        configs = {config["name"]: config for config in scenario["configs"]}
        for config in scenario["configs"]:
            config["summary"] = summarize_runs(config["runs"])
        for ratio in scenario["ratios"]:
            compute_ratio(ratio, configs)
        for check in scenario.get("checks", []):
            compute_check(check, configs)


# -- Markdown


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rps(value: float) -> str:
    return f"{value:,.0f}"


def _mib(kib: float | None) -> str:
    return "-" if not kib else f"{kib / 1024:.1f}"


def _errors(summary: dict[str, Any]) -> str:
    total = summary.get("errors_total", 0)
    if not total:
        return "0"
    parts = [f"{ERROR_LABELS.get(kind, kind)} {count}" for kind, count in summary["errors"].items() if count]
    return f"**{total}** ({', '.join(parts)})"


def _cell(text: str, limit: int = 160) -> str:
    """One line of text fit for a table cell: the first line, shortened, no pipes."""
    line = (text.splitlines() or [""])[0]
    if len(line) > limit:
        line = line[: limit - 3] + "..."
    return line.replace("|", "\\|")


def _config_row(config: dict[str, Any], columns: list[str]) -> str:
    label = config["label"]
    blank = " |" * (5 + len(columns))
    if not config.get("available", True):
        return f"| {label} | unavailable: {_cell(config.get('reason', ''))} (latest.json has it all) |{blank}"
    summary = config["summary"]
    if not summary.get("runs"):
        errors = [run.get("error", "") for run in config["runs"] if run.get("error")]
        why = _cell(errors[0]) if errors else "not run"
        return f"| {label} | failed: {why} |{blank}"
    rps = f"{_rps(summary['rps_median'])} ({_rps(summary['rps_min'])}–{_rps(summary['rps_max'])})"
    if summary["failed"]:
        rps += f", {summary['failed']} failed"
    memory = f"{_mib(summary['rss_kib'])} ({_mib(summary['pss_kib'])})"
    extra = "".join(f" {format_metric(name, summary.get(name))} |" for name in columns)
    return (
        f"| {label} | {rps} | {_num(summary['p50_ms'])} | {_num(summary['p99_ms'])} | {_errors(summary)} | "
        f"{memory} | {summary['processes']} |{extra}"
    )


def _target(item: dict[str, Any], metric: str | None = None) -> str:
    if item.get("target") is None:
        return ""
    target = item["target"]
    text = format_metric(metric, target) if metric else f"{target:g}"
    return f"{OP_TEXT.get(item.get('op', '>='), '≥')} {text}"


def _verdict(item: dict[str, Any]) -> str:
    return "" if "met" not in item else ("reached" if item["met"] else "**not reached**")


def _ratio_row(ratio: dict[str, Any]) -> str:
    target = _target(ratio)
    if ratio.get("value") is None:
        return f"| {ratio['label']} | not measured ({ratio.get('why', '')}) | {target} | |"
    value = f"{ratio['value']:.2f} ({ratio['min']:.2f}–{ratio['max']:.2f})"
    return f"| {ratio['label']} | {value} | {target} | {_verdict(ratio)} |"


def _check_row(check: dict[str, Any]) -> str:
    target = _target(check, check["metric"])
    if check.get("value") is None:
        return f"| {check['label']} | not measured ({check.get('why', '')}) | {target} | |"
    value = format_metric(check["metric"], check["value"])
    return f"| {check['label']} | {value} | {target} | {_verdict(check)} |"


def load_line(scenario: dict[str, Any]) -> str:
    """How the scenario loaded each configuration, in a sentence."""
    load = scenario.get("load", {})
    if "duration_s" not in load:
        return ""
    request = f"{load.get('method', 'GET')} {load.get('path', '/')}"
    if load.get("body_size"):
        request += f" with a {load['body_size']:,}-byte body"
    text = (
        f"Load: {request}, {load['connections']:,} connections, {load['duration_s']:g} s "
        f"after a {load['warmup_s']:g} s warm-up"
    )
    if load.get("idle"):
        text += (
            f"; {load['idle']:,} idle keep-alive connections (one request each, then nothing) opened "
            "after a first measurement without them, held during a second one, and each asked once more "
            "at the end (req/s and percentiles are the second's; RSS is with them held)"
        )
    return text + "."


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    return (
        f"{m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}, {m['os']}; Python {m['python']}"
    )


def versions_line(results: dict[str, Any]) -> str:
    versions = results["versions"]
    return ", ".join(f"{name} {version}" for name, version in versions.items() if version)


def markdown(results: dict[str, Any]) -> str:
    settings = results["settings"]
    s = settings
    load = (
        f"{s['load_tool']}, {s['wrk_threads']} thread(s), {s['rounds']} round(s); {s['connections']} "
        f"connections and {s['duration_s']:g} s after a {s['warmup_s']:g} s warm-up unless a scenario "
        "says otherwise"
    )
    lines = [
        f"# fcgigate benchmark ({results['mode']} run, {results['started']})",
        "",
        f"- Machine: {machine_line(results)}.",
        f"- Load: {load}; configurations interleaved (round-robin, order rotated each round), "
        "servers and wrk on the same machine.",
        f"- Load average before and after: {results['machine']['loadavg_start']} / "
        f"{results['machine'].get('loadavg_end', '-')}.",
        f"- Versions: {versions_line(results)}.",
        f"- Command: `{results['command']}`.",
    ]
    if results.get("interrupted"):
        lines.append("- **Interrupted**: the numbers below cover only the runs that finished.")
    lines += [
        "",
        "req/s: median over rounds (min–max). p50/p99: medians of each round's wrk percentiles (wrk "
        "corrects them for coordinated omission: a latency past twice the mean adds samples, so a few "
        "long stalls weigh in the tail as they would for a client sending at a fixed rate; the max is "
        "raw). "
        "errors: wrk socket errors (connect, read, write, timeout), responses >= 400, nginx [error] lines "
        "(upstream ones apart) and error lines in the server's own log, summed over rounds. "
        "RSS MiB: the server's processes summed (master and workers; PSS, which counts shared pages "
        "once, in parentheses), at the end of a run; nginx's own memory is in latest.json.",
    ]
    for scenario in results["scenarios"]:
        columns = scenario.get("columns", [])
        heads = "".join(f" {METRICS[name][0]} |" for name in columns)
        lines += [
            "",
            f"## {scenario['title']} (`{scenario['name']}`)",
            "",
        ]
        if load_line(scenario):
            lines += [load_line(scenario), ""]
        lines += [
            "| configuration | req/s median (min–max) | p50 ms | p99 ms | errors | RSS MiB (PSS) | procs |"
            + heads,
            "| --- | ---: | ---: | ---: | --- | ---: | ---: |" + " ---: |" * len(columns),
        ]
        lines += [_config_row(config, columns) for config in scenario["configs"]]
        # A ratio with a configuration left out by --only or --smoke is not shown at all.
        ratios = [ratio for ratio in scenario["ratios"] if ratio.get("why") != "not selected"]
        if ratios:
            lines += ["", "| ratio (median of per-round ratios) | value (min–max) | target | |"]
            lines += ["| --- | ---: | ---: | --- |"]
            lines += [_ratio_row(ratio) for ratio in ratios]
        checks = [check for check in scenario.get("checks", []) if check.get("why") != "not selected"]
        if checks:
            lines += ["", "| check (median over rounds; errors summed) | value | target | |"]
            lines += ["| --- | ---: | ---: | --- |"]
            lines += [_check_row(check) for check in checks]
        lines += [""]
        lines += [f"- {config['label']}: {config['describe']}" for config in scenario["configs"]]
        if scenario.get("full_only_left_out"):
            lines.append(f"- Run by `make bench FULL=1` only: {', '.join(scenario['full_only_left_out'])}.")
    return "\n".join(lines) + "\n"
