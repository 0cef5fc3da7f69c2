"""FCGI_GET_VALUES may arrive at any time, also between a request's records on a kept
connection; it is answered without disturbing the request (php-fpm closes instead)."""

from tests.corpus.fastcgi.helpers import (
    begin,
    get_values,
    get_values_result,
    params,
    params_end,
    stdin,
    stdin_end,
)

limits = dict(max_conns=3)

records = [
    begin(1, keep_conn=True),
    params(1, {"REQUEST_METHOD": "POST"}),
    get_values("FCGI_MAX_CONNS"),
    params_end(1),
    stdin(1, b"first"),
    get_values("FCGI_MPXS_CONNS", "FCGI_MAX_CONNS"),
    stdin(1, b"second"),
    stdin_end(1),
]

expect = [
    ("started", 1, {"REQUEST_METHOD": "POST"}, True, "RESPONDER"),
    ("body", 1, b"firstsecond"),
    ("end", 1),
]

reply = get_values_result([("FCGI_MAX_CONNS", "3")]) + get_values_result(
    [("FCGI_MPXS_CONNS", "1"), ("FCGI_MAX_CONNS", "3")]
)
