"""A PARAMS record after the PARAMS stream ended: the request was dispatched already."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params, params_end

records = [
    begin(1),
    params_end(1),
    params(1, {"LATE": "1"}),
]

error = (RemoteProtocolError, "unexpected PARAMS record for request 1 in state AWAIT_STDIN")
