"""A record of an unknown type (42) for an active request."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, record

records = [begin(1), record(42, 1, b"?")]

error = (RemoteProtocolError, "unexpected type 42 record for request 1 in state AWAIT_PARAMS")
