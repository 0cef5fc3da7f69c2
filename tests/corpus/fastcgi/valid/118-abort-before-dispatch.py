"""FCGI_ABORT_REQUEST before the PARAMS stream ended: nothing was dispatched, so the
connection ends the request on its own (END_REQUEST, REQUEST_COMPLETE) and the app
never hears of it; the rest of its records are then for an inactive id."""

from tests.corpus.fastcgi.helpers import abort, begin, end_request, params, params_end, stdin, stdin_end

records = [
    begin(1, keep_conn=True),
    params(1, {"REQUEST_METHOD": "GET"}),
    abort(1),
    params(1, {"MORE": "late"}),
    params_end(1),
    stdin(1, b"late"),
    stdin_end(1),
]

expect = []

reply = end_request(1)
