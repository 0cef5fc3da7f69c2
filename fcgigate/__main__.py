"""``python -m fcgigate`` is the ``fcgigate`` command."""

from fcgigate.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
