"""A BEGIN_REQUEST for id 1 while request 1 runs (its body ended, no answer yet):
the client did not wait for END_REQUEST before reusing the id."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params_end, stdin_end

records = [
    begin(1, keep_conn=True),
    params_end(1),
    stdin_end(1),
    begin(1, keep_conn=True),
]

error = (RemoteProtocolError, "which is already active")
