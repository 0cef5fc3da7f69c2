"""More concurrent requests than max_concurrent_requests: the one past the cap is
refused with END_REQUEST {FCGI_OVERLOADED} and stays inactive; once a slot frees,
a new request is accepted again."""

from tests.corpus.fastcgi.helpers import OVERLOADED, begin, end_request, params_end, respond, stdin_end

limits = dict(max_concurrent_requests=2)

records = [
    begin(1, keep_conn=True),
    begin(2, keep_conn=True),
    begin(3, keep_conn=True),
    params_end(3),
    stdin_end(3),
    params_end(1),
    params_end(2),
    stdin_end(1),
    respond(1),
    begin(3, keep_conn=True),
    params_end(3),
    stdin_end(3),
    stdin_end(2),
]

expect = [
    ("started", 1, {}, True, "RESPONDER"),
    ("started", 2, {}, True, "RESPONDER"),
    ("end", 1),
    ("started", 3, {}, True, "RESPONDER"),
    ("end", 3),
    ("end", 2),
]

reply = end_request(3, protocol_status=OVERLOADED)
