"""The status and ping pages, answered by the worker itself, before the app.

``status_path`` (``/fcgigate/status``) shows the scoreboard (status.py) as text
(the default), ``?json``, ``?openmetrics`` (Prometheus' text exposition, for a
scraper) or ``?html`` (a page that refreshes itself); ``?full`` adds the
table of workers to the text and JSON forms (the HTML page and the metrics
always have it). ``ping_path`` answers ``pong``. Both are small WSGI apps the
runner calls inline, on the loop, so they answer even when every app thread
is busy.

Access is limited by ``status_allow``: networks, and ``unix`` for HTTP peers
on a unix socket. A request is judged by its client address: REMOTE_ADDR,
which for FastCGI is the address the web server reports (nginx's client, not
nginx), and for HTTP the peer or a trusted proxy's forwarded address (a unix
peer is a trusted proxy: when it forwards an address, that address is judged;
when not, it is `unix`). Anything else gets 403.
"""

from __future__ import annotations

import html
import ipaddress
import json
import time
from typing import Any

from fcgigate import __version__
from fcgigate.status import EXIT_CAUSES, READY, STATE_NAMES

_NO_STORE = [("Cache-Control", "no-store")]
FORMATS = ("text", "json", "openmetrics", "html")
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def worker_state(worker: dict[str, Any]) -> str:
    """idle, busy, starting, retiring or draining."""
    state = worker["state"]
    if state == READY:
        return "busy" if worker["active"] else "idle"
    return STATE_NAMES[state] if state < len(STATE_NAMES) else "unknown"


def summarize(snap: dict[str, Any], mounts: tuple[str, ...] = ()) -> dict[str, Any]:
    """Totals over the workers, plus what past workers served (kept by the master).

    ``mounts`` names the routes by index (the root app's mount or ``/`` first,
    then each [mount:...] prefix): with more than one, ``mounts`` in the summary
    maps each to its requests. A route index follows the file's order, so a
    reload that reorders the sections mixes the old counts into the new names.
    """
    workers = snap["workers"]
    states = {name: 0 for name in ("idle", "busy", "starting", "retiring", "draining")}
    for worker in workers:
        worker["status"] = worker_state(worker)
        worker["seconds"] = (
            round(snap["monotonic"] - worker["request_started"], 3) if worker["request_started"] else None
        )
        states[worker["status"]] = states.get(worker["status"], 0) + 1
    per_mount = {}
    if len(mounts) > 1:
        for index, name in enumerate(mounts):
            past = snap.get("past_routes", [])
            total = (past[index] if index < len(past) else 0) + sum(w["routes"][index] for w in workers)
            per_mount[name] = total
    summary = {
        "requests": snap["past_requests"] + sum(w["requests"] for w in workers),
        "accepted_connections": snap["past_accepted"] + sum(w["accepted"] for w in workers),
        "open_connections": sum(w["open_connections"] for w in workers),
        "active_requests": sum(w["active"] for w in workers),
        "workers": states,
        "total_workers": len(workers),
        "uptime": round(snap["now"] - snap["started"], 3) if snap["started"] else 0.0,
    }
    if per_mount:
        summary["mounts"] = per_mount
    return summary


