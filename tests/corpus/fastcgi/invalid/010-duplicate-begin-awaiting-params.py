"""A second BEGIN_REQUEST for an id that is active (still reading PARAMS)."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params

records = [
    begin(1, keep_conn=True),
    params(1, {"A": "1"}),
    begin(1, keep_conn=True),
]

error = (RemoteProtocolError, "BEGIN_REQUEST for request 1, which is already active")
