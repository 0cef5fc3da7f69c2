"""Importing fcgigate has no side effects, and imports flow down the floors of design.md."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "fcgigate"
MODULES = sorted(
    ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py")
    if path.name != "__main__.py"
)

# Which fcgigate modules each module may import (design.md, "Which way imports flow").
# Packages: docstrings and __version__ only.
GROUND = {"fcgigate", "fcgigate.protocols", "fcgigate.serve", "fcgigate.compat"}
ALLOWED = {
    "fcgigate.protocols.events": set(),
    "fcgigate.protocols.errors": set(),
    "fcgigate.protocols.fastcgi": {"fcgigate.protocols.events", "fcgigate.protocols.errors"},
    "fcgigate.protocols.http": {"fcgigate.protocols.events", "fcgigate.protocols.errors"},
    "fcgigate.buffers": set(),
    "fcgigate.config": set(),
    "fcgigate.sockets": set(),
    "fcgigate.status": set(),
    "fcgigate.daemon": set(),
    "fcgigate.tls": set(),
    "fcgigate.loops": set(),
    "fcgigate.demo": set(),
    "fcgigate.wsgi": {"fcgigate.protocols.events", "fcgigate.protocols.errors", "fcgigate.buffers"},
    "fcgigate.logs": set(),
    "fcgigate.statuspage": {"fcgigate.status"},
    "fcgigate.serve.state": {"fcgigate.protocols.fastcgi", "fcgigate.protocols.http"},
    "fcgigate.serve.flow": {"fcgigate.wsgi"},
    "fcgigate.serve.pool": set(),
    "fcgigate.serve.runner": {
        "fcgigate.buffers", "fcgigate.wsgi", "fcgigate.serve.flow", "fcgigate.serve.state",
        "fcgigate.serve.pool",
    },
    "fcgigate.serve.connection": {"fcgigate.buffers", "fcgigate.serve.flow", "fcgigate.serve.state"},
    "fcgigate.serve.fastcgi": {
        "fcgigate.serve.connection",
        "fcgigate.buffers", "fcgigate.protocols.errors", "fcgigate.protocols.events",
        "fcgigate.protocols.fastcgi", "fcgigate.serve.flow", "fcgigate.serve.runner", "fcgigate.serve.state",
    },
    "fcgigate.serve.http": {
        "fcgigate.serve.connection",
        "fcgigate.buffers", "fcgigate.protocols.events", "fcgigate.protocols.http", "fcgigate.serve.flow",
        "fcgigate.serve.runner", "fcgigate.serve.state", "fcgigate.wsgi",
    },
    "fcgigate.worker": {
        "fcgigate.loops", "fcgigate.protocols.fastcgi", "fcgigate.protocols.http", "fcgigate.serve.fastcgi",
        "fcgigate.serve.http", "fcgigate.serve.runner", "fcgigate.daemon", "fcgigate.status",
        "fcgigate.serve.state", "fcgigate.logs", "fcgigate.config", "fcgigate.statuspage", "fcgigate.tls",
    },
    "fcgigate.master": {
        "fcgigate.sockets", "fcgigate.worker", "fcgigate.logs", "fcgigate.config", "fcgigate.daemon",
        "fcgigate.status", "fcgigate.tls",
    },
    "fcgigate.cli": {
        "fcgigate.config", "fcgigate.master", "fcgigate.logs", "fcgigate.daemon", "fcgigate.status",
        "fcgigate.statuspage", "fcgigate.tls",
    },
    # A top floor beside cli: drop-ins for peers' APIs, serving with a Worker in-process.
    "fcgigate.compat.flup": {
        "fcgigate.config", "fcgigate.worker", "fcgigate.sockets", "fcgigate.logs", "fcgigate.loops",
        "fcgigate.daemon",
    },
}  # fmt: skip


def module_path(module: str) -> pathlib.Path:
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    return path if path.exists() else PACKAGE.parent / module.replace(".", "/") / "__init__.py"


def fcgigate_imports(module: str) -> set[str]:
    """The fcgigate modules ``module`` imports at run time (``if TYPE_CHECKING:``
    blocks, for annotations only, are not imports)."""
    path = module_path(module)
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fcgigate"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name.replace(".", "/") in _module_paths() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fcgigate")}
    return found - GROUND


def _module_paths() -> set[str]:
    return {m.replace(".", "/") for m in MODULES}


def test_every_module_has_a_floor() -> None:
    unknown = [m for m in MODULES if m not in ALLOWED and m not in GROUND]
    assert not unknown, f"add these modules to ALLOWED (and to design.md's floors): {unknown}"


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_flow_down(module: str) -> None:
    extra = fcgigate_imports(module) - ALLOWED[module]
    assert not extra, f"{module} imports {sorted(extra)}, which design.md does not allow"


def test_nothing_imports_the_top_floors() -> None:
    for module in MODULES:
        top = {m for m in fcgigate_imports(module) if m == "fcgigate.cli" or m.startswith("fcgigate.compat")}
        assert not top, f"{module} imports {sorted(top)}: nothing imports cli or compat"


def test_protocols_touch_no_io() -> None:
    for path in (PACKAGE / "protocols").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {
            n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        }
        assert not names & {"asyncio", "socket", "threading", "logging", "selectors"}, path.name


def test_no_peer_is_imported() -> None:
    for module in MODULES:
        tree = ast.parse(module_path(module).read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {
            n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        }
        assert not names & {"gunicorn", "flup"}, module


def test_importing_everything_starts_no_thread_and_installs_nothing() -> None:
    code = (
        "import signal, threading, logging, asyncio\n"
        "before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}\n"
        f"import importlib\nfor m in {MODULES!r}: importlib.import_module(m)\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert before == {s: signal.getsignal(s) for s in before}, 'a signal handler was installed'\n"
        "assert not logging.getLogger('fcgigate').handlers, 'a log handler was added'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
