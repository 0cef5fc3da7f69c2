"""flup's threaded FastCGI server on a unix socket, for the benchmark's nginx to proxy to.

Run by the peers' virtualenv (flup is no dependency of fcgigate)::

    bench/.peers/bin/python bench/flup_server.py /tmp/x/flup.sock bench.apps:hello

``WSGIServer`` from ``flup.server.fcgi`` is the threaded one (a thread per
connection, from flup's pool), as Django's old ``runfcgi method=threaded`` ran
it. SIGTERM and SIGINT make ``run()`` return.
"""

from __future__ import annotations

import importlib
import sys

from flup.server.fcgi import WSGIServer


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: flup_server.py SOCKET_PATH MODULE:CALLABLE", file=sys.stderr)
        return 2
    socket_path, target = argv[1], argv[2]
    module_name, _, name = target.partition(":")
    app = getattr(importlib.import_module(module_name), name)
    # multiplexed=False: nginx never multiplexes requests on one connection.
    WSGIServer(app, bindAddress=socket_path, multiplexed=False).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
