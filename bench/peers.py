"""The peers' virtualenv (bench/.peers): gunicorn, flup, granian, uWSGI, and
matplotlib for the chart, installed from PyPI with pip, apart from fcgigate's
own virtualenv so that none of them becomes a dependency of fcgigate.

Each package is installed by a pip run of its own, so that one that fails (uWSGI
compiles C and needs gcc and the Python headers; granian ships wheels for common
platforms only) leaves the others usable: the driver reports its configurations
as unavailable, with pip's last words, and goes on. What was tried is recorded
in ``bench/.peers/bench-peers.json`` and not retried on later runs (a failing
uWSGI build costs half a minute each time); ``--reinstall-peers`` starts over.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "bench-peers.json"
PIP_TIMEOUT = 900.0  # uWSGI compiles for about 30 s on 2 cores; a slow mirror needs more.


@dataclass(frozen=True)
class Peer:
    """A package to install: its PyPI name, and how to check it works once installed."""

    name: str  # the name the driver uses ("uwsgi")
    requirement: str  # what pip installs ("uWSGI")
    check: tuple[str, ...]  # a command, relative to the venv's bin/, that must exit 0
    note: str = ""


PEERS = (
    Peer("gunicorn", "gunicorn", ("gunicorn", "--version")),
    # flup 1.0.3 (2017) runs on Python 3; flup6 was the fork for when it did not.
    Peer("flup", "flup", ("python", "-c", "from flup.server.fcgi import WSGIServer")),
    Peer("granian", "granian", ("granian", "--version")),
    Peer("uwsgi", "uWSGI", ("uwsgi", "--version"), note="compiles C: needs gcc and the Python headers"),
    Peer("matplotlib", "matplotlib", ("python", "-c", "import matplotlib")),
)


@dataclass
class PeerState:
    available: bool
    version: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"available": self.available, "version": self.version, "reason": self.reason}


def _last_words(text: str, lines: int = 6) -> str:
    """The end of pip's output, where it says why it failed."""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(kept[-lines:])[-600:]


def _versions(directory: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "found = {}\n"
        f"for name in {[peer.requirement for peer in PEERS]!r}:\n"
        "    try:\n"
        "        found[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(found))\n"
    )
    done = subprocess.run(
        [str(directory / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return json.loads(done.stdout) if done.returncode == 0 else {}


def _works(directory: Path, peer: Peer) -> str | None:
    """None if the peer's check passes, else why not."""
    argv = [str(directory / "bin" / peer.check[0]), *peer.check[1:]]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{' '.join(peer.check)}: {error}"
    if done.returncode != 0:
        return f"{' '.join(peer.check)} failed: {_last_words(done.stdout + done.stderr, 3)}"
    return None


def ensure(
    directory: Path, reinstall: bool = False, say: Callable[[str], None] = print
) -> dict[str, PeerState]:
    """Create the virtualenv if needed, install what was never tried, and return each
    peer's state (available, version, or why not)."""
    if reinstall and directory.exists():
        shutil.rmtree(directory)
    state_path = directory / STATE_FILE
    python = directory / "bin" / "python"
    if not python.exists():
        say(f"peers: creating the virtualenv {directory}")
        done = subprocess.run(
            [sys.executable, "-m", "venv", str(directory)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            why = f"python -m venv failed (Debian: apt-get install python3-venv): {_last_words(done.stderr)}"
            return {peer.name: PeerState(False, reason=why) for peer in PEERS}
    try:
        tried = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tried = {}
    states: dict[str, PeerState] = {}
    for peer in PEERS:
        record = tried.get(peer.name)
        if record is not None and not record.get("available"):
            reason = f"{record.get('reason')} (tried before; --reinstall-peers tries again)"
            states[peer.name] = PeerState(False, reason=reason)
            continue
        if record is None or _works(directory, peer) is not None:
            states[peer.name] = _install(directory, peer, say)
        else:
            states[peer.name] = PeerState(True)
        tried[peer.name] = states[peer.name].as_dict()
    versions = _versions(directory)
    for peer in PEERS:
        if states[peer.name].available:
            states[peer.name].version = tried[peer.name]["version"] = versions.get(peer.requirement)
    state_path.write_text(json.dumps(tried, indent=2) + "\n", encoding="utf-8")
    return states


def _install(directory: Path, peer: Peer, say: Callable[[str], None]) -> PeerState:
    note = f" ({peer.note})" if peer.note else ""
    say(f"peers: installing {peer.requirement}{note}...")
    log = directory / f"install-{peer.name}.log"
    argv = [str(directory / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    argv.append(peer.requirement)
    began = time.monotonic()
    try:
        with open(log, "w") as output:
            done = subprocess.run(
                argv, stdout=output, stderr=subprocess.STDOUT, timeout=PIP_TIMEOUT, check=False
            )
    except subprocess.TimeoutExpired:
        return PeerState(False, reason=f"pip install {peer.requirement} took more than {PIP_TIMEOUT:.0f} s")
    text = log.read_text(encoding="utf-8", errors="replace")
    if done.returncode != 0:
        say(f"peers: {peer.requirement} did not install; its configurations are skipped (see {log})")
        return PeerState(False, reason=f"pip install {peer.requirement} failed: {_last_words(text)}")
    broken = _works(directory, peer)
    if broken is not None:
        return PeerState(False, reason=broken)
    say(f"peers: {peer.requirement} installed in {time.monotonic() - began:.0f} s")
    return PeerState(True)
