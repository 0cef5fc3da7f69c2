"""Process-level OS plumbing: process titles (daemonizing, pidfiles, privileges
and sd_notify join it with the operations issue)."""

from __future__ import annotations

import os


def set_title(title: str) -> None:
    """``fcgigate: master [prod.ini]`` in ps and top (setproctitle; a no-op without it)."""
    try:
        import setproctitle
    except ImportError:  # an optional nicety: never a reason not to serve
        return
    setproctitle.setproctitle(title)


def config_label(path: str | None) -> str:
    """The config file's name, as the titles show it."""
    return os.path.basename(path) if path else "no config"
