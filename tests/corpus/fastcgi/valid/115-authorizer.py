"""AUTHORIZER: PARAMS only, no request body (spec 6.3), so the body ends as soon as
the request starts; a stray empty STDIN afterwards is harmless."""

from tests.corpus.fastcgi.helpers import AUTHORIZER, begin, params, params_end, stdin_end

records = [
    begin(1, role=AUTHORIZER, keep_conn=True),
    params(1, {"REMOTE_USER": "alice", "REQUEST_URI": "/private"}),
    params_end(1),
    stdin_end(1),
]

expect = [
    ("started", 1, {"REMOTE_USER": "alice", "REQUEST_URI": "/private"}, True, "AUTHORIZER"),
    ("end", 1),
]
