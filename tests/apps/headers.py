"""Headers: response headers a WSGI server must not pass on as they are.

The query parameter ``case`` picks one:

- ``crlf`` (default): a value with ``\\r\\nInjected: yes`` in it (header injection);
- ``lf``: the same with a bare ``\\n``;
- ``hop``: the hop-by-hop ``Connection: close`` (PEP 3333 forbids hop-by-hop headers);
- ``te``: ``Transfer-Encoding: chunked``, another hop-by-hop header;
- ``name``: an invalid header name, ``Bad Name``;
- ``status``: a malformed status line, ``abc``;
- ``nonlatin``: a value that is not latin-1 (``€``), which PEP 3333 cannot carry;
- ``ok``: good headers, including a latin-1 value (``café``), for comparison.
"""

from urllib.parse import parse_qs

BODY = b"headers fixture"


def app(environ, start_response):
    case = parse_qs(environ.get("QUERY_STRING", "")).get("case", ["crlf"])[0]
    status = "200 OK"
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]
    if case == "crlf":
        headers.append(("X-Bad", "a\r\nInjected: yes"))
    elif case == "lf":
        headers.append(("X-Bad", "a\nInjected: yes"))
    elif case == "hop":
        headers.append(("Connection", "close"))
    elif case == "te":
        headers.append(("Transfer-Encoding", "chunked"))
    elif case == "name":
        headers.append(("Bad Name", "x"))
    elif case == "status":
        status = "abc"
    elif case == "nonlatin":
        headers.append(("X-Euro", "\u20ac"))
    elif case == "ok":
        headers.append(("X-Latin", "caf\u00e9"))
    start_response(status, headers)
    return [BODY]
