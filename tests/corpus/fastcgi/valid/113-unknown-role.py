"""An unknown role (9) is refused with END_REQUEST {FCGI_UNKNOWN_ROLE}; the refused
id stays inactive, so its PARAMS and STDIN are ignored and no event is produced."""

from tests.corpus.fastcgi.helpers import (
    UNKNOWN_ROLE,
    begin,
    end_request,
    params,
    params_end,
    stdin,
    stdin_end,
)

records = [
    begin(1, role=9, keep_conn=True),
    params(1, {"REQUEST_METHOD": "GET"}),
    params_end(1),
    stdin(1, b"ignored"),
    stdin_end(1),
]

expect = []

reply = end_request(1, protocol_status=UNKNOWN_ROLE)
