"""STDOUT sent by the client for an active request: that is the responder's stream."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import STDOUT, begin, params_end, record

records = [
    begin(1),
    params_end(1),
    record(STDOUT, 1, b"Status: 200 OK\r\n\r\n"),
]

error = (RemoteProtocolError, "unexpected STDOUT record for request 1 in state AWAIT_STDIN")