class StatusPages:
    """The two endpoints, and who may see them."""

    def __init__(
        self,
        scoreboard: Any,
        app_name: str,
        status_path: str,
        ping_path: str,
        allow: tuple[str, ...],
        mounts: tuple[str, ...] = (),
    ) -> None:
        self.scoreboard = scoreboard
        self.mounts = mounts  # route names by scoreboard index (see summarize)
        self.app_name = app_name
        self.paths = {path: handler for path, handler in ((status_path, self.status), (ping_path, self.ping))
                      if path}  # fmt: skip
        self.allow_unix = "unix" in allow
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow if n != "unix")

    def route(self, params: dict[str, str]) -> Any:
        """The page for this request, or None (the app's): the hot path's check."""
        uri = params.get("REQUEST_URI") or params.get("SCRIPT_NAME", "")
        page = self.paths.get(uri.partition("?")[0])
        if page is None and uri.startswith(("http://", "https://")):  # RFC 9112 3.2.2 absolute-form
            rest = uri.partition("://")[2]
            page = self.paths.get("/" + rest.partition("/")[2].partition("?")[0])
        return page

    def allowed(self, params: dict[str, str], unix_client: bool) -> bool:
        """May this client see the pages? ``unix_client``: an HTTP client on a
        unix socket that forwarded no address of its own."""
        address = params.get("REMOTE_ADDR", "")
        if unix_client or not address:
            return self.allow_unix
        try:
            ip = ipaddress.ip_address(address.partition("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    # -- the pages (WSGI apps)

    def ping(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = b"pong\n"
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                  ("Content-Length", str(len(body))), *_NO_STORE])  # fmt: skip
        return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]

    def status(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = {part.partition("=")[0] for part in environ.get("QUERY_STRING", "").split("&") if part}
        fmt = next((f for f in FORMATS if f in query), "text")
        snap = self.scoreboard.snapshot()
        summary = summarize(snap, self.mounts)
        full = "full" in query
        if fmt == "json":
            body, ctype = render_json(snap, summary, self.app_name, full), "application/json"
        elif fmt == "openmetrics":
            body, ctype = render_openmetrics(snap, summary, self.app_name), OPENMETRICS_TYPE
        elif fmt == "html":
            body, ctype = render_html(snap, summary, self.app_name), "text/html; charset=utf-8"
        else:
            body, ctype = render_text(snap, summary, self.app_name, full), "text/plain; charset=utf-8"
        data = body.encode("utf-8")
        start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(data))), *_NO_STORE])
        return [data] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]

    def forbidden(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = b"Forbidden: status_allow does not include this client\n"
        start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("Content-Length", str(len(body))), *_NO_STORE])  # fmt: skip
        return [body]


# -- renderings ------------------------------------------------------------------------


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(wall)) if wall else "-"


WORKER_COLUMNS = ("slot", "pid", "gen", "state", "requests", "accepted", "open", "active", "cpu s",
                  "rss MiB", "seconds", "protocol", "client", "request")  # fmt: skip


def _worker_row(w: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(w["slot"]), str(w["pid"]), str(w["generation"]), w["status"], str(w["requests"]),
        str(w["accepted"]), str(w["open_connections"]), str(w["active"]), f"{w['cpu_seconds']:.2f}",
        f"{w['rss_bytes'] / 1048576:.1f}", "-" if w["seconds"] is None else f"{w['seconds']:.3f}",
        w["protocol"] or "-", w["client"] or "-", w["request"] or "-",
    )  # fmt: skip


def render_text(snap: dict[str, Any], summary: dict[str, Any], app: str, full: bool = False) -> str:
    states = summary["workers"]
    lines = [
        ("app", app), ("version", __version__), ("master pid", snap["pid"]),
        ("start time", _iso(snap["started"])), ("uptime", f"{summary['uptime']:.0f} s"),
        ("generation", snap["generation"]), ("reloads", snap["reloads"]),
        ("requests", summary["requests"]), ("accepted conn", summary["accepted_connections"]),
        ("open conn", summary["open_connections"]), ("active requests", summary["active_requests"]),
    ]  # fmt: skip
    for listener in snap["listeners"]:
        depth = f"{listener['queue']} (max {listener['max_queue']}, limit {listener['queue_limit']})"
        lines.append((f"listen queue {listener['url']}", depth))
    lines += [
        ("idle workers", states["idle"]), ("busy workers", states["busy"]),
        ("starting workers", states["starting"]),
        ("draining workers", states["draining"] + states["retiring"]),
        ("total workers", summary["total_workers"]),
        ("worker exits", ", ".join(f"{cause} {snap['exits'][cause]}" for cause in EXIT_CAUSES)),
    ]  # fmt: skip
    lines += [(f"requests {mount}", count) for mount, count in summary.get("mounts", {}).items()]
    width = max(len(name) for name, _ in lines) + 2
    out = [f"{name + ':':<{width}}{value}" for name, value in lines]
    if full:
        rows = [WORKER_COLUMNS, *(_worker_row(w) for w in snap["workers"])]
        widths = [max(len(row[i]) for row in rows) for i in range(len(WORKER_COLUMNS) - 1)]
        out.append("")
        for row in rows:
            out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    return "\n".join(out) + "\n"


