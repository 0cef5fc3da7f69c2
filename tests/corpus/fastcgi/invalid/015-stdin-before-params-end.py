"""STDIN before the PARAMS stream ended: the table has no such transition."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params, stdin

records = [
    begin(1),
    params(1, {"A": "1"}),
    stdin(1, b"too early"),
]

error = (RemoteProtocolError, "unexpected STDIN record for request 1 in state AWAIT_PARAMS")
