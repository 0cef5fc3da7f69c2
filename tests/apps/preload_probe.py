"""Preload probe: which process imported this module, and which one serves.

Answers JSON ``{"imported_in": <pid at import>, "pid": <pid now>}``: with
``preload = true`` the first is the master's pid and the second a worker's.
"""

import json
import os

IMPORTED_IN = os.getpid()


def app(environ, start_response):
    body = json.dumps({"imported_in": IMPORTED_IN, "pid": os.getpid()}).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