def render_json(snap: dict[str, Any], summary: dict[str, Any], app: str, full: bool = False) -> str:
    data: dict[str, Any] = {
        "app": app, "version": __version__, "master": {
            "pid": snap["pid"], "start_time": snap["started"], "generation": snap["generation"],
            "reloads": snap["reloads"], "worker_exits": snap["exits"],
        },
        "listeners": snap["listeners"], **summary,
    }  # fmt: skip
    if full:
        data["worker_list"] = [
            {key: w[key] for key in ("slot", "pid", "generation", "status", "started", "requests", "accepted",
                                     "open_connections", "active", "cpu_seconds", "rss_bytes", "seconds",
                                     "protocol", "client", "request")}
            for w in snap["workers"]
        ]  # fmt: skip
    return json.dumps(data, indent=1) + "\n"


def _label(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _worker_labels(worker: dict[str, Any]) -> dict[str, Any]:
    """A worker's series keep their labels for the worker's life (a label that
    changed with busy/idle would make a new series each time: rate() breaks)."""
    return {"slot": worker["slot"], "pid": worker["pid"], "generation": worker["generation"]}


WORKER_STATES = ("idle", "busy", "starting", "retiring", "draining")


def render_openmetrics(snap: dict[str, Any], summary: dict[str, Any], app: str) -> str:
    """OpenMetrics 1.0 text: every family typed and described; counters as
    ``_total`` samples; per-worker series labelled with the worker's slot and pid."""
    out: list[str] = []

    def family(
        name: str, kind: str, help_text: str, samples: list[tuple[str, dict[str, Any], float]]
    ) -> None:
        out.append(f"# TYPE {name} {kind}")
        out.append(f"# HELP {name} {help_text}")
        for suffix, labels, value in samples:
            text = ",".join(f"{key}={_label(val)}" for key, val in labels.items())
            out.append(
                f"{name}{suffix}{{{text}}} {_number(value)}" if text else f"{name}{suffix} {_number(value)}"
            )

    family(
        "fcgigate",
        "info",
        "fcgigate and the app it serves.",
        [("_info", {"version": __version__, "app": app}, 1)],
    )
    family(
        "fcgigate_start_time_seconds",
        "gauge",
        "When the master started (Unix time).",
        [("", {}, snap["started"])],
    )
    family(
        "fcgigate_generation",
        "gauge",
        "Worker generation (one more per reload).",
        [("", {}, snap["generation"])],
    )
    family(
        "fcgigate_reloads",
        "counter",
        "Reloads (SIGHUP) since the master started.",
        [("_total", {}, snap["reloads"])],
    )
    family(
        "fcgigate_worker_exits",
        "counter",
        "Workers that exited, by cause.",
        [("_total", {"cause": cause}, snap["exits"][cause]) for cause in EXIT_CAUSES],
    )
    family(
        "fcgigate_workers",
        "gauge",
        "Workers, by state.",
        [("", {"state": state}, count) for state, count in summary["workers"].items()],
    )
    family(
        "fcgigate_requests",
        "counter",
        "Requests started, by every worker ever.",
        [("_total", {}, summary["requests"])],
    )
    if "mounts" in summary:
        family(
            "fcgigate_mount_requests",
            "counter",
            "Requests started, by the app's mount (/: the root app, or fcgigate's 404 without one).",
            [("_total", {"mount": mount}, count) for mount, count in summary["mounts"].items()],
        )
    family(
        "fcgigate_accepted_connections",
        "counter",
        "Connections accepted, by every worker ever.",
        [("_total", {}, summary["accepted_connections"])],
    )
    family(
        "fcgigate_listen_queue",
        "gauge",
        "Connections waiting in a listener's accept queue.",
        [("", {"listener": item["url"]}, item["queue"]) for item in snap["listeners"]],
    )
    family(
        "fcgigate_listen_queue_max",
        "gauge",
        "The longest accept queue the master has seen.",
        [("", {"listener": item["url"]}, item["max_queue"]) for item in snap["listeners"]],
    )
    family(
        "fcgigate_listen_queue_limit",
        "gauge",
        "The accept queue's limit (backlog).",
        [("", {"listener": item["url"]}, item["queue_limit"]) for item in snap["listeners"]],
    )
    per_worker = (
        ("fcgigate_worker_requests", "counter", "Requests this worker started.", "_total", "requests"),
        ("fcgigate_worker_accepted_connections", "counter", "Connections this worker accepted.", "_total",
         "accepted"),
        ("fcgigate_worker_open_connections", "gauge", "Connections this worker holds open.", "",
         "open_connections"),
        ("fcgigate_worker_active_requests", "gauge", "Requests this worker is serving.", "", "active"),
        ("fcgigate_worker_cpu_seconds", "counter", "CPU time of this worker.", "_total", "cpu_seconds"),
        ("fcgigate_worker_resident_memory_bytes", "gauge", "Resident memory of this worker.", "",
         "rss_bytes"),
        ("fcgigate_worker_start_time_seconds", "gauge", "When this worker started (Unix time).", "",
         "started"),
    )  # fmt: skip
    for name, kind, help_text, suffix, key in per_worker:
        family(name, kind, help_text, [(suffix, _worker_labels(w), w[key]) for w in snap["workers"]])
    family("fcgigate_worker_state", "stateset", "What this worker is doing.", [
        ("", {**_worker_labels(w), "fcgigate_worker_state": state}, int(w["status"] == state))
        for w in snap["workers"] for state in WORKER_STATES
    ])  # fmt: skip
    out.append("# EOF")
    return "\n".join(out) + "\n"


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>fcgigate status: {app}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.3em; }} table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }}
th {{ background: #f3f3f3; }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.busy td {{ background: #fff4d6; }} tr.starting td, tr.draining td, tr.retiring td {{ color: #888; }}
.request {{ font-family: ui-monospace, monospace; max-width: 40em; overflow: hidden;
  text-overflow: ellipsis; }}
</style></head><body>
<h1>fcgigate {version}: {app}</h1>
<table id="summary">{summary}</table>
<h2>Workers</h2>
<table id="workers"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<p>Refreshes every 5 s. Also as <a href="?text&amp;full">text</a>, <a href="?json&amp;full">JSON</a>,
<a href="?openmetrics">OpenMetrics</a>.</p>
</body></html>
"""


def _cell_class(column: str, numeric: set[str]) -> str:
    return "num" if column in numeric else "request" if column == "request" else ""


def render_html(snap: dict[str, Any], summary: dict[str, Any], app: str) -> str:
    esc = html.escape
    states = summary["workers"]
    items = [
        ("master pid", snap["pid"]), ("start time", _iso(snap["started"])),
        ("uptime", f"{summary['uptime']:.0f} s"), ("generation", snap["generation"]),
        ("requests", summary["requests"]), ("accepted connections", summary["accepted_connections"]),
        ("busy / idle / total workers", f"{states['busy']} / {states['idle']} / {summary['total_workers']}"),
        ("worker exits", ", ".join(f"{cause} {snap['exits'][cause]}" for cause in EXIT_CAUSES)),
    ]  # fmt: skip
    items += [(f"listen queue {item['url']}", f"{item['queue']} (max {item['max_queue']})")
              for item in snap["listeners"]]  # fmt: skip
    items += [(f"requests {mount}", count) for mount, count in summary.get("mounts", {}).items()]
    summary_rows = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in items)
    numeric = {"slot", "pid", "gen", "requests", "accepted", "open", "active", "cpu s", "rss MiB", "seconds"}
    head = "".join(f"<th>{esc(c)}</th>" for c in WORKER_COLUMNS)
    rows = "".join(
        f'<tr class="{esc(w["status"])}" data-pid="{w["pid"]}">'
        + "".join(
            f'<td class="{_cell_class(col, numeric)}">{esc(cell)}</td>'
            for col, cell in zip(WORKER_COLUMNS, _worker_row(w), strict=True)
        )
        + "</tr>"
        for w in snap["workers"]
    )
    return _HTML.format(app=esc(app), version=esc(__version__), summary=summary_rows, head=head, rows=rows)
