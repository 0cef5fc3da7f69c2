"""FILTER (role 3) is not served (WSGI has no place for its FCGI_DATA stream): it is
refused with FCGI_UNKNOWN_ROLE and nothing of it reaches the app, DATA included."""

from tests.corpus.fastcgi.helpers import (
    DATA,
    FILTER,
    UNKNOWN_ROLE,
    begin,
    end_request,
    params,
    params_end,
    record,
    stdin,
    stdin_end,
)

records = [
    begin(1, role=FILTER, keep_conn=True),
    params(1, {"FCGI_DATA_LENGTH": "4"}),
    params_end(1),
    stdin(1, b"in"),
    stdin_end(1),
    record(DATA, 1, b"data"),
    record(DATA, 1, b""),
]

expect = []

reply = end_request(1, protocol_status=UNKNOWN_ROLE)
