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
}


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
    if any("nginx_rss_kib" in run for run in ok):
        summary["nginx_rss_kib"] = _median(run.get("nginx_rss_kib", 0) for run in ok)
    return summary


def compute_ratio(ratio: dict[str, Any], configs: dict[str, dict[str, Any]]) -> None:
    """Fill ``value``, ``min``, ``max``, ``rounds`` and ``met`` of one ratio record."""
    numerator, denominator = configs.get(ratio["numerator"]), configs.get(ratio["denominator"])
    if numerator is None or denominator is None:
        ratio["value"], ratio["why"] = None, "not selected"
        return
    for side in (numerator, denominator):
        if not side.get("available", True):
            ratio["value"], ratio["why"] = None, f"{side['label']} unavailable"
            return
    first = {run["round"]: run["rps"] for run in numerator["runs"] if run.get("ok")}
    second = {run["round"]: run["rps"] for run in denominator["runs"] if run.get("ok") and run["rps"] > 0}
    values = [first[r] / second[r] for r in sorted(first) if r in second]
    if not values:
        ratio["value"], ratio["why"] = None, "no round measured both"
        return
    ratio.update(
        value=round(statistics.median(values), 3), min=round(min(values), 3), max=round(max(values), 3)
    )
    ratio["rounds"] = len(values)
    if ratio.get("target") is not None:
        ratio["met"] = ratio["value"] >= ratio["target"]


def summarize(results: dict[str, Any]) -> None:
    """Add ``summary`` to every configuration and the values to every ratio, in place."""
    for scenario in results["scenarios"]:
        configs = {config["name"]: config for config in scenario["configs"]}
        for config in scenario["configs"]:
            config["summary"] = summarize_runs(config["runs"])
        for ratio in scenario["ratios"]:
            compute_ratio(ratio, configs)


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


def _config_row(config: dict[str, Any]) -> str:
    label = config["label"]
    if not config.get("available", True):
        return (
            f"| {label} | unavailable: {_cell(config.get('reason', ''))} (latest.json has it all) | | | | | |"
        )
    summary = config["summary"]
    if not summary.get("runs"):
        errors = [run.get("error", "") for run in config["runs"] if run.get("error")]
        why = _cell(errors[0]) if errors else "not run"
        return f"| {label} | failed: {why} | | | | | |"
    rps = f"{_rps(summary['rps_median'])} ({_rps(summary['rps_min'])}–{_rps(summary['rps_max'])})"
    if summary["failed"]:
        rps += f", {summary['failed']} failed"
    memory = f"{_mib(summary['rss_kib'])} ({_mib(summary['pss_kib'])})"
    return (
        f"| {label} | {rps} | {_num(summary['p50_ms'])} | {_num(summary['p99_ms'])} | {_errors(summary)} | "
        f"{memory} | {summary['processes']} |"
    )


def _ratio_row(ratio: dict[str, Any]) -> str:
    target = "" if ratio.get("target") is None else f"≥ {ratio['target']:g}"
    if ratio.get("value") is None:
        return f"| {ratio['label']} | not measured ({ratio.get('why', '')}) | {target} | |"
    verdict = "" if "met" not in ratio else ("reached" if ratio["met"] else "**not reached**")
    value = f"{ratio['value']:.2f} ({ratio['min']:.2f}–{ratio['max']:.2f})"
    return f"| {ratio['label']} | {value} | {target} | {verdict} |"


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
        f"{s['load_tool']}, {s['wrk_threads']} thread(s), {s['connections']} connections, "
        f"{s['rounds']} round(s) of {s['duration_s']:g} s after a {s['warmup_s']:g} s warm-up"
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
        "req/s: median over rounds (min–max). p50/p99: medians of each round's wrk percentiles. "
        "errors: wrk socket errors (connect, read, write, timeout), responses >= 400, nginx [error] lines "
        "(upstream ones apart) and error lines in the server's own log, summed over rounds. "
        "RSS MiB: the server's processes summed (master and workers; PSS, which counts shared pages "
        "once, in parentheses), at the end of a run; nginx's own memory is in latest.json.",
    ]
    for scenario in results["scenarios"]:
        lines += [
            "",
            f"## {scenario['title']} (`{scenario['name']}`)",
            "",
            "| configuration | req/s median (min–max) | p50 ms | p99 ms | errors | RSS MiB (PSS) | procs |",
            "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
        ]
        lines += [_config_row(config) for config in scenario["configs"]]
        # A ratio with a configuration left out by --only or --smoke is not shown at all.
        ratios = [ratio for ratio in scenario["ratios"] if ratio.get("why") != "not selected"]
        if ratios:
            lines += ["", "| ratio of req/s (median of per-round ratios) | value (min–max) | target | |"]
            lines += ["| --- | ---: | ---: | --- |"]
            lines += [_ratio_row(ratio) for ratio in ratios]
        lines += [""]
        lines += [f"- {config['label']}: {config['describe']}" for config in scenario["configs"]]
    return "\n".join(lines) + "\n"
