"""Sleepy: sleeps ``?seconds=S`` (default 1) before answering ``slept S``, for
graceful-stop and timeout tests. ``marker`` (a path) gets a line when it starts."""

import time
from urllib.parse import parse_qs


def app(environ, start_response):
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    seconds = float(query.get("seconds", 1))
    if query.get("marker"):
        with open(query["marker"], "a") as marker:
            marker.write("started\n")
    time.sleep(seconds)
    body = f"slept {seconds}".encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
