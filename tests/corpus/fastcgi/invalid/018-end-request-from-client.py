"""END_REQUEST sent by the client for an active request."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, end_request, params_end, stdin_end

records = [
    begin(1),
    params_end(1),
    stdin_end(1),
    end_request(1),
]

error = (RemoteProtocolError, "unexpected END_REQUEST record for request 1 in state INPUT_DONE")
