"""The app threads of one route: a fixed number of threads fed from one queue.

Lighter than ``concurrent.futures.ThreadPoolExecutor`` on the path every
threaded request takes: a call is one ``SimpleQueue.put`` (C, no Future, no
lock of ours, no idle-semaphore dance), and a thread takes the next one with
one ``get``. Nobody waits on a result: the runner's calls report back to the
loop through the worker's Mailbox themselves.

The threads are started at the first call, all of them, inside the serving
process: by then every fork is behind us (the flup bug is a pool made before
the fork). They are daemon threads: a worker leaves with ``os._exit`` after
its graceful drain, and an app thread still stuck past that must not hold the
process (or an in-process server such as the flup drop-in) open.
"""

from __future__ import annotations

import logging
import threading
from queue import SimpleQueue
from typing import Any

error_log = logging.getLogger("fcgigate.error")


class AppThreads:
    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name  # threads are named <name>_0, <name>_1...
        self._calls: SimpleQueue = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Any, arg: Any) -> None:
        """Call ``fn(arg)`` in one of the threads (from the loop thread)."""
        if self._closed:
            raise RuntimeError(f"{self.name}: the app threads are shut down")
        if not self._threads:
            self._start()
        self._calls.put((fn, arg))

    def _start(self) -> None:
        for index in range(self.size):
            thread = threading.Thread(target=self._serve, name=f"{self.name}_{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self) -> None:
        get = self._calls.get
        while True:
            call = get()
            if call is None:
                return
            fn, arg = call
            try:
                fn(arg)
            except BaseException:  # the runner's calls catch the app's errors: this is a bug of ours
                error_log.exception("%s: a call in an app thread failed", threading.current_thread().name)

    def shutdown(self, wait: bool) -> None:
        """Stop taking calls. ``wait``: run the calls already queued and wait
        for every thread to finish; else drop those not started (their
        connections are closed by the worker) and return at once."""
        self._closed = True
        calls = self._calls
        while not wait and not calls.empty():
            calls.get_nowait()
        for _ in self._threads:
            calls.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
