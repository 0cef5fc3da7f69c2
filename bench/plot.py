"""Draw latest.json as a PNG: one panel per scenario, a bar per configuration.

Run by the peers' virtualenv, where matplotlib lives (it is no dependency of
fcgigate)::

    bench/.peers/bin/python bench/plot.py bench/results/latest.json bench/results/latest.png

Bars are median req/s with the rounds' min-max as a whisker; fcgigate's bars are
blue, its peers' grey, nginx alone (the machine's ceiling) pale. Each bar is
labelled with its req/s and p99; each panel lists its ratios against the targets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot's import
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"fcgigate": "#1f6fb4", "nginx": "#d9d9d9"}
PEER_COLOUR = "#8c8c8c"


OP_TEXT = {">=": "≥", "<=": "≤", "<": "<"}


def _ratio_text(item: dict[str, Any], unit: str = "x") -> str:
    """A ratio's or a check's line: its value, and its target with the verdict."""
    if item.get("value") is None:
        return f"{item['label']}: not measured"
    verdict = ""
    if item.get("target") is not None:
        op = OP_TEXT.get(item.get("op", ">="), "≥")
        verdict = f"  (target {op} {item['target']:g}: " + ("reached)" if item.get("met") else "NOT reached)")
    value = item["value"]
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{item['label']}: {shown}{unit}{verdict}"


def _notes(scenario: dict[str, Any]) -> list[str]:
    """The lines under a panel: its ratios, and those of its checks that have a target."""
    lines = [_ratio_text(ratio) for ratio in scenario["ratios"] if ratio.get("why") != "not selected"]
    for check in scenario.get("checks", []):
        if check.get("target") is not None and check.get("why") != "not selected":
            unit = "%" if check["metric"].endswith("_pct") else ""
            lines.append(_ratio_text(check, unit))
    return lines


def _panel_title(scenario: dict[str, Any]) -> str:
    load = scenario.get("load", {})
    if "duration_s" not in load:
        return scenario["title"]
    more = f", {load['idle']:,} idle" if load.get("idle") else ""
    return f"{scenario['title']}\nwrk -c{load['connections']}{more}, {load['duration_s']:g} s per round"


def draw(results: dict[str, Any], output: Path) -> None:
    scenarios = [s for s in results["scenarios"] if any(c["summary"].get("runs") for c in s["configs"])]
    if not scenarios:
        raise SystemExit("plot.py: no scenario has a measured configuration")
    heights = [0.5 * len(s["configs"]) + 0.2 * len(_notes(s)) + 1.4 for s in scenarios]
    figure, axes = plt.subplots(
        len(scenarios),
        1,
        figsize=(11, sum(heights)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
        layout="constrained",
    )
    for axis, scenario in zip(axes[:, 0], scenarios, strict=True):
        configs = list(reversed(scenario["configs"]))  # barh draws bottom-up; keep the table's order
        medians, lows, highs, colours, texts = [], [], [], [], []
        for config in configs:
            summary = config["summary"]
            if summary.get("runs"):
                median = summary["rps_median"]
                medians.append(median)
                lows.append(median - summary["rps_min"])
                highs.append(summary["rps_max"] - median)
                errors = summary.get("errors_total", 0)
                text = f" {median:,.0f} req/s, p99 {summary['p99_ms']:.1f} ms"
                texts.append(text + (f", {errors} errors" if errors else ""))
            else:
                medians.append(0)
                lows.append(0)
                highs.append(0)
                texts.append(" unavailable" if not config.get("available", True) else " failed")
            colours.append(COLOURS.get(config["peer"], PEER_COLOUR))
        positions = range(len(configs))
        axis.barh(positions, medians, xerr=[lows, highs], color=colours, capsize=3, ecolor="#333333")
        axis.set_yticks(list(positions), [config["label"] for config in configs])
        for position, median, high, text in zip(positions, medians, highs, texts, strict=True):
            axis.text(median + high, position, text, va="center", fontsize=8)
        axis.set_xlim(0, max(medians + [1]) * 1.45)
        axis.set_title(_panel_title(scenario), fontsize=10, loc="left")
        xlabel = "requests per second (median, min-max over rounds)"
        notes = _notes(scenario)
        if notes:
            # Below the axis, not over the bars: the longest bar reaches the right edge.
            xlabel += "\n\n" + "\n".join(notes)
        axis.set_xlabel(xlabel, fontsize=8, loc="left")
        axis.grid(axis="x", alpha=0.3)
    machine = results["machine"]
    settings = results["settings"]
    figure.suptitle(
        f"fcgigate benchmark, {results['started']}: {machine['cpu']}, {machine['cores']} cores; "
        f"wrk -t{settings['wrk_threads']}, {settings['rounds']} interleaved rounds",
        fontsize=10,
    )
    figure.get_layout_engine().set(h_pad=0.15)  # air between one panel's ratios and the next title
    figure.savefig(output, dpi=110)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: plot.py RESULTS.json OUTPUT.png", file=sys.stderr)
        return 2
    draw(json.loads(Path(argv[1]).read_text(encoding="utf-8")), Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
