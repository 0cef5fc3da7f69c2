"""Run fcgigate's benchmark suite: ``python bench/run.py`` (what ``make bench`` runs).

    python bench/run.py                 # quick: 3 interleaved rounds, about 9 minutes
    python bench/run.py --full          # make bench FULL=1: 5 longer rounds, about 55 minutes
    python bench/run.py --smoke         # CI: fcgigate alone, seconds, fails on any error
    python bench/run.py --only http-hello --rounds 1 --duration 3
    python bench/run.py --list

Results go to bench/results/latest.{json,md,png}. bench/README.md has the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this file's directory is on sys.path, not the repository:
    # put the repository first so that the suite imports as the package `bench`.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.driver import main

    sys.exit(main())
