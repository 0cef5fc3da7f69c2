"""Stderr: writes to ``wsgi.errors`` and answers 200 ``ok``.

Query parameters: ``msg`` (the line, default ``hello from wsgi.errors``) and ``n``
(how many times to write it, default 1; a large n tests the stderr limit).
"""

from urllib.parse import parse_qs


def app(environ, start_response):
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    message = query.get("msg", "hello from wsgi.errors")
    errors = environ["wsgi.errors"]
    for _ in range(int(query.get("n", 1))):
        errors.write(message + "\n")
    errors.flush()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
